"""Reports of a large portfolio stay readable and bounded: the memo lists the largest projects by
capex and sums the rest in one row (the full lists live in results.xlsx), and the charts keep a
bounded size whatever the number of projects or minerals. Not timed: bench/report_bench.py
measures the speed."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import docx
import openpyxl
import pytest
from PIL import Image
from test_charts import large_result

from optimizer.outputs import read_analyses
from optimizer import charts
from optimizer.evaluate import evaluate
from optimizer.instance import Mineral
from optimizer.memo import build_document, write_memo
from optimizer.memo.model import Bullets, Table
from optimizer.report_xlsx import write_results_xlsx
from optimizer.results import Result

RUN_TIME = datetime(2025, 3, 1, 12, 30, tzinfo=timezone.utc)
N_PROJECTS, N_FUNDED = 400, 300  # 300 funded and 100 left out: both past FULL_LIST_MAX
TOP = charts.TOP_PROJECTS


def amount(value: float) -> str:
    """The memo's $M table format, written independently of the code under test."""
    return f"{value:,.1f}"


def number(cell: str) -> float:
    return float(cell.replace(",", ""))


@pytest.fixture(scope="module")
def big() -> Result:
    """A plan funding the first 300 of 400 synthetic projects (evaluated, not solved)."""
    base = large_result(N_PROJECTS)
    starts = dict(list(base.starts.items())[:N_FUNDED])
    return dataclasses.replace(base, starts=starts, evaluation=evaluate(base.instance, starts))


@pytest.fixture(scope="module")
def doc(big):
    return build_document(big, run_time=RUN_TIME)


@pytest.fixture(scope="module")
def memo(big, tmp_path_factory):
    return write_memo(big, tmp_path_factory.mktemp("big_memo"), run_time=RUN_TIME)


def section(doc, key: str):
    return next(s for s in doc.sections if s.key == key)


def first_table(sec) -> Table:
    return next(b for b in sec.blocks if isinstance(b, Table))


def text_of(sec) -> str:
    return " ".join(getattr(b, "text", "") for b in sec.blocks)


def largest(ids, capex) -> set[str]:
    return set(sorted(ids, key=lambda p: -capex[p])[:TOP])


def test_portfolio_table_lists_the_largest_and_sums_the_rest(big, doc):
    ev, inst = big.evaluation, big.instance
    funded = big.funded_ids
    table = first_table(section(doc, "portfolio"))
    assert len(table.rows) == TOP + 1
    top = largest(funded, ev.capex)
    labels = [f"{inst.projects[p].name} ({p})" for p in funded if p in top]
    assert [r[0] for r in table.rows[:TOP]] == labels  # in start order, as the full table
    rest = [p for p in funded if p not in top]
    other = table.rows[-1]
    assert other[0] == f"Other {len(rest)} funded projects"
    assert other[6] == amount(sum(ev.capex[p] for p in rest))
    assert other[7] == amount(sum(ev.npv_discounted[p] for p in rest))  # NPV to first_year
    assert other[8] == amount(sum(inst.projects[p].npv_musd for p in rest))  # NPV at start
    assert table.footer[6] == amount(sum(ev.capex[p] for p in funded))
    assert table.footer[7] == amount(sum(ev.npv_discounted[p] for p in funded))
    shown_capex = sum(number(r[6]) for r in table.rows)
    assert shown_capex == pytest.approx(sum(ev.capex.values()), abs=0.05 * len(table.rows))


def test_portfolio_text_says_where_the_full_list_is(doc):
    text = text_of(section(doc, "portfolio"))
    assert (f"The table lists the {TOP} largest by capex of the {N_FUNDED} funded projects; the "
            f"other {N_FUNDED - TOP} are summed in one row. The full list is in results.xlsx, "
            "sheet Portfolio.") in text
    assert "sheet Portfolio" in text_of(section(doc, "timeline"))


def test_rejected_table_lists_the_largest_and_sums_the_rest(big, doc):
    inst = big.instance
    rejected = big.rejected_ids
    capex = {p: inst.projects[p].capex(inst.settings.capex_basis) for p in rejected}
    sec = section(doc, "why_not")
    table = first_table(sec)
    assert len(table.rows) == TOP + 1
    top = largest(rejected, capex)
    assert [r[0] for r in table.rows[:TOP]] == [f"{inst.projects[p].name} ({p})"
                                                for p in rejected if p in top]
    rest = [p for p in rejected if p not in top]
    assert table.rows[-1][3] == amount(sum(capex[p] for p in rest))
    assert table.rows[-1][4] == amount(sum(inst.projects[p].npv_musd for p in rest))
    assert table.footer[3] == amount(sum(capex.values()))
    assert table.footer[4] == amount(sum(inst.projects[p].npv_musd for p in rejected))
    assert "The full list is in results.xlsx, sheet Rejected." in text_of(sec)


def test_memo_files_stay_small(memo):
    assert memo["html"].stat().st_size < 1_500_000
    word = docx.Document(str(memo["docx"]))
    assert len(word.tables[0].rows) == 1 + TOP + 1 + 1  # header, top, the rest, total
    md = memo["md"].read_text(encoding="utf-8")
    assert f"Other {N_FUNDED - TOP} funded projects" in md


def test_gantt_shows_the_largest_and_keeps_its_height(big, memo):
    fig = charts.timeline_figure(big)
    ax = fig.axes[0]
    assert len([t for t in ax.get_yticklabels() if t.get_text()]) == TOP
    assert f"{TOP} largest of the {N_FUNDED} funded projects" in ax.get_title(loc="left")
    with Image.open(memo["chart_timeline"]) as image:
        height_px = image.size[1]
    assert height_px <= (1.45 + charts.ROW_IN * charts.FULL_LIST_MAX) * charts.DPI


def test_china_share_chart_bounded_with_many_minerals(big):
    inst = big.instance
    extra = {f"mineral {i}": Mineral(f"mineral {i}", us_demand_t=100.0, china_share=0.5)
             for i in range(40)}
    many = dataclasses.replace(inst, minerals={**inst.minerals, **extra})
    result = dataclasses.replace(big, instance=many, evaluation=evaluate(many, big.starts))
    fig = charts.china_share_figure(result)
    assert len(fig.axes) == charts.MAX_MINERAL_PANELS
    assert fig.get_size_inches()[1] <= 0.6 + 2.3 * 4
    caption = next(b.caption for b in section(build_document(result, {"china_share": "x.png"},
                                                             RUN_TIME), "china").blocks
                   if hasattr(b, "caption") and "per mineral" in b.caption)
    assert f"the first {charts.MAX_MINERAL_PANELS} of the {len(many.minerals)} minerals" in caption


def test_scenario_lists_are_cut(big):
    rows = [{"project_id": p, "name": big.instance.projects[p].name, "funded_in": "some",
             "scenarios": "costly"} for p in big.funded_ids[:100]]
    result = dataclasses.replace(big, analyses=read_analyses({"scenario_projects": rows}))
    sec = section(build_document(result, run_time=RUN_TIME), "scenarios")
    bullets = next(b for b in sec.blocks if isinstance(b, Bullets))
    assert len(bullets.items) == TOP + 1
    assert bullets.items[-1] == (f"{100 - TOP} more: the full list is in results.xlsx, sheet "
                                 "Scenario projects")


def test_results_xlsx_keeps_the_full_lists(big, tmp_path):
    path = tmp_path / "results.xlsx"
    write_results_xlsx(big, path, run_time=RUN_TIME)
    book = openpyxl.load_workbook(path, read_only=True)
    portfolio = [r for r in book["Portfolio"].iter_rows(min_row=2, values_only=True)]
    assert [r[0] for r in portfolio[:-1]] == big.funded_ids
    assert portfolio[-1][0] == "Total"
    assert portfolio[-1][7] == pytest.approx(sum(big.evaluation.capex.values()))
    rejected = [r[0] for r in book["Rejected"].iter_rows(min_row=2, values_only=True)]
    assert rejected == big.rejected_ids
