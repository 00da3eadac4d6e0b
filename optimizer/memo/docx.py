"""Render the memo :class:`~optimizer.memo.model.Document` as an editable Word file.

Real Heading styles (Title, Heading 1) so Word's navigation pane and table of contents work, real
tables (style "Table Grid", header row repeated on each page, rows kept on one page), and the
charts as pictures sized to the A4 text area. Text goes in as plain runs: python-docx escapes XML,
and :func:`~optimizer.memo.model.xml_safe` drops the characters XML 1.0 forbids, so a hostile name
from the workbook cannot break the file.
"""

from __future__ import annotations

from pathlib import Path

from docx import Document as new_word_document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from PIL import Image

from .model import Block, Bullets, Document, Figure, Paragraph, Table, fit_widths, xml_safe

PAGE_W_CM, PAGE_H_CM = 21.0, 29.7  # A4
MARGIN_CM = 1.8
TEXT_W_CM = PAGE_W_CM - 2 * MARGIN_CM
MAX_PICTURE_H_CM = 22.0  # leaves room for the caption on the same page
ALIGN = {"left": WD_ALIGN_PARAGRAPH.LEFT, "right": WD_ALIGN_PARAGRAPH.RIGHT,
         "center": WD_ALIGN_PARAGRAPH.CENTER}
BODY_PT, TABLE_PT, NOTE_PT, LEAD_PT = 10, 8, 8.5, 11
WIDE_CELL = 40  # characters: a longer cell wraps rather than widening its column further
LONG_WORD = 24  # characters: a longer word (a URL, a digest) may be broken by Word
CHAR_CM = 0.17  # width of one character of 8 pt Arial (bold header), cm
CELL_PAD_CM = 0.45  # left and right cell margins and border, cm
FONT = "Arial"  # Liberation Sans where Arial is missing; the same face as the HTML memo
HEADER_FILL = "1F4E78"
EMPHASIS_FILL = "FBE3E0"


def write_docx(doc: Document, path: Path) -> Path:
    """Write the memo as a .docx to ``path`` and return it."""
    word = new_word_document()
    set_up_page(word)
    styled(word, xml_safe(doc.title), "Title")
    add_paragraph(word, Paragraph(doc.subtitle, style="note"))
    for index, section in enumerate(doc.sections):
        styled(word, xml_safe(doc.heading(index)), "Heading 1")
        for block in section.blocks:
            add_block(word, block)
    word.core_properties.title = xml_safe(doc.title)
    word.save(str(path))
    return path


def set_up_page(word) -> None:
    """A4 portrait, narrow margins, body font and size."""
    for section in word.sections:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Cm(PAGE_W_CM), Cm(PAGE_H_CM)
        for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
            setattr(section, side, Cm(MARGIN_CM))
    word.styles["Normal"].font.size = Pt(BODY_PT)
    word.styles["Normal"].font.name = FONT


def styled(word, text: str, style: str):
    """A paragraph of ``text`` in the named paragraph style, as ``word.add_paragraph(text,
    style)`` makes it, but without python-docx checking the name against the default style
    among every style on each call (a third of the Word file's time): the id is set directly."""
    paragraph = word.add_paragraph(text)
    paragraph._p.style = word.styles[style].style_id
    return paragraph


def add_block(word, block: Block) -> None:
    if isinstance(block, Paragraph):
        add_paragraph(word, block)
    elif isinstance(block, Bullets):
        for item in block.items:
            styled(word, xml_safe(item), "List Bullet")
    elif isinstance(block, Table):
        add_table(word, block)
    elif isinstance(block, Figure):
        add_figure(word, block)
    else:
        raise TypeError(f"unknown block {type(block).__name__}")


def add_paragraph(word, block: Paragraph) -> None:
    paragraph = word.add_paragraph()
    run = paragraph.add_run(xml_safe(block.text))
    if block.style == "lead":
        run.font.size = Pt(LEAD_PT)
    elif block.style == "note":
        run.font.size = Pt(NOTE_PT)
        run.font.color.rgb = RGBColor(0x44, 0x44, 0x44)


def add_table(word, table: Table) -> None:
    if table.caption:
        caption = styled(word, xml_safe(table.caption), "Caption")
        caption.paragraph_format.keep_with_next = True
    rows = [table.header, *table.rows, *([table.footer] if table.footer else [])]
    grid = word.add_table(rows=len(rows), cols=len(table.header))
    grid._tbl.tblStyle_val = word.styles["Table Grid"].style_id  # as grid.style =, see styled
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False
    widths = column_widths_cm(rows)
    for column, width in zip(grid.columns, widths):
        column.width = Cm(width)
    # one pass over the rows, one cells list per row: indexing grid.rows or row.cells per cell
    # rebuilds those lists each time, which is quadratic in the number of rows
    for r, (row, values) in enumerate(zip(grid.rows, rows)):
        keep_row_on_one_page(row)
        is_header = r == 0
        is_footer = table.footer is not None and r == len(rows) - 1
        emphasised = not is_header and not is_footer and (r - 1) in table.emphasis
        if is_header:
            repeat_as_header(row)
        for c, (cell, value) in enumerate(zip(row.cells, values)):
            cell.width = Cm(widths[c])
            paragraph = cell.paragraphs[0]
            paragraph.alignment = ALIGN.get(table.align[c], WD_ALIGN_PARAGRAPH.LEFT)
            run = paragraph.add_run(xml_safe(value))
            run.font.size = Pt(TABLE_PT)
            run.bold = is_header or is_footer or emphasised
            if is_header:
                run.font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)
                shade(cell, HEADER_FILL)
            elif emphasised:
                shade(cell, EMPHASIS_FILL)
    word.add_paragraph()


def column_widths_cm(rows: list[tuple[str, ...]]) -> list[float]:
    """Column widths (cm) sharing the text width by content. Each column first gets room for its
    longest word (header included; up to :data:`LONG_WORD` characters), so no ordinary word is
    broken; the rest of the width goes to the
    columns whose data cells are longer (capped at :data:`WIDE_CELL` characters), so short
    columns stay narrow and text columns get the room."""
    columns = list(zip(*rows))
    least, wants = [], []
    for column in columns:
        word = max((len(w) for text in column for w in str(text).split()), default=1)
        cell = max((len(str(text)) for text in column[1:]), default=1)
        least.append(min(max(word, 2), LONG_WORD) * CHAR_CM + CELL_PAD_CM)
        wants.append(max(least[-1], min(cell, WIDE_CELL) * CHAR_CM + CELL_PAD_CM))
    return fit_widths(least, wants, TEXT_W_CM)


def add_figure(word, fig: Figure) -> None:
    """The chart at the text width, or smaller when it would be taller than a page allows."""
    with Image.open(fig.path) as image:
        width_px, height_px = image.size
    width_cm = min(TEXT_W_CM, MAX_PICTURE_H_CM * width_px / max(height_px, 1))
    picture = word.add_paragraph()  # as word.add_picture, keeping its paragraph at hand
    picture.add_run().add_picture(str(fig.path), width=Cm(width_cm))
    picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
    picture.paragraph_format.keep_with_next = True
    styled(word, xml_safe(fig.caption), "Caption")


def shade(cell, fill: str) -> None:
    """Background colour of a table cell (hex RGB)."""
    properties = cell._tc.get_or_add_tcPr()
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    properties.append(shading)


def repeat_as_header(row) -> None:
    """Mark a table row as the header row Word repeats at the top of each page."""
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(flag)


def keep_row_on_one_page(row) -> None:
    """Forbid Word to split the row across a page break."""
    flag = OxmlElement("w:cantSplit")
    flag.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(flag)
