"""results.xlsx: every sheet, every figure against the Evaluation, text safety, atomic write."""

from __future__ import annotations

import dataclasses
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from helpers import RESULT_STARTS, make_result

from optimizer.outputs import read_analyses
from optimizer import report_xlsx
from optimizer.report_xlsx import write_results_xlsx
from optimizer.tables import header_words
from optimizer.xlsx_style import MONEY, PERCENT

SHEETS = ["Summary", "Portfolio", "Spend", "China reliance", "Rejected"]


def write_and_open(tmp_path: Path, result=None) -> openpyxl.Workbook:
    path = tmp_path / "results.xlsx"
    write_results_xlsx(result or make_result(), path)
    return openpyxl.load_workbook(path)


def table(ws) -> list[dict]:
    """Rows below the header of a sheet as dicts keyed by header."""
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0]
    return [dict(zip(header, row)) for row in rows[1:] if any(v is not None for v in row)]


def column_of(ws, header: str) -> int:
    for cell in ws[1]:
        if cell.value == header:
            return cell.column
    raise AssertionError(f"no column {header!r} on {ws.title}")


def summary_value(ws, item: str):
    for row in ws.iter_rows(min_row=2, values_only=True):
        if row[0] == item:
            return row[1]
    raise AssertionError(f"no summary item {item!r}")


def test_every_sheet_exists(tmp_path):
    wb = write_and_open(tmp_path)
    assert wb.sheetnames[: len(SHEETS)] == SHEETS


def test_summary_headline(tmp_path):
    result = make_result()
    ws = write_and_open(tmp_path, result)["Summary"]
    assert summary_value(ws, "Objective") == "weighted"
    assert summary_value(ws, "Objective value") == pytest.approx(result.objective_value)
    assert summary_value(ws, "Status") == "proven optimal"
    assert summary_value(ws, "Solver status") == "optimal"
    assert summary_value(ws, "Solver") == "HiGHS test"
    assert summary_value(ws, "Input file") == "example.xlsx"
    assert summary_value(ws, "Input SHA-256") == "ab" * 32
    assert summary_value(ws, "Projects funded") == 2
    assert summary_value(ws, "Projects rejected") == 2
    assert summary_value(ws, "Total capex") == pytest.approx(result.evaluation.total_capex)
    assert summary_value(ws, "NPV (discounted)") == pytest.approx(result.evaluation.npv_musd)
    assert summary_value(ws, "first_year") == 2026


def test_security_objective_is_in_share_years(tmp_path):
    ws = write_and_open(tmp_path, make_result(objective="security"))["Summary"]
    row = next(r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == "Objective value")
    assert row[2] == "share-years"


def test_portfolio_rows_are_the_funded_projects(tmp_path):
    result = make_result()
    rows = table(write_and_open(tmp_path, result)["Portfolio"])
    projects, total = rows[:-1], rows[-1]
    assert [r["project ID"] for r in projects] == result.funded_ids
    for r in projects:
        pid = r["project ID"]
        assert r["start year"] == RESULT_STARTS[pid]
        assert r["online year"] == result.evaluation.online[pid]
        assert r["capex $M"] == pytest.approx(result.evaluation.capex[pid])
        assert r["NPV discounted $M"] == pytest.approx(result.evaluation.npv_discounted[pid])
    assert total["project ID"] == "Total"
    assert total["capex $M"] == pytest.approx(result.evaluation.total_capex)
    assert total["NPV discounted $M"] == pytest.approx(result.evaluation.npv_musd)


def test_spend_rows_match_the_evaluation(tmp_path):
    ev = make_result().evaluation
    rows = table(write_and_open(tmp_path)["Spend"])
    assert [r["year"] for r in rows] == list(range(2026, 2032))
    cumulative = 0.0
    for r in rows:
        year = r["year"]
        cumulative += ev.spend[year]
        assert r["spend $M"] == pytest.approx(ev.spend[year])
        assert r["budget $M"] == pytest.approx(ev.budget[year])
        assert r["headroom $M"] == pytest.approx(ev.budget[year] - ev.spend[year])
        assert r["cumulative spend $M"] == pytest.approx(cumulative)
    # GA-PLANT spends its 120 $M mid capex as 60 + 60 in 2027-2028, exactly the budgets there.
    assert [r["year"] for r in rows if r["binding"] == "yes"] == [2027, 2028]


def test_binding_is_cumulative_with_carryover(tmp_path):
    rows = table(write_and_open(tmp_path, make_result(budget_carryover=True))["Spend"])
    # 50 $M unspent in 2026 carries over, so no year uses up its cumulative budget.
    assert not any(r["binding"] for r in rows)


def test_spend_chart_is_a_native_chart(tmp_path):
    wb = write_and_open(tmp_path)
    assert len(wb["Spend"]._charts) == 1
    with zipfile.ZipFile(tmp_path / "results.xlsx") as zf:
        charts = [n for n in zf.namelist() if n.startswith("xl/charts/chart")]
        assert len(charts) == 1
        xml = zf.read(charts[0]).decode()
    assert re.search(r"<(c:)?barChart>", xml) and re.search(r"<(c:)?lineChart>", xml)
    assert "Year" in xml and "$M" in xml


def test_china_reliance_matches_the_evaluation(tmp_path):
    ev = make_result().evaluation
    ws = write_and_open(tmp_path)["China reliance"]
    rows = table(ws)
    assert len(rows) == 2 * 6
    for r in rows:
        mineral, year = r["mineral"], r["year"]
        assert r["China share before"] == pytest.approx(ev.share_before[mineral][year])
        assert r["China share after"] == pytest.approx(ev.share_after[mineral][year])
        assert r["displaced t"] == pytest.approx(ev.displaced[mineral][year])
        assert r["demand t"] == pytest.approx(ev.demand[mineral][year])
    gallium = [r for r in rows if r["mineral"] == "gallium"]
    graphite = [r for r in rows if r["mineral"] == "graphite"]
    assert {(r["target share"], r["target year"]) for r in gallium} == {(0.5, 2030)}
    assert {(r["target share"], r["target year"]) for r in graphite} == {(None, None)}


def test_rejected_lists_exactly_the_unfunded(tmp_path):
    result = make_result()
    rows = table(write_and_open(tmp_path, result)["Rejected"])
    assert [r["project ID"] for r in rows] == ["GR-PLANT", "GA-ALT"]
    assert set(r["project ID"] for r in rows) == set(result.instance.projects) - set(RESULT_STARTS)
    assert all(r["reason"] is None for r in rows)
    ga_alt = rows[1]
    assert (ga_alt["earliest start"], ga_alt["latest start"]) == (2027, 2029)
    assert ga_alt["capex $M"] == pytest.approx(50.0)


def test_rejected_reason_comes_from_why_not(tmp_path):
    result = dataclasses.replace(make_result(), analyses=read_analyses({
        "why_not": {"GR-PLANT": {"reason": "=2+2 budget", "objective_loss": 1.5}},
    }))
    ws = write_and_open(tmp_path, result)["Rejected"]
    rows = table(ws)
    assert rows[0]["reason"] == "=2+2 budget"
    assert rows[1]["reason"] is None
    assert ws.cell(row=2, column=column_of(ws, "reason")).data_type == "s"
    assert "Why not" not in ws.parent.sheetnames


def test_input_text_is_never_a_formula(tmp_path):
    wb = write_and_open(tmp_path)
    portfolio, rejected = wb["Portfolio"], wb["Rejected"]
    name_col = column_of(portfolio, "name")
    names = {portfolio.cell(row=r, column=name_col).value: portfolio.cell(row=r, column=name_col)
             for r in range(2, portfolio.max_row + 1)}
    assert names["=1+1"].data_type == "s"
    assert names["<script>alert(1)</script>"].data_type == "s"
    link = rejected.cell(row=2, column=column_of(rejected, "name"))
    assert link.value == '=HYPERLINK("http://x")' and link.data_type == "s"
    with zipfile.ZipFile(tmp_path / "results.xlsx") as zf:
        for name in zf.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert not re.search(r"<f[ >]", zf.read(name).decode()), name


def test_number_formats(tmp_path):
    wb = write_and_open(tmp_path)
    portfolio, spend, china = wb["Portfolio"], wb["Spend"], wb["China reliance"]
    for header in ("capex $M", "NPV $M", "NPV discounted $M"):
        assert portfolio.cell(row=2, column=column_of(portfolio, header)).number_format == MONEY
    for header in ("spend $M", "budget $M", "headroom $M"):
        assert spend.cell(row=3, column=column_of(spend, header)).number_format == MONEY
    for header in ("China share before", "China share after"):
        assert china.cell(row=2, column=column_of(china, header)).number_format == PERCENT
    year = portfolio.cell(row=2, column=column_of(portfolio, "start year"))
    assert isinstance(year.value, int)


def test_headers_are_bold_and_frozen(tmp_path):
    wb = write_and_open(tmp_path)
    for title in SHEETS[1:]:
        ws = wb[title]
        assert ws.freeze_panes == "A2", title
        assert all(cell.font.bold for cell in ws[1] if cell.value is not None), title


def test_analysis_tables_get_their_own_sheets(tmp_path):
    result = dataclasses.replace(make_result(), analyses=read_analyses({
        "sensitivity": [
            {"parameter": "discount_rate", "value": 0.1, "npv_musd": 40.0, "funded": ["A", "B"]},
            {"parameter": "=cmd|' /C calc'!A0", "value": 0.06, "npv_musd": 44.5},
        ],
        "frontier": [{"min_npv_musd": 10.0, "security": 0.3}],
        "not_a_table": {"x": 1},
        "empty": [],
    }))
    wb = write_and_open(tmp_path, result)
    assert wb.sheetnames == [*SHEETS, "Sensitivity", "Frontier"]
    ws = wb["Sensitivity"]
    rows = table(ws)
    keys = ["parameter", "value", "npv_musd", "funded"]
    assert [c.value for c in ws[1]] == [header_words(k) for k in keys]
    assert rows[0][header_words("npv_musd")] == 40.0 and rows[1][header_words("funded")] is None
    assert ws.cell(row=3, column=1).data_type == "s"
    assert ws.cell(row=2, column=3).number_format == MONEY


def test_sheet_titles_are_valid_and_unique():
    assert report_xlsx.sheet_title("summary", ["Summary"]) == "Summary (2)"
    title = report_xlsx.sheet_title("a/b:" + "x" * 40, [])
    assert len(title) <= 31 and not set(title) & set("[]:*?/\\")


def test_write_is_atomic(tmp_path):
    path = tmp_path / "results.xlsx"
    write_results_xlsx(make_result(), path)
    write_results_xlsx(make_result(objective="npv"), path)  # overwrites in place
    assert [p.name for p in tmp_path.iterdir()] == ["results.xlsx"]


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "results.xlsx"
    write_results_xlsx(make_result(), path)
    before = path.read_bytes()

    def broken_save(self, filename):
        Path(filename).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(openpyxl.Workbook, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        write_results_xlsx(make_result(), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["results.xlsx"]


def test_robust_spend_column_when_gamma_is_set(tmp_path):
    result = make_result(robust_gamma=1)
    rows = table(write_and_open(tmp_path, result)["Spend"])
    for r in rows:
        assert r["spend with overruns $M"] == pytest.approx(result.evaluation.row_spend[r["year"]])
    assert "spend with overruns $M" not in table(write_and_open(tmp_path)["Spend"])[0]


def test_run_date_is_shown_in_utc(tmp_path):
    from datetime import datetime, timedelta, timezone

    path = tmp_path / "results.xlsx"
    run_time = datetime(2026, 3, 1, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    write_results_xlsx(make_result(), path, run_time=run_time)
    ws = openpyxl.load_workbook(path)["Summary"]
    assert summary_value(ws, "Run date (UTC)") == "2026-02-28 23:30"
