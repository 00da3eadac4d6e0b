"""Hostile input: absurd magnitudes and look-alike text keys.

Each test breaks a copy of ``tests/data/good.xlsx`` (rows described in
``tests/data/make_good_fixture.py``): Projects rows 2-7 are GA-REF-1, GA-OFF-1 (must fund),
GR-REF-1, GR-SPH-1 (requires GR-REF-1), GR-REF-2A and GR-REF-2B (both in exclusive_group
"quebec"); Minerals rows 2-3 are Gallium and Graphite. Money in $M, quantities in t.
"""

from __future__ import annotations

import math
import re
import zipfile
from functools import lru_cache
from pathlib import Path

import openpyxl
import pytest

from optimizer import docs_gen, schema, template
from optimizer.cli import main
from optimizer.errors import InputError
from optimizer.solve import solve
from optimizer.validate import load_instance

from helpers import edited_copy, errors_of

FIXTURE = Path(__file__).parent / "data" / "good.xlsx"
NUMERIC_KINDS = ("int", "number", "share", "year")
ZWSP, NBSP = "\u200b", "\u00a0"


# ---- helpers ---------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _column(sheet: str, name: str) -> str:
    """Column letter of field ``name`` in the fixture's ``sheet``."""
    ws = openpyxl.load_workbook(FIXTURE)[sheet]
    return next(c.column_letter for c in ws[1] if c.value == name)


def cell(sheet: str, name: str, row: int) -> str:
    """``Projects!F2``: the fixture cell of field ``name`` in ``row``."""
    return f"{sheet}!{_column(sheet, name)}{row}"


def edited(tmp_path: Path, edits: dict[str, object], name: str = "case.xlsx",
           source: Path = FIXTURE) -> Path:
    """A copy of ``source`` (the fixture) with cells changed: {"Projects!F2": value}."""
    return edited_copy(source, tmp_path, edits, name)


def with_setting(tmp_path: Path, name: str, value: object) -> tuple[Path, str]:
    """A copy of the fixture with setting ``name`` set (a row appended when absent); its cell."""
    wb = openpyxl.load_workbook(FIXTURE)
    ws = wb[schema.SETTINGS.name]
    row = next((r[0].row for r in ws.iter_rows(min_row=2) if r[0].value == name), ws.max_row + 1)
    ws.cell(row=row, column=1, value=name)
    ws.cell(row=row, column=2, value=value)
    path = tmp_path / "setting.xlsx"
    wb.save(path)
    return path, f"Settings!B{row}"


def one_with(problems: list[str] | tuple[str, ...], *fragments: str) -> str:
    """The single problem that contains every fragment (fails when none does)."""
    found = [p for p in problems if all(f in p for f in fragments)]
    assert found, f"no problem contains all of {fragments}:\n" + "\n".join(problems)
    return found[0]


P, M = schema.PROJECTS.name, schema.MINERALS.name


# ---- 4. every number has a range ---------------------------------------------------------------

def _numeric_fields() -> list[tuple[schema.Sheet, schema.Field]]:
    return [(s, f) for s in schema.SHEETS for f in s.fields if f.kind in NUMERIC_KINDS]


def test_every_numeric_field_has_a_finite_minimum_and_maximum() -> None:
    """A new numeric field cannot forget its range: the schema walk finds it."""
    fields = _numeric_fields()
    assert len(fields) > 30
    for sheet, f in fields:
        assert f.minimum is not None and f.maximum is not None, f"{sheet.name}.{f.name}"
        assert math.isfinite(f.minimum) and math.isfinite(f.maximum), f"{sheet.name}.{f.name}"
        assert f.minimum < f.maximum, f"{sheet.name}.{f.name}"


def test_money_and_tonnage_guards() -> None:
    """The guards chosen in the schema: $10 trillion, a billion tonnes, $10,000 a kilogram."""
    for sheet, name in ((P, "capex_low_musd"), (P, "capex_high_musd"), (P, "npv_musd"),
                        ("Budget", "budget_musd"), ("Settings", "total_budget_musd"),
                        ("Settings", "min_npv_musd")):
        assert schema.SHEETS_BY_NAME[sheet].field(name).maximum == 1e7
    assert schema.PROJECTS.field("npv_musd").minimum == -1e7
    assert schema.SETTINGS.field("min_npv_musd").minimum == -1e7
    assert schema.PROJECTS.field("capacity_tpa").maximum == 1e9
    assert schema.MINERALS.field("us_demand_t").maximum == 1e9
    assert schema.MINERALS.field("security_premium_usd_per_t").maximum == 1e7


def _beyond(f: schema.Field) -> float:
    """A value just beyond the field's maximum (a whole number for whole-number kinds)."""
    if f.kind in ("int", "year"):
        return int(f.maximum) + 1
    return f.maximum * 10 if f.maximum > 0 else f.maximum + 1


def _fixture_cell(sheet: schema.Sheet, f: schema.Field, tmp_path: Path,
                  value: object) -> tuple[Path, str]:
    """The fixture with field ``f`` set to ``value`` in its first record (or setting row)."""
    if sheet.key_value:
        return with_setting(tmp_path, f.name, value)
    if sheet.name in ABSENT_FROM_FIXTURE:  # an optional sheet the fixture lacks: add a valid one
        record = ABSENT_FROM_FIXTURE[sheet.name]
        wb = openpyxl.load_workbook(FIXTURE)
        ws = wb.create_sheet(sheet.name)
        ws.append(list(record))
        ws.append(list(record.values()))
        path = tmp_path / "optional.xlsx"
        wb.save(path)
        where = f"{sheet.name}!{openpyxl.utils.get_column_letter(list(record).index(f.name) + 1)}2"
        return edited(tmp_path, {where: value}, "case_optional.xlsx", source=path), where
    where = cell(sheet.name, f.name, 2)
    return edited(tmp_path, {where: value}), where


# Optional sheets good.xlsx does not have, with one valid record each.
ABSENT_FROM_FIXTURE = {
    "BudgetLevels": {"level": "as planned", "budget_multiplier": 1.0, "probability": 1.0},
}



@pytest.mark.parametrize("sheet, f", _numeric_fields(),
                         ids=[f"{s.name}.{f.name}" for s, f in _numeric_fields()])
def test_a_value_beyond_the_maximum_is_refused_with_the_cell_and_range(
        sheet: schema.Sheet, f: schema.Field, tmp_path: Path) -> None:
    value = _beyond(f)
    path, where = _fixture_cell(sheet, f, tmp_path, value)
    problem = one_with(errors_of(path), f"{where}: {f.name} is ", "out of range")
    maximum = str(int(f.maximum)) if float(f.maximum).is_integer() else str(f.maximum)
    assert re.search(rf"(to|at most) {re.escape(maximum)}\b", problem), problem


@pytest.mark.parametrize("where, value, shown, span", [
    (cell(P, "capex_low_musd", 2), 1e16, "1e+16", "a number >= 0, at most 10000000"),
    (cell(P, "npv_musd", 2), 1e308, "1e+308", "a number from -10000000 to 10000000"),
])
def test_absurd_magnitudes_exit_2_naming_the_cell_and_write_nothing(
        where: str, value: float, shown: str, span: str, tmp_path: Path, capsys) -> None:
    path = edited(tmp_path, {where: value})
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{where}: " in err and shown in err and span in err
    assert "check the number of digits and the unit ($M)" in err
    out = tmp_path / "out"
    assert main(["solve", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{where}: " in err and "Nothing was written." in err
    assert not out.exists()


def test_the_guards_themselves_are_accepted(tmp_path: Path) -> None:
    """Values at the limits load: the guards refuse only what lies beyond them."""
    path = edited(tmp_path, {cell(P, "npv_musd", 2): -1e7, cell(P, "npv_musd", 4): 1e7,
                             cell(P, "capacity_tpa", 2): 1e9,
                             cell(M, "security_premium_usd_per_t", 2): 1e7})
    inst = load_instance(path)
    assert inst.projects["GA-REF-1"].npv_musd == -1e7
    assert inst.projects["GR-REF-1"].npv_musd == 1e7


def test_a_negative_capex_keeps_the_plain_minimum_message(tmp_path: Path) -> None:
    """Below a rule minimum (0 $M) the message does not blame digits or units."""
    where = cell(P, "capex_low_musd", 2)
    problem = one_with(errors_of(edited(tmp_path, {where: -5})), f"{where}: ")
    assert "a number >= 0, at most 10000000" in problem
    assert "digits" not in problem


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-Infinity", "1e400"])
def test_not_a_number_and_infinity_as_text_are_refused(text: str, tmp_path: Path) -> None:
    where = cell(P, "npv_musd", 2)
    one_with(errors_of(edited(tmp_path, {where: text})), f"{where}: npv_musd is '{text}'")


def _with_raw_number(tmp_path: Path, raw: str) -> Path:
    """The fixture with the XML of Projects!M2 (npv_musd, 140) replaced by ``<v>raw</v>``."""
    target = tmp_path / "raw.xlsx"
    with zipfile.ZipFile(FIXTURE) as src, zipfile.ZipFile(target, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet3.xml":
                old = b'<c r="M2" t="n"><v>140</v></c>'
                assert old in data
                data = data.replace(old, f'<c r="M2" t="n"><v>{raw}</v></c>'.encode())
            dst.writestr(item, data)
    return target


@pytest.mark.parametrize("raw", ["NaN", "INF", "-inf", "1e400", "1E+309"])
def test_not_a_number_and_infinity_in_a_numeric_cell_are_refused(raw: str,
                                                                   tmp_path: Path) -> None:
    """Overflowing numbers name the cell; NaN and INF, which Excel never writes, make the
    reader refuse the sheet as damaged. Either way nothing loads."""
    path = _with_raw_number(tmp_path, raw)
    errors = errors_of(path)
    assert (any(p.startswith("Projects!M2: npv_musd is ") for p in errors)
            or any("'Projects' could not be read" in p for p in errors)), errors


def test_ranges_appear_in_the_contract_document_and_the_template_notes() -> None:
    doc = docs_gen.render_input_doc()
    assert "| `capex_low_musd` | number | $M | required | 0 .. 10000000 |" in doc
    assert "| `npv_musd` | number | $M | required | -10000000 .. 10000000 |" in doc
    assert "| `us_demand_t` | number | t/yr | required | > 0, <= 1000000000 |" in doc
    note = template.field_note(schema.PROJECTS, schema.PROJECTS.field("capacity_tpa"))
    assert "Allowed: 0 .. 1000000000." in note


# ---- 5. look-alike text keys -------------------------------------------------------------------

@pytest.mark.parametrize("a, b", [
    ("GA-1", "ga-1"), ("GA-1", f"GA{ZWSP}-1"), ("GA 1", f"GA{NBSP}1"), ("GA-1", " GA-1 "),
    ("kz", "KZ"), ("Straße", "STRASSE"), ("GA-1", "\uff27\uff21-1"),  # fullwidth letters
    ("GA-1", "GA-1\u2060"),  # word joiner, another format character
])
def test_key_ignores_case_invisible_characters_and_surrounding_spaces(a: str, b: str) -> None:
    assert schema.key(a) == schema.key(b)


def test_key_keeps_what_is_visible() -> None:
    assert schema.key("GA-1") != schema.key("GA-2")
    assert schema.key("GA 1") != schema.key("GA-1")
    assert schema.clean(f" GA{ZWSP}{NBSP}1 ") == "GA 1"  # case kept


def test_ids_differing_only_by_case_are_an_error_naming_both_cells(tmp_path: Path) -> None:
    where = cell(P, "project_id", 5)
    problems = errors_of(edited(tmp_path, {where: "ga-ref-1"}))
    problem = one_with(problems, f"{where}: ", f"{cell(P, 'project_id', 2)} 'GA-REF-1'",
                       f"{where} 'ga-ref-1'", "differ only by case or invisible characters",
                       "ids must differ in more than that")
    assert problem


def test_ids_differing_only_by_an_invisible_character_are_an_error(tmp_path: Path) -> None:
    where = cell(P, "project_id", 5)
    path = edited(tmp_path, {where: f"GA-REF{ZWSP}-1"})
    with pytest.raises(InputError) as info:
        load_instance(path)
    problems = [str(p) for p in info.value.problems]
    one_with(problems, f"{where}: ", "'GA-REF-1'", "'GA-REF<U+200B>-1'",
             "differ only by case or invisible characters")
    one_with([str(w) for w in info.value.warnings], f"{where}: ", "U+200B (ZERO WIDTH SPACE)")


def test_mineral_names_differing_only_by_case_are_an_error(tmp_path: Path) -> None:
    where = cell(M, "mineral", 3)
    problems = errors_of(edited(tmp_path, {where: "GALLIUM"}))
    one_with(problems, f"{where}: ", "'Gallium'", "'GALLIUM'", "differ only by case")


def test_scenario_names_differing_only_by_case_are_an_error(tmp_path: Path) -> None:
    where = "Scenarios!A3"
    problems = errors_of(edited(tmp_path, {where: "Capex Overrun"}))
    one_with(problems, f"{where}: ", "'capex overrun'", "'Capex Overrun'")


def test_groups_kz_and_KZ_are_one_group_with_a_warning(tmp_path: Path) -> None:
    first, second = cell(P, "exclusive_group", 6), cell(P, "exclusive_group", 7)
    inst = load_instance(edited(tmp_path, {first: "kz", second: "KZ"}))
    assert {inst.projects[p].exclusive_group for p in ("GR-REF-2A", "GR-REF-2B")} == {"kz"}
    one_with(inst.warnings, f"{second}: ", "'KZ'", "'kz'", first, "one group")
    assert len(inst.warnings) == 1
    # Without the group both refineries are funded (see test below); with it, at most one.
    funded = solve(inst).starts
    assert len({"GR-REF-2A", "GR-REF-2B"} & set(funded)) == 1


def test_without_a_group_both_refineries_would_be_funded(tmp_path: Path) -> None:
    """Shows that the test above can fail: the optimum wants both refineries."""
    inst = load_instance(edited(tmp_path, {cell(P, "exclusive_group", 6): None,
                                           cell(P, "exclusive_group", 7): None}))
    assert {"GR-REF-2A", "GR-REF-2B"} <= set(solve(inst).starts)


def test_one_warning_per_extra_spelling_of_a_group(tmp_path: Path) -> None:
    edits = {cell(P, "exclusive_group", row): spelling
             for row, spelling in ((2, "kz"), (3, "KZ"), (4, "KZ"), (5, f"kz{ZWSP}"))}
    inst = load_instance(edited(tmp_path, edits))
    assert {inst.projects[p].exclusive_group for p in ("GA-REF-1", "GA-OFF-1", "GR-REF-1",
                                                        "GR-SPH-1")} == {"kz"}
    assert len([w for w in inst.warnings if "one group" in w]) == 1  # 'KZ' once
    one_with(inst.warnings, cell(P, "exclusive_group", 5), "U+200B")


def test_countries_differing_only_by_case_are_one_country(tmp_path: Path) -> None:
    where = cell(P, "country", 7)
    inst = load_instance(edited(tmp_path, {where: "CANADA"}))
    assert inst.projects["GR-REF-2B"].country == "Canada"
    one_with(inst.warnings, f"{where}: ", "'CANADA'", "'Canada'", "one country")


def test_requires_in_another_case_resolves_to_the_defined_id(tmp_path: Path) -> None:
    where = cell(P, "requires", 5)
    inst = load_instance(edited(tmp_path, {where: "gr-ref-1"}))
    assert inst.projects["GR-SPH-1"].requires == ("GR-REF-1",)
    one_with(inst.warnings, f"{where}: ", "requires 'gr-ref-1'", "'GR-REF-1'",
             cell(P, "project_id", 4), "is used")


def test_requires_twice_in_two_spellings_is_counted_once(tmp_path: Path) -> None:
    inst = load_instance(edited(tmp_path, {cell(P, "requires", 5): "GR-REF-1, gr-ref-1"}))
    assert inst.projects["GR-SPH-1"].requires == ("GR-REF-1",)


def test_mineral_reference_in_another_case_resolves_with_a_warning(tmp_path: Path) -> None:
    where = cell(P, "mineral", 2)
    inst = load_instance(edited(tmp_path, {where: "GALLIUM "}))
    assert inst.projects["GA-REF-1"].mineral == "Gallium"
    one_with(inst.warnings, f"{where}: ", "mineral 'GALLIUM'", "'Gallium'",
             cell(M, "mineral", 2))


def test_capex_profile_reference_in_another_case_resolves(tmp_path: Path) -> None:
    inst = load_instance(edited(tmp_path, {"CapexProfile!A2": "gr-ref-1"}))
    assert inst.projects["GR-REF-1"].capex_profile == (0.1, 0.3, 0.4, 0.2)
    one_with(inst.warnings, "CapexProfile!A2: ", "'gr-ref-1'", "'GR-REF-1'")


def test_ids_with_a_zero_width_and_a_no_break_space(tmp_path: Path) -> None:
    """The invisible characters are named and removed; references without them match."""
    zw, nb = cell(P, "project_id", 4), cell(P, "project_id", 2)
    inst = load_instance(edited(tmp_path, {zw: f"GR-REF{ZWSP}-1", nb: f"GA{NBSP}REF-1{NBSP}"}))
    assert list(inst.projects) == ["GA REF-1", "GA-OFF-1", "GR-REF-1", "GR-SPH-1", "GR-REF-2A",
                                   "GR-REF-2B"]
    assert inst.projects["GR-SPH-1"].requires == ("GR-REF-1",)  # typed without the ZWSP
    assert inst.projects["GR-REF-1"].capex_profile == (0.1, 0.3, 0.4, 0.2)
    one_with(inst.warnings, f"{zw}: ", "'GR-REF<U+200B>-1'", "U+200B (ZERO WIDTH SPACE)",
             "read as 'GR-REF-1'")
    one_with(inst.warnings, f"{nb}: ", "U+00A0 (NO-BREAK SPACE)", "read as 'GA REF-1'")
    for pid, p in inst.projects.items():
        assert not any(schema.is_invisible(c) for c in pid + (p.exclusive_group or ""))


def test_a_reference_with_an_invisible_character_is_cleaned(tmp_path: Path) -> None:
    where = cell(P, "requires", 5)
    inst = load_instance(edited(tmp_path, {where: f"GR-REF-1{ZWSP}"}))
    assert inst.projects["GR-SPH-1"].requires == ("GR-REF-1",)
    one_with(inst.warnings, f"{where}: ", "U+200B")


def test_an_id_of_invisible_characters_only_is_blank(tmp_path: Path) -> None:
    where = cell(P, "project_id", 3)
    one_with(errors_of(edited(tmp_path, {where: ZWSP})), f"{where}: ",
             "project_id holds only invisible characters (U+200B (ZERO WIDTH SPACE))")


# ---- the contract document -----------------------------------------------------------------------

def test_contract_document_states_keys_merged_cells_ranges_and_refused_files() -> None:
    doc = docs_gen.render_input_doc()
    section = doc.split("\n## Text keys, merged cells and ranges\n", 1)[1].split("\n## ", 1)[0]
    words = " ".join(section.split())
    for phrase in (
        "Unicode NFKC, invisible format characters (Unicode category Cf",
        "no-break spaces turned into plain spaces, surrounding whitespace stripped, and case "
        "folded",
        "A merged range below a sheet's header row is read as its top-left value in every cell it "
        "covers, with a warning naming the range",
        "a merged range touching the header row (row 1) is an error",
        "Every number has a range, shown in the *allowed* column",
        "A workbook saved as 'Strict Open XML Spreadsheet' is read like an ordinary .xlsx",
        "A file holding two parts of the same name",
    ):
        assert phrase in words, phrase
    for sheet in schema.SHEETS:
        keys = [f"`{f.name}`" for f in sheet.fields if f.key]
        if keys:
            assert f"- `{sheet.name}`: {', '.join(keys)}" in section
        for f in sheet.fields:
            if f.guard:
                assert f"- `{sheet.name}` `{f.name}`: {docs_gen.allowed_text(f)}" in section
