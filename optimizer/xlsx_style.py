"""Helpers shared by every xlsx writer of the package: text that stays text, headers, formats.

Text written by the package (project names, sources, notes) may begin with "=", and openpyxl
stores such a string as a formula. :func:`safe_text` and :func:`write_cell` always store text as a
string cell, so a workbook never runs a formula that came from an input.

Number formats show the package's units: money in $M, tonnes, shares as percentages of a fraction
(a cell showing 85.0% holds 0.85), calendar years without a thousands separator.
"""

from __future__ import annotations

import math
import os
import uuid
from pathlib import Path
from typing import Any, Iterable, Sequence

from openpyxl.cell.cell import Cell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

# Number formats for reports (rounded for reading).
MONEY = '"$"#,##0.0"M"'  # 1250.5 -> $1,250.5M
PERCENT = "0.0%"  # 0.853 -> 85.3%
TONNES = '#,##0 "t"'  # 250000 -> 250,000 t
YEAR = "0"  # 2031 -> 2031 (no thousands separator)
INTEGER = "0"
NUMBER = "General"
USD_PER_TONNE = '"$"#,##0"/t"'  # 2500 -> $2,500/t

# Number formats for input cells: as readable, but never hiding the digits an analyst typed.
MONEY_INPUT = '"$"#,##0.0##"M"'  # 0.25 -> $0.25M
PERCENT_INPUT = "0.0##%"  # 0.0001 -> 0.01%
TONNES_INPUT = '[<100]0.0##" t";#,##0" t"'  # 12.5 -> 12.5 t, 250000 -> 250,000 t

# Styles: headers are bold white on dark blue (lighter blue for optional columns), input cells
# pale yellow, labels pale grey, thin grey borders.
FONT_NAME = "Calibri"  # Excel's default; named so LibreOffice does not fall back to a serif font
BODY_FONT = Font(name=FONT_NAME, size=11)
BOLD_FONT = Font(name=FONT_NAME, size=11, bold=True)
HEADER_FONT = Font(name=FONT_NAME, bold=True, color="FFFFFF")
HEADER_FILL = PatternFill(fill_type="solid", start_color="1F4E78", end_color="1F4E78")
OPTIONAL_HEADER_FILL = PatternFill(fill_type="solid", start_color="5B87B5", end_color="5B87B5")
INPUT_FILL = PatternFill(fill_type="solid", start_color="FFF2CC", end_color="FFF2CC")
LABEL_FILL = PatternFill(fill_type="solid", start_color="F2F2F2", end_color="F2F2F2")
HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)
THIN_SIDE = Side(style="thin", color="A6A6A6")
THIN_BORDER = Border(left=THIN_SIDE, right=THIN_SIDE, top=THIN_SIDE, bottom=THIN_SIDE)
TITLE_FONT = Font(name=FONT_NAME, bold=True, size=14, color="1F4E78")
SECTION_FONT = Font(name=FONT_NAME, bold=True, size=12, color="1F4E78")
NOTE_AUTHOR = "optimizer"

# Text that a spreadsheet program treats as the start of a formula when the cell is edited.
FORMULA_STARTS = ("=", "+", "-", "@")
# Excel's limit on the text of a list drop-down given inline ("a,b,c").
INLINE_LIST_LIMIT = 255


def safe_text(cell: Cell, value: str) -> Cell:
    """Store ``value`` in ``cell`` as text, never as a formula.

    openpyxl turns a string starting with "=" into a formula; this stores it as a string cell
    instead. Text that a spreadsheet program would read as a formula on editing also gets the
    quote prefix (Excel's leading apostrophe), so it stays text after the analyst edits the cell.
    """
    if not isinstance(value, str):
        raise TypeError(f"safe_text expects a str, got {type(value).__name__}: {value!r}")
    cell.value = value
    cell.data_type = "s"
    if value.startswith(FORMULA_STARTS):
        cell.quotePrefix = True
    return cell


def write_cell(
    ws: Worksheet, row: int, col: int, value: Any, number_format: str | None = None
) -> Cell:
    """Write ``value`` at (row, col) (1-based); text always as text (see :func:`safe_text`).

    ``None`` leaves the cell blank. ``number_format`` is applied whatever the value.
    """
    cell = ws.cell(row=row, column=col)
    if isinstance(value, str):
        safe_text(cell, value)
    else:
        cell.value = value
    if number_format:
        cell.number_format = number_format
    return cell


def style_header_cell(cell: Cell, fill: PatternFill = HEADER_FILL) -> None:
    """Bold white text on a dark fill, wrapped and centred, with a thin border."""
    cell.font = HEADER_FONT
    cell.fill = fill
    cell.alignment = HEADER_ALIGNMENT
    cell.border = THIN_BORDER


def write_header(ws: Worksheet, headers: Sequence[str], row: int = 1, height: float = 32) -> None:
    """Write styled header cells in ``row`` and give the row room for two wrapped lines (points)."""
    for col, text in enumerate(headers, start=1):
        style_header_cell(write_cell(ws, row, col, text))
    ws.row_dimensions[row].height = height


def freeze_header(ws: Worksheet, rows: int = 1) -> None:
    """Keep the first ``rows`` rows in view while scrolling."""
    ws.freeze_panes = ws.cell(row=rows + 1, column=1).coordinate


def fit_to_page_width(ws: Worksheet, *, landscape: bool = True) -> None:
    """Print the sheet one page wide (as many pages tall as needed), header row on every page."""
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    if ws.freeze_panes:
        ws.print_title_rows = f"1:{ws[ws.freeze_panes].row - 1}"


# Printing. A sheet prints one page wide (as many pages tall as needed), in landscape when its
# columns (and charts) are wider than a portrait page holds; header rows repeat on every page.
MARGIN_SIDE_IN = 0.5  # left and right page margins, inches
PORTRAIT_PRINT_WIDTH_IN = 8.27 - 2 * MARGIN_SIDE_IN  # A4, the narrower of A4 and Letter
DEFAULT_COLUMN_WIDTH = 8.43  # Excel characters, a column never given a width
FOOTER_LEFT = "&F, &A"  # the workbook's file name, the sheet's name
FOOTER_RIGHT = "Page &P of &N"


def column_inches(width: float) -> float:
    """Printed width of a column ``width`` Excel characters wide: 7 pixels a character plus 5
    of padding, at 96 pixels an inch."""
    return (7 * width + 5) / 96


def sheet_width_inches(ws: Worksheet) -> float:
    """Printed width of a sheet's used columns and of its charts (whichever reaches further),
    inches at 100%."""
    lefts = [0.0]  # lefts[i]: inches from the sheet's left edge to column i + 1
    last = max(ws.max_column, *(_chart_column(chart) for chart in ws._charts), 1)
    dims = ws.column_dimensions
    for col in range(1, last + 1):
        letter = get_column_letter(col)
        width = dims[letter].width if letter in dims else None  # reading would add a column
        lefts.append(lefts[-1] + column_inches(width or DEFAULT_COLUMN_WIDTH))
    widest = lefts[ws.max_column]
    for chart in ws._charts:  # chart width in cm, from its anchor column
        widest = max(widest, lefts[_chart_column(chart) - 1] + chart.width / 2.54)
    return widest


def _chart_column(chart: Any) -> int:
    """The 1-based column a chart is anchored at (a cell such as "J2", or an anchor object)."""
    anchor = chart.anchor
    if isinstance(anchor, str):
        return column_index_from_string("".join(c for c in anchor if c.isalpha()))
    return anchor._from.col + 1


def set_print_layout(ws: Worksheet, header_rows: int = 1) -> None:
    """Page setup for printing ``ws``: landscape when wider than a portrait page's printable
    width (:data:`PORTRAIT_PRINT_WIDTH_IN`), fit to one page wide and any number tall, the first
    ``header_rows`` rows repeated on every page, half-inch side margins, gridlines printed, and a
    footer with the workbook's file name, the sheet name and "Page n of m"."""
    wide = sheet_width_inches(ws) > PORTRAIT_PRINT_WIDTH_IN
    ws.page_setup.orientation = "landscape" if wide else "portrait"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    if header_rows:
        ws.print_title_rows = f"1:{header_rows}"
    ws.page_margins = PageMargins(left=MARGIN_SIDE_IN, right=MARGIN_SIDE_IN, top=0.6,
                                  bottom=0.75, header=0.3, footer=0.3)
    ws.print_options.gridLines = True
    ws.oddFooter.left.text = FOOTER_LEFT
    ws.oddFooter.right.text = FOOTER_RIGHT


def set_column_widths(ws: Worksheet, widths: Iterable[float]) -> None:
    """Set the widths of columns A, B, ... in Excel characters."""
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width


def set_column_format(ws: Worksheet, col: int, number_format: str) -> None:
    """Default number format of a whole column: cells the analyst types later get it too."""
    ws.column_dimensions[get_column_letter(col)].number_format = number_format


def add_note(cell: Cell, text: str, width: int = 320) -> Comment:
    """Attach a note (comment) to ``cell``, sized so the whole text shows; width in pixels."""
    chars_per_line = max(width // 7, 20)
    lines = sum(max(1, math.ceil(len(line) / chars_per_line)) for line in text.split("\n"))
    note = Comment(text, NOTE_AUTHOR, height=20 + 16 * lines, width=width)
    cell.comment = note
    return note


def add_list_validation(
    ws: Worksheet,
    cell_range: str,
    *,
    choices: Sequence[str] = (),
    source: str | None = None,
    strict: bool = True,
    error: str | None = None,
) -> DataValidation:
    """Add a drop-down list to ``cell_range`` ("C2:C1000").

    The list is either ``choices`` (inline) or ``source``, a range reference such as
    ``Minerals!$A$2:$A$1000`` (stored without a leading "=", as Excel writes it). With ``strict``
    Excel refuses other entries; otherwise it warns and lets the analyst keep them (the validator
    still checks every value). ``error`` is the message shown for an entry not in the list.
    """
    if bool(choices) == bool(source):
        raise ValueError("give either choices or source")
    if choices:
        formula = '"' + ",".join(choices) + '"'
        if len(formula) > INLINE_LIST_LIMIT:
            raise ValueError(f"drop-down list over {INLINE_LIST_LIMIT} characters: {formula}")
        error = error or f"Expected one of: {', '.join(choices)}."
    else:
        formula = source.removeprefix("=")
        error = error or f"Expected a value listed in {formula}."
    dv = DataValidation(
        type="list",
        formula1=formula,
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="stop" if strict else "warning",
        errorTitle="Not in the list",
        error=error[:INLINE_LIST_LIMIT],
    )
    dv.add(cell_range)
    ws.add_data_validation(dv)
    return dv


def column_range(col: int, first_row: int, last_row: int, absolute: bool = False) -> str:
    """A1-style range of one column, e.g. ``C2:C1000`` or ``$C$2:$C$1000``."""
    letter = get_column_letter(col)
    if absolute:
        return f"${letter}${first_row}:${letter}${last_row}"
    return f"{letter}{first_row}:{letter}{last_row}"


def estimated_row_height(texts: Iterable[tuple[str, float]], line_height: float = 15) -> float:
    """Row height in points that shows every (text, column width) pair wrapped in full."""
    lines = 1
    for text, width in texts:
        per_line = max(int(width), 1)  # word wrapping fills about one character a unit
        wrapped = sum(max(1, math.ceil(len(part) / per_line)) for part in str(text).split("\n"))
        lines = max(lines, wrapped)
    return line_height * lines


def save_atomically(wb: Workbook, path: str | os.PathLike) -> Path:
    """Save ``wb`` to a temporary file beside ``path``, then rename it over ``path``.

    A reader never sees a half-written workbook, and a failed save leaves any old file intact.
    """
    target = Path(path)
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        wb.save(temp)
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return target
