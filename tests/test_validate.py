"""The validator: the known-good fixture loads into the right objects, and each rule, broken in one
cell of a copy of it, is reported naming that cell and the value found.

``tests/data/good.xlsx`` is written by ``tests/data/make_good_fixture.py`` (rows described there).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import openpyxl
import pytest

from optimizer import schema
from optimizer.errors import InputError
from optimizer.validate import check, load_instance

from helpers import assert_reported, edited_copy, errors_of

FIXTURE = Path(__file__).parent / "data" / "good.xlsx"


# ---- helpers ---------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _headers(sheet: str) -> dict[str, str]:
    """Header text -> column letter in the fixture's ``sheet``."""
    ws = openpyxl.load_workbook(FIXTURE)[sheet]
    return {c.value: c.column_letter for c in ws[1] if c.value is not None}


def ref(sheet: str, name: str, row: int) -> str:
    """``Projects!F4``: the fixture cell of field ``name`` in ``row``."""
    return f"{sheet}!{_headers(sheet)[name]}{row}"


@lru_cache(maxsize=None)
def setting_ref(name: str) -> str:
    """``Settings!B5``: the value cell of setting ``name`` in the fixture."""
    ws = openpyxl.load_workbook(FIXTURE)["Settings"]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == name:
            return f"Settings!{row[1].coordinate}"
    raise KeyError(name)


def edited(tmp_path: Path, edits: dict[str, object], name: str = "case.xlsx") -> Path:
    """A copy of the fixture with cells changed: {"Projects!F4": value}."""
    return edited_copy(FIXTURE, tmp_path, edits, name)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


P, M, B, C, S = "Projects", "Minerals", "Budget", "CapexProfile", "Scenarios"


# ---- the good fixture ----------------------------------------------------------------------

def test_good_fixture_loads_with_defaults_resolved() -> None:
    inst = load_instance(FIXTURE)
    assert inst.warnings == ()
    assert inst.name == "good" and inst.source_path == str(FIXTURE)
    assert inst.input_sha256 == sha256(FIXTURE)

    s = inst.settings
    assert (s.first_year, s.horizon_years, s.target_year) == (2026, 15, 2033)
    assert (s.objective, s.capex_basis, s.budget_carryover) == ("weighted", "mid", True)
    assert s.discount_rate == 0.08 and s.time_limit_s == 30.0
    assert s.robust_gamma == schema.SETTINGS.field("robust_gamma").default  # not in the sheet

    assert list(inst.minerals) == ["Gallium", "Graphite"]
    assert inst.minerals["Gallium"].target_china_share is None
    assert inst.minerals["Graphite"].target_china_share == 0.4

    assert list(inst.projects) == ["GA-REF-1", "GA-OFF-1", "GR-REF-1", "GR-SPH-1", "GR-REF-2A",
                                   "GR-REF-2B"]
    offtake = inst.projects["GA-OFF-1"]
    assert offtake.capex_high_musd == offtake.capex_low_musd == 0.0  # blank high = low
    assert offtake.earliest_start == 2026  # blank = first_year
    assert offtake.latest_start == 2029 and offtake.operating_years == 8
    assert offtake.must_fund is True and offtake.capex_profile == (1.0,)  # build_years 0
    line = inst.projects["GR-SPH-1"]
    assert line.latest_start == line.earliest_start == 2028  # blank latest = earliest
    assert line.requires == ("GR-REF-1",) and line.must_fund is False  # "no"
    assert line.capex_profile == (0.5, 0.5)  # even over 2 build years
    plant = inst.projects["GR-REF-1"]
    assert plant.capex_profile == (0.1, 0.3, 0.4, 0.2)  # from CapexProfile
    assert plant.requires == () and plant.operating_years is None
    assert inst.projects["GR-REF-2A"].must_fund is False  # blank
    assert inst.projects["GR-REF-2B"].must_fund is False  # 0
    assert {inst.projects[p].exclusive_group for p in ("GR-REF-2A", "GR-REF-2B")} == {"quebec"}
    assert isinstance(plant.build_years, int) and isinstance(plant.capex_low_musd, float)

    assert list(inst.budget) == list(range(2026, 2041))
    assert inst.budget[2026] == 250.0 and inst.budget[2040] == 400.0
    assert [sc.scenario for sc in inst.scenarios] == ["capex overrun", "late and weak demand"]
    assert inst.scenarios[1].delay_years == 2
    assert inst.sources_header == ("item", "source", "note")
    assert inst.sources[0].cells == ("all figures", "test fixture",
                                     "illustrative values, not sourced")


def test_friendly_labels_are_accepted_as_headers(tmp_path: Path) -> None:
    """Headers written as the template's labels ("Capex low ($M)") read the same instance."""
    wb = openpyxl.load_workbook(FIXTURE)
    for sheet in (schema.MINERALS, schema.PROJECTS, schema.BUDGET, schema.CAPEX_PROFILE):
        for cell in wb[sheet.name][1]:
            cell.value = sheet.field(cell.value).header
    path = tmp_path / "labels.xlsx"
    wb.save(path)
    good, labelled = load_instance(FIXTURE), load_instance(path)
    assert labelled.warnings == ()
    assert dict(labelled.projects) == dict(good.projects)
    assert dict(labelled.minerals) == dict(good.minerals)
    assert dict(labelled.budget) == dict(good.budget)


def test_loading_never_modifies_the_file(tmp_path: Path) -> None:
    bad = edited(tmp_path, {ref(P, "capex_low_musd", 4): "abc"})
    before = {p: (sha256(p), p.stat().st_mtime_ns) for p in (FIXTURE, bad)}
    load_instance(FIXTURE)
    with pytest.raises(InputError):
        load_instance(bad)
    check(bad)
    assert {p: (sha256(p), p.stat().st_mtime_ns) for p in (FIXTURE, bad)} == before


# ---- one rule per test, one broken cell ---------------------------------------------------

@dataclass
class Case:
    id: str
    edits: dict[str, object]
    fragments: tuple[str, ...]  # all found in one error (besides the cell named in `where`)
    where: str = ""  # the cell or row the error names; default: the first edited cell
    n_errors: int = 1


def _cases() -> list[Case]:
    low4 = ref(P, "capex_low_musd", 4)
    return [
        # kinds
        Case("text-for-number", {low4: "abc"}, ("'abc'", "a number >= 0")),
        Case("thousands-separator-text", {low4: "1,200"}, ("'1,200'", "a number")),
        Case("fractional-year", {ref(P, "earliest_start", 2): 2031.5},
             ("2031.5", "not a whole number", "a calendar year")),
        Case("fractional-int", {ref(P, "build_years", 2): 2.5}, ("2.5", "not a whole number")),
        Case("date-for-year", {ref(P, "latest_start", 2): dt.datetime(2030, 1, 1)},
             ("the date 2030-01-01", "a calendar year")),
        Case("excel-error", {ref(P, "capacity_tpa", 2): "#DIV/0!"},
             ("the Excel error #DIV/0!", "a number >= 0")),
        Case("bool-for-number", {ref(P, "npv_musd", 2): True}, ("TRUE", "a number")),
        Case("bad-boolean", {ref(P, "must_fund", 2): "maybe"},
             ("'maybe'", "TRUE/FALSE, yes/no or 1/0")),
        Case("bad-boolean-number", {ref(P, "must_fund", 2): 2}, ("must_fund is 2",)),
        Case("choice", {ref(P, "kind", 2): "plnat"}, ("'plnat'", "plant, offtake",
                                                       "did you mean plant")),
        Case("setting-choice", {setting_ref("objective"): "npvv"},
             ("'npvv'", "npv, security, weighted", "did you mean npv")),
        Case("blank-required", {ref(P, "name", 2): None}, ("name is blank but required",)),
        Case("whitespace-only-is-blank", {ref(P, "country", 2): "   "}, ("country is blank",)),
        # ranges
        Case("below-minimum", {ref(P, "capex_low_musd", 2): -5}, ("-5", ">= 0")),
        Case("above-maximum", {ref(P, "build_years", 2): 31}, ("31", "from 0 to 30")),
        Case("exclusive-minimum", {ref(M, "us_demand_t", 2): 0}, ("us_demand_t is 0", "> 0")),
        Case("setting-range", {setting_ref("horizon_years"): 61}, ("61", "from 1 to 60")),
        Case("setting-year-range", {setting_ref("first_year"): 1800},
             ("1800", "from 1900 to 2200")),
        Case("share-negative", {ref(P, "risk", 2): -0.1}, ("-0.1", "from 0 to 1")),
        Case("share-as-percent", {ref(P, "risk", 2): 85},
             ("85", "85 looks like a percentage: write 0.85 or 85%")),
        Case("mineral-share-as-percent", {ref(M, "china_share", 3): 60},
             ("60 looks like a percentage: write 0.6 or 60%",)),
        Case("setting-share-as-percent", {setting_ref("discount_rate"): 8},
             ("8 looks like a percentage: write 0.08 or 8%",)),
        Case("setting-share-above-narrow-max", {setting_ref("discount_rate"): 0.6},
             ("0.6", "from 0 to 0.5")),
        # uniqueness
        Case("duplicate-project-id", {ref(P, "project_id", 5): "GA-REF-1"},
             ("'GA-REF-1'", "repeated", ref(P, "project_id", 2))),
        Case("duplicate-mineral", {ref(M, "mineral", 3): "Gallium"},
             ("'Gallium'", "repeated", ref(M, "mineral", 2)), n_errors=5),  # + 4 Graphite projects
        Case("duplicate-budget-year", {ref(B, "year", 3): 2026},
             ("2026", "repeated", ref(B, "year", 2))),
        Case("duplicate-scenario", {ref(S, "scenario", 3): "capex overrun"},
             ("'capex overrun'", "repeated")),
        Case("duplicate-column", {"Projects!R1": "Capex low ($M)"},
             ("repeats capex_low_musd", ref(P, "capex_low_musd", 1))),
        # projects
        Case("capex-high-below-low", {ref(P, "capex_high_musd", 2): 100},
             ("capex_high_musd is 100", "below capex_low_musd 420")),
        Case("latest-before-earliest", {ref(P, "latest_start", 2): 2026},
             ("latest_start is 2026", "before earliest_start 2027")),
        Case("earliest-outside-horizon", {ref(P, "earliest_start", 2): 2020},
             ("earliest_start is 2020", "2026 .. 2040")),
        Case("latest-outside-horizon", {ref(P, "latest_start", 2): 2045},
             ("latest_start is 2045", "2026 .. 2040")),
        Case("unknown-mineral", {ref(P, "mineral", 2): "Galium"},
             ("'Galium'", "not in Minerals", "did you mean 'Gallium'")),
        Case("requires-unknown", {ref(P, "requires", 5): "GR-REF-9"},
             ("'GR-REF-9'", "not a project_id", "did you mean 'GR-REF-1'")),
        Case("requires-itself", {ref(P, "requires", 5): "GR-SPH-1"},
             ("GR-SPH-1 requires itself",)),
        Case("requires-cycle", {ref(P, "requires", 4): "GR-SPH-1"},
             ("cycle", "GR-REF-1 -> GR-SPH-1 -> GR-REF-1")),
        # settings, minerals and budget against the horizon
        Case("target-year-outside-horizon", {setting_ref("target_year"): 2050},
             ("target_year is 2050", "2026 .. 2040")),
        Case("target-share-without-target-year", {setting_ref("target_year"): None},
             ("target_china_share is 0.4", "no target_year"),
             where=ref(M, "target_china_share", 3)),
        Case("budget-year-outside-horizon", {ref(B, "year", 3): 2050},
             ("year 2050", "outside the horizon", "2026 .. 2040")),
        # capex profiles
        Case("profile-unknown-project", {ref(C, "project_id", 2): "GR-REF-X"},
             ("'GR-REF-X'", "not in Projects", "did you mean 'GR-REF-1'"), n_errors=2),
        Case("profile-shares-do-not-sum-to-1", {ref(C, "share", 3): 0.5},
             ("GR-REF-1", "sum to 1.2", "must sum to 1"), where="CapexProfile rows 2, 3, 4, 5"),
        Case("profile-offset-beyond-build", {ref(C, "year_offset", 5): 4},
             ("year_offset is 4", "build_years 4", "0 .. 3")),
        Case("profile-duplicate-offset", {ref(C, "year_offset", 5): 2},
             ("year_offset 2 twice", ref(C, "year_offset", 4))),
        Case("profile-share-as-percent", {ref(C, "share", 2): 10},
             ("10 looks like a percentage: write 0.1 or 10%",)),
        # formulas
        Case("formula-without-cached-value", {low4: "=1+1"}, ("=1+1", "no cached value")),
        Case("row-of-formulas-only", {"Budget!A17": "=2030+1", "Budget!B17": "=50*2"},
             ("2 cells hold", "Budget!A17 (=2030+1)", "Budget!B17 (=50*2)"), where="Budget"),
        Case("setting-formula-without-cached-value", {setting_ref("horizon_years"): "=10+5"},
             ("=10+5", "no cached value")),
        # columns and settings rows
        Case("missing-column-misspelt", {ref(P, "capex_low_musd", 1): "capex_lo_musd"},
             ("required column capex_low_musd", "'capex_lo_musd'", "misspelling"),
             where="Projects row 1"),
        Case("missing-column", {ref(P, "capacity_tpa", 1): None},
             ("required column capacity_tpa", "add a column"), where="Projects row 1"),
        Case("settings-value-column-misspelt", {"Settings!B1": "valeu"},
             ("required column 'value'", "'valeu'"), where="Settings row 1"),
        Case("duplicate-setting", {"Settings!A13": "horizon_years", "Settings!B13": 20},
             ("horizon_years is given twice", "rows 3 and 13"), where="Settings row 13"),
        Case("required-setting-missing", {"Settings!A2": None, "Settings!B2": None},
             ("first_year is missing",), where="Settings"),
        Case("required-setting-blank", {setting_ref("first_year"): None},
             ("first_year is blank",)),
    ]


CASES = _cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_rule_names_the_cell_and_value(case: Case, tmp_path: Path) -> None:
    path = edited(tmp_path, case.edits)
    problems = errors_of(path)
    where = case.where or next(iter(case.edits))
    assert_reported(problems, f"{where}: ", *case.fragments)
    assert len(problems) == case.n_errors, "\n".join(problems)


def test_three_project_cycle_is_printed_in_order(tmp_path: Path) -> None:
    path = edited(tmp_path, {ref(P, "requires", 2): "GR-SPH-1", ref(P, "requires", 4): "GA-REF-1"})
    problems = errors_of(path)
    assert_reported(problems, ref(P, "requires", 2), "GA-REF-1 -> GR-SPH-1 -> GR-REF-1 -> GA-REF-1")
    assert len(problems) == 1


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    path = edited(tmp_path, {ref(P, "capex_low_musd", 4): "abc", ref(B, "budget_musd", 5): -1,
                             setting_ref("solver"): "gurobi"})
    problems = errors_of(path)
    assert_reported(problems, ref(P, "capex_low_musd", 4), "'abc'")
    assert_reported(problems, ref(B, "budget_musd", 5), "-1")
    assert_reported(problems, setting_ref("solver"), "'gurobi'")
    assert len(problems) == 3


def test_error_report_lists_every_problem(tmp_path: Path) -> None:
    path = edited(tmp_path, {ref(P, "risk", 2): 85, ref(P, "kind", 3): "farm"})
    with pytest.raises(InputError) as info:
        load_instance(path)
    text = str(info.value)
    assert text.startswith("The workbook has 2 problems:")
    assert ref(P, "risk", 2) in text and ref(P, "kind", 3) in text


# ---- accepted spellings ------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (True, True), (False, False), ("TRUE", True), ("false", False), ("Yes", True), ("no", False),
    (1, True), (0, False), ("1", True), ("0", False), (" yes ", True), (None, False),
])
def test_boolean_spellings(value: object, expected: bool, tmp_path: Path) -> None:
    inst = load_instance(edited(tmp_path, {ref(P, "must_fund", 2): value}))
    assert inst.projects["GA-REF-1"].must_fund is expected


@pytest.mark.parametrize("cell, value, attribute, expected", [
    (ref(P, "risk", 2), "85%", "risk", 0.85),
    (ref(P, "capex_low_musd", 2), " 12.5 ", "capex_low_musd", 12.5),
    (ref(P, "build_years", 2), 3.0, "build_years", 3),
    (ref(P, "capex_high_musd", 2), "   ", "capex_high_musd", 420.0),  # blank: = low
    (ref(P, "kind", 2), "Plant", "kind", "plant"),
    (ref(P, "requires", 2), "GR-REF-1, GA-OFF-1,", "requires", ("GR-REF-1", "GA-OFF-1")),
    (ref(P, "project_id", 2), 101, "project_id", "101"),
])
def test_accepted_spellings(cell: str, value: object, attribute: str, expected: object,
                            tmp_path: Path) -> None:
    inst = load_instance(edited(tmp_path, {cell: value}))
    project = list(inst.projects.values())[0]
    assert getattr(project, attribute) == expected
    assert isinstance(getattr(project, attribute), type(expected))


def test_blank_rows_are_skipped_and_rows_keep_their_numbers(tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(FIXTURE)
    ws = wb[P]
    ws.insert_rows(4, amount=2)  # GR-REF-1 moves from row 4 to row 6
    ws["B5"] = "   "  # a row holding only whitespace is blank too
    ws[f"{_headers(P)['capex_low_musd']}6"] = "abc"
    path = tmp_path / "blank_rows.xlsx"
    wb.save(path)
    problems = errors_of(path)
    assert len(problems) == 1, "\n".join(problems)
    assert problems[0].startswith(f"{ref(P, 'capex_low_musd', 6)}: ") and "'abc'" in problems[0]


def test_blank_rows_alone_load(tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(FIXTURE)
    wb[P].insert_rows(3)
    wb[B].insert_rows(10, amount=3)
    path = tmp_path / "gaps.xlsx"
    wb.save(path)
    inst = load_instance(path)
    assert len(inst.projects) == 6 and inst.budget == load_instance(FIXTURE).budget


def test_formula_with_cached_value_is_read_through_its_value(tmp_path: Path) -> None:
    """A workbook saved by a spreadsheet program caches each formula's value: that value is used."""
    path = edited(tmp_path, {ref(P, "capex_low_musd", 4): "=450*2"})
    assert_reported(errors_of(path), "=450*2", "no cached value")
    cached = tmp_path / "cached.xlsx"
    _add_cached_value(path, cached, "450*2", "900")
    inst = load_instance(cached)
    assert inst.projects["GR-REF-1"].capex_low_musd == 900.0


def _add_cached_value(source: Path, target: Path, formula: str, value: str) -> None:
    """Copy an xlsx, writing ``value`` as the cached result of ``formula`` (as Excel would)."""
    out = io.BytesIO()
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                text = data.decode("utf-8")
                text = re.sub(rf"<f>{re.escape(formula)}</f><v\s*/>|<f>{re.escape(formula)}</f>"
                              r"<v></v>", f"<f>{formula}</f><v>{value}</v>", text)
                data = text.encode("utf-8")
            zout.writestr(item, data)
    target.write_bytes(out.getvalue())


# ---- warnings do not fail ------------------------------------------------------------------

def test_warnings_do_not_fail(tmp_path: Path) -> None:
    path = edited(tmp_path, {
        "Projects!R1": "notes", "Projects!R2": "check the permit",  # unknown column
        ref(B, "year", 6): None, ref(B, "budget_musd", 6): None,  # 2030 has no Budget row
        "Settings!A13": "discount_rat", "Settings!B13": 0.1,  # unknown setting
        "Minerals!H1": "weigth",  # unknown column close to a known one
    })
    inst = load_instance(path)
    text = "\n".join(inst.warnings)
    assert "Projects!R1" in text and "'notes'" in text and "ignored" in text
    assert "no Budget row for 2030" in text and inst.budget[2030] == 0.0
    assert "Settings!A13" in text and "did you mean discount_rate" in text
    assert inst.settings.discount_rate == 0.08  # the unknown setting is not used
    assert "Minerals!H1" in text
    assert len(inst.warnings) == 4
    errors, warnings = check(path)
    assert errors == [] and len(warnings) == 4


def test_unlabelled_column_with_values_warns(tmp_path: Path) -> None:
    inst = load_instance(edited(tmp_path, {"Projects!AA3": 42}))  # past the last column
    assert any("Projects!AA1" in w and "Projects!AA3" in w and "no header" in w
               for w in inst.warnings)


def test_check_returns_problems_without_raising(tmp_path: Path) -> None:
    errors, warnings = check(edited(tmp_path, {ref(P, "capex_low_musd", 4): "abc"}))
    assert [p.where for p in errors] == [ref(P, "capex_low_musd", 4)]
    assert warnings == []
    assert check(FIXTURE) == ([], [])
    errors, _ = check(tmp_path / "missing.xlsx")
    assert errors and errors[0].where == "file"


# ---- sheets ----------------------------------------------------------------------------------

def _renamed(tmp_path: Path, old: str, new: str | None) -> Path:
    """The fixture with sheet ``old`` renamed to ``new`` (deleted when None)."""
    wb = openpyxl.load_workbook(FIXTURE)
    if new is None:
        del wb[old]
    else:
        wb[old].title = "renamed"  # openpyxl refuses a name differing only in case from itself
        wb["renamed"].title = new
    path = tmp_path / "sheets.xlsx"
    wb.save(path)
    return path


@pytest.mark.parametrize("old, new, fragments", [
    ("Projects", "Project", ("Project:", "looks like 'Projects'", "rename the sheet")),
    ("CapexProfile", "Capex Profiles", ("Capex Profiles:", "looks like 'CapexProfile'")),
    ("Budget", "budgets", ("budgets:", "looks like 'Budget'")),
    ("CapexProfile", "Capex Profile", ("Capex Profile:", "rename the sheet to 'CapexProfile'")),
    ("Settings", "Settings (old)", ("required sheet 'Settings' is missing", "'Settings (old)'")),
    ("Budget", None, ("Budget:", "required sheet 'Budget' is missing")),
    ("Settings", None, ("Settings:", "required sheet 'Settings' is missing")),
])
def test_sheet_rules(old: str, new: str | None, fragments: tuple[str, ...], tmp_path: Path) -> None:
    problems = errors_of(_renamed(tmp_path, old, new))
    assert_reported(problems, *fragments)
    assert len(problems) == 1, "\n".join(problems)


def test_sheet_names_match_case_insensitively(tmp_path: Path) -> None:
    assert len(load_instance(_renamed(tmp_path, "Budget", "BUDGET")).budget) == 15


def test_unrelated_and_optional_sheets(tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(FIXTURE)
    wb.create_sheet("Notes")["A1"] = "=1+1"  # unrelated sheets are never read
    wb.create_sheet("Project")  # a near-miss of a sheet that exists: ignored with a warning
    del wb["CapexProfile"], wb["Scenarios"], wb["Sources"]
    path = tmp_path / "extra.xlsx"
    wb.save(path)
    inst = load_instance(path)
    assert inst.projects["GR-REF-1"].capex_profile == (0.25,) * 4  # even without CapexProfile
    assert inst.scenarios == () and inst.sources == () and inst.sources_header == ()
    assert len(inst.warnings) == 1 and "'Project' is ignored" in inst.warnings[0]
