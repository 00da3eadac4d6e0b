"""The decision memo: every figure against results.json, section order in HTML, DOCX and
Markdown, skipped analyses, escaping of hostile workbook text, a self-contained HTML file."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timezone
from pathlib import Path

import docx
import pytest
from helpers import make_result
from test_charts import large_result

from optimizer.outputs import read_analyses
from optimizer.evaluate import evaluate
from optimizer.memo import build_document, write_memo
from optimizer.memo.markdown import escape as md_escape
from optimizer.memo.model import Bullets, Table, xml_safe
from optimizer.results import Result

RUN_TIME = datetime(2025, 3, 1, 12, 30, tzinfo=timezone.utc)
CORE_TITLES = ["Recommendation", "The portfolio", "Timeline", "Money", "China reliance",
               "Why not the others", "Budget sensitivity"]
LAST_TITLE = "Assumptions and provenance"
SCRIPT = "<script>alert(1)</script>"

WHY_NOT = {
    "GR-PLANT": {"reason": "Forcing it in breaks the 2027 budget by $20.0M.",
                 "kind": "forced_cost", "objective_loss": 12.25},
    "GA-ALT": {"reason": "It shares the exclusive group 'gallium' with GA-PLANT, which is funded.",
               "kind": "excluded", "objective_loss": None},
}
SENSITIVITY = [
    {"budget_change": -0.3, "status": "optimal", "objective_value": 10.0, "npv_musd": 5.0,
     "total_capex_musd": 0.0, "funded_count": 1, "extra_budget_musd": -69.0,
     "objective_per_extra_busd": 789.5, "china_share:gallium": 0.9, "china_share:graphite": 0.6},
    {"budget_change": 0.0, "status": "optimal", "objective_value": 64.8, "npv_musd": 41.3,
     "total_capex_musd": 120.0, "funded_count": 2, "extra_budget_musd": 0.0,
     "objective_per_extra_busd": None, "china_share:gallium": 0.4, "china_share:graphite": 0.6},
    {"budget_change": 0.3, "status": "optimal", "objective_value": 80.0, "npv_musd": 60.0,
     "total_capex_musd": 200.0, "funded_count": 3, "extra_budget_musd": 69.0,
     "objective_per_extra_busd": 220.25, "china_share:gallium": 0.4, "china_share:graphite": 0.3},
]
ANALYSES = {
    "why_not": WHY_NOT,
    "why_not_note": "Re-solves were limited to the 2 of 2 rejected projects that came closest.",
    "sensitivity": SENSITIVITY,
}


def money(value: float) -> str:
    """The memo's $M format, written independently of the code under test."""
    return f"{'-' if value < 0 else ''}${abs(value):,.1f}M"


def amount(value: float) -> str:
    return f"{value:,.1f}"


def pct(value: float) -> str:
    return f"{100 * value:.1f}%"


def full_result(**analyses) -> Result:
    return dataclasses.replace(make_result(), analyses=read_analyses({**ANALYSES, **analyses}))


@pytest.fixture(scope="module")
def memo(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("memo")
    return write_memo(full_result(), folder, run_time=RUN_TIME)


def section(doc, key: str):
    return next(s for s in doc.sections if s.key == key)


def tables(sec) -> list[Table]:
    return [b for b in sec.blocks if isinstance(b, Table)]


def text_of(sec) -> str:
    return " ".join(getattr(b, "text", "") for b in sec.blocks)


def word_text(word) -> str:
    parts = [p.text for p in word.paragraphs]
    for table in word.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def word_table_rows(table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


# ---------------------------------------------------------------------------------------------
# Files and structure


def test_write_memo_writes_every_file(memo):
    assert set(memo) == {"html", "docx", "md", "pdf", "chart_timeline", "chart_spend",
                         "chart_china_share"}
    for path in memo.values():
        assert path.exists() and path.stat().st_size > 1000
    assert memo["html"].name == "memo.html"
    assert memo["chart_timeline"].name == "chart_timeline.png"


def test_the_helper_process_writes_the_same_memo(memo, tmp_path):
    """With the helper process (the default: every other chart and memo.docx drawn by a forked
    process) the files are those one process writes: HTML, Markdown and the charts byte for
    byte, the Word file part for part (its zip has timestamps), the PDF page for page."""
    import zipfile

    import pypdf

    alone = write_memo(full_result(), tmp_path, run_time=RUN_TIME, helper=False)
    assert set(alone) == set(memo)
    for key in alone:
        if key.startswith("chart_") or key in ("html", "md"):
            assert alone[key].read_bytes() == memo[key].read_bytes(), key
    parts = [zipfile.ZipFile(path) for path in (alone["docx"], memo["docx"])]
    assert sorted(parts[0].namelist()) == sorted(parts[1].namelist())
    assert all(parts[0].read(name) == parts[1].read(name) for name in parts[0].namelist())
    pages = [[page.extract_text() for page in pypdf.PdfReader(str(path)).pages]
             for path in (alone["pdf"], memo["pdf"])]
    assert pages[0] == pages[1]


def _memo_files_in(folder: str) -> list[str]:
    return sorted(write_memo(full_result(), Path(folder), run_time=RUN_TIME))


def test_the_memo_is_written_inside_a_daemonic_worker(memo, tmp_path):
    """A multiprocessing.Pool worker is daemonic and may not start the helper process (Python
    refuses): it writes the memo alone."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply(_memo_files_in, (str(tmp_path),)) == sorted(memo)


def test_sections_in_order_in_the_model():
    doc = build_document(full_result(), run_time=RUN_TIME)
    titles = [s.title for s in doc.sections]
    assert titles == CORE_TITLES + [LAST_TITLE]
    assert doc.headings()[0] == "1. Recommendation"


def test_sections_in_order_in_html(html_text):
    headings = re.findall(r"<h2>(.*?)</h2>", html_text)
    assert headings == [f"{i + 1}. {t}" for i, t in enumerate(CORE_TITLES + [LAST_TITLE])]


def test_sections_in_order_in_markdown(md_text):
    headings = [line[3:] for line in md_text.splitlines() if line.startswith("## ")]
    assert headings == [f"{i + 1}. {t}" for i, t in enumerate(CORE_TITLES + [LAST_TITLE])]


def test_sections_in_order_in_docx(word):
    headings = [p.text for p in word.paragraphs if p.style.name == "Heading 1"]
    assert headings == [f"{i + 1}. {t}" for i, t in enumerate(CORE_TITLES + [LAST_TITLE])]
    assert [p.style.name for p in word.paragraphs][0] == "Title"


def test_docx_has_real_tables_matching_the_model(word):
    doc = build_document(full_result(), run_time=RUN_TIME)
    model_tables = [t for s in doc.sections for t in tables(s)]
    assert len(word.tables) == len(model_tables)
    for table, model in zip(word.tables, model_tables):
        rows = word_table_rows(table)
        assert tuple(rows[0]) == model.header
        assert [tuple(r) for r in rows[1: 1 + len(model.rows)]] == list(model.rows)


def test_markdown_tables_and_images(md_text, memo):
    header = ("| Project | Kind | Country | Mineral | Start | Online | Capex \\$M | NPV \\$M "
              "(2026) | NPV \\$M (at start) | Risk |")
    assert header in md_text
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md_text)
    assert set(images) == {"chart_timeline.png", "chart_spend.png", "chart_china_share.png"}
    for name in images:
        assert (memo["md"].parent / name).exists()


# ---------------------------------------------------------------------------------------------
# Figures against results.json


def test_recommendation_figures_come_from_the_json(html_text, md_text, word):
    result = full_result()
    js = result.to_json()
    doc = build_document(result, run_time=RUN_TIME)
    text = text_of(section(doc, "recommendation"))
    assert money(js["npv_musd"]) in text
    assert money(js["total_capex_musd"]) in text
    assert f"Fund {len(js['funded'])} of the 4 candidate projects" in text
    assert "1 plant and 1 offtake agreement" in text
    for f in js["funded"][:3]:
        assert f"({f['project_id']}) in {f['start_year']}" in text
    first, target = "2026", "2030"
    for mineral, by_year in js["china_share"].items():
        today, then = pct(by_year[first]["before"]), pct(by_year[target]["after"])
        assert (f"{mineral} from {today} to {then}" in text
                or (today == then and f"{mineral} it stays at {then}" in text))
    assert f"Solver status: {js['status_words']}." in text
    lead = section(doc, "recommendation").blocks[0].text  # the lead paragraph
    assert len(re.findall(r"[.!?](\s|$)", lead)) in range(3, 6)  # three to five sentences
    assert money(js["npv_musd"]).replace("$", "\\$") in md_text
    assert money(js["npv_musd"]) in word_text(word)
    assert money(js["npv_musd"]) in html_text


def test_status_words_for_a_limited_run():
    result = make_result()
    info = dataclasses.replace(result.info, status="feasible", mip_gap=0.0123)
    result = dataclasses.replace(result, info=info)
    text = text_of(section(build_document(result, run_time=RUN_TIME), "recommendation"))
    assert "Solver status: best plan found; it is within 1.23% of the best possible." in text


def test_portfolio_rows_are_the_funded_projects(word):
    result = full_result()
    js = result.to_json()
    table = tables(section(build_document(result, run_time=RUN_TIME), "portfolio"))[0]
    assert len(table.rows) == len(js["funded"])
    for row, f in zip(table.rows, js["funded"]):
        assert row[0].endswith(f"({f['project_id']})")
        assert row[1:4] == (f["kind"], f["country"], f["mineral"])
        assert row[4] == str(f["start_year"])
        assert row[5] == str(f["online_year"])
        assert row[6] == amount(f["capex_musd"])
        assert row[7] == amount(f["npv_discounted_musd"])  # to first_year: sums to the total
        assert row[8] == amount(f["npv_musd"])
        assert row[9] == pct(f["risk"])
    assert table.footer[6] == amount(js["total_capex_musd"])
    assert table.footer[7] == amount(js["npv_musd"])  # one NPV total: the portfolio NPV
    docx_rows = word_table_rows(word.tables[0])
    assert [r[4] for r in docx_rows[1:-1]] == [str(f["start_year"]) for f in js["funded"]]
    assert docx_rows[-1][6] == amount(js["total_capex_musd"])


def test_spend_table_is_spend_by_year(html_text):
    result = full_result()
    js = result.to_json()
    table = tables(section(build_document(result, run_time=RUN_TIME), "money"))[0]
    assert [r[0] for r in table.rows] == list(js["spend_by_year"])
    for row in table.rows:
        assert row[1] == amount(js["spend_by_year"][row[0]])
        assert row[2] == amount(js["budget_by_year"][row[0]])
        assert row[3] == amount(js["budget_by_year"][row[0]] - js["spend_by_year"][row[0]])
    binding = [r[0] for r in table.rows if r[-1] == "yes"]
    assert binding == ["2027", "2028"]
    assert table.emphasis == {1, 2}
    assert html_text.count('<tr class="emphasis">') >= 2
    text = text_of(section(build_document(result, run_time=RUN_TIME), "money"))
    assert "binds in 2027\u20132028" in text


def test_spend_table_with_carryover_and_overruns():
    result = make_result(budget_carryover=True, robust_gamma=1)
    table = tables(section(build_document(result, run_time=RUN_TIME), "money"))[0]
    assert "Spend with overruns $M" in table.header
    assert "Cumulative budget $M" in table.header
    over = table.header.index("Spend with overruns $M")
    for row in table.rows:
        assert row[over] == amount(result.evaluation.row_spend[int(row[0])])


def test_china_table_is_china_share(md_text):
    result = full_result()
    js = result.to_json()
    table = tables(section(build_document(result, run_time=RUN_TIME), "china"))[0]
    assert table.header[1:3] == ("China share 2026 (today)", "China share 2030 with the plan")
    assert [r[0] for r in table.rows] == list(js["china_share"])
    for row in table.rows:
        shares = js["china_share"][row[0]]
        assert row[1] == pct(shares["2026"]["before"])
        assert row[2] == pct(shares["2030"]["after"])
        met = js["target_met_year"][row[0]]
        target = result.instance.minerals[row[0]].target_china_share
        assert row[3] == (pct(target) if target is not None else "\u2014")
        assert row[4] == (str(met) if met is not None else
                          "no target" if target is None else "not met")
    assert "| gallium | 90.0% | 40.0% | 50.0% | 2029 |" in md_text


def test_china_uses_the_last_year_without_a_target_year():
    result = make_result(target_year=None)
    doc = build_document(result, run_time=RUN_TIME)
    table = tables(section(doc, "china"))[0]
    assert table.header[2] == "China share 2031 with the plan"
    assert "in 2031, the last year of the plan" in text_of(section(doc, "recommendation"))


# ---------------------------------------------------------------------------------------------
# Why not, sensitivity, optional analyses


def test_why_not_reasons_per_rejected_project(html_text, md_text, word):
    result = full_result()
    table = tables(section(build_document(result, run_time=RUN_TIME), "why_not"))[0]
    assert [r[0].rsplit("(", 1)[1].rstrip(")") for r in table.rows] == result.rejected_ids
    for row, pid in zip(table.rows, result.rejected_ids):
        assert row[-1] == WHY_NOT[pid]["reason"]
    assert table.rows[0][5] == amount(12.25) and table.rows[1][5] == "\u2014"
    note = ANALYSES["why_not_note"]
    for pid in result.rejected_ids:
        reason = WHY_NOT[pid]["reason"]
        assert reason.replace("'", "&#x27;") in html_text
        assert md_escape(reason) in md_text
        assert reason in word_text(word)
    assert note in html_text and note in word_text(word)


def test_skipped_analyses_say_so_and_still_list_rejected(tmp_path):
    result = dataclasses.replace(make_result(), analyses=read_analyses({"sensitivity_skipped": True}))
    paths = write_memo(result, tmp_path, run_time=RUN_TIME)
    doc = build_document(result, run_time=RUN_TIME)
    why = section(doc, "why_not")
    assert "were skipped: the run was made with --no-sensitivity" in text_of(why)
    rows = tables(why)[0].rows
    assert len(rows) == len(result.rejected_ids)
    assert all(r[-1] == "not analysed" for r in rows)
    sens = section(doc, "sensitivity")
    assert "were skipped" in text_of(sens) and not tables(sens)
    html_text = paths["html"].read_text(encoding="utf-8")
    assert html_text.count("--no-sensitivity") == 2
    assert "--no-sensitivity" in word_text(docx.Document(str(paths["docx"])))


def test_analyses_not_run_without_the_skip_flag():
    doc = build_document(make_result(), run_time=RUN_TIME)
    assert "were not run" in text_of(section(doc, "why_not"))
    assert "were not run" in text_of(section(doc, "sensitivity"))


def test_sensitivity_table_and_what_a_billion_buys():
    result = full_result()
    sec = section(build_document(result, run_time=RUN_TIME), "sensitivity")
    main, shares = tables(sec)
    assert [r[0] for r in main.rows] == ["-30%", "base", "+30%"]
    for row, source in zip(main.rows, SENSITIVITY):
        assert row[1] == amount(source["extra_budget_musd"])
        assert row[3] == amount(source["objective_value"])
        assert row[4] == amount(source["npv_musd"])
        assert row[5] == amount(source["total_capex_musd"])
        assert row[6] == str(source["funded_count"])
    assert main.emphasis == {1}
    assert shares.header == ("Budget change", "gallium", "graphite")
    assert shares.rows[2] == ("+30%", "40.0%", "30.0%")
    text = text_of(sec)
    assert "each extra $1B raises it by $220.2M at +30%" in text or \
        "each extra $1B raises it by $220.3M at +30%" in text
    assert "each $1B cut lowers it by $789.5M at -30%" in text


def test_optional_analyses_become_sections_after_sensitivity(tmp_path):
    extra = {
        "frontier": [{"npv_musd": 41.25, "security_share_years": 1.4, "funded_count": 2}],
        "alternatives": [{"plan": "A", "objective_value": 60.0, "projects": ["GA-PLANT"]}],
        "scenarios": {"not": "a table"},  # not a list of dicts: left out
        "custom_check": [{"year": 2030, "ok": True}],
    }
    result = full_result(**extra)
    doc = build_document(result, run_time=RUN_TIME)
    titles = [s.title for s in doc.sections]
    assert titles == CORE_TITLES + ["Trade-offs: NPV against China reliance",
                                    "Near-optimal alternatives", "Custom check", LAST_TITLE]
    frontier = tables(section(doc, "tradeoffs"))[0]
    assert frontier.header[:3] == ("Point", "Reliance removed (share-years)", "NPV $M")
    assert frontier.rows[0][:3] in (("1", "1.400", "41.2"), ("1", "1.400", "41.3"))
    assert tables(section(doc, "custom_check"))[0].rows == (("2030", "yes"),)
    paths = write_memo(result, tmp_path, run_time=RUN_TIME)
    assert ("<h2>8. Trade-offs: NPV against China reliance</h2>"
            in paths["html"].read_text(encoding="utf-8"))


def test_provenance(word):
    result = full_result()
    sec = section(build_document(result, run_time=RUN_TIME), "provenance")
    run, settings = tables(sec)[:2]
    facts = dict(run.rows)
    assert facts["Input file"] == "example.xlsx"
    assert facts["Input SHA-256"] == "ab" * 32
    assert facts["Solver"] == "HiGHS test"
    assert facts["Run date (UTC)"] == "2025-03-01 12:30"
    from optimizer import __version__
    assert __version__ in facts["Tool version"]
    names = [r[0] for r in settings.rows]
    assert names == list(result.instance.settings.__dataclass_fields__)
    assert "no Sources sheet" in text_of(sec)
    assert "ab" * 32 in word_text(word)


def test_sources_sheet_is_listed():
    result = large_result(6)
    sec = section(build_document(result, run_time=RUN_TIME), "provenance")
    lists = [b for b in sec.blocks if isinstance(b, Bullets)]
    assert len(lists[0].items) == len(result.instance.sources)
    first = result.instance.sources[0].cells
    assert lists[0].items[0].startswith(str(first[0]))
    assert f"{result.instance.sources_header[2]}: https://pubs.usgs.gov/" in lists[0].items[0]


def test_a_plan_funding_nothing(tmp_path):
    base = make_result()
    evaluation = evaluate(base.instance, {})
    result = dataclasses.replace(base, starts={}, evaluation=evaluation)
    paths = write_memo(result, tmp_path, run_time=RUN_TIME)
    assert "chart_timeline" not in paths
    doc = build_document(result, run_time=RUN_TIME)
    assert "Fund none of the 4 candidate projects" in text_of(section(doc, "recommendation"))
    assert "No project is funded" in text_of(section(doc, "portfolio"))


# ---------------------------------------------------------------------------------------------
# Safety


def test_script_name_is_escaped_in_html(html_text):
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html_text
    assert "<script" not in html_text.lower()


def test_script_name_is_text_in_docx_and_markdown(word, md_text):
    assert SCRIPT in word_text(word)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md_text
    assert "<script" not in md_text.lower()


def test_formula_like_names_are_plain_text(html_text, word, md_text):
    assert "=1+1 (GA-PLANT)" in html_text
    assert "=1+1 (GA-PLANT)" in word_text(word)
    assert "| \\=1+1 (GA-PLANT) |" in md_text  # no setext heading, no formula
    assert not re.search(r"^=", md_text, flags=re.M)


def test_control_characters_cannot_break_the_docx(tmp_path):
    result = make_result()
    projects = dict(result.instance.projects)
    projects["GA-PLANT"] = dataclasses.replace(projects["GA-PLANT"],
                                               name="Bad\x00\x07name\x1b<&>\ufffe")
    instance = result.instance.with_projects(projects)
    result = dataclasses.replace(result, instance=instance)
    paths = write_memo(result, tmp_path, run_time=RUN_TIME)
    text = word_text(docx.Document(str(paths["docx"])))
    assert "Badname<&>" in text
    assert "\x00" not in paths["html"].read_text(encoding="utf-8")
    assert "Badname&lt;&amp;&gt;" in paths["html"].read_text(encoding="utf-8")
    assert xml_safe("a\x01b\ud800c") == "abc"


def test_markdown_escaping():
    assert md_escape("a|b") == "a\\|b"
    assert md_escape("=1+1") == "\\=1+1"
    assert md_escape("<b>") == "&lt;b&gt;"
    assert md_escape("# title", line_start=True) == "\\# title"
    assert md_escape("- item", line_start=True) == "\\- item"


def test_html_is_self_contained(html_text):
    tags = re.findall(r"<[^>]+>", html_text)
    for tag in tags:
        assert "http:" not in tag and "https:" not in tag, tag
        assert not re.search(r"\bhref\s*=", tag), tag
    sources = re.findall(r'\bsrc\s*=\s*"([^"]*)"', html_text)
    assert len(sources) == 3
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<link" not in html_text and "@import" not in html_text and "url(" not in html_text
    assert "@page" in html_text and "size: A4" in html_text


def test_memo_for_40_projects(tmp_path):
    result = large_result(40)
    paths = write_memo(result, tmp_path, run_time=RUN_TIME)
    doc = build_document(result, run_time=RUN_TIME)
    assert len(tables(section(doc, "portfolio"))[0].rows) == 40
    text = text_of(section(doc, "recommendation"))
    assert "and 37 more starting through 2027" in text
    assert "best plan found; it is within 0.42% of the best possible" in text
    assert len(docx.Document(str(paths["docx"])).tables[0].rows) == 42  # header + 40 + total


def test_a_plan_funding_one_project():
    base = make_result()
    starts = {"GA-PLANT": 2027}
    result = dataclasses.replace(base, starts=starts, evaluation=evaluate(base.instance, starts))
    text = text_of(section(build_document(result, run_time=RUN_TIME), "recommendation"))
    assert text.startswith("Fund 1 of the 4 candidate projects (1 plant): =1+1 (GA-PLANT), "
                           "starting in 2027.")
    assert "spent from 2027 to 2028" in text
