"""Write ``results.xlsx``: the verified plan laid out for a finance reader.

Every figure comes from the :class:`~optimizer.results.Result` (its independent
:class:`~optimizer.evaluate.Evaluation`, its :class:`~optimizer.results.SolveInfo` and its
``analyses``); nothing here touches a model or a solver. Units: money in $M, quantities in metric
tons, shares as fractions shown in percent format, years as integers.

Sheets: Summary, Portfolio, Spend (with a native bar-and-line chart), China reliance, Rejected,
then one sheet per list-of-dict table in ``result.analyses`` (written by :func:`write_table`, so a
new analysis only has to add data). Text that came from the input workbook is always stored as
text, never as a formula.
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from . import __version__
from .results import Result
from .tables import (CHINA, OBJECTIVE_WORDS, PORTFOLIO, REJECTED, SPEND, SUMMARY, header_words,
                     is_binding, objective_unit, sheet_title, spend_rows)
from .xlsx_style import (
    MONEY,
    PERCENT,
    SECTION_FONT,
    TONNES,
    YEAR,
    add_note,
    estimated_row_height,
    freeze_header,
    save_atomically,
    set_column_widths,
    set_print_layout,
    write_cell,
    write_header,
)


SECONDS = "0.00"
DECIMAL = "0.000"
RISK = "0.00"
GAP = "0.000%"  # a solver gap of 0.0001 shows as 0.010%, not 0.0%
MIN_WIDTH, MAX_WIDTH = 8, 50  # column widths, Excel characters
BOLD_ROOM = 1.2  # bold header letters (and a printer's fallback font) are wider than digits
WRAP = Alignment(wrap_text=True, vertical="top")  # long text in a column of MAX_WIDTH
TOP = Alignment(vertical="top")  # the other cells of a row with wrapped text
WRAP_ROOM = 0.85  # share of a column's width (characters) a wrapped line fills, any font
LINE_HEIGHT = 15  # points, one line of 11-point text
SUMMARY_MAX_WIDTH = 70  # room for the 64-digit SHA-256 and the status in words
WHY_NOT = "why_not"  # analyses key read by the Rejected sheet, not written as its own sheet

# A column of a table: header text, Excel number format (None: general), header note (or None).
Column = tuple[str, str | None, str | None]


def write_results_xlsx(result: Result, path: str | os.PathLike[str], *,
                       run_time: datetime | None = None) -> None:
    """Write the results workbook to ``path`` atomically (temp file in the same folder, then
    ``os.replace``), so a reader never sees a half-written file.

    ``run_time`` is the run date shown on the Summary (default: now, UTC).
    """
    save_atomically(build_workbook(result, run_time=run_time), path)


def build_workbook(result: Result, *, run_time: datetime | None = None) -> Workbook:
    """The results workbook in memory: the fixed sheets, then one sheet per analysis table."""
    workbook = Workbook()
    summary = workbook.active
    summary.title = SUMMARY
    write_summary(summary, result, run_time or datetime.now(timezone.utc))
    write_portfolio(workbook.create_sheet(PORTFOLIO), result)
    write_spend(workbook.create_sheet(SPEND), result)
    write_china_reliance(workbook.create_sheet(CHINA), result)
    write_rejected(workbook.create_sheet(REJECTED), result)
    unit = objective_unit(result.instance.settings.objective)
    for key, rows in analysis_tables(result.analyses.tables()):
        write_table(workbook.create_sheet(sheet_title(key, workbook.sheetnames)), rows,
                    TABLE_FORMATS.get(key), objective_unit=unit)
    for ws in workbook.worksheets:
        set_print_layout(ws, header_rows=1)
    return workbook


# ---------------------------------------------------------------------------------------------
# Tables


def write_grid(ws: Worksheet, columns: Sequence[Column], rows: Iterable[Sequence[Any]],
               *, first_row: int = 1, max_width: int = MAX_WIDTH) -> int:
    """Write a header row and data rows with per-column number formats; return the last row.

    Strings are written as text (never formulas); non-finite numbers as blanks or text. Column
    widths follow the longest value, as :func:`fit_column_widths` sets them, but are measured
    while writing: reading every cell back (with its style) costs as much as writing it. Text
    longer than ``max_width`` (Excel characters) wraps (see :func:`wrap_long_columns`).
    """
    headers = [header for header, _fmt, _note in columns]
    write_header(ws, headers, row=first_row)
    for col, (_header, _fmt, note) in enumerate(columns, start=1):
        if note:
            add_note(ws.cell(row=first_row, column=col), note)
    longest = [wrapped_length(header) for header in headers]
    row_index = first_row
    for row_index, values in enumerate(rows, start=first_row + 1):
        for col, (value, (_header, fmt, _note)) in enumerate(zip(values, columns), start=1):
            value = cell_value(value)
            write_cell(ws, row_index, col, value, fmt)
            longest[col - 1] = max(longest[col - 1], shown_length(value))
    freeze_header(ws, first_row)
    widths = [column_width(n, max_width) for n in longest]
    set_column_widths(ws, widths)
    wrap_long_columns(ws, [n + 2 > w for n, w in zip(longest, widths)], widths,
                      first_row + 1, row_index)
    return row_index


def wrap_long_columns(ws: Worksheet, too_long: Sequence[bool], widths: Sequence[float],
                      first_row: int, last_row: int) -> None:
    """Wrap the text of the columns flagged ``too_long`` (names, reasons, notes wider than the
    widest column), rows ``first_row`` to ``last_row``, and make each row tall enough for its
    wrapped lines, so a printed page shows all of the text rather than cutting it off. Row
    heights in points; a line counts :data:`WRAP_ROOM` of the column's width in characters."""
    wrapped = [col for col, flag in enumerate(too_long, start=1) if flag]
    if not wrapped:
        return
    for row in ws.iter_rows(min_row=first_row, max_row=last_row):
        texts = [(cell.value, widths[cell.column - 1] * WRAP_ROOM) for cell in row
                 if cell.column in wrapped and isinstance(cell.value, str)]
        height = estimated_row_height(texts)
        if height > LINE_HEIGHT:  # a tall row: every cell from the top, so the row reads across
            ws.row_dimensions[row[0].row].height = height
            for cell in row:
                cell.alignment = WRAP if cell.column in wrapped else TOP
        else:
            for col in wrapped:
                row[col - 1].alignment = WRAP


def write_table(ws: Worksheet, rows: Sequence[Mapping[str, Any]],
                formats: Mapping[str, str] | None = None, *,
                objective_unit: str | None = None) -> None:
    """Write list-of-dict ``rows`` as a table: columns from the keys (first-seen order), headed in
    words with units (:func:`table_headers`; ``objective_unit`` is "$M" or "share-years"), number
    formats from ``formats`` (key -> format) where given, else guessed from the key names (see
    :func:`format_for_key`); a column the name says nothing about but holding fractional numbers
    (an objective value) gets :data:`FRACTION`, and whole numbers stay general."""
    keys: list[str] = []
    for row in rows:
        keys.extend(k for k in row if k not in keys)
    formats = formats or {}
    headers = table_headers([str(k) for k in keys], objective_unit)
    columns = [(header, formats.get(str(k)) or format_for_key(str(k))
                or format_for_values([row.get(k) for row in rows]), None)
               for k, header in zip(keys, headers)]
    write_grid(ws, columns, ([row.get(k) for k in keys] for row in rows))


def table_headers(keys: Sequence[str], objective_unit: str | None = None) -> list[str]:
    """The header words of each key (:func:`optimizer.tables.header_words`), a repeated header
    numbered ("Note (2)") so every column keeps a header of its own."""
    headers: list[str] = []
    for key in keys:
        words = base = header_words(key, objective_unit)
        n = 2
        while words in headers:
            words, n = f"{base} ({n})", n + 1
        headers.append(words)
    return headers


FRACTION = "#,##0.0##"  # a plain number with its fraction: 237.66964 -> 237.67, 0.26 -> 0.26
# Analyses whose column names do not say their unit: analysis key -> column -> number format.
TABLE_FORMATS: dict[str, dict[str, str]] = {
    # P10 ... planned of total capex and NPV, both in $M (the measure column says so)
    "simulation_summary": {k: MONEY for k in ("p10", "p50", "p90", "mean", "std", "planned")},
    # online-year quantiles
    "simulation_online": {k: YEAR for k in ("planned_online", "p10", "p50", "p90")},
    # the funding priority list: budget multipliers as plain factors (0.70, 1.00, 1.20)
    "priority_levels": {"budget_multiplier": "0.00"},
    "priority_order": {"budget_multiplier": "0.00"},
}


def format_for_key(key: str) -> str | None:
    """The number format a generic column gets from its name: ``*musd*`` money; security
    figures (``security_share_years``, ``security_change``, ``security_floor``) share-years with
    3 decimals; shares, probabilities (``probability``, ``p_met``, ``p_exceeded``...), rates,
    gaps, ``*_pct`` and ``*_change`` fractions as percent; ``*_t`` / ``*_tpa`` tonnes; ``*year*``
    integer years; ``*seconds*`` seconds."""
    k = key.lower()
    if "musd" in k:
        return MONEY
    if "security" in k or "share_years" in k:
        return DECIMAL
    if ("share" in k or k.startswith("p_") or "probability" in k
            or k.endswith(("gap", "rate", "_pct", "_change", "within"))):
        return PERCENT
    if k.endswith(("_t", "_tpa")):
        return TONNES
    if "year" in k:
        return YEAR
    if "seconds" in k:
        return SECONDS
    return None


def format_for_values(values: Sequence[Any]) -> str | None:
    """:data:`FRACTION` for a column of numbers of which one at least is fractional; None (general)
    otherwise, so whole numbers (counts, years, a seed) and text keep Excel's own display."""
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if numbers and all(not isinstance(v, str) for v in values if v is not None) and any(
            isinstance(v, float) and math.isfinite(v) and not v.is_integer() for v in numbers):
        return FRACTION
    return None


def analysis_tables(analyses: Mapping[str, Any]) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """The analyses that are non-empty lists of dicts, in insertion order (``why_not`` excluded:
    it fills the Rejected sheet)."""
    tables = []
    for key, value in analyses.items():
        if key == WHY_NOT or not isinstance(value, (list, tuple)) or not value:
            continue
        if all(isinstance(row, Mapping) for row in value):
            tables.append((key, list(value)))
    return tables


# ---------------------------------------------------------------------------------------------
# Summary


SETTING_FORMATS = {
    "first_year": YEAR, "horizon_years": "0", "discount_rate": PERCENT,
    "total_budget_musd": MONEY, "target_year": YEAR, "min_npv_musd": MONEY,
    "time_limit_s": SECONDS, "mip_gap": GAP, "robust_gamma": "0",
    "delay_probability": PERCENT, "max_delay_years": "0", "seed": "0",
    "alternatives_within": PERCENT,
}


def summary_rows(result: Result, run_time: datetime) -> list[tuple[str, Any, str | None, str]]:
    """(item, value, number format, unit or note) rows of the Summary sheet."""
    inst, ev, info = result.instance, result.evaluation, result.info
    s = inst.settings
    unit = objective_unit(s.objective)
    value_fmt = MONEY if unit == "$M" else DECIMAL
    input_name = Path(inst.source_path).name if inst.source_path else None
    gap = info.mip_gap if info.mip_gap is not None else "not reported"
    bound = info.best_bound if info.best_bound is not None else "not reported"
    return [
        ("Objective", s.objective, None, OBJECTIVE_WORDS.get(s.objective, "")),
        ("Objective value", result.objective_value, value_fmt, unit),
        ("Status", info.status_words, None, ""),
        ("Solver status", info.status, None, "optimal | feasible | infeasible"),
        ("Optimality gap", gap, GAP, "relative gap the solver achieved"),
        ("Best bound", bound, value_fmt, f"{unit}; no plan can score better"),
        ("Solver", info.solver, None, ""),
        ("Model build time", info.build_seconds, SECONDS, "seconds"),
        ("Solve time", info.solve_seconds, SECONDS, "seconds"),
        ("Input file", input_name, None, ""),
        ("Input SHA-256", inst.input_sha256, None, "digest of the workbook file"),
        ("Tool version", __version__, None, ""),
        ("Run date (UTC)", run_time.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M"), None, ""),
        ("Projects funded", len(result.starts), "0", "count"),
        ("Projects rejected", len(result.rejected_ids), "0", "count"),
        ("Total capex", ev.total_capex, MONEY, f"$M at the {s.capex_basis} capex basis"),
        ("NPV (discounted)", ev.npv_musd, MONEY, f"$M discounted to {s.first_year}"),
        ("Security", ev.security, DECIMAL, "share-years of China reliance removed, discounted"),
        ("Security premium", ev.premium_musd, MONEY, "$M, discounted"),
    ] + analysis_notes(result)


NOTES = {"why_not_note": "Note on why-not", "frontier_note": "Note on the frontier",
         "alternatives_note": "Note on alternatives"}


def analysis_notes(result: Result) -> list[tuple[str, Any, str | None, str]]:
    """Summary rows for the analyses' notes (re-solves limited, or stopped by a time limit)."""
    tables = result.analyses.tables()
    return [(label, str(tables[key]), None, "") for key, label in NOTES.items() if tables.get(key)]


def write_summary(ws: Worksheet, result: Result, run_time: datetime) -> None:
    """Headline figures, then every setting the run used."""
    rows = summary_rows(result, run_time)
    columns: list[Column] = [("Item", None, None), ("Value", None, None),
                             ("Unit / note", None, None)]
    last = write_grid(ws, columns, [(item, value, note) for item, value, _fmt, note in rows],
                      max_width=SUMMARY_MAX_WIDTH)
    for row_index, (_item, value, fmt, _note) in enumerate(rows, start=2):
        if fmt and not isinstance(value, str):
            ws.cell(row=row_index, column=2).number_format = fmt
    settings = result.instance.settings
    setting_rows = [(name, getattr(settings, name)) for name in settings.__dataclass_fields__]
    first = last + 2
    write_cell(ws, first, 1, "Settings").font = SECTION_FONT
    write_header(ws, ["setting", "value"], row=first + 1)
    for row_index, (name, value) in enumerate(setting_rows, start=first + 2):
        write_cell(ws, row_index, 1, name)
        write_cell(ws, row_index, 2, cell_value(value), SETTING_FORMATS.get(name))
    fit_column_widths(ws, max_width=SUMMARY_MAX_WIDTH)


# ---------------------------------------------------------------------------------------------
# Portfolio, Spend, China reliance, Rejected

PORTFOLIO_COLUMNS: list[Column] = [
    ("project ID", None, None), ("name", None, None), ("kind", None, "plant or offtake"),
    ("mineral", None, None), ("country", None, None), ("start year", YEAR, None),
    ("online year", YEAR, "first year of delivery"),
    ("capex $M", MONEY, "capital cost at the capex basis, $M"),
    ("NPV $M", MONEY, "the project's own NPV as given, valued at its start year, $M"),
    ("NPV discounted $M", MONEY, "NPV discounted from the start year to the first year, $M"),
    ("risk", RISK, "risk score, 0 to 1"),
]


def write_portfolio(ws: Worksheet, result: Result) -> None:
    """Funded projects in start-year order, with a total row."""
    inst, ev = result.instance, result.evaluation
    rows = []
    for pid in result.funded_ids:
        p = inst.projects[pid]
        rows.append([pid, p.name, p.kind, p.mineral, p.country, result.starts[pid],
                     ev.online[pid], ev.capex[pid], p.npv_musd, ev.npv_discounted[pid], p.risk])
    total = ["Total", f"{len(rows)} projects", None, None, None, None, None,
             sum(ev.capex[p] for p in result.funded_ids),
             sum(inst.projects[p].npv_musd for p in result.funded_ids),
             sum(ev.npv_discounted[p] for p in result.funded_ids), None]
    last = write_grid(ws, PORTFOLIO_COLUMNS, [*rows, total])
    bold_row(ws, last)


SPEND_COLUMNS: list[Column] = [
    ("year", YEAR, None), ("spend $M", MONEY, "capital spent in the year, $M"),
    ("budget $M", MONEY, "budget of the year, $M"),
    ("headroom $M", MONEY, "budget - spend, $M"),
    ("cumulative spend $M", MONEY, "spend from the first year to this year, $M"),
    ("cumulative budget $M", MONEY, "budget from the first year to this year, $M"),
    ("binding", None, "yes where the budget limit applying to the year is (nearly) used up: "
     "headroom below 0.5% of budget or below 0.01 $M (cumulative when budget carry-over is on; "
     "counting the overruns when robust_gamma > 0)"),
]
ROBUST_COLUMN: Column = (
    "spend with overruns $M", MONEY,
    "spend plus the robust_gamma largest capex overruns (high - basis), $M; cumulative when "
    "budget carry-over is on. The budget must hold for this figure.",
)


def write_spend(ws: Worksheet, result: Result) -> None:
    """Spend against budget per horizon year, and a bar-and-line chart beside the table."""
    columns = SPEND_COLUMNS + ([ROBUST_COLUMN] if result.instance.settings.robust_gamma > 0 else [])
    rows = spend_rows(result)
    last = write_grid(ws, columns, rows)
    if rows:
        ws.add_chart(spend_chart(ws, last), f"{get_column_letter(len(columns) + 2)}2")


def spend_chart(ws: Worksheet, last_row: int) -> BarChart:
    """Bars of spend with the budget as a line, years on the x-axis (columns A-C of ``ws``)."""
    years = Reference(ws, min_col=1, min_row=2, max_row=last_row)
    bars = BarChart()
    bars.type = "col"
    bars.title = "Capital spend against budget"
    bars.add_data(Reference(ws, min_col=2, min_row=1, max_row=last_row), titles_from_data=True)
    bars.set_categories(years)
    line = LineChart()
    line.add_data(Reference(ws, min_col=3, min_row=1, max_row=last_row), titles_from_data=True)
    line.set_categories(years)
    for series in line.series:
        series.smooth = False  # straight segments between years: a budget is not a curve
    bars += line
    bars.x_axis.title = "Year"
    bars.y_axis.title = "$M"
    bars.y_axis.number_format = "#,##0"
    bars.x_axis.delete = False  # openpyxl 3.1 hides axes unless told otherwise
    bars.y_axis.delete = False
    bars.legend.position = "b"
    bars.width, bars.height = 18, 9
    return bars


CHINA_COLUMNS: list[Column] = [
    ("mineral", None, None), ("year", YEAR, None),
    ("demand t", TONNES, "US demand, metric tons"),
    ("delivered t", TONNES, "deliveries of funded projects online that year, metric tons"),
    ("displaced t", TONNES, "China-dependent tonnes displaced (deliveries capped at the "
     "China-dependent part of demand)"),
    ("China share before", PERCENT, "share of US demand depending on China, without the plan"),
    ("China share after", PERCENT, "share of US demand depending on China, with the plan"),
    ("target share", PERCENT, "target_china_share, where set"),
    ("target year", YEAR, "year from which the target must hold, where a target is set"),
]


def write_china_reliance(ws: Worksheet, result: Result) -> None:
    """China share before and after the plan, per mineral and horizon year."""
    inst, ev = result.instance, result.evaluation
    target_year = inst.settings.target_year
    rows = []
    for name, mineral in inst.minerals.items():
        has_target = mineral.target_china_share is not None
        for year in inst.settings.years:
            rows.append([name, year, ev.demand[name][year], ev.deliveries[name][year],
                         ev.displaced[name][year], ev.share_before[name][year],
                         ev.share_after[name][year], mineral.target_china_share,
                         target_year if has_target else None])
    write_grid(ws, CHINA_COLUMNS, rows)


REJECTED_COLUMNS: list[Column] = [
    ("project ID", None, None), ("name", None, None), ("kind", None, None),
    ("mineral", None, None), ("country", None, None),
    ("capex $M", MONEY, "capital cost at the capex basis, $M"),
    ("NPV $M", MONEY, "the project's own NPV as given, $M"),
    ("earliest start", YEAR, None), ("latest start", YEAR, None),
    ("reason", None, "why the plan leaves it out, where the why-not analysis ran"),
]


def rejection_reason(why_not: Any, project_id: str) -> str | None:
    """The ``reason`` of ``analyses["why_not"][project_id]``, or None."""
    if not isinstance(why_not, Mapping):
        return None
    entry = why_not.get(project_id)
    if isinstance(entry, Mapping):
        reason = entry.get("reason")
        return None if reason is None else str(reason)
    return entry if isinstance(entry, str) else None


def write_rejected(ws: Worksheet, result: Result) -> None:
    """Every project not funded, in workbook order, with the why-not reason when known."""
    inst = result.instance
    basis = inst.settings.capex_basis
    why_not = result.analyses.tables().get(WHY_NOT, {})
    rows = []
    for pid in result.rejected_ids:
        p = inst.projects[pid]
        rows.append([pid, p.name, p.kind, p.mineral, p.country, p.capex(basis), p.npv_musd,
                     p.earliest_start, p.latest_start, rejection_reason(why_not, pid)])
    write_grid(ws, REJECTED_COLUMNS, rows)


# ---------------------------------------------------------------------------------------------
# Small helpers


def bold_row(ws: Worksheet, row: int) -> None:
    """Make a (total) row bold."""
    for cell in ws[row]:
        cell.font = Font(bold=True)


def shown_length(value: Any) -> int:
    """Rough number of characters a value takes on screen in its report format."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return 5
    if isinstance(value, float):
        return len(f"{value:,.1f}") + 3  # "$" and "M" of MONEY, or "%" and a digit
    return len(str(value))


def wrapped_length(text: Any) -> int:
    """Characters a wrapped cell (a header, bold) needs to show its text on two lines: the
    narrowest width at which its words wrap onto two lines, plus :data:`BOLD_ROOM` for bold
    letters and wider fonts."""
    words = str(text).split()
    if not words:
        return 0
    whole = len(" ".join(words))
    width = max(max(len(word) for word in words), math.ceil(whole / 2))
    while width < whole and wrapped_lines(words, width) > 2:
        width += 1
    return math.ceil(width * BOLD_ROOM)


def wrapped_lines(words: Sequence[str], width: int) -> int:
    """Lines a text of ``words`` takes when wrapped at ``width`` characters."""
    lines, used = 1, len(words[0])
    for word in words[1:]:
        if used + 1 + len(word) <= width:
            used += 1 + len(word)
        else:
            lines, used = lines + 1, len(word)
    return lines


def column_width(longest: int, max_width: int = MAX_WIDTH) -> int:
    """Width of a column (Excel characters) whose longest value takes ``longest`` characters."""
    return min(max(longest + 2, MIN_WIDTH), max_width)


def fit_column_widths(ws: Worksheet, max_width: int = MAX_WIDTH) -> None:
    """Widths from the longest value of each column (Excel characters). A header (wrapped and
    centred) counts as :func:`wrapped_length`; wrapped body text fills the column up to
    ``max_width``."""
    widths = []
    for column in ws.iter_cols(min_row=1, max_row=ws.max_row):
        longest = 0
        for cell in column:
            if is_header_cell(cell) and cell.value is not None:
                longest = max(longest, wrapped_length(cell.value))
            else:
                longest = max(longest, shown_length(cell.value))
        widths.append(column_width(longest, max_width))
    set_column_widths(ws, widths)


def is_header_cell(cell: Any) -> bool:
    """Whether a cell is styled as a header (wrapped and centred, see ``write_header``)."""
    alignment = cell.alignment
    return bool(alignment is not None and alignment.wrap_text and alignment.horizontal == "center")


def cell_value(value: Any) -> Any:
    """A value Excel can hold: lists joined with ", ", mappings as JSON text, NaN blank,
    infinities as text. Strings stay strings (``write_cell`` stores them as text)."""
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(value, default=str, sort_keys=True)
    return value
