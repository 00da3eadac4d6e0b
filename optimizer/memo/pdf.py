"""Render the memo :class:`~optimizer.memo.model.Document` as a PDF for circulation (ReportLab).

A4 portrait. Every page has a footer with the memo title and "Page N of M"; the numbered section
headings (the same numbers as the HTML memo) are also the PDF's bookmarks. Tables take the text
width, columns shared by their content; a long table splits across pages with its header row
repeated, a short one (at most :data:`SHORT_TABLE` of a page tall) moves whole to the next page
when it does not fit. Charts are scaled to the text width (or less, so that a chart and its
caption fit on one page).

Text is set in DejaVu Sans (shipped inside matplotlib, a dependency), which has the en dash,
em dash, "≤" and "×" the memo writes; ReportLab's built-in Helvetica, used only if that file is
missing, covers Latin-1 alone. Every string goes through :func:`escape`, so text from the
workbook (``<script>``, ``&``) prints literally instead of being read as ReportLab's mini-markup.
"""

from __future__ import annotations

import functools
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from PIL import Image as PILImage
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (CondPageBreak, Flowable, HRFlowable, Image, KeepTogether,
                                ListFlowable, ListItem, SimpleDocTemplate, Spacer)
from reportlab.platypus import Paragraph as PdfParagraph
from reportlab.platypus import Table as PdfTable

from .model import Block, Bullets, Document, Figure, Paragraph, Table, fit_widths, xml_safe

PAGE_W, PAGE_H = A4  # points
MARGIN_SIDE, MARGIN_TOP, MARGIN_BOTTOM = 15 * mm, 16 * mm, 20 * mm
TEXT_W = PAGE_W - 2 * MARGIN_SIDE  # points
FRAME_H = PAGE_H - MARGIN_TOP - MARGIN_BOTTOM  # points
FOOTER_Y = 10 * mm  # baseline of the footer text above the page's bottom edge
SHORT_TABLE = 0.6  # a table (with caption) at most this fraction of a page tall is kept whole
LONG_TABLE_ROOM = 45 * mm  # a long table starts on a new page unless this much room is left
HEADING_ROOM = 30 * mm  # a heading starts on a new page unless this much room is left
CAPTION_ROOM = 15 * mm  # kept below a figure, on its page, for its caption
BODY_PT, LEAD_PT, NOTE_PT, TABLE_PT, FOOTER_PT = 10, 11, 8.5, 8, 7.5
CELL_PAD = 3  # left and right padding of a table cell, points
LONG_WORD_PT = 95.0  # a wider word (a URL, a digest) may be broken rather than widen its column
WIDE_CELL_PT = 210.0  # a wider cell wraps rather than widening its column further
BLUE = colors.HexColor("#1f4e78")
GREY = colors.HexColor("#444444")
RULE = colors.HexColor("#c8c8c8")
LEAD_FILL = colors.HexColor("#f3f6fa")
EMPHASIS_FILL = colors.HexColor("#fbe3e0")
DEJAVU = ("MemoSans", "MemoSans-Bold")
DEJAVU_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
CREATOR = "mineral-portfolio-optimizer"
ALIGN = {"left": TA_LEFT, "right": TA_RIGHT, "center": TA_CENTER}


def escape(text: str) -> str:
    """``text`` as literal ReportLab paragraph text: characters XML forbids dropped, ``&``, ``<``
    and ``>`` written as entities, so nothing in it is read as markup."""
    return xml_escape(xml_safe(text))


def write_pdf(doc: Document, path: Path) -> Path:
    """Write the memo as an A4 PDF to ``path`` and return it.

    Images are stored as binary Flate streams, not ASCII85 text (ReportLab's ``useA85``, a
    process-wide setting no other code here reads): smaller files, and without ReportLab's
    optional C accelerator the pure-Python ASCII85 encoding took a fifth of the PDF's time."""
    rl_config.useA85 = 0
    path = Path(path)
    template = MemoTemplate(str(path), doc)
    template.build(story(doc), canvasmaker=numbered_canvas(xml_safe(doc.title)))
    return path


def story(doc: Document) -> list[Flowable]:
    """Every flowable of the memo, in order: title, subtitle, then each numbered section."""
    flows: list[Flowable] = [PdfParagraph(escape(doc.title), style("title")),
                             PdfParagraph(escape(doc.subtitle), style("subtitle"))]
    for index, section in enumerate(doc.sections):
        flows += section_flowables(doc.heading(index), f"section{index}", section.blocks)
    return flows


# ---------------------------------------------------------------------------------------------
# Fonts and paragraph styles


@functools.lru_cache(maxsize=None)
def fonts() -> tuple[str, str]:
    """(regular, bold) font names: DejaVu Sans from matplotlib's data folder, registered once;
    Helvetica when those files are missing."""
    import matplotlib

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    files = [folder / name for name in DEJAVU_FILES]
    if not all(f.is_file() for f in files):
        return "Helvetica", "Helvetica-Bold"
    for name, file in zip(DEJAVU, files):
        pdfmetrics.registerFont(TTFont(name, str(file)))
    pdfmetrics.registerFontFamily(DEJAVU[0], normal=DEJAVU[0], bold=DEJAVU[1],
                                  italic=DEJAVU[0], boldItalic=DEJAVU[1])
    return DEJAVU


@functools.lru_cache(maxsize=None)
def style(name: str, align: str = "left") -> ParagraphStyle:
    """The paragraph style ``name`` ("title", "subtitle", "heading", "body", "lead", "note",
    "bullet", "caption", "figcaption", "cell", "cell_bold", "header") with horizontal alignment
    ``align``; sizes in points."""
    regular, bold = fonts()
    size, font, color, leading_extra, after = {
        "title": (17, bold, BLUE, 4, 2 * mm),
        "subtitle": (9, regular, GREY, 2.5, 5 * mm),
        "heading": (13, bold, BLUE, 3, 0),
        "body": (BODY_PT, regular, colors.black, 4, 2.5 * mm),
        "lead": (LEAD_PT, regular, colors.black, 4, 0),
        "note": (NOTE_PT, regular, GREY, 3, 2.5 * mm),
        "bullet": (9, regular, colors.black, 3.5, 0.8 * mm),
        "caption": (NOTE_PT, bold, colors.HexColor("#333333"), 3, 1 * mm),
        "figcaption": (NOTE_PT, regular, GREY, 3, 4 * mm),
        "cell": (TABLE_PT, regular, colors.black, 2, 0),
        "cell_bold": (TABLE_PT, bold, colors.black, 2, 0),
        "header": (TABLE_PT, bold, colors.white, 2, 0),
    }[name]
    return ParagraphStyle(f"memo-{name}-{align}", fontName=font, fontSize=size,
                          leading=size + leading_extra, textColor=color, spaceAfter=after,
                          alignment=ALIGN.get(align, TA_LEFT), splitLongWords=1)


# ---------------------------------------------------------------------------------------------
# Sections and blocks


def section_flowables(heading: str, bookmark: str, blocks: tuple[Block, ...]) -> list[Flowable]:
    """A section: its heading kept on one page with its first block (a long table: with its
    caption and first rows), then the rest of the blocks, each table and figure kept whole
    unless it is a long table."""
    head = PdfParagraph(escape(heading), style("heading"))
    head.outline = (bookmark, xml_safe(heading))
    title = [head, HRFlowable(width="100%", thickness=1.5, color=BLUE, spaceBefore=1,
                              spaceAfter=2.5 * mm)]
    units = [block_flowables(block) for block in blocks]
    if not units:
        return [CondPageBreak(HEADING_ROOM), *title]
    first = units[0]
    if is_long_table(first):  # the table's CondPageBreak, then heading, caption, table
        flows = [first[0], *title, *first[1:]]
    else:
        flows = [CondPageBreak(HEADING_ROOM), KeepTogether([*title, *first])]
    for block, unit in zip(blocks[1:], units[1:]):
        kept = isinstance(block, (Table, Figure)) and not is_long_table(unit)
        flows += [KeepTogether(unit)] if kept else unit
    return flows


def block_flowables(block: Block) -> list[Flowable]:
    """The flowables of one block, to be kept on one page unless they start with a
    :class:`CondPageBreak` (a long table, which splits across pages)."""
    if isinstance(block, Paragraph):
        return [paragraph(block)]
    if isinstance(block, Bullets):
        return [bullets(block)]
    if isinstance(block, Table):
        return table_flowables(block)
    if isinstance(block, Figure):
        return figure(block)
    raise TypeError(f"unknown block {type(block).__name__}")


def is_long_table(unit: list[Flowable]) -> bool:
    return isinstance(unit[0], CondPageBreak)


def paragraph(block: Paragraph) -> Flowable:
    """A body or note paragraph; the lead (the recommendation) in a shaded box with a blue bar
    on its left, as in the HTML memo."""
    if block.style != "lead":
        return PdfParagraph(escape(block.text), style("note" if block.style == "note" else "body"))
    box = PdfTable([[PdfParagraph(escape(block.text), style("lead"))]], colWidths=[TEXT_W])
    box.setStyle([("BACKGROUND", (0, 0), (-1, -1), LEAD_FILL),
                  ("LINEBEFORE", (0, 0), (0, -1), 3, BLUE),
                  ("LEFTPADDING", (0, 0), (-1, -1), 10), ("RIGHTPADDING", (0, 0), (-1, -1), 8),
                  ("TOPPADDING", (0, 0), (-1, -1), 7), ("BOTTOMPADDING", (0, 0), (-1, -1), 7)])
    box.spaceAfter = 2.5 * mm
    return box


def bullets(block: Bullets) -> Flowable:
    items = [ListItem(PdfParagraph(escape(item), style("bullet"))) for item in block.items]
    return ListFlowable(items, bulletType="bullet", start="\u2022", leftIndent=12,
                        bulletFontName=fonts()[0], bulletFontSize=9, spaceAfter=2.5 * mm)


def table_flowables(table: Table) -> list[Flowable]:
    """The caption and the table. A short table (at most :data:`SHORT_TABLE` of the page's text
    height) is kept whole with its caption (by :func:`section_flowables`); a taller one starts
    where at least :data:`LONG_TABLE_ROOM` is left and then splits across pages, so that moving
    a table never leaves more than that fraction of a page blank."""
    caption = [PdfParagraph(escape(table.caption), style("caption"))] if table.caption else []
    grid = table_grid(table)
    height = sum(f.wrap(TEXT_W, FRAME_H)[1] for f in (*caption, grid))
    if height <= SHORT_TABLE * FRAME_H:
        return [*caption, grid]
    return [CondPageBreak(LONG_TABLE_ROOM), *caption, grid]


def table_grid(table: Table) -> PdfTable:
    """The table as a ReportLab Table: header row repeated on each page, each column aligned as
    ``table.align`` says, emphasis rows shaded and bold, the footer (total) row bold under a
    rule."""
    rows = [table.header, *table.rows, *([table.footer] if table.footer else [])]
    last_data = len(table.rows)  # row index of the last data row (the header is row 0)
    cells = []
    for r, row in enumerate(rows):
        is_footer = table.footer is not None and r == len(rows) - 1
        name = ("header" if r == 0 else
                "cell_bold" if is_footer or (r - 1) in table.emphasis else "cell")
        cells.append([PdfParagraph(escape(value), style(name, align))
                      for value, align in zip(row, table.align)])
    grid = PdfTable(cells, colWidths=column_widths(rows), repeatRows=1, hAlign="LEFT",
                    spaceAfter=4 * mm)
    commands = [("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), CELL_PAD),
                ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PAD),
                ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("BACKGROUND", (0, 0), (-1, 0), BLUE)]
    if last_data:
        commands.append(("LINEBELOW", (0, 1), (-1, last_data), 0.5, RULE))
    commands += [("BACKGROUND", (0, i + 1), (-1, i + 1), EMPHASIS_FILL)
                 for i in sorted(table.emphasis) if 0 <= i < len(table.rows)]
    if table.footer:
        commands.append(("LINEABOVE", (0, last_data + 1), (-1, last_data + 1), 1.5, BLUE))
    grid.setStyle(commands)
    return grid


def column_widths(rows: list[tuple[str, ...]]) -> list[float]:
    """Column widths (points) sharing the text width by content. Each column first gets room for
    its longest word (header included, at most :data:`LONG_WORD_PT`), so no ordinary word is
    broken; the rest goes to the columns whose cells are longer (each counted up to
    :data:`WIDE_CELL_PT`), so short columns stay narrow and text columns get the room."""
    bold = fonts()[1]

    def width(text: str) -> float:
        return pdfmetrics.stringWidth(text, bold, TABLE_PT)  # bold: the widest case

    least, wants = [], []
    for column in zip(*rows):
        word = max((width(w) for text in column for w in str(text).split()), default=0.0)
        cell = max((width(str(text)) for text in column[1:]), default=0.0)
        least.append(min(max(word, 12.0), LONG_WORD_PT) + 2 * CELL_PAD + 1)
        wants.append(max(least[-1], min(cell, WIDE_CELL_PT) + 2 * CELL_PAD + 1))
    return fit_widths(least, wants, TEXT_W)


def figure(fig: Figure) -> list[Flowable]:
    """The chart at the text width (smaller when it would leave no room for its caption on a
    page), centred, its caption under it, both kept on one page."""
    with PILImage.open(fig.path) as picture:
        width_px, height_px = picture.size
    width = min(TEXT_W, (FRAME_H - CAPTION_ROOM) * width_px / max(height_px, 1))
    height = width * height_px / max(width_px, 1)
    image = Image(str(fig.path), width=width, height=height)
    image.hAlign = "CENTER"
    return [image, Spacer(1, 1.5 * mm), PdfParagraph(escape(fig.caption), style("figcaption"))]


# ---------------------------------------------------------------------------------------------
# Pages: template, bookmarks and the numbered footer


class MemoTemplate(SimpleDocTemplate):
    """A4 pages with the memo's margins; each section heading becomes a PDF bookmark. The file
    is reproducible (``invariant``: no creation time or random id in it), so the same memo gives
    the same bytes; the run's date is in the subtitle."""

    def __init__(self, filename: str, doc: Document):
        super().__init__(filename, pagesize=A4, leftMargin=MARGIN_SIDE, rightMargin=MARGIN_SIDE,
                         topMargin=MARGIN_TOP, bottomMargin=MARGIN_BOTTOM,
                         title=xml_safe(doc.title), subject=xml_safe(doc.subtitle),
                         author=CREATOR, creator=CREATOR, invariant=1)

    def afterFlowable(self, flowable: Flowable) -> None:
        outline = getattr(flowable, "outline", None)
        if outline:
            key, text = outline
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(text, key, level=0)


def numbered_canvas(title: str) -> type[Canvas]:
    """A canvas class that holds every page back until the document is complete, then draws
    each page's footer (``title`` and "Page N of M") before writing it."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._held_pages: list[dict] = []

        def showPage(self):
            self._held_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._held_pages)
            for number, state in enumerate(self._held_pages, start=1):
                self.__dict__.update(state)
                draw_footer(self, title, number, total)
                super().showPage()
            super().save()

    return NumberedCanvas


def draw_footer(canvas: Canvas, title: str, number: int, total: int) -> None:
    """A thin rule, the memo title on the left and "Page N of M" on the right."""
    canvas.saveState()
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.5)
    canvas.line(MARGIN_SIDE, FOOTER_Y + 10, PAGE_W - MARGIN_SIDE, FOOTER_Y + 10)
    canvas.setFont(fonts()[0], FOOTER_PT)
    canvas.setFillColor(GREY)
    canvas.drawString(MARGIN_SIDE, FOOTER_Y, title)
    canvas.drawRightString(PAGE_W - MARGIN_SIDE, FOOTER_Y, f"Page {number} of {total}")
    canvas.restoreState()
