"""results.xlsx prints: every sheet one page wide, landscape where wide, header row repeated, a
footer with the file name and page number; headers in words with units; chart lines straight.

Two workbooks: the small trade-off result with every analysis (tests/helpers.py, plus budget
sensitivity and why-not) and the bundled example solved once (its fixed sheets at full size, and
its stress test; the scenario re-solves are left out to keep the test quick). Where LibreOffice is
installed, both are exported to PDF and every page is checked to show its sheet's whole header
row (see :func:`spilled_pages`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import zipfile
from collections import defaultdict
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
from helpers import make_tradeoff_result

from optimizer.analyses import Analyses
from optimizer.analyses.sensitivity import budget_sensitivity
from optimizer.analyses.stress import stress_test
from optimizer.analyses.whynot import explain_rejections
from optimizer.report_xlsx import build_workbook, write_results_xlsx
from optimizer.resolve import Parallel
from optimizer.solve import solve
from optimizer.tables import header_words
from optimizer.validate import load_instance
from optimizer.xlsx_style import (DEFAULT_COLUMN_WIDTH, PORTRAIT_PRINT_WIDTH_IN,
                                  column_inches, sheet_width_inches)

EXAMPLE = Path(__file__).parents[1] / "inputs" / "central_asia_refining.xlsx"
CHART_NS = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
PDF_TIMEOUT_S = 240


def full_result():
    """The trade-off result with every analysis: trade-offs, scenarios, robust, simulation,
    stress test, and the budget sensitivity and why-not re-solves."""
    result = make_tradeoff_result()
    parallel = Parallel(workers=1, progress=False)
    analyses = dataclasses.replace(result.analyses,
                                   sensitivity=budget_sensitivity(result, parallel=parallel),
                                   why_not=explain_rejections(result, parallel=parallel))
    return dataclasses.replace(result, analyses=analyses)


def example_result():
    """The bundled example, solved, with its stress test (no re-solves)."""
    result = solve(load_instance(EXAMPLE), diagnose=False)
    return dataclasses.replace(result, analyses=Analyses(stress=stress_test(result)))


@pytest.fixture(scope="module")
def results() -> dict[str, object]:
    return {"tradeoff": full_result(), "example": example_result()}


@pytest.fixture(scope="module")
def paths(results, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("print")
    out = {}
    for name, result in results.items():
        out[name] = folder / f"{name}.xlsx"
        write_results_xlsx(result, out[name])
    return out


@pytest.fixture(scope="module", params=["tradeoff", "example"])
def workbook(request, paths) -> openpyxl.Workbook:
    return openpyxl.load_workbook(paths[request.param])


# ---------------------------------------------------------------------------------------------
# Page setup


def test_every_sheet_prints_one_page_wide_with_its_header_and_a_footer(workbook):
    assert len(workbook.worksheets) >= 6
    for ws in workbook.worksheets:
        setup = ws.page_setup
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True, ws.title
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0), ws.title
        assert setup.orientation in ("portrait", "landscape"), ws.title
        assert ws.print_title_rows == "$1:$1", ws.title
        assert "&F" in ws.oddFooter.left.text and "&A" in ws.oddFooter.left.text, ws.title
        assert ws.oddFooter.right.text == "Page &P of &N", ws.title
        assert ws.page_margins.left == ws.page_margins.right == 0.5, ws.title
        assert ws.print_options.gridLines is True, ws.title


def test_orientation_follows_the_width_of_the_columns_and_charts(results):
    wb = build_workbook(results["tradeoff"])
    orientation = {ws.title: ws.page_setup.orientation for ws in wb.worksheets}
    for ws in wb.worksheets:
        wide = sheet_width_inches(ws) > PORTRAIT_PRINT_WIDTH_IN
        assert orientation[ws.title] == ("landscape" if wide else "portrait"), ws.title
    assert orientation["Alternatives"] == "landscape"  # 14 columns
    assert orientation["Spend"] == "landscape"  # 7 columns and the chart beside them
    assert orientation["Simulation risks"] == "portrait"  # 2 columns


def test_chart_width_counts_towards_the_sheet_width(results):
    ws = build_workbook(results["tradeoff"])["Spend"]
    chart = ws._charts[0]
    with_chart = sheet_width_inches(ws)
    ws._charts.remove(chart)
    gap = column_inches(DEFAULT_COLUMN_WIDTH)  # one empty column between table and chart
    assert with_chart - sheet_width_inches(ws) == pytest.approx(gap + chart.width / 2.54)


def test_the_spend_budget_line_is_straight(paths):
    with zipfile.ZipFile(paths["example"]) as z:
        charts = [ElementTree.fromstring(z.read(name)) for name in z.namelist()
                  if name.startswith("xl/charts/chart")]
    lines = [ser for chart in charts for line in chart.iter(f"{CHART_NS}lineChart")
             for ser in line.iter(f"{CHART_NS}ser")]
    assert lines, "the Spend chart has a budget line"
    for ser in lines:
        smooth = ser.find(f"{CHART_NS}smooth")
        assert smooth is not None and smooth.get("val") == "0"


# ---------------------------------------------------------------------------------------------
# Headers in words


FIXED_SHEETS = ("Summary", "Portfolio", "Spend", "China reliance", "Rejected")


def headers(ws) -> list[str]:
    return [str(c.value) for c in ws[1] if c.value is not None]


def test_no_header_is_a_field_name(workbook):
    for ws in workbook.worksheets:
        for header in headers(ws):
            assert "_" not in header, (ws.title, header)
            assert not re.fullmatch(r"[\w ]+:\w+", header), (ws.title, header)
            assert header[:1] == header[:1].upper() or ws.title in FIXED_SHEETS, \
                (ws.title, header)


def test_analysis_headers_carry_their_units(paths):
    wb = openpyxl.load_workbook(paths["tradeoff"])
    assert "Objective below optimum (%)" in headers(wb["Alternatives"])
    assert "Objective ($M)" in headers(wb["Alternatives"])  # the weighted objective is in $M
    assert {"China share, gallium", "China share, graphite", "Budget change (%)",
            "Extra budget $M"} <= set(headers(wb["Sensitivity"]))
    assert {"Probability met in target year", "Probability met every year from then"} <= \
        set(headers(wb["Simulation targets"]))
    assert "Reliance removed (share-years)" in headers(wb["Frontier"])
    assert headers(wb["Portfolio"])[0] == headers(wb["Rejected"])[0] == "project ID"


@pytest.mark.parametrize("key,unit,expected", [
    ("npv_musd", None, "NPV $M"),
    ("objective_below_optimum_pct", None, "Objective below optimum (%)"),
    ("china_share:gallium", None, "China share, gallium"),
    ("china_share:rare earths", None, "China share, rare earths"),
    ("p_met_all_years", None, "Probability met every year from then"),
    ("p_something_new", None, "Probability something new"),
    ("budget_change", None, "Budget change (%)"),
    ("capacity_tpa", None, "Capacity t/yr"),
    ("tonnes_t", None, "Tonnes t"),
    ("solve_seconds", None, "Solve time (s)"),
    ("irr_pct", None, "IRR (%)"),
    ("peak_funding_musd", None, "Peak funding $M"),
    ("objective_value", "share-years", "Objective (share-years)"),
    ("objective_value", None, "Objective"),
    ("price_of_robustness", "$M", "Price of robustness ($M)"),
    ("npv_musd", "$M", "NPV $M"),  # a money field keeps its own unit
    ("status", None, "Status"),
    ("p10", None, "P10"),
    ("china_share_p90", None, "China share P90"),
])
def test_header_words(key, unit, expected):
    assert header_words(key, unit) == expected


def test_the_memo_heads_its_generic_tables_with_the_same_words():
    from optimizer.memo.text import header_for

    for key in ("npv_musd", "china_share:gallium", "p_exceeded", "objective_below_optimum_pct"):
        assert header_for(key) == header_words(key)


def test_repeated_header_words_are_numbered():
    from optimizer.report_xlsx import table_headers

    assert table_headers(["adds", "added", "note"]) == [
        "Projects added", "Projects added (2)", "Note"]


# ---------------------------------------------------------------------------------------------
# Printed by LibreOffice


def office() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def export_pdfs(files: list[Path], folder: Path) -> dict[Path, Path]:
    """Each workbook exported to PDF by headless LibreOffice (its own profile folder, so it runs
    as root in CI and beside a running LibreOffice)."""
    profile = folder / "lo-profile"
    env = {**os.environ, "HOME": str(folder)}
    done = subprocess.run(
        [office(), f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(folder), *map(str, files)],
        capture_output=True, text=True, timeout=PDF_TIMEOUT_S, env=env)
    pdfs = {f: folder / f"{f.stem}.pdf" for f in files}
    missing = [str(p) for p in pdfs.values() if not p.exists()]
    assert not missing, f"LibreOffice wrote no {missing}: {done.stdout} {done.stderr}"
    return pdfs


def page_items(page) -> list[tuple[float, float, str, bool, float]]:
    """(x, y, text, bold, font size) of every text run of a PDF page, points from bottom left."""
    items = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            bold = "bold" in str((font or {}).get("/BaseFont", "")).lower()
            items.append((x, y, text, bold, size))

    page.extract_text(visitor_text=visit)
    return items


def tokens(text: str) -> set[str]:
    return set(text.split())


def page_sheet(items, file_name: str) -> str | None:
    """The sheet a page belongs to, from its footer "<file name>, <sheet>"."""
    footer_y = min(y for _x, y, _t, _b, _s in items)
    footer = "".join(t for _x, y, t, _b, _s in sorted(items) if abs(y - footer_y) < 1)
    match = re.match(re.escape(file_name) + r", (.+?)Page \d+ of \d+$", footer)
    return match.group(1) if match else None


def header_band(items) -> set[str]:
    """Words of the bold text in the top row of the page: the repeated header row (one or two
    wrapped lines in a row 32 points high at 100%, less when the page is scaled down)."""
    bold = [(y, t, s) for _x, y, t, b, s in items if b]
    if not bold:
        return set()
    top = max(y for y, _t, _s in bold)
    scale = max(s for _y, _t, s in bold) / 11  # header text is 11 points at 100%
    return set().union(*(tokens(t) for y, t, _s in bold if top - y <= 34 * scale))


def spilled_pages(pdf: Path, xlsx: Path) -> list[str]:
    """Problems of a workbook's PDF: a page whose sheet is unknown, a page that does not show
    the sheet's whole header row (header rows repeat on every page, so a page holding only some
    of the columns, those that spilled onto a second page across, lacks the others' headers), a
    sheet with no page, or a page not turned as the sheet's page setup says."""
    from pypdf import PdfReader

    wb = openpyxl.load_workbook(xlsx)
    wanted = {ws.title: set().union(*(tokens(h) for h in headers(ws))) for ws in wb.worksheets}
    turned = {ws.title: ws.page_setup.orientation for ws in wb.worksheets}
    problems, pages = [], defaultdict(int)
    for number, page in enumerate(PdfReader(pdf).pages, start=1):
        items = page_items(page)
        sheet = page_sheet(items, xlsx.name)
        if sheet not in wanted:
            problems.append(f"page {number}: no footer naming a sheet of {xlsx.name}")
            continue
        pages[sheet] += 1
        missing = wanted[sheet] - header_band(items)
        if missing:
            problems.append(f"page {number} ({sheet}): header words missing {sorted(missing)}")
        box = page.mediabox
        landscape = float(box.width) > float(box.height)
        if landscape != (turned[sheet] == "landscape"):
            turn = "landscape" if landscape else "portrait"
            problems.append(f"page {number} ({sheet}): printed {turn}")
    problems += [f"{sheet}: no page" for sheet in wanted if not pages[sheet]]
    return problems


@pytest.fixture(scope="module")
def pdfs(request, tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """The two workbooks and a broken copy of the trade-off one (its widest sheet no longer
    fitted to the page width) as PDF, in one LibreOffice run."""
    if office() is None:
        pytest.skip("LibreOffice (soffice) is not installed: the PDF export of results.xlsx "
                    "is not checked (.ci/run installs it; apt-get install libreoffice-calc)")
    pytest.importorskip("pypdf", reason="pypdf is needed to read the PDF (the test extra)")
    paths = request.getfixturevalue("paths")  # solved only when the PDF can be checked
    folder = tmp_path_factory.mktemp("pdf")
    broken = folder / "unfitted.xlsx"
    wb = openpyxl.load_workbook(paths["tradeoff"])
    ws = wb["Alternatives"]
    ws.sheet_properties.pageSetUpPr.fitToPage = False
    ws.page_setup.orientation = "portrait"
    wb.save(broken)
    files = [paths["tradeoff"], paths["example"], broken]
    done = export_pdfs(files, folder)
    return {name: (path, done[path]) for name, path in
            (("tradeoff", files[0]), ("example", files[1]), ("unfitted", broken))}


@pytest.mark.parametrize("name", ["example", "tradeoff"])
def test_no_sheet_spills_onto_a_second_page_across(pdfs, name):
    xlsx, pdf = pdfs[name]
    assert spilled_pages(pdf, xlsx) == []


def test_the_pdf_check_finds_columns_that_spill(pdfs):
    xlsx, pdf = pdfs["unfitted"]
    problems = spilled_pages(pdf, xlsx)
    assert problems and all("(Alternatives)" in p for p in problems), problems
    assert any("header words missing" in p for p in problems)
