"""memo.pdf, the memo for circulation: written by every run, A4 pages numbered "Page N of M" under
the memo title, every section heading in order (and as a bookmark), the same text, tables and
charts as the other memo files, long tables split with their header repeated, and hostile text
from the workbook printed literally.

The PDF is read back with pypdf; the expected text comes from the neutral Document and, for the
key figures, from results.json formatted here independently of the code under test.
"""

from __future__ import annotations

import json
import re

import pypdf
import pytest
from helpers import make_tradeoff_result
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from test_memo import RUN_TIME, money

from optimizer.memo import build_document, write_memo
from optimizer.memo.model import Bullets, Document, Figure, Paragraph, Section, Table
from optimizer.memo.pdf import EMPHASIS_FILL, escape, table_grid, write_pdf

A4_POINTS = (595.28, 841.89)
HOSTILE = "<script>alert(1)</script> & <b>bold</b> &amp; <font size=40>x</font> \u2264 \u00d7"


def squash(text: str) -> str:
    """``text`` without any whitespace: line breaks fall anywhere in a wrapped PDF line."""
    return "".join(text.split())


@pytest.fixture(scope="module")
def result():
    return make_tradeoff_result()


@pytest.fixture(scope="module")
def memo(result, tmp_path_factory):
    return write_memo(result, tmp_path_factory.mktemp("pdf_memo"), run_time=RUN_TIME)


@pytest.fixture(scope="module")
def doc(result, memo) -> Document:
    pngs = {k.removeprefix("chart_"): v for k, v in memo.items() if k.startswith("chart_")}
    return build_document(result, pngs, run_time=RUN_TIME)


@pytest.fixture(scope="module")
def reader(memo) -> pypdf.PdfReader:
    return pypdf.PdfReader(str(memo["pdf"]))


@pytest.fixture(scope="module")
def pages(reader) -> list[str]:
    return [page.extract_text() for page in reader.pages]


def body_text(pages: list[str]) -> str:
    """The text of every page without its footer, squashed."""
    return "".join(squash(re.sub(r"Decision memo: critical-mineral projects to fund\s*"
                                 r"Page \d+ of \d+\s*$", "", page)) for page in pages)


def test_write_memo_writes_the_pdf(memo):
    path = memo["pdf"]
    assert path.name == "memo.pdf" and path.parent == memo["html"].parent
    assert path.read_bytes().startswith(b"%PDF-")


def test_every_page_is_a4_with_title_and_page_number(reader, pages, doc):
    total = len(pages)
    assert total >= 3
    for number, (page, text) in enumerate(zip(reader.pages, pages), start=1):
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(
            A4_POINTS, abs=0.05)
        footer = text.strip().splitlines()[-2:]
        assert footer == [doc.title, f"Page {number} of {total}"], (number, footer)
    assert reader.metadata.title == doc.title


def test_title_subtitle_and_every_section_in_order(pages, doc, reader):
    text = body_text(pages)
    assert text.startswith(squash(doc.title) + squash(doc.subtitle))
    assert "\u2013" in doc.subtitle  # the en dash of the year range prints as itself
    position = 0
    for heading in doc.headings():
        found = text.find(squash(heading), position)
        assert found >= 0, f"{heading!r} missing or out of order"
        position = found + 1
    assert doc.headings()[0] == "1. Recommendation"
    assert [entry.title for entry in reader.outline] == doc.headings()


def test_every_text_of_the_document_is_in_the_pdf(pages, doc):
    text = body_text(pages)
    missing = []
    for section in doc.sections:
        for block in section.blocks:
            if isinstance(block, Paragraph):
                expected = [block.text]
            elif isinstance(block, Bullets):
                expected = list(block.items)
            elif isinstance(block, Figure):
                expected = [block.caption]
            else:
                rows = [block.header, *block.rows, *([block.footer] if block.footer else [])]
                expected = [block.caption, *("".join(row) for row in rows)]
            missing += [t for t in expected if squash(t) not in text]
    assert not missing


def test_key_figures_as_the_memo_formats_them(pages, result):
    js = json.loads(json.dumps(result.to_json()))
    text = body_text(pages)
    assert squash(f"a portfolio NPV of {money(js['npv_musd'])}") in text
    assert squash(f"IRR is {100 * js['portfolio_irr']:.1f}%") in text


def test_every_chart_is_embedded(reader, doc):
    charts = [b for s in doc.sections for b in s.blocks if isinstance(b, Figure)]
    assert len(charts) >= 5
    assert sum(len(page.images) for page in reader.pages) == len(charts)


def test_text_is_set_in_dejavu_sans(reader):
    fonts = {str(font.get_object()["/BaseFont"]) for page in reader.pages
             for font in page["/Resources"]["/Font"].values()}
    assert any(name.endswith("+DejaVuSans") for name in fonts), fonts
    assert any(name.endswith("+DejaVuSans-Bold") for name in fonts), fonts


def test_a_project_name_like_a_script_prints_literally(pages):
    assert squash("<script>alert(1)</script> (GR-OFFTAKE)") in body_text(pages)


def test_escape_for_reportlab_markup():
    assert escape("<b>&amp;</b>") == "&lt;b&gt;&amp;amp;&lt;/b&gt;"
    assert escape("a\x00b\x07") == "ab"


def hostile_document() -> Document:
    table = Table(header=("Name", HOSTILE), rows=((HOSTILE, "1.0"),), align=("left", "right"),
                  caption=HOSTILE, footer=(HOSTILE, "2.0"))
    blocks = (Paragraph(HOSTILE, "lead"), Paragraph(HOSTILE), Paragraph(HOSTILE, "note"),
              Bullets((HOSTILE, HOSTILE)), table)
    return Document(title=HOSTILE, subtitle=HOSTILE, sections=(Section("x", HOSTILE, blocks),))


def test_hostile_text_prints_literally_everywhere(tmp_path):
    path = write_pdf(hostile_document(), tmp_path / "memo.pdf")
    reader = pypdf.PdfReader(str(path))
    text = squash("".join(page.extract_text() for page in reader.pages))
    # title, subtitle, heading, 3 paragraphs, 2 bullets, caption, 2 header/cells, footer, and the
    # title again in the page footer
    assert text.count(squash(HOSTILE)) == 13
    assert [entry.title for entry in reader.outline] == [f"1. {HOSTILE}"]


def long_document(rows: int) -> Document:
    table = Table(header=("Row label", "Amount $M"),
                  rows=tuple((f"row-{i:03d}", f"{i:,.1f}") for i in range(rows)),
                  align=("left", "right"), caption="A long table", footer=("Total", "9,999.0"))
    return Document(title="Long", subtitle="A table longer than a page",
                    sections=(Section("long", "Long table", (Paragraph("Intro."), table)),))


def test_a_long_table_splits_across_pages_with_its_header_repeated(tmp_path):
    path = write_pdf(long_document(150), tmp_path / "memo.pdf")
    pages = [page.extract_text() for page in pypdf.PdfReader(str(path)).pages]
    assert len(pages) >= 3
    labels = [label for page in pages for label in re.findall(r"row-\d{3}", page)]
    assert labels == [f"row-{i:03d}" for i in range(150)]
    for page in pages:
        if "row-" in page:
            assert "Row label" in page and "Amount $M" in page
    assert [page.count("Total") for page in pages] == [0] * (len(pages) - 1) + [1]
    assert "9,999.0" in pages[-1]


def test_table_alignment_emphasis_and_footer():
    table = Table(header=("Year", "Spend $M"), rows=(("2026", "1.0"), ("2027", "2.0")),
                  align=("left", "right"), emphasis=frozenset({1}), footer=("Total", "3.0"))
    grid = table_grid(table)
    cells = grid._cellvalues
    assert [c.style.alignment for c in cells[1]] == [TA_LEFT, TA_RIGHT]
    assert cells[2][0].style.fontName.endswith("Bold")  # the emphasis row
    assert not cells[1][0].style.fontName.endswith("Bold")
    assert cells[3][0].style.fontName.endswith("Bold")  # the total row
    shaded = [(start, end) for _, start, end, color in grid._bkgrndcmds if color == EMPHASIS_FILL]
    assert shaded == [((0, 2), (-1, 2))]
    assert grid.repeatRows == 1


def test_the_same_memo_gives_the_same_bytes(tmp_path):
    first = write_pdf(long_document(5), tmp_path / "a.pdf")
    second = write_pdf(long_document(5), tmp_path / "b.pdf")
    assert first.read_bytes() == second.read_bytes()


@pytest.fixture
def without_dejavu(monkeypatch, tmp_path):
    """matplotlib's data folder without its fonts; the font and style caches cleared before and
    after, so that the other tests get DejaVu Sans again."""
    import matplotlib

    from optimizer.memo import pdf

    monkeypatch.setattr(matplotlib, "get_data_path", lambda: str(tmp_path))
    pdf.fonts.cache_clear()
    pdf.style.cache_clear()
    yield
    pdf.fonts.cache_clear()
    pdf.style.cache_clear()


def test_without_dejavu_the_memo_falls_back_to_helvetica(without_dejavu, tmp_path):
    path = write_pdf(long_document(5), tmp_path / "memo.pdf")
    reader = pypdf.PdfReader(str(path))
    fonts = {str(font.get_object()["/BaseFont"])
             for font in reader.pages[0]["/Resources"]["/Font"].values()}
    assert fonts == {"/Helvetica", "/Helvetica-Bold"}
    assert "row-004" in reader.pages[0].extract_text()
