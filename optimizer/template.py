"""Write input workbooks: the blank, annotated template and a filled workbook from an Instance.

Both go through one layout (:func:`build_workbook`), driven by :mod:`optimizer.schema`: a README
sheet that explains the workbook, then the contract sheets with friendly headers and units (the
reader accepts them), a note on every header, drop-down lists, number formats in the fields' units
and frozen header rows. The template differs from a filled workbook only in its content: Settings
hold their defaults and the record sheets are empty.

Every text is written as text (:func:`optimizer.xlsx_style.safe_text`), so a name such as
"=HYPERLINK(...)" stays a name. Files are replaced atomically.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment
from openpyxl.utils import quote_sheetname
from openpyxl.worksheet.worksheet import Worksheet

from . import schema
from .docs_gen import allowed_text, plain, type_text
from .finance import project_npv_from_flows
from .instance import Instance, Project, Settings
from .schema import Field, Sheet
from .xlsx_style import (
    BODY_FONT,
    BOLD_FONT,
    HEADER_FILL,
    INPUT_FILL,
    INTEGER,
    LABEL_FILL,
    MONEY_INPUT,
    NUMBER,
    OPTIONAL_HEADER_FILL,
    PERCENT_INPUT,
    SECTION_FONT,
    THIN_BORDER,
    TITLE_FONT,
    TONNES_INPUT,
    USD_PER_TONNE,
    YEAR,
    add_list_validation,
    add_note,
    column_range,
    estimated_row_height,
    fit_to_page_width,
    freeze_header,
    save_atomically,
    set_column_format,
    set_column_widths,
    style_header_cell,
    write_cell,
    write_header,
)

README_SHEET = "README"
TEXT_FORMAT = "@"  # typed entries stay text: project ids such as 007 keep their zeros
TEMPLATE_ROWS = 1000  # rows of a record sheet covered by its drop-down lists
BOOL_CHOICES = ("TRUE", "FALSE")
SETTINGS_HEADERS = ("Setting", "Value")  # the contract's `setting` and `value`, capitalised
# Drop-downs whose choices are another sheet's column: (sheet, field) -> (sheet, field).
LOOKUPS: dict[tuple[str, str], tuple[str, str]] = {
    (schema.PROJECTS.name, "mineral"): (schema.MINERALS.name, "mineral"),
    (schema.CAPEX_PROFILE.name, "project_id"): (schema.PROJECTS.name, "project_id"),
    (schema.CASH_FLOWS.name, "project_id"): (schema.PROJECTS.name, "project_id"),
    (schema.COUNTRIES.name, "country"): (schema.PROJECTS.name, "country"),
}
LIST_KINDS = ("idlist", "list")  # comma-separated fields
README_WIDTHS = (26, 64, 24, 20, 26)
FREE_MIN_WIDTH, FREE_MAX_WIDTH = 10, 60  # column widths of Sources and extra sheets
README_TABLE_HEADERS = ("Meaning", "Unit", "Default (blank cell)", "Allowed")

README_INTRO = (
    "This workbook describes one investment decision: candidate refining plants and offtake "
    "agreements, the minerals they supply, and the capital budget.",
    "The optimizer chooses which projects to fund, and the year each starts, to cut US reliance on "
    "China for these minerals within the budgets.",
    "Fill in the sheets, save, then check and solve the workbook from a terminal:",
    "    python -m optimizer validate WORKBOOK.xlsx      checks it and lists every problem with "
    "its cell (nothing is solved)",
    "    python -m optimizer solve WORKBOOK.xlsx         solves it and writes results.json, "
    "results.xlsx and a decision memo into reports/<workbook name>/",
)
README_HOW = (
    "Row 1 of each sheet is the header; enter one record per row below it. Keep the sheet names "
    "and headers as they are.",
    "Hover over a header (on Settings: over a setting's name) to read what it means, its unit, "
    "its default and the values allowed. The tables below say the same.",
    "Dark blue headers must be filled on every row; light blue headers are optional: a blank cell "
    "takes the default.",
    "Drop-down lists offer the accepted choices (Kind, Must fund, Objective, Capex basis, Solver, "
    "Budget carry-over, Risk adjusted); Mineral on Projects offers the names of the Minerals "
    "sheet, Project id on CapexProfile and CashFlows the ids of Projects, and Country on "
    "Countries the countries of Projects.",
    "This README sheet is ignored by the optimizer, as is any sheet you add with a name of "
    "your own.",
)
README_UNITS = (
    "Money: millions of US dollars ($M). Type 250 for $250 million.",
    "Quantities: metric tons (t); demand and capacities are tonnes per year (t/yr). Count a "
    "mineral's demand and its projects' capacities in one form: contained metal or oxide content, "
    "or for lithium either lithium content or carbonate equivalent (LCE = 5.323 x content). Say "
    "which in the mineral's name, e.g. 'lithium (LCE)'.",
    "Offtake agreements: Capex is the prepayment or investment the agreement needs (often 0); NPV "
    "is the premium paid over the market price over the term, as a negative number.",
    "Shares and rates: fractions, shown as percentages. Type them with the % sign (85%); the cell "
    "stores 0.85. A value above 100% is an error.",
    "Years: calendar years (2031), never offsets; the only exceptions are Year offset on "
    "CapexProfile (0 is the start year) and on CashFlows (0 is the first operating year).",
    "Booleans: TRUE or FALSE (yes/no and 1/0 are accepted too).",
)
SHEET_HINTS = {
    schema.SETTINGS.name: "One row per setting. Edit only the Value column. First year is "
    "required; every other setting already holds its default.",
    schema.MINERALS.name: "One row per mineral the projects deliver.",
    schema.PROJECTS.name: "One row per candidate plant or offtake agreement. Mineral must be a "
    "name from the Minerals sheet; Requires lists other Project ids, separated by commas.",
    schema.BUDGET.name: "One row per year of the horizon (First year .. First year + Horizon - 1) "
    "with the capital that may be spent that year. It starts empty because the years depend on "
    "your First year; a horizon year with no row has a budget of 0 (the check warns about it).",
    schema.CAPEX_PROFILE.name: "Optional. Rows only for projects that do not spend their capex "
    "evenly over their build years: one row per year offset, shares summing to 100%.",
    schema.COUNTRIES.name: "Optional. Rows only for countries of the Projects sheet with a risk "
    "of a country-wide loss (war, seizure, expropriation), delays of their own or a cap on the "
    "plan's capex there. A country with no row has no loss event and the Settings delays.",
    schema.CASH_FLOWS.name: "Optional. Rows only for projects whose operating cash flows you "
    "have: one row per year after the project comes online (offset 0 is its first operating "
    "year), $M, + for an inflow. Its NPV is then computed from them and its capex, and its NPV "
    "cell on Projects may be left blank.",
    schema.SCENARIOS.name: "Optional. Each named scenario is solved as a variant of this workbook "
    "and compared side by side with the base plan. Lost countries lists countries of the "
    "Projects sheet, separated by commas, where nothing may be funded in that scenario.",
    schema.BUDGET_LEVELS.name: "Optional. Fill it when the budget is not known yet: one row per "
    "budget the decision may get, as a multiple of the Budget sheet and Total budget (0.7 is a 30% "
    "cut, 1 the budget as given), with its probability; the probabilities sum to 100%. The "
    "results then add a funding priority list: which projects go first if the money is less. "
    "Leave it empty otherwise.",
    schema.SOURCES_SHEET: "Optional sheet of your own: add a sheet named Sources with any headers "
    "in row 1 (source, figure, value, note ...) to record where the figures come from; it is "
    "carried into the decision memo as text.",
}


@dataclass(frozen=True)
class WorkbookContent:
    """What goes into a workbook; the layout is the same whatever the content.

    ``settings``: setting name -> value (None leaves the value blank). ``records``: sheet name ->
    rows, each a mapping field name -> value. ``sources``: rows of the Sources sheet, header
    first (no sheet when empty). ``extra_sheets``: sheet name -> rows, header first.
    """

    settings: Mapping[str, Any]
    records: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    sources: Sequence[Sequence[str]] = ()
    extra_sheets: Mapping[str, Sequence[Sequence[Any]]] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Public entry points.
# ---------------------------------------------------------------------------------------------

def write_template(path: str | os.PathLike) -> Path:
    """Write the blank, annotated input workbook to ``path`` (replacing any file there)."""
    return save_atomically(build_workbook(template_content()), path)


def write_workbook(
    instance: Instance,
    path: str | os.PathLike,
    *,
    extra_sheets: Mapping[str, Sequence[Sequence[Any]]] | None = None,
) -> Path:
    """Write ``instance`` as a filled input workbook in the template's layout.

    ``extra_sheets`` (sheet name -> rows, header first) are appended after the contract sheets;
    the reader ignores them. Capex profiles are written only for projects that do not spend
    evenly. The file at ``path`` is replaced atomically.
    """
    content = replace(instance_content(instance), extra_sheets=dict(extra_sheets or {}))
    return save_atomically(build_workbook(content), path)


def template_content() -> WorkbookContent:
    """Settings at their defaults (blank where required or defaulting to none), no records."""
    settings = {f.name: None if f.required else f.default for f in schema.SETTINGS.fields}
    return WorkbookContent(settings=settings)


def instance_content(instance: Instance) -> WorkbookContent:
    """Everything the instance holds, as sheet rows of the schema's fields."""
    s = instance.settings
    projects = instance.projects.values()
    records = {
        schema.MINERALS.name: [_record(schema.MINERALS, m) for m in instance.minerals.values()],
        schema.PROJECTS.name: [_project_record(p, s) for p in projects],
        schema.COUNTRIES.name: [_record(schema.COUNTRIES, c) for c in instance.countries.values()],
        schema.BUDGET.name: [{"year": year, "budget_musd": amount}
                             for year, amount in sorted(instance.budget.items())],
        schema.CAPEX_PROFILE.name: _capex_profile_rows(projects),
        schema.CASH_FLOWS.name: _cash_flow_rows(projects),
        schema.SCENARIOS.name: [_record(schema.SCENARIOS, sc) for sc in instance.scenarios],
        schema.BUDGET_LEVELS.name: [_record(schema.BUDGET_LEVELS, level)
                                    for level in instance.budget_levels],
    }
    sources: list[Sequence[str]] = []
    if instance.sources_header or instance.sources:
        sources = [instance.sources_header, *(row.cells for row in instance.sources)]
    return WorkbookContent(
        settings={f.name: getattr(s, f.name) for f in schema.SETTINGS.fields},
        records=records,
        sources=sources,
    )


def build_workbook(content: WorkbookContent) -> Workbook:
    """The workbook of ``content``: README, the schema's sheets in order, Sources, extra sheets."""
    wb = Workbook()
    _write_readme(wb.active)
    for sheet in schema.SHEETS:
        ws = wb.create_sheet(sheet.name)
        if sheet.key_value:
            _write_settings(ws, sheet, content.settings)
        else:
            _write_records(ws, sheet, content.records.get(sheet.name, ()))
    if content.sources:
        _write_free_sheet(wb.create_sheet(schema.SOURCES_SHEET), content.sources)
    for name, rows in content.extra_sheets.items():
        if name in wb.sheetnames:
            raise ValueError(f"extra sheet {name!r} would replace a sheet of the workbook")
        _write_free_sheet(wb.create_sheet(name), rows)
    for ws in wb.worksheets:
        fit_to_page_width(ws, landscape=ws.title != README_SHEET)
    return wb


# ---------------------------------------------------------------------------------------------
# How a field looks in a cell and in words.
# ---------------------------------------------------------------------------------------------

def shown_as_percent(f: Field) -> bool:
    """Shares, and fractions with a percentage unit ("%/yr"), are shown as percentages."""
    return f.kind == "share" or f.unit.startswith("%")


def number_format_for(f: Field) -> str:
    """Excel number format of the field's cells, from its kind and unit."""
    if shown_as_percent(f):
        return PERCENT_INPUT
    if f.unit == "$M":
        return MONEY_INPUT
    if f.unit == "t/yr":
        return TONNES_INPUT
    if f.unit == "$/t":
        return USD_PER_TONNE
    if f.kind == "year":
        return YEAR
    if f.kind == "int":
        return INTEGER
    if f.kind in ("text", "choice", *LIST_KINDS):
        return TEXT_FORMAT
    return NUMBER


def _percent(x: float) -> str:
    return f"{100 * x:g}%"


def unit_words(f: Field) -> str:
    """The unit as an analyst reads it ("% per year (8% is stored as 0.08)", "$M")."""
    if shown_as_percent(f):
        per_year = " per year" if f.unit.endswith("/yr") else ""
        return f"%{per_year} (8% is stored as 0.08)"
    return f.unit


def default_words(f: Field) -> str:
    """What a blank cell means."""
    if f.required:
        return "required"
    if f.default_text:
        return f.default_text
    if f.default is None:
        return "none"
    if shown_as_percent(f) and not isinstance(f.default, bool):
        return _percent(f.default)
    return f.default_display()


def allowed_words(sheet: Sheet, f: Field) -> str:
    """Allowed values of a field of ``sheet``, in percentages for percentage fields."""
    if shown_as_percent(f) and not f.choices:
        low = 0.0 if f.minimum is None and f.kind == "share" else f.minimum
        high = 1.0 if f.maximum is None and f.kind == "share" else f.maximum
        if low is not None and high is not None:
            return f"{_percent(low)} .. {_percent(high)}"
        if low is not None:
            return f"{'>' if f.exclusive_minimum else '>='} {_percent(low)}"
    lookup = LOOKUPS.get((sheet.name, f.name))
    if lookup:
        return f"a {lookup[1]} of the {lookup[0]} sheet"
    return plain(allowed_text(f)) or f"any {type_text(f)}"


def field_note(sheet: Sheet, f: Field) -> str:
    """The note on a header (or setting) cell: meaning, unit, default and allowed values."""
    lines = [f"{f.label} (field {f.name})", plain(f.description)]
    unit = unit_words(f)
    if unit:
        lines.append(f"Unit: {unit}.")
    default = default_words(f)
    lines.append("Required." if f.required else f"Blank means: {default}.")
    if f.required_unless:
        lines.append(f"May be blank only when {f.required_unless}.")
    lines.append(f"Allowed: {allowed_words(sheet, f)}.")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Sheets.
# ---------------------------------------------------------------------------------------------

def _write_readme(ws: Worksheet) -> None:
    """The README sheet: what the tool does, how to fill each sheet, units, one table per sheet."""
    ws.title = README_SHEET
    set_column_widths(ws, README_WIDTHS)
    ws.sheet_view.showGridLines = False
    write_cell(ws, 1, 1, "Critical-mineral portfolio optimizer: input workbook").font = TITLE_FONT
    row = _write_lines(ws, 3, "What it does", README_INTRO)
    row = _write_lines(ws, row, "How to fill it", README_HOW)
    row = _write_lines(ws, row, "Units", README_UNITS)
    for sheet in schema.SHEETS:
        row = _write_readme_table(ws, row, sheet)
    _write_lines(ws, row, f"Sheet {schema.SOURCES_SHEET} (optional)",
                 (SHEET_HINTS[schema.SOURCES_SHEET],))


def _write_lines(ws: Worksheet, row: int, title: str, lines: Sequence[str]) -> int:
    """A section title and its lines, one per row; returns the row after a blank line."""
    write_cell(ws, row, 1, title).font = SECTION_FONT
    for offset, line in enumerate(lines, start=1):
        write_cell(ws, row + offset, 1, line)
    return row + len(lines) + 2


def _write_readme_table(ws: Worksheet, row: int, sheet: Sheet) -> int:
    """The README section of one sheet: what to enter, then a row per column or setting."""
    optional = "" if sheet.required else " (optional)"
    write_cell(ws, row, 1, f"Sheet {sheet.name}{optional}").font = SECTION_FONT
    write_cell(ws, row + 1, 1, SHEET_HINTS[sheet.name])
    row += 2
    first = "Setting" if sheet.key_value else "Column"
    for col, text in enumerate((first, *README_TABLE_HEADERS), start=1):
        style_header_cell(write_cell(ws, row, col, text))
    for f in sheet.fields:
        row += 1
        label = f.name if sheet.key_value else f.header
        values = (label, plain(f.description), unit_words(f), default_words(f),
                  allowed_words(sheet, f))
        for col, text in enumerate(values, start=1):
            cell = write_cell(ws, row, col, text)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            cell.border = THIN_BORDER
        ws.row_dimensions[row].height = estimated_row_height(zip(values, README_WIDTHS))
    return row + 2


def _write_settings(ws: Worksheet, sheet: Sheet, values: Mapping[str, Any]) -> None:
    """Key/value sheet: one row per setting, its name (with a note) and its value."""
    write_header(ws, SETTINGS_HEADERS)
    add_note(ws["A1"], "The setting's name. Keep the names as they are; hover over one to read "
             "what it means, its unit, default and allowed values.")
    add_note(ws["B1"], "Edit the values in this column. A blank value takes the setting's "
             "default; First year must be filled.")
    for row, f in enumerate(sheet.fields, start=2):
        name = write_cell(ws, row, 1, f.name)
        name.fill = LABEL_FILL
        name.border = THIN_BORDER
        name.font = BOLD_FONT if f.required else BODY_FONT
        add_note(name, field_note(sheet, f))
        value = write_cell(ws, row, 2, values.get(f.name), number_format_for(f))
        value.fill = INPUT_FILL
        value.border = THIN_BORDER
        value.alignment = Alignment(horizontal="right")
        _add_drop_down(ws, sheet, f, value.coordinate)
    set_column_widths(ws, (max(len(f.name) for f in sheet.fields) + 4, 18))
    freeze_header(ws)


def _write_records(ws: Worksheet, sheet: Sheet, rows: Sequence[Mapping[str, Any]]) -> None:
    """A record sheet: friendly headers with notes, column formats and drop-downs, then the rows."""
    write_header(ws, [f.header for f in sheet.fields])
    last_row = max(TEMPLATE_ROWS, len(rows) + 1)
    for col, f in enumerate(sheet.fields, start=1):
        header = ws.cell(row=1, column=col)
        style_header_cell(header, HEADER_FILL if f.required else OPTIONAL_HEADER_FILL)
        add_note(header, field_note(sheet, f))
        set_column_format(ws, col, number_format_for(f))
        _add_drop_down(ws, sheet, f, column_range(col, 2, last_row))
    for row, record in enumerate(rows, start=2):
        for col, f in enumerate(sheet.fields, start=1):
            write_cell(ws, row, col, record.get(f.name), number_format_for(f))
    set_column_widths(ws, [f.width for f in sheet.fields])
    freeze_header(ws)


def _add_drop_down(ws: Worksheet, sheet: Sheet, f: Field, cell_range: str) -> None:
    """A drop-down for choice and boolean fields and for fields naming another sheet's rows."""
    if f.choices:
        add_list_validation(ws, cell_range, choices=f.choices)
    elif f.kind == "bool":
        add_list_validation(ws, cell_range, choices=BOOL_CHOICES, strict=False)
    elif (sheet.name, f.name) in LOOKUPS:
        source_sheet, source_field = LOOKUPS[sheet.name, f.name]
        col = schema.SHEETS_BY_NAME[source_sheet].names.index(source_field) + 1
        source = f"{quote_sheetname(source_sheet)}!{column_range(col, 2, TEMPLATE_ROWS, True)}"
        error = f"{f.label} should be a {source_field} listed on the {source_sheet} sheet."
        add_list_validation(ws, cell_range, source=source, strict=False, error=error)


def _write_free_sheet(ws: Worksheet, rows: Sequence[Sequence[Any]]) -> None:
    """A sheet of free rows, header first (Sources, extra sheets): text stays text, wrapped."""
    if not rows:
        return
    widths = [FREE_MIN_WIDTH] * max(len(values) for values in rows)
    for values in rows:
        for c, value in enumerate(values):
            widths[c] = min(max(widths[c], len(_shown(value)) + 2), FREE_MAX_WIDTH)
    write_header(ws, [_shown(h) for h in rows[0]])
    for r, values in enumerate(rows[1:], start=2):
        for c, value in enumerate(values, start=1):
            write_cell(ws, r, c, value).alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[r].height = estimated_row_height(zip(map(_shown, values), widths))
    set_column_widths(ws, widths)
    freeze_header(ws)


def _shown(value: Any) -> str:
    return "" if value is None else str(value)


# ---------------------------------------------------------------------------------------------
# Instance -> rows.
# ---------------------------------------------------------------------------------------------

def _record(sheet: Sheet, obj: object) -> dict[str, Any]:
    """The row of one input object: its value of every field of ``sheet``."""
    return {f.name: _cell_value(f, getattr(obj, f.name)) for f in sheet.fields}


def _cell_value(f: Field, value: Any) -> Any:
    """A value as a cell holds it: lists joined by ", ", an empty list blank."""
    if f.kind in LIST_KINDS:
        return ", ".join(value) or None
    return value


def _project_record(p: Project, settings: Settings) -> dict[str, Any]:
    """The Projects row of ``p``; npv_musd is left blank when it is exactly the NPV its cash
    flows give (so the workbook reads back the same, and keeps following the flows)."""
    row = _record(schema.PROJECTS, p)
    if p.cash_flows and p.npv_musd == project_npv_from_flows(p, settings):
        row["npv_musd"] = None
    return row


def _cash_flow_rows(projects: Iterable[Project]) -> list[dict[str, Any]]:
    """CashFlows rows ($M), one per year offset from the online year, of projects with flows."""
    return [
        {"project_id": p.project_id, "year_offset": offset, "cash_flow_musd": flow}
        for p in projects
        for offset, flow in enumerate(p.cash_flows)
    ]


def _is_even(p: Project) -> bool:
    """True when the project spends its capex evenly over its build years (no rows needed)."""
    if not p.capex_profile:
        return True
    n = max(p.build_years, 1)
    return len(p.capex_profile) == n and all(
        math.isclose(share, 1.0 / n, rel_tol=1e-12, abs_tol=1e-15) for share in p.capex_profile)


def _capex_profile_rows(projects: Iterable[Project]) -> list[dict[str, Any]]:
    """CapexProfile rows, one per year offset, of the projects that do not spend evenly."""
    return [
        {"project_id": p.project_id, "year_offset": offset, "share": share}
        for p in projects if not _is_even(p)
        for offset, share in enumerate(p.capex_profile)
    ]


def is_unmodified_template(path: str | os.PathLike) -> bool:
    """True when ``path`` holds exactly what :func:`write_template` writes (cell values, every
    sheet), so replacing it loses nothing; False for any other file, a filled-in workbook above
    all. The file is read through the safe reader; an unreadable file is not a template."""
    import tempfile

    from .errors import InputError
    from .reader import open_workbook

    def cells(book_path) -> tuple:
        with open_workbook(book_path) as book:
            return tuple((title, [c.value for c in sheet.header],
                          [[c.value for c in row.cells] for row in sheet.rows])
                         for title in book.sheet_names
                         for sheet in [book.read_sheet(title)])

    with tempfile.TemporaryDirectory() as folder:
        fresh = write_template(Path(folder) / "template.xlsx")
        try:
            return cells(path) == cells(fresh)
        except InputError:
            return False
