"""Stage 2: turn the raw sheets of a workbook into a valid :class:`~optimizer.instance.Instance`.

Every rule on a single field (kind, default, range, choices, uniqueness, friendly label) comes from
:mod:`optimizer.schema`; this module only adds the rules that relate fields to each other (capex
range, start window, the horizon, references between sheets, capex profiles, cash flows and the
NPV computed from them, countries, the budget levels' probabilities). Every problem is
collected, each naming the sheet and cell (``Projects!F12``) or row (``Projects row 12``), the value
found and what is accepted; :func:`load_instance` raises one :class:`InputError` listing them all.

Units: money $M, quantities t or t/yr, shares fractions 0..1, years calendar years.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from dataclasses import dataclass, field as dataclass_field
from pathlib import Path
from typing import Any, Iterable

from . import reader
from .errors import InputError, Problem
from .finance import npv_from_flows
from .instance import (BudgetLevel, Country, Instance, Mineral, Project, Scenario, Settings,
                       SourceRow, capex_at_basis)
from .reader import CellError, RawCell, RawSheet, UncachedFormula, is_blank
from .schema import (BUDGET, BUDGET_LEVELS, CAPEX_PROFILE, CASH_FLOWS, COUNTRIES, MINERALS,
                     MONEY_LIMIT_MUSD, PROJECTS, SCENARIOS, SETTING_COLUMN, SETTINGS, SHEETS,
                     SOURCES_SHEET, VALUE_COLUMN, Field, Sheet, clean, header_aliases,
                     invisible_characters, is_invisible, key, normalize_header)

SHARE_TOLERANCE = 1e-6  # capex shares and budget-level probabilities may miss 1 by this much
# npv_musd may differ from the NPV computed from CashFlows by max(0.5 $M, 1% of |npv_musd|)
NPV_TOLERANCE_MUSD, NPV_TOLERANCE_SHARE = 0.5, 0.01
LIST_KINDS = ("idlist", "list")  # comma-separated fields, read as tuples
SHEET_NAME_CUTOFF = 0.8  # difflib ratio from which a sheet name is a misspelt contract sheet name
MAX_LISTED = 20  # cells listed by name in one message before "and N more"

_TRUE_WORDS = ("true", "yes", "1")
_FALSE_WORDS = ("false", "no", "0")


class _Invalid:
    """Sentinel: the cell could not be read; its problem is already reported."""

    def __repr__(self) -> str:
        return "INVALID"


INVALID: Any = _Invalid()


class BadValue(Exception):
    """A cell value that does not fit its field; the message says what was found and accepted."""


# --------------------------------------------------------------------------------------------
# Public API


def load_instance(path: str | Path) -> Instance:
    """Read, validate and resolve the workbook at ``path``; InputError lists every problem."""
    instance, errors, warnings = _validate(path)
    if errors or instance is None:
        raise InputError(errors, warnings)
    return instance


def check(path: str | Path) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) found in the workbook at ``path``; never raises for bad input."""
    _, errors, warnings = _validate(path)
    return errors, warnings


# --------------------------------------------------------------------------------------------
# Collecting problems


class Report:
    """Errors and warnings found so far, in the order found."""

    def __init__(self) -> None:
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def error(self, where: str, message: str) -> None:
        self.errors.append(Problem(where, message))

    def warn(self, where: str, message: str) -> None:
        self.warnings.append(Problem(where, message, severity="warning"))


@dataclass
class Record:
    """One row of a sheet, parsed: field name -> typed value (or INVALID), and its cells."""

    sheet: str  # sheet title as in the workbook
    row: int
    values: dict[str, Any]
    refs: dict[str, str | None] = dataclass_field(default_factory=dict)  # field -> "F12"
    # field -> the cell's text as typed, for text keys whose invisible characters were removed
    typed: dict[str, str] = dataclass_field(default_factory=dict)

    def where(self, name: str) -> str:
        """``Sheet!F12`` for the field's cell, ``Sheet row 12`` when its column is missing."""
        ref = self.refs.get(name)
        return f"{self.sheet}!{ref}" if ref else f"{self.sheet} row {self.row}"

    def ok(self, *names: str) -> bool:
        """True when every named field was read successfully."""
        return all(self.values.get(n, INVALID) is not INVALID for n in names)


# --------------------------------------------------------------------------------------------
# The whole workbook


def _validate(path: str | Path) -> tuple[Instance | None, list[Problem], list[Problem]]:
    """Read and check everything; (instance or None, errors, warnings)."""
    report = Report()
    try:
        with reader.open_workbook(path) as book:
            titles = _locate_sheets(book.sheet_names, report)
            raw = {name: book.read_sheet(title) for name, title in titles.items()}
            for found in (p for name, sheet in raw.items() if name != SOURCES_SHEET
                          for p in sheet.problems):  # merged cells; Sources is free text
                add = report.warn if found.severity == "warning" else report.error
                add(found.where, found.message)
            sha256 = book.sha256
    except InputError as exc:
        return None, report.errors + exc.problems, report.warnings + exc.warnings
    instance = _build(Path(path), sha256, raw, report)
    return (None if report.errors else instance), report.errors, report.warnings


def _build(path: Path, sha256: str, raw: dict[str, RawSheet], report: Report) -> Instance | None:
    """Parse every sheet, run the cross-sheet checks, and assemble the Instance."""
    settings = _parse_settings(raw.get(SETTINGS.name), report)
    tables = {sheet.name: _parse_table(sheet, raw[sheet.name], report)
              for sheet in SHEETS if not sheet.key_value and sheet.name in raw}
    horizon = _horizon(settings)
    minerals = tables.get(MINERALS.name, [])
    projects = tables.get(PROJECTS.name, [])
    _check_settings(settings, horizon, report)
    _check_minerals(minerals, settings, report)
    _check_projects(projects, horizon, minerals if MINERALS.name in raw else None, report)
    budget = _resolve_budget(tables.get(BUDGET.name), horizon, report)
    known = projects if PROJECTS.name in raw else None  # None: Projects missing (reported)
    profile_rows = tables.get(CAPEX_PROFILE.name, [])
    profiles = _resolve_capex_profiles(profile_rows, known, report)
    flows = _resolve_cash_flows(tables.get(CASH_FLOWS.name, []), known, report)
    _check_npvs(projects, settings, _Capital(profiles, _profiled(profile_rows)), flows, report)
    countries = _resolve_countries(tables.get(COUNTRIES.name, []), known, report)
    scenarios = tables.get(SCENARIOS.name, [])
    _check_lost_countries(scenarios, known, report)
    levels = tables.get(BUDGET_LEVELS.name, [])
    _check_budget_levels(levels, report)
    sources_header, sources = _read_sources(raw.get(SOURCES_SHEET), report)
    if report.errors:
        return None
    return Instance(
        settings=Settings(**settings.values),
        minerals={r.values["mineral"]: Mineral(**r.values) for r in minerals},
        projects={r.values["project_id"]: _project(r, profiles, flows) for r in projects},
        budget=budget,
        name=path.stem,
        source_path=str(path),
        input_sha256=sha256,
        sources_header=sources_header,
        sources=sources,
        scenarios=tuple(_scenario(r) for r in scenarios),
        countries={r.values["country"]: Country(**r.values) for r in countries},
        budget_levels=tuple(BudgetLevel(**r.values) for r in levels),
        warnings=tuple(str(w) for w in report.warnings),
    )


def _project(record: Record, profiles: dict[str, tuple[float, ...]],
             flows: dict[str, "_Flows"]) -> Project:
    """The Project of a fully checked record, with its capex profile and cash flows resolved."""
    values = dict(record.values)
    values["requires"] = values["requires"] or ()
    values["capex_profile"] = profiles.get(values["project_id"]) or _even_profile(
        values["build_years"])
    given = flows.get(values["project_id"])
    values["cash_flows"] = given.dense() if given else ()
    return Project(**values)


def _scenario(record: Record) -> Scenario:
    """The Scenario of a fully checked record (no lost countries when the cell is blank)."""
    return Scenario(**{**record.values, "lost_countries": record.values["lost_countries"] or ()})


def _even_profile(build_years: int) -> tuple[float, ...]:
    """Equal shares over max(build_years, 1) years."""
    n = max(build_years, 1)
    return tuple([1.0 / n] * n)


# --------------------------------------------------------------------------------------------
# Sheets


def _sheet_key(name: str) -> str:
    """Sheet names match case-insensitively (as in Excel), ignoring surrounding spaces."""
    return name.strip().casefold()


def _fuzzy_sheet_key(name: str) -> str:
    """For closeness only: lower case without spaces, underscores and dashes."""
    return re.sub(r"[\s_\-]+", "", name.casefold())


def _locate_sheets(titles: Iterable[str], report: Report) -> dict[str, str]:
    """Contract sheet name -> workbook sheet title; errors for missing and misspelt sheets."""
    known = [s.name for s in SHEETS] + [SOURCES_SHEET]
    by_key = {_sheet_key(name): name for name in known}
    by_fuzzy_key = {_fuzzy_sheet_key(name): name for name in known}
    found: dict[str, str] = {}
    unknown: list[str] = []
    for title in titles:
        name = by_key.get(_sheet_key(title))
        if name is None:
            unknown.append(title)
        elif name in found:
            report.error(title, f"sheets '{found[name]}' and '{title}' both look like the contract "
                                f"sheet '{name}': keep one.")
        else:
            found[name] = title
    misspelt: set[str] = set()
    for title in unknown:
        close = difflib.get_close_matches(_fuzzy_sheet_key(title), list(by_fuzzy_key), n=1,
                                          cutoff=SHEET_NAME_CUTOFF)
        if not close:
            continue  # an unrelated sheet: ignored
        intended = by_fuzzy_key[close[0]]
        if intended in found:
            report.warn(title, f"sheet '{title}' is ignored; the contract sheet '{intended}' is "
                               "read. Delete or rename it if it was meant to replace it.")
        else:
            misspelt.add(intended)
            report.error(title, f"sheet '{title}' is not a contract sheet name; it looks like "
                                f"'{intended}': rename the sheet to '{intended}'.")
    for sheet in SHEETS:
        if sheet.required and sheet.name not in found and sheet.name not in misspelt:
            report.error(sheet.name, f"required sheet '{sheet.name}' is missing (the workbook has: "
                                     f"{', '.join(repr(t) for t in titles) or 'no sheets'}): add a "
                                     f"sheet named '{sheet.name}'.")
    return found


def _parse_table(sheet: Sheet, raw: RawSheet, report: Report) -> list[Record]:
    """Records of a table sheet (header in row 1); problems for every bad cell."""
    columns = _map_header(sheet, raw, report)
    unique_seen: dict[str, dict[Any, tuple[str, str]]] = {f.name: {} for f in sheet.fields
                                                          if f.unique}
    uncached: list[RawCell] = [c for c in raw.header if isinstance(c.value, UncachedFormula)]
    records: list[Record] = []
    for row in raw.rows:
        cells = {name: row.cells[index] for name, index in columns.items()}
        if all(is_blank(c.value) for c in cells.values()):
            continue  # values only in ignored columns
        record = Record(raw.title, row.number, {}, {n: c.ref for n, c in cells.items()})
        for f in sheet.fields:
            cell = cells.get(f.name)
            if cell is None:  # column missing: reported once already
                record.values[f.name] = _missing_value(f)
                continue
            if isinstance(cell.value, UncachedFormula):
                uncached.append(cell)
            record.values[f.name] = _read_cell(f, cell, raw.title, report)
            if f.key:
                _clean_key(f, cell.value, record, report)
        _check_unique(record, unique_seen, report)
        records.append(record)
    _report_uncached(raw.title, uncached, report)
    return records


def _missing_value(f: Field) -> Any:
    """The value of a field whose column is missing: INVALID when required (reported), None when
    required only in a case checked later (``Field.required_unless``), else the default."""
    if f.required_unless:
        return None
    return INVALID if f.required else f.default


def _map_header(sheet: Sheet, raw: RawSheet, report: Report) -> dict[str, int]:
    """Field name -> column index (0-based) from row 1; problems for missing/duplicate columns."""
    aliases = header_aliases(sheet)
    columns: dict[str, int] = {}
    unknown: dict[str, RawCell] = {}  # normalized header -> cell
    if raw.rows and all(is_blank(c.value) for c in raw.header):
        report.error(f"{raw.title} row 1", "row 1 is blank: the header (column names) must be in "
                                           "row 1.")
        return columns
    for index, cell in enumerate(raw.header):
        if is_blank(cell.value) or isinstance(cell.value, UncachedFormula):
            _warn_unlabelled_column(raw, index, report)
            continue
        name = aliases.get(normalize_header(cell.value))
        if name is None:
            unknown[normalize_header(cell.value)] = cell
        elif name in columns:
            first = raw.header[columns[name]].ref
            report.error(f"{raw.title}!{cell.ref}", f"column '{cell.value}' repeats {name}, "
                         f"already given in {raw.title}!{first}: delete one of the two columns.")
        else:
            columns[name] = index
    for f in sheet.fields:
        if f.required and not f.required_unless and f.name not in columns:
            hint = _closest_header(f, unknown)
            report.error(f"{raw.title} row 1", f"required column {f.name} (or '{f.header}') is "
                                               f"missing{hint}.")
    for key, cell in unknown.items():
        missing = [f for f in sheet.fields if f.name not in columns]
        close = _closest_field(key, missing)
        hint = f"; did you mean {close}?" if close else ""
        report.warn(f"{raw.title}!{cell.ref}", f"column '{cell.value}' is not part of the "
                                               f"contract: its values are ignored{hint}")
    return columns


def _closest_header(f: Field, unknown: dict[str, RawCell]) -> str:
    """The end of a missing-column message: the misspelt header that is close, or "add it"."""
    keys = list(unknown)
    for target in (normalize_header(f.name), normalize_header(f.label)):
        close = difflib.get_close_matches(target, keys, n=1, cutoff=0.6)
        if close:
            cell = unknown[close[0]]
            return (f"; the header '{cell.value}' in {cell.ref} looks like a misspelling of it: "
                    f"rename it to {f.name}")
    return f": add a column headed {f.name}"


def _closest_field(key: str, fields: list[Field]) -> str | None:
    """The field whose name or label is closest to a normalized header, if any is close."""
    choices = {normalize_header(f.name): f.name for f in fields}
    choices.update({normalize_header(f.label): f.name for f in fields})
    close = difflib.get_close_matches(key, list(choices), n=1, cutoff=0.6)
    return choices[close[0]] if close else None


def _warn_unlabelled_column(raw: RawSheet, index: int, report: Report) -> None:
    """Warn when a column without a header holds values (they are ignored)."""
    for row in raw.rows:
        if index < len(row.cells) and not is_blank(row.cells[index].value):
            head = raw.header[index].ref
            report.warn(f"{raw.title}!{head}", f"column {head.rstrip('0123456789')} has no header "
                        f"but holds values (first at {raw.title}!{row.cells[index].ref}): they are "
                        "ignored; give the column a header or delete the values.")
            return


def _check_unique(record: Record, seen: dict[str, dict[Any, tuple[str, str]]],
                  report: Report) -> None:
    """Errors for a value of a unique field that an earlier row already holds.

    Text is compared by :func:`~optimizer.schema.key`: 'GA-1' and 'ga-1' are the same id.
    ``seen``: field -> {key: (cell, spelling as typed)} of the earlier rows.
    """
    for name, first in seen.items():
        value = record.values.get(name)
        if value is None or value is INVALID:
            continue
        typed = record.typed.get(name, value)
        k = key(value) if isinstance(value, str) else value
        if k not in first:
            first[k] = (record.where(name), typed)
            continue
        where, first_typed = first[k]
        if typed == first_typed:
            report.error(record.where(name), f"{name} {_show(value)} is repeated (first in "
                         f"{where}): each {name} must appear once in {record.sheet}.")
        else:
            report.error(record.where(name), f"{where} {_visible(first_typed)} and "
                         f"{record.where(name)} {_visible(typed)} differ only by case or invisible "
                         f"characters; ids must differ in more than that: rename one, or delete "
                         "the repeated row.")


def _visible(text: str) -> str:
    """Text quoted for a message, each invisible character shown as <U+200B>."""
    return "'" + "".join(f"<U+{ord(c):04X}>" if is_invisible(c) else c for c in text) + "'"


def _clean_key(f: Field, found: Any, record: Record, report: Report) -> None:
    """Remove invisible characters from a text key just read (one warning naming them).

    ``found`` is the cell's raw value. A key left empty reads as a blank cell.
    """
    value = record.values.get(f.name)
    if value is None or value is INVALID or not isinstance(found, str):
        return
    hidden = invisible_characters(found)
    if not hidden:
        return
    parts = value if isinstance(value, tuple) else (value,)
    cleaned = tuple(p for p in (clean(part) for part in parts) if p)
    record.typed[f.name] = found.strip(" ")
    chars = ", ".join(hidden)
    where = record.where(f.name)
    if not cleaned:
        if f.required:
            report.error(where, f"{f.name} holds only invisible characters ({chars}): expected "
                                f"{_accepted(f)}.")
            record.values[f.name] = INVALID
            return
        record.values[f.name] = f.default
        report.warn(where, f"{f.name} holds only invisible characters ({chars}): it is read as "
                           "blank; clear the cell.")
        return
    record.values[f.name] = cleaned if f.kind in LIST_KINDS else cleaned[0]
    read_as = ", ".join(cleaned)
    report.warn(where, f"{f.name} {_visible(found.strip(' '))} contains the invisible "
                       f"character{'s' if len(hidden) > 1 else ''} {chars}: it is read as "
                       f"'{read_as}'; retype the cell to remove "
                       f"{'them' if len(hidden) > 1 else 'it'}.")


def _report_uncached(title: str, cells: list[RawCell], report: Report) -> None:
    """One error naming every cell of a sheet holding a formula without a cached value."""
    if not cells:
        return
    listed = ", ".join(f"{title}!{c.ref} ({c.value})" for c in cells[:MAX_LISTED])
    more = f" and {len(cells) - MAX_LISTED} more" if len(cells) > MAX_LISTED else ""
    where = f"{title}!{cells[0].ref}" if len(cells) == 1 else title
    count = "1 cell holds" if len(cells) == 1 else f"{len(cells)} cells hold"
    report.error(where, f"{count} a formula with no cached value: {listed}{more}. The file was "
                        "saved by a program that does not calculate formulas: open it in Excel or "
                        "LibreOffice and save it, or type the values.")


# --------------------------------------------------------------------------------------------
# Settings (key-value sheet)


def _parse_settings(raw: RawSheet | None, report: Report) -> Record:
    """The Settings record: every setting with its value, default, or INVALID.

    Every setting is INVALID when the sheet or its columns are missing (already reported).
    """
    title = raw.title if raw else SETTINGS.name
    record = Record(title, 0, {}, {})
    given = None if raw is None else _read_setting_rows(raw, record, report)
    for f in SETTINGS.fields:
        if given is None:
            record.values[f.name] = INVALID
        elif f.name in given:
            record.values[f.name] = given[f.name]
        elif f.required:
            record.values[f.name] = INVALID
            report.error(title, f"setting {f.name} is missing: add a row with {f.name} in "
                                f"column '{SETTING_COLUMN}' and {_accepted(f)} in column "
                                f"'{VALUE_COLUMN}'.")
        else:
            record.values[f.name] = f.default
    return record


def _read_setting_rows(raw: RawSheet, record: Record, report: Report) -> dict[str, Any] | None:
    """Setting name -> value for the rows of the Settings sheet (refs go into ``record``).

    None when the `setting` or `value` column is missing.
    """
    key_col, value_col = _settings_columns(raw, report)
    if key_col is None or value_col is None:
        return None
    aliases = header_aliases(SETTINGS)
    given: dict[str, Any] = {}
    first_row: dict[str, int] = {}
    uncached: list[RawCell] = []
    for row in raw.rows:
        key_cell, value_cell = row.cells[key_col], row.cells[value_col]
        if is_blank(key_cell.value) or isinstance(key_cell.value, UncachedFormula):
            if isinstance(key_cell.value, UncachedFormula):
                uncached.append(key_cell)
            if not is_blank(value_cell.value):
                report.warn(f"{raw.title}!{key_cell.ref}", f"the setting name is blank but "
                            f"{value_cell.ref} holds {_show(value_cell.value)}: the row is "
                            "ignored.")
            continue
        name = aliases.get(normalize_header(key_cell.value))
        if name is None:
            close = _closest_field(normalize_header(key_cell.value), list(SETTINGS.fields))
            hint = f"; did you mean {close}?" if close else ""
            report.warn(f"{raw.title}!{key_cell.ref}", f"setting {_show(key_cell.value)} is not "
                                                       f"known and is ignored{hint}")
            continue
        if name in first_row:
            report.error(f"{raw.title} row {row.number}", f"setting {name} is given twice (rows "
                         f"{first_row[name]} and {row.number}): keep one row.")
            given[name] = INVALID
            continue
        first_row[name] = row.number
        record.refs[name] = value_cell.ref
        if isinstance(value_cell.value, UncachedFormula):
            uncached.append(value_cell)
        f = SETTINGS.field(name)
        given[name] = _read_cell(f, value_cell, raw.title, report)
    _report_uncached(raw.title, uncached, report)
    return given


def _settings_columns(raw: RawSheet, report: Report) -> tuple[int | None, int | None]:
    """Column indexes of `setting` and `value` in row 1; errors if missing, warnings for extras."""
    wanted = {normalize_header(SETTING_COLUMN): SETTING_COLUMN,
              normalize_header(VALUE_COLUMN): VALUE_COLUMN}
    found: dict[str, int] = {}
    extra: list[RawCell] = []
    for index, cell in enumerate(raw.header):
        if is_blank(cell.value) or isinstance(cell.value, UncachedFormula):
            continue
        name = wanted.get(normalize_header(cell.value))
        if name is None or name in found:
            extra.append(cell)
        else:
            found[name] = index
    for name in wanted.values():
        if name not in found:
            close = difflib.get_close_matches(name, [normalize_header(c.value) for c in extra],
                                              n=1, cutoff=0.6)
            hint = (f"; the header in row 1 '{close[0]}' looks like a misspelling of it"
                    if close else "")
            report.error(f"{raw.title} row 1", f"required column '{name}' is missing{hint}: "
                         f"Settings has two columns, '{SETTING_COLUMN}' and '{VALUE_COLUMN}'.")
    for cell in extra:
        report.warn(f"{raw.title}!{cell.ref}", f"column '{cell.value}' is not part of the "
                                               "contract: its values are ignored.")
    return found.get(SETTING_COLUMN), found.get(VALUE_COLUMN)


# --------------------------------------------------------------------------------------------
# One cell


def _read_cell(f: Field, cell: RawCell, title: str, report: Report) -> Any:
    """Typed value of ``cell`` for field ``f``: default when blank, INVALID (reported) when bad."""
    value = cell.value
    if isinstance(value, UncachedFormula):
        return INVALID  # reported per sheet by _report_uncached
    if is_blank(value):
        if f.required_unless:
            return None  # checked with the other sheets
        if f.required:
            report.error(f"{title}!{cell.ref}", f"{f.name} is blank but required: expected "
                                                f"{_accepted(f)}.")
            return INVALID
        return f.default
    try:
        return parse_value(f, value)
    except BadValue as exc:
        report.error(f"{title}!{cell.ref}", str(exc))
        return INVALID


def parse_value(f: Field, value: Any) -> Any:
    """The typed value of a non-blank cell for field ``f``; BadValue says what is wrong.

    number, share -> float; int, year -> int; bool -> bool; text, choice -> str;
    idlist, list -> tuple of str. Ranges come from the schema (shares are 0..1 unless narrower).
    """
    if isinstance(value, (CellError, dt.date, dt.time, dt.timedelta)):
        raise BadValue(f"{f.name} is {_show(value)}: expected {_accepted(f)}.")
    kind = f.kind
    if kind in ("number", "share", "int", "year"):
        number = _number(f, value)
        if kind in ("int", "year"):
            if not float(number).is_integer():
                raise BadValue(f"{f.name} is {_show(value)}, not a whole number: expected "
                               f"{_accepted(f)}.")
            number = int(number)
        _check_range(f, number, value)
        return number
    if kind == "bool":
        return _boolean(f, value)
    if kind in ("text", "choice", *LIST_KINDS):
        if isinstance(value, bool):
            raise BadValue(f"{f.name} is {_show(value)}: expected {_accepted(f)}.")
        text = _fmt(value) if isinstance(value, (int, float)) else str(value).strip()
        if kind == "choice":
            return _choice(f, text)
        if kind in LIST_KINDS:
            return tuple(part.strip() for part in text.split(",") if part.strip())
        return text
    raise ValueError(f"schema field {f.name} has unknown kind {kind!r}")


def _number(f: Field, value: Any) -> float:
    """A finite float from a numeric cell or numeric text ("12.5", and "85%" for shares)."""
    if isinstance(value, bool):
        raise BadValue(f"{f.name} is {_show(value)}: expected {_accepted(f)}.")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip()
        scale = 1.0
        if text.endswith("%") and _percent_allowed(f):
            text, scale = text[:-1].strip(), 0.01
        try:
            number = float(text) * scale
        except ValueError:
            raise BadValue(f"{f.name} is {_show(value)} (text): expected {_accepted(f)}.") from None
    if not math.isfinite(number):
        raise BadValue(f"{f.name} is {_show(value)}: expected {_accepted(f)}.")
    if isinstance(value, int) and f.kind in ("int", "year"):
        return value  # keep large integers exact
    return number


def _percent_allowed(f: Field) -> bool:
    """Shares and fields whose unit is a percentage may be written as "85%"."""
    return f.kind == "share" or "%" in f.unit


def _bounds(f: Field) -> tuple[float | None, float | None]:
    """(minimum, maximum) of a numeric field; a share lies in 0..1 unless the schema narrows it."""
    if f.kind == "share":
        lo = 0.0 if f.minimum is None else f.minimum
        hi = 1.0 if f.maximum is None else f.maximum
        return lo, hi
    return f.minimum, f.maximum


def _check_range(f: Field, number: float, found: Any) -> None:
    """BadValue if ``number`` is outside the field's bounds; suggests a fraction for 85-style %."""
    lo, hi = _bounds(f)
    below = lo is not None and (number < lo or (f.exclusive_minimum and number == lo))
    above = hi is not None and number > hi
    if not (below or above):
        return
    message = f"{f.name} is {_show(found)}, out of range: expected {_accepted(f)}."
    fraction = number / 100.0
    if (_percent_allowed(f) and abs(number) > 1 and (lo is None or fraction >= lo)
            and (hi is None or fraction <= hi)):
        message += (f" {_fmt(number)} looks like a percentage: write {_fmt(fraction)} or "
                    f"{_fmt(number)}%.")
    elif f.guard and (above or (lo is not None and lo < 0)):  # beyond a guard, not a rule
        unit = f" and the unit ({f.unit})" if f.unit else ""
        message += (" No real figure comes near that limit: check the number of digits"
                    f"{unit}.")
    raise BadValue(message)


def _boolean(f: Field, value: Any) -> bool:
    """TRUE/FALSE (Excel booleans or text), yes/no, 1/0."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    word = str(value).strip().lower() if isinstance(value, str) else None
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise BadValue(f"{f.name} is {_show(value)}: expected {_accepted(f)}.")


def _choice(f: Field, text: str) -> str:
    """One of the field's choices (case-insensitive); BadValue suggests the closest."""
    word = text.lower()
    if word in f.choices:
        return word
    close = difflib.get_close_matches(word, f.choices, n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]}?" if close else "."
    raise BadValue(f"{f.name} is {_show(text)}: expected {_accepted(f)}{hint}")


def _accepted(f: Field) -> str:
    """What the field accepts, in words ("a whole number 0 .. 30")."""
    lo, hi = _bounds(f)
    span = _range_text(lo, hi, f.exclusive_minimum, f.guard)
    base = {
        "number": "a number",
        "int": "a whole number",
        "year": "a calendar year",
        "share": "a fraction",
        "text": "text",
        "bool": "TRUE/FALSE, yes/no or 1/0",
        "choice": "one of " + ", ".join(f.choices),
        "idlist": "project ids separated by commas",
        "list": "names separated by commas",
    }[f.kind]
    text = f"{base} {span}" if span else base
    if f.kind == "year" and not span:
        text += " such as 2031"
    if f.kind == "share":
        text += " (e.g. 0.25, or 25% in a percentage cell)"
    return text


def _range_text(lo: float | None, hi: float | None, exclusive: bool = False,
                guard: bool = False) -> str:
    """"from 0 to 30", ">= 0", "> 0", "<= 1" or "" (no bounds).

    With an exclusive minimum, or a rule minimum (0 or more) and a maximum that only guards against
    slips (``guard``), the rule comes first: "> 0, at most 1000000000", ">= 0, at most 10000000".
    """
    if lo is not None and hi is not None and (exclusive or (guard and lo >= 0)):
        return f"{'>' if exclusive else '>='} {_fmt(lo)}, at most {_fmt(hi)}"
    if lo is not None and hi is not None:
        return f"from {_fmt(lo)} to {_fmt(hi)}"
    if lo is not None:
        return f"{'>' if exclusive else '>='} {_fmt(lo)}"
    if hi is not None:
        return f"<= {_fmt(hi)}"
    return ""


def _fmt(x: float | int) -> str:
    """A number as a person would write it: 2031, 0.85, 2031.5."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    if isinstance(x, float):
        return f"{x:.12g}"
    return str(x)


def _show(value: Any) -> str:
    """A cell value quoted for a message: 'abc', 2031.5, TRUE, the date 2031-01-01."""
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return _fmt(value)
    if isinstance(value, CellError):
        return f"the Excel error {value.code}"
    if isinstance(value, UncachedFormula):
        return f"the formula {value.formula} (no cached value)"
    if isinstance(value, (dt.datetime, dt.date)):
        return f"the date {value.isoformat()[:10]} (write a plain number)"
    if isinstance(value, (dt.time, dt.timedelta)):
        return f"the time {value} (write a plain number)"
    if isinstance(value, tuple):
        return "'" + ", ".join(value) + "'"
    return repr(value)


# --------------------------------------------------------------------------------------------
# Cross-field and cross-sheet checks


def _horizon(settings: Record) -> range | None:
    """Horizon years, or None when first_year or horizon_years could not be read."""
    if not settings.ok("first_year", "horizon_years"):
        return None
    first = settings.values["first_year"]
    return range(first, first + settings.values["horizon_years"])


def _span(horizon: range) -> str:
    return f"{horizon.start} .. {horizon.stop - 1}"


def _check_settings(settings: Record, horizon: range | None, report: Report) -> None:
    """target_year within the horizon."""
    target = settings.values.get("target_year")
    if horizon is not None and target not in (None, INVALID) and target not in horizon:
        report.error(settings.where("target_year"), f"target_year is {target}, outside the "
                     f"horizon: expected a year in {_span(horizon)}.")


def _check_minerals(minerals: list[Record], settings: Record, report: Report) -> None:
    """A target_china_share needs Settings target_year."""
    if settings.values.get("target_year") is not None:  # a year, or INVALID (reported)
        return
    for r in minerals:
        target = r.values.get("target_china_share")
        if target not in (None, INVALID):
            report.error(r.where("target_china_share"), f"target_china_share is {_fmt(target)} "
                         f"for {r.values.get('mineral')!s} but Settings has no target_year: add "
                         "target_year (the year from which the targets must hold) or clear the "
                         "target.")


def _check_projects(projects: list[Record], horizon: range | None,
                    minerals: list[Record] | None, report: Report) -> None:
    """Capex range, start window, minerals, and the requires graph; resolves derived defaults.

    References, groups and countries end up spelt as first defined (see _merge_spellings).
    """
    mineral_names = None if minerals is None else _spellings(minerals, "mineral")
    for r in projects:
        _resolve_capex(r, report)
        _resolve_starts(r, horizon, report)
        if mineral_names is not None:
            _check_reference(r, "mineral", mineral_names, MINERALS.name, report)
    _merge_spellings(projects, "exclusive_group", "group", report)
    _merge_spellings(projects, "country", "country", report)
    _check_requires(projects, report)


def _spellings(records: list[Record], name: str) -> dict[str, tuple[str, str]]:
    """key -> (spelling, cell) of the ``name`` values defined by ``records``; the first wins."""
    out: dict[str, tuple[str, str]] = {}
    for r in records:
        if r.ok(name) and isinstance(r.values[name], str):
            out.setdefault(key(r.values[name]), (r.values[name], r.where(name)))
    return out


def _resolve(r: Record, name: str, value: str, defined: dict[str, tuple[str, str]],
             report: Report) -> str | None:
    """The defined spelling of a reference ``value`` of ``r``'s field ``name``, or None.

    A reference that matches only by key (case, spaces, invisible characters) is accepted, with a
    warning naming the spelling found and the spelling used.
    """
    match = defined.get(key(value))
    if match is None:
        return None
    spelling, where = match
    if spelling != value:
        report.warn(r.where(name), f"{name} {_show(value)} matches {_show(spelling)} ({where}) "
                    f"only when case and invisible characters are ignored: {_show(spelling)} is "
                    f"used; write it as {_show(spelling)}.")
    return spelling


def _merge_spellings(records: list[Record], name: str, what: str, report: Report) -> None:
    """Spellings of ``name`` that differ only by case or invisible characters become the first
    spelling seen, with one warning per extra spelling ('KZ' joins the group 'kz')."""
    first: dict[str, tuple[str, str]] = {}
    warned: set[str] = set()
    for r in records:
        value = r.values.get(name)
        if not isinstance(value, str):
            continue
        spelling, where = first.setdefault(key(value), (value, r.where(name)))
        if value == spelling:
            continue
        if value not in warned:
            warned.add(value)
            report.warn(r.where(name), f"{name} {_show(value)} differs from {_show(spelling)} "
                        f"({where}) only by case or invisible characters: both are read as the "
                        f"one {what} {_show(spelling)}; write it as {_show(spelling)}.")
        r.values[name] = spelling


def _resolve_capex(r: Record, report: Report) -> None:
    """capex_high_musd = low when blank; an error when below low."""
    if not r.ok("capex_low_musd", "capex_high_musd"):
        return
    low, high = r.values["capex_low_musd"], r.values["capex_high_musd"]
    if high is None:
        r.values["capex_high_musd"] = low
    elif high < low:
        report.error(r.where("capex_high_musd"), f"capex_high_musd is {_fmt(high)}, below "
                     f"capex_low_musd {_fmt(low)} ({r.where('capex_low_musd')}): expected a number "
                     f">= {_fmt(low)}, or blank for the same as low.")


def _resolve_starts(r: Record, horizon: range | None, report: Report) -> None:
    """earliest_start = first_year and latest_start = earliest when blank; both in the horizon."""
    if horizon is None or not r.ok("earliest_start", "latest_start"):
        return
    earliest, latest = r.values["earliest_start"], r.values["latest_start"]
    outside = False
    for name, year in (("earliest_start", earliest), ("latest_start", latest)):
        if year is not None and year not in horizon:
            outside = True
            report.error(r.where(name), f"{name} is {year}, outside the horizon: expected a year "
                                        f"in {_span(horizon)}.")
    if outside:
        return
    if earliest is None:
        earliest = r.values["earliest_start"] = horizon.start
    if latest is None:
        r.values["latest_start"] = earliest
    elif latest < earliest:
        report.error(r.where("latest_start"), f"latest_start is {latest}, before earliest_start "
                     f"{earliest} ({r.where('earliest_start')}): expected a year >= {earliest}, "
                     "or blank for the same as earliest_start.")


def _check_reference(r: Record, name: str, names: dict[str, tuple[str, str]], target: str,
                     report: Report) -> bool:
    """Resolve the record's ``name`` value to its spelling in ``names`` (see _spellings); error
    (with the closest name) when it is not there."""
    value = r.values.get(name)
    if value in (None, INVALID):
        return True
    spelling = _resolve(r, name, value, names, report)
    if spelling is not None:
        r.values[name] = spelling
        return True
    known = [s for s, _ in names.values()]
    report.error(r.where(name), f"{name} {_show(value)} is not in {target}{_suggest(value, known)}")
    return False


def _suggest(value: str, names: Iterable[str]) -> str:
    """"; did you mean 'X'?" for the closest name (case-insensitive), else a period."""
    lookup = {str(n).lower(): n for n in names}
    close = difflib.get_close_matches(str(value).lower(), list(lookup), n=1, cutoff=0.6)
    return f"; did you mean '{lookup[close[0]]}'?" if close else "."


def _check_requires(projects: list[Record], report: Report) -> None:
    """requires names known projects, not itself, and forms no cycle."""
    ids = {r.values["project_id"]: r for r in projects if r.ok("project_id")}
    defined = _spellings(projects, "project_id")
    graph: dict[str, tuple[str, ...]] = {}
    for r in projects:
        if not r.ok("project_id", "requires") or not r.values["requires"]:
            continue
        own = r.values["project_id"]
        wanted = tuple(_resolve(r, "requires", other, defined, report) or other
                       for other in r.values["requires"])
        r.values["requires"] = wanted
        if len(set(wanted)) < len(wanted):
            report.warn(r.where("requires"), f"requires lists a project twice "
                                             f"({', '.join(wanted)}); each is counted once.")
            wanted = tuple(dict.fromkeys(wanted))
            r.values["requires"] = wanted
        for other in wanted:
            if other == own:
                report.error(r.where("requires"), f"project {own} requires itself: remove {own} "
                                                  "from its requires.")
            elif other not in ids:
                report.error(r.where("requires"), f"requires names {_show(other)}, which is not "
                             f"a project_id in Projects{_suggest(other, ids)}")
        graph[own] = tuple(o for o in wanted if o in ids and o != own)
    for cycle in _find_cycles(graph):
        cells = ", ".join(ids[p].where("requires") for p in cycle[:-1])
        report.error(ids[cycle[0]].where("requires"), f"requires forms a cycle: "
                     f"{' -> '.join(cycle)} ({cells}): no project of a cycle can be online before "
                     "the others; remove one of these requirements.")


def _find_cycles(graph: dict[str, tuple[str, ...]]) -> list[list[str]]:
    """Cycles of a directed graph, each as [a, b, ..., a]; iterative depth-first search, O(V+E)."""
    done: set[str] = set()
    cycles: list[list[str]] = []
    for start in graph:
        if start in done:
            continue
        path: list[str] = [start]
        on_path = {start: 0}
        stack = [iter(graph.get(start, ()))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                node = path.pop()
                del on_path[node]
                done.add(node)
            elif nxt in on_path:
                cycles.append(path[on_path[nxt]:] + [nxt])
            elif nxt not in done:
                on_path[nxt] = len(path)
                path.append(nxt)
                stack.append(iter(graph.get(nxt, ())))
    return cycles


def _resolve_budget(rows: list[Record] | None, horizon: range | None,
                    report: Report) -> dict[int, float]:
    """Budget of every horizon year ($M): rows outside the horizon are errors, missing years 0.

    ``rows`` is None when the Budget sheet is missing (already reported).
    """
    if rows is None:
        return {}
    given: dict[int, float] = {}
    for r in rows:
        if not r.ok("year", "budget_musd"):
            continue
        year = r.values["year"]
        if horizon is not None and year not in horizon:
            report.error(r.where("year"), f"year {year} is outside the horizon: expected a year "
                                          f"in {_span(horizon)} (Settings first_year and "
                                          "horizon_years).")
        given.setdefault(year, r.values["budget_musd"])
    if horizon is None:
        return given
    missing = [y for y in horizon if y not in given]
    if missing and all(r.ok("year") for r in rows):
        report.warn(BUDGET.name, f"no Budget row for {_year_list(missing)}: the budget of "
                                 f"{'that year' if len(missing) == 1 else 'those years'} is 0.")
    return {y: float(given.get(y, 0.0)) for y in horizon}


def _year_list(years: list[int]) -> str:
    """2031, 2034-2036 (consecutive years joined)."""
    parts: list[str] = []
    start = prev = years[0]
    for y in years[1:] + [None]:  # type: ignore[list-item]
        if y is not None and y == prev + 1:
            prev = y
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if y is not None:
            start = prev = y
    return ", ".join(parts)


def _resolve_capex_profiles(rows: list[Record], projects: list[Record] | None,
                            report: Report) -> dict[str, tuple[float, ...]]:
    """project_id -> capex shares by year offset, from CapexProfile rows (checked).

    ``projects`` is None when the Projects sheet is missing: nothing can be checked.
    """
    if projects is None:
        return {}
    builds = {r.values["project_id"]: r.values["build_years"] for r in projects
              if r.ok("project_id", "build_years")}
    known = _spellings(projects, "project_id")
    by_project: dict[str, list[Record]] = {}
    seen: dict[tuple[str, int], str] = {}
    for r in rows:
        if not r.ok("project_id"):
            continue
        if _check_reference(r, "project_id", known, PROJECTS.name, report):
            by_project.setdefault(r.values["project_id"], []).append(r)
        pid = r.values["project_id"]
        if not r.ok("year_offset"):
            continue
        offset = r.values["year_offset"]
        key = (pid, offset)
        if key in seen:
            report.error(r.where("year_offset"), f"project {pid} has year_offset {offset} twice "
                         f"(first in {seen[key]}): give each year one row.")
        else:
            seen[key] = r.where("year_offset")
        if pid in builds and offset > max(builds[pid] - 1, 0):
            report.error(r.where("year_offset"), f"year_offset is {offset} but project {pid} has "
                         f"build_years {builds[pid]}: expected 0 .. {max(builds[pid] - 1, 0)}.")
    profiles: dict[str, tuple[float, ...]] = {}
    for pid, group in by_project.items():
        profile = _profile(pid, group, builds.get(pid), report)
        if profile is not None:
            profiles[pid] = profile
    return profiles


def _profile(pid: str, group: list[Record], build_years: int | None,
             report: Report) -> tuple[float, ...] | None:
    """A project's shares by offset (length max(build_years, 1)); error if they do not sum to 1."""
    if not all(r.ok("year_offset", "share") for r in group):
        return None
    if not _sums_to_one(group, "share", report, f"the capex shares of project {pid}"):
        return None
    if build_years is None:
        return None
    shares = [0.0] * max(build_years, 1)
    for r in group:
        if r.values["year_offset"] < len(shares):
            shares[r.values["year_offset"]] += r.values["share"]
    return tuple(shares)


# --------------------------------------------------------------------------------------------
# Version 2: cash flows and the NPV computed from them, countries, lost countries


@dataclass
class _Flows:
    """A project's CashFlows rows: $M by year offset from its online year, and their cells."""

    by_offset: dict[int, float] = dataclass_field(default_factory=dict)
    cells: list[str] = dataclass_field(default_factory=list)  # "CashFlows!C2", row order
    broken: bool = False  # a row could not be read (reported): no NPV is computed

    def dense(self) -> tuple[float, ...]:
        """Flows for offsets 0 .. the last given one; a missing offset is 0.0."""
        last = max(self.by_offset, default=-1)
        return tuple(float(self.by_offset.get(o, 0.0)) for o in range(last + 1))


@dataclass(frozen=True)
class _Capital:
    """Resolved capex profiles, and the projects that have CapexProfile rows at all."""

    profiles: dict[str, tuple[float, ...]]
    profiled: set[str]

    def shares(self, pid: str, build_years: int) -> tuple[float, ...] | None:
        """The project's spend shares by offset; None when its rows were refused (reported)."""
        if pid in self.profiles:
            return self.profiles[pid]
        return None if pid in self.profiled else _even_profile(build_years)


def _profiled(rows: list[Record]) -> set[str]:
    """Project ids (as resolved) that have CapexProfile rows."""
    return {r.values["project_id"] for r in rows if r.ok("project_id")}


def _resolve_cash_flows(rows: list[Record], projects: list[Record] | None,
                        report: Report) -> dict[str, _Flows]:
    """project_id -> its CashFlows rows (checked: a Projects id, each offset once).

    ``projects`` is None when the Projects sheet is missing: nothing can be checked.
    """
    if projects is None:
        return {}
    known = _spellings(projects, "project_id")
    flows: dict[str, _Flows] = {}
    seen: dict[tuple[str, int], str] = {}
    for r in rows:
        if not r.ok("project_id") or not _check_reference(r, "project_id", known,
                                                           PROJECTS.name, report):
            continue
        pid = r.values["project_id"]
        entry = flows.setdefault(pid, _Flows())
        entry.cells.append(r.where("cash_flow_musd"))
        if not r.ok("year_offset", "cash_flow_musd"):
            entry.broken = True
            continue
        offset = r.values["year_offset"]
        if (pid, offset) in seen:
            entry.broken = True
            report.error(r.where("year_offset"), f"project {pid} has year_offset {offset} twice "
                         f"on {r.sheet} (first in {seen[pid, offset]}): give each year one row.")
            continue
        seen[pid, offset] = r.where("year_offset")
        entry.by_offset[offset] = r.values["cash_flow_musd"]
    return flows


def _check_npvs(projects: list[Record], settings: Record, capital: _Capital,
                flows: dict[str, _Flows], report: Report) -> None:
    """npv_musd against the NPV computed from a project's CashFlows rows; a blank npv_musd is set
    to the computed NPV, and is an error for a project without rows."""
    lacking: list[Record] = []
    for r in projects:
        given = flows.get(r.values.get("project_id"))
        if given is None:
            if r.values.get("npv_musd") is None:
                lacking.append(r)
            continue
        computed = _computed_npv(r, settings, capital, given)
        if computed is None:
            continue  # an input of the NPV is invalid (reported)
        npv = r.values.get("npv_musd")
        if npv is None:
            _set_computed_npv(r, computed, given, report)
        elif npv is not INVALID:
            _compare_npv(r, npv, computed, settings, given, report)
    _report_blank_npvs(lacking, report)


def _computed_npv(r: Record, settings: Record, capital: _Capital, given: _Flows) -> float | None:
    """The NPV ($M at the start year) from the project's capital and operating flows; None when
    any input of it could not be read."""
    if given.broken or not settings.ok("discount_rate", "capex_basis") or not r.ok(
            "project_id", "capex_low_musd", "capex_high_musd", "build_years"):
        return None
    shares = capital.shares(r.values["project_id"], r.values["build_years"])
    if shares is None:
        return None
    capex = capex_at_basis(r.values["capex_low_musd"], r.values["capex_high_musd"],
                           settings.values["capex_basis"])
    return npv_from_flows(capex, shares, r.values["build_years"], given.dense(),
                          settings.values["discount_rate"])


def _set_computed_npv(r: Record, computed: float, given: _Flows, report: Report) -> None:
    """A blank npv_musd becomes the computed NPV, unless that lies beyond the money guard."""
    if abs(computed) > MONEY_LIMIT_MUSD:
        report.error(r.where("npv_musd"), f"the NPV computed from the cash flows of project "
                     f"{r.values['project_id']} ({_listed(given.cells)}) is {_fmt(computed)} $M, "
                     f"beyond {_fmt(MONEY_LIMIT_MUSD)} $M: check the number of digits and the "
                     "unit ($M) of the cash flows.")
        r.values["npv_musd"] = INVALID
        return
    r.values["npv_musd"] = computed


def _compare_npv(r: Record, npv: float, computed: float, settings: Record, given: _Flows,
                 report: Report) -> None:
    """Error when npv_musd and the computed NPV differ by more than max(0.5 $M, 1%)."""
    tolerance = max(NPV_TOLERANCE_MUSD, NPV_TOLERANCE_SHARE * abs(npv))
    if abs(computed - npv) <= tolerance:
        return
    pid = r.values["project_id"]
    capex_cells = f"{r.where('capex_low_musd')}, {r.where('capex_high_musd')}"
    report.error(r.where("npv_musd"), f"npv_musd is {_fmt(npv)} $M but the NPV computed for "
                 f"project {pid} from its CashFlows rows ({_listed(given.cells)}) and its capex at "
                 f"capex_basis {settings.values['capex_basis']} ({capex_cells}), at discount_rate "
                 f"{_fmt(settings.values['discount_rate'])}, is {computed:.2f} $M: they differ by "
                 f"{abs(computed - npv):.2f} $M, more than max(0.5 $M, 1% of npv_musd) = "
                 f"{tolerance:.2f} $M. Correct the cash flows or npv_musd, or clear npv_musd to "
                 "use the computed NPV.")


def _report_blank_npvs(records: list[Record], report: Report) -> None:
    """npv_musd is required of a project without CashFlows rows: per cell, or once for a missing
    column."""
    f = PROJECTS.field("npv_musd")
    no_column = [r for r in records if r.refs.get("npv_musd") is None]
    for r in records:
        if r.refs.get("npv_musd") is not None:
            report.error(r.where("npv_musd"), f"npv_musd is blank but required ({_project_words(r)} "
                         f"has no CashFlows rows): expected "
                         f"{_accepted(f)}, or give its operating cash flows on the CashFlows "
                         "sheet.")
    if no_column:
        ids = ", ".join(_project_words(r) for r in no_column[:MAX_LISTED])
        more = f" and {len(no_column) - MAX_LISTED} more" if len(no_column) > MAX_LISTED else ""
        report.error(f"{no_column[0].sheet} row 1", f"required column npv_musd (or "
                     f"'{f.header}') is missing: add a column headed npv_musd (no CashFlows rows give "
                     f"the NPV of {ids}{more}).")


def _project_words(r: Record) -> str:
    """'project GA-1', or 'the project of row 7' when its id could not be read."""
    return f"project {r.values['project_id']}" if r.ok("project_id") and r.values[
        "project_id"] is not None else f"the project of row {r.row}"


def _listed(cells: list[str]) -> str:
    """Cells joined by commas, at most MAX_LISTED of them, then "and N more"."""
    more = f" and {len(cells) - MAX_LISTED} more" if len(cells) > MAX_LISTED else ""
    return ", ".join(cells[:MAX_LISTED]) + more


def _resolve_countries(rows: list[Record], projects: list[Record] | None,
                       report: Report) -> list[Record]:
    """Countries rows with each country spelt as in Projects (a look-alike spelling resolves with
    a warning); a country no project is in is kept, with a warning."""
    if projects is None:
        return rows
    known = _spellings(projects, "country")
    for r in rows:
        value = r.values.get("country")
        if not isinstance(value, str):
            continue  # blank or unreadable (reported)
        spelling = _resolve(r, "country", value, known, report)
        if spelling is not None:
            r.values["country"] = spelling
            continue
        hint = _suggest(value, [s for s, _ in known.values()]).rstrip(".")
        report.warn(r.where("country"), f"country {_show(value)} is listed in {r.sheet} but no "
                    f"project is there: its row has no effect{hint}.")
    return rows


def _check_lost_countries(scenarios: list[Record], projects: list[Record] | None,
                          report: Report) -> None:
    """Each lost country of a scenario is a country of some project (spelt as in Projects)."""
    if projects is None:
        return
    known = _spellings(projects, "country")
    names = [s for s, _ in known.values()]
    for r in scenarios:
        lost = r.values.get("lost_countries")
        if not lost or lost is INVALID:
            continue
        resolved = []
        for value in lost:
            spelling = _resolve(r, "lost_countries", value, known, report)
            if spelling is None:
                report.error(r.where("lost_countries"), f"lost_countries names {_show(value)}, "
                             f"which is not the country of any project in Projects"
                             f"{_suggest(value, names)}")
            resolved.append(spelling or value)
        unique = tuple(dict.fromkeys(resolved))
        if len(unique) < len(resolved):
            report.warn(r.where("lost_countries"), f"lost_countries lists a country twice "
                        f"({', '.join(resolved)}); each is counted once.")
        r.values["lost_countries"] = unique


def _check_budget_levels(rows: list[Record], report: Report) -> None:
    """The probabilities of the BudgetLevels rows sum to 1 (within SHARE_TOLERANCE). Each value's
    own range and the uniqueness of level and budget_multiplier come from the schema; the sum is
    checked only when every probability could be read (a share typed as 85 is reported alone)."""
    if not rows or not all(r.ok("probability") for r in rows):
        return
    _sums_to_one(rows, "probability", report, "the probabilities of the budget levels",
                 show_values=True, advice=" (100%): correct them, or add the missing level")


def _sums_to_one(rows: list[Record], column: str, report: Report, what: str, *,
                 show_values: bool = False, advice: str = "") -> bool:
    """Whether ``column`` sums to 1 over ``rows`` (math.fsum, within SHARE_TOLERANCE); if not,
    an error at those rows: "<what> sum to <total> (<cells>); they must sum to 1<advice>.", each
    cell followed by its value when ``show_values``."""
    total = math.fsum(r.values[column] for r in rows)
    if abs(total - 1.0) <= SHARE_TOLERANCE:
        return True
    numbers = ", ".join(str(r.row) for r in rows)
    cells = ", ".join(r.where(column) + (f" {_fmt(r.values[column])}" if show_values else "")
                      for r in rows)
    where = f"{rows[0].sheet} row{'s' if len(rows) > 1 else ''} {numbers}"
    report.error(where, f"{what} sum to {_fmt(total)} ({cells}); they must sum to 1{advice}.")
    return False


# --------------------------------------------------------------------------------------------
# Sources (free-form provenance)


def _read_sources(raw: RawSheet | None,
                  report: Report) -> tuple[tuple[str, ...], tuple[SourceRow, ...]]:
    """Header and rows of the optional Sources sheet, every cell as text."""
    if raw is None:
        return (), ()
    uncached = [c for c in raw.header if isinstance(c.value, UncachedFormula)]
    uncached += [c for row in raw.rows for c in row.cells if isinstance(c.value, UncachedFormula)]
    _report_uncached(raw.title, uncached, report)
    header = _texts(raw.header)
    rows = tuple(SourceRow(_texts(row.cells)) for row in raw.rows)
    return header, rows


def _texts(cells: Iterable[RawCell]) -> tuple[str, ...]:
    """Cell values as text, trailing blank cells dropped."""
    texts = [_as_text(c.value) for c in cells]
    while texts and not texts[-1]:
        texts.pop()
    return tuple(texts)


def _as_text(value: Any) -> str:
    if is_blank(value):
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return _fmt(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value).strip()
