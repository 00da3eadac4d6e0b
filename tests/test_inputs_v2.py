"""Version 2 inputs: Countries, CashFlows, the new Projects columns and settings, lost_countries.

Each rule is broken in one cell of a workbook written by ``write_workbook`` from :func:`v2_instance`
(layout below), and the problem must name that cell and the value found. Units: money $M, shares
and probabilities fractions, calendar years.

Layout of the written workbook:
- Projects rows 2-4: KZ-REF (Kazakhstan, cash flows, npv blank), KZ-2 (Kazakhstan, cash flows and a
  given npv), UZ-OFF (Uzbekistan, no cash flows).
- CashFlows rows 2-4: KZ-REF offsets 0-2; row 5: KZ-2 offset 0.
- Countries rows 2-3: Kazakhstan, Uzbekistan. Scenarios rows 2-3: war, both.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from optimizer import schema
from optimizer.cli import main
from optimizer.errors import InputError
from optimizer.finance import npv_from_flows, project_npv_from_flows
from optimizer.instance import Country, Instance, Mineral, Project, Scenario, Settings
from optimizer.template import field_note, write_template, write_workbook
from optimizer.validate import load_instance

P, C, CF, S = "Projects", "Countries", "CashFlows", "Scenarios"


# ---- the base workbook -------------------------------------------------------------------------

def v2_instance() -> Instance:
    """Three projects, two countries, two scenarios, every version 2 field off its default.

    KZ-REF's NPV comes from its flows: capex 100 $M spent in its start year (build_years 1), flows
    66, 60.5, 133.1 $M in the 3 years from its online year, at 10%:
    -100 + 66/1.1 + 60.5/1.1^2 + 133.1/1.1^3 = -100 + 60 + 50 + 100 = 110 $M.
    KZ-2: capex mid 120 $M spent 25% / 75%, one flow of 121 $M two years after its start:
    -30 - 90/1.1 + 121/1.21 = -130/11 = -11.82 $M; its npv_musd -11.5 is within 0.5 $M of that.
    """
    settings = Settings(first_year=2026, horizon_years=10, discount_rate=0.1, capex_basis="mid",
                        delay_probability=0.2, max_delay_years=3, risk_adjusted=True,
                        target_protection=2)
    kz_ref = Project("KZ-REF", "Gallium refinery", "plant", "gallium", "Kazakhstan", 100.0,
                     100.0, 1, 2026, 2028, 10.0, npv_musd=0.0, capex_profile=(1.0,),
                     loss_probability=0.02, delay_probability=0.4, max_delay_years=2,
                     cash_flows=(66.0, 60.5, 133.1), proposed_start=2027)
    kz_ref = Project(**{**kz_ref.__dict__, "npv_musd": project_npv_from_flows(kz_ref, settings)})
    projects = {
        "KZ-REF": kz_ref,
        "KZ-2": Project("KZ-2", "Second refinery", "plant", "gallium", "Kazakhstan", 100.0, 140.0,
                        2, 2026, 2030, 5.0, npv_musd=-11.5, capex_profile=(0.25, 0.75),
                        cash_flows=(121.0,)),
        "UZ-OFF": Project("UZ-OFF", "Gallium offtake", "offtake", "gallium", "Uzbekistan", 0.0,
                          0.0, 0, 2026, 2030, 2.0, npv_musd=-3.5, operating_years=5,
                          capex_profile=(1.0,), loss_probability=0.01),
    }
    countries = {
        "Kazakhstan": Country("Kazakhstan", loss_probability=0.05, delay_probability=0.5,
                              max_delay_years=4, max_capex_share=0.6, source="analyst view"),
        "Uzbekistan": Country("Uzbekistan"),
    }
    return Instance(
        settings=settings,
        minerals={"gallium": Mineral("gallium", us_demand_t=20.0, china_share=0.9)},
        projects=projects, budget={y: 100.0 for y in settings.years}, countries=countries,
        scenarios=(Scenario("war", lost_countries=("Kazakhstan",)),
                   Scenario("both", capex_multiplier=1.2,
                            lost_countries=("Kazakhstan", "Uzbekistan"))),
    )


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_workbook(v2_instance(), tmp_path_factory.mktemp("v2") / "v2.xlsx")


def cell(path: Path, sheet: str, name: str, row: int) -> str:
    """``Countries!B2``: the cell of field ``name`` in ``row`` (found by the written header)."""
    aliases = schema.header_aliases(schema.SHEETS_BY_NAME[sheet])
    ws = openpyxl.load_workbook(path)[sheet]
    letter = next(c.column_letter for c in ws[1]
                  if aliases.get(schema.normalize_header(c.value)) == name)
    return f"{sheet}!{letter}{row}"


def edited(base: Path, tmp_path: Path, edits: dict[tuple[str, str, int], object]
           ) -> tuple[Path, dict[tuple[str, str, int], str]]:
    """A copy of ``base`` with cells changed ({(sheet, field, row): value}), and their names."""
    wb = openpyxl.load_workbook(base)
    names = {}
    for (sheet, name, row), value in edits.items():
        where = cell(base, sheet, name, row)
        wb[sheet][where.split("!")[1]] = value
        names[sheet, name, row] = where
    path = tmp_path / "case.xlsx"
    wb.save(path)
    return path, names


def problems_of(path: Path) -> tuple[list[str], list[str]]:
    """(errors, warnings) of the InputError that loading ``path`` must raise."""
    with pytest.raises(InputError) as info:
        load_instance(path)
    return [str(p) for p in info.value.problems], [str(w) for w in info.value.warnings]


def one_with(problems, *fragments: str) -> str:
    found = [p for p in problems if all(f in p for f in fragments)]
    assert found, f"no problem contains all of {fragments}:\n" + "\n".join(problems)
    return found[0]


# ---- finance ------------------------------------------------------------------------------------

def test_npv_from_flows_by_hand() -> None:
    """capex 120 $M spent 25% / 75% over 2 years, one flow of 121 $M in the online year, at 10%:
    -30 - 90/1.1 + 121/1.1^2 = -30 - 81.818... + 100 = -130/11 $M."""
    assert npv_from_flows(120.0, (0.25, 0.75), 2, (121.0,), 0.1) == pytest.approx(-130 / 11)
    # no flows: just the discounted capex; no capex: just the flows from the start year
    assert npv_from_flows(50.0, (1.0,), 0, (), 0.1) == pytest.approx(-50.0)
    assert npv_from_flows(0.0, (1.0,), 0, (10.0, 11.0), 0.1) == pytest.approx(20.0)


def test_project_npv_depends_on_the_capex_basis() -> None:
    p = v2_instance().projects["KZ-2"]  # low 100, high 140: mid 120
    s = v2_instance().settings
    assert project_npv_from_flows(p, s) == pytest.approx(-130 / 11)
    high = Settings(**{**s.__dict__, "capex_basis": "high"})  # 140: -35 - 105/1.1 + 100
    assert project_npv_from_flows(p, high) == pytest.approx(-35 - 105 / 1.1 + 100)


# ---- round trip and the good case ---------------------------------------------------------------

def test_every_new_field_round_trips(base: Path) -> None:
    original, loaded = v2_instance(), load_instance(base)
    assert loaded.warnings == ()
    assert loaded.settings == original.settings
    assert dict(loaded.projects) == dict(original.projects)
    assert dict(loaded.countries) == dict(original.countries)
    assert list(loaded.countries) == ["Kazakhstan", "Uzbekistan"]
    assert loaded.scenarios == original.scenarios


def test_npv_cell_is_blank_only_where_the_flows_give_it(base: Path) -> None:
    ws = openpyxl.load_workbook(base)[P]
    npv = [ws[cell(base, P, "npv_musd", row).split("!")[1]].value for row in (2, 3, 4)]
    assert npv == [None, -11.5, -3.5]
    rows = [tuple(c.value for c in r) for r in openpyxl.load_workbook(base)[CF].iter_rows(
        min_row=2)]
    assert rows == [("KZ-REF", 0, 66), ("KZ-REF", 1, 60.5), ("KZ-REF", 2, 133.1),
                    ("KZ-2", 0, 121)]


def test_blank_npv_is_filled_from_the_flows(base: Path) -> None:
    """KZ-REF: -100 + 66/1.1 + 60.5/1.21 + 133.1/1.331 = -100 + 60 + 50 + 100 = 110 $M."""
    inst = load_instance(base)
    assert inst.projects["KZ-REF"].npv_musd == pytest.approx(110.0)
    assert inst.projects["KZ-2"].npv_musd == -11.5  # given, within tolerance: kept as given
    assert inst.projects["UZ-OFF"].cash_flows == ()


def test_defaults_of_the_new_fields(base: Path, tmp_path: Path) -> None:
    """Blank v2 cells inherit: None for delays (country, else Settings), 0 for losses."""
    path, _ = edited(base, tmp_path, {(P, "loss_probability", 2): None,
                                      (P, "delay_probability", 2): None,
                                      (P, "max_delay_years", 2): None,
                                      (P, "proposed_start", 2): None,
                                      (C, "max_capex_share", 2): None,
                                      (S, "lost_countries", 2): None})
    inst = load_instance(path)
    p = inst.projects["KZ-REF"]
    assert (p.loss_probability, p.delay_probability, p.max_delay_years, p.proposed_start) == (
        0.0, None, None, None)
    assert inst.countries["Kazakhstan"].max_capex_share is None
    assert inst.countries["Uzbekistan"] == Country("Uzbekistan")
    assert inst.scenarios[0].lost_countries == ()


def test_a_gap_between_offsets_is_a_zero_flow(base: Path, tmp_path: Path) -> None:
    """Offsets 0, 1, 4: offsets 2 and 3 flow 0. NPV -100 + 60 + 50 + 133.1/1.1^5 $M."""
    path, _ = edited(base, tmp_path, {(CF, "year_offset", 4): 4})
    p = load_instance(path).projects["KZ-REF"]
    assert p.cash_flows == (66.0, 60.5, 0.0, 0.0, 133.1)
    assert p.npv_musd == pytest.approx(-100 + 60 + 50 + 133.1 / 1.1 ** 5)


def test_proposed_start_outside_the_window_is_not_an_input_error(base: Path,
                                                                  tmp_path: Path) -> None:
    path, _ = edited(base, tmp_path, {(P, "proposed_start", 2): 2035})  # window 2026 .. 2028
    assert load_instance(path).projects["KZ-REF"].proposed_start == 2035


def test_settings_read_from_words(base: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(base)
    rows = {r[0].value: r[1] for r in wb[schema.SETTINGS.name].iter_rows(min_row=2)}
    rows["risk_adjusted"].value = "no"
    rows["target_protection"].value = 10
    wb.save(tmp_path / "s.xlsx")
    s = load_instance(tmp_path / "s.xlsx").settings
    assert (s.risk_adjusted, s.target_protection) == (False, 10)


# ---- one broken cell at a time ------------------------------------------------------------------

@pytest.mark.parametrize("sheet, name, row, value, fragments", [
    (C, "loss_probability", 2, 85, ("loss_probability is 85",
                                    "85 looks like a percentage: write 0.85 or 85%")),
    (C, "max_capex_share", 2, 60, ("60 looks like a percentage: write 0.6 or 60%",)),
    (P, "delay_probability", 2, 40, ("40 looks like a percentage: write 0.4 or 40%",)),
    (P, "loss_probability", 2, -0.1, ("loss_probability is -0.1", "from 0 to 1")),
    (C, "delay_probability", 3, -0.5, ("delay_probability is -0.5", "from 0 to 1")),
    (C, "max_delay_years", 2, 31, ("max_delay_years is 31", "from 0 to 30")),
    (P, "max_delay_years", 2, 2.5, ("2.5", "not a whole number")),
    (P, "proposed_start", 2, "soon", ("proposed_start is 'soon'", "a calendar year")),
    (CF, "year_offset", 2, -1, ("year_offset is -1", ">= 0, at most 200")),
    (CF, "year_offset", 2, 201, ("year_offset is 201", "check the number of digits")),
    (CF, "cash_flow_musd", 2, "lots", ("cash_flow_musd is 'lots'", "a number")),
    (CF, "cash_flow_musd", 2, 1e9, ("cash_flow_musd is 1000000000", "the unit ($M)")),
    (CF, "project_id", 2, "KZ-RFE", ("project_id 'KZ-RFE' is not in Projects",
                                     "did you mean 'KZ-REF'?")),
    (C, "country", 3, "Kazakhstan", ("country 'Kazakhstan' is repeated",)),
    (S, "lost_countries", 2, "Kazakstan", ("lost_countries names 'Kazakstan'",
                                           "not the country of any project",
                                           "did you mean 'Kazakhstan'?")),
])
def test_each_rule_names_the_cell_and_value(base: Path, tmp_path: Path, sheet: str, name: str,
                                            row: int, value: object, fragments) -> None:
    path, names = edited(base, tmp_path, {(sheet, name, row): value})
    errors, _ = problems_of(path)
    one_with(errors, f"{names[sheet, name, row]}: ", *fragments)


def test_settings_guards(base: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(base)
    rows = {r[0].value: r[1] for r in wb[schema.SETTINGS.name].iter_rows(min_row=2)}
    rows["target_protection"].value = 11
    rows["risk_adjusted"].value = "perhaps"
    wb.save(tmp_path / "s.xlsx")
    errors, _ = problems_of(tmp_path / "s.xlsx")
    one_with(errors, f"Settings!{rows['target_protection'].coordinate}: ",
             "target_protection is 11", ">= 0, at most 10")
    one_with(errors, f"Settings!{rows['risk_adjusted'].coordinate}: ", "'perhaps'", "TRUE/FALSE")


def test_npv_mismatch_names_both_figures_and_the_cells(base: Path, tmp_path: Path) -> None:
    """KZ-REF's flows give 110 $M; an npv_musd of 200 is 90 $M off (tolerance 2 $M)."""
    path, names = edited(base, tmp_path, {(P, "npv_musd", 2): 200})
    errors, _ = problems_of(path)
    problem = one_with(errors, f"{names[P, 'npv_musd', 2]}: npv_musd is 200 $M",
                       "is 110.00 $M", "differ by 90.00 $M", "= 2.00 $M", "capex_basis mid",
                       "clear npv_musd")
    for row in (2, 3, 4):  # the flow cells of KZ-REF
        assert cell(base, CF, "cash_flow_musd", row) in problem
    assert cell(base, P, "capex_low_musd", 2) in problem
    assert len(errors) == 1


@pytest.mark.parametrize("npv, ok", [(110.9, True), (109.0, True), (111.2, False)])
def test_npv_tolerance_is_one_percent_or_half_a_million(base: Path, tmp_path: Path, npv: float,
                                                        ok: bool) -> None:
    """Computed 110 $M; tolerance max(0.5, 1% of |npv_musd|): 1.109 for 110.9, 1.09 for 109,
    1.112 for 111.2 (1.2 off)."""
    path, _ = edited(base, tmp_path, {(P, "npv_musd", 2): npv})
    if ok:
        assert load_instance(path).projects["KZ-REF"].npv_musd == npv
    else:
        one_with(problems_of(path)[0], "npv_musd is 111.2 $M", "is 110.00 $M")


def test_small_npv_has_a_half_million_tolerance(base: Path, tmp_path: Path) -> None:
    """KZ-2 computes -11.82 $M: -11.5 is within 0.5 $M (1% would be 0.115), -11.2 is not."""
    path, names = edited(base, tmp_path, {(P, "npv_musd", 3): -11.2})
    one_with(problems_of(path)[0], f"{names[P, 'npv_musd', 3]}: npv_musd is -11.2 $M",
             "is -11.82 $M", "= 0.50 $M")


def test_npv_is_still_required_without_cash_flows(base: Path, tmp_path: Path) -> None:
    path, names = edited(base, tmp_path, {(P, "npv_musd", 4): None})
    errors, _ = problems_of(path)
    one_with(errors, f"{names[P, 'npv_musd', 4]}: npv_musd is blank but required",
             "project UZ-OFF has no CashFlows rows")
    assert len(errors) == 1


def test_a_missing_npv_column_is_one_error_naming_the_projects_without_flows(
        base: Path, tmp_path: Path) -> None:
    path, _ = edited(base, tmp_path, {(P, "npv_musd", 1): None, (P, "npv_musd", 3): None,
                                      (P, "npv_musd", 4): None})
    errors, _ = problems_of(path)
    assert errors == [one_with(errors, "Projects row 1: required column npv_musd",
                               "the NPV of project UZ-OFF")]


def test_npv_column_may_be_missing_when_every_project_has_flows(base: Path,
                                                                tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(base)
    wb[P].delete_rows(4)  # UZ-OFF, the project without flows
    wb[S].delete_rows(2, 2)  # the scenarios name Uzbekistan
    wb[C].delete_rows(3)
    wb[P][cell(base, P, "npv_musd", 1).split("!")[1]] = None
    for row in (2, 3):
        wb[P][cell(base, P, "npv_musd", row).split("!")[1]] = None
    wb.save(tmp_path / "no_npv.xlsx")
    inst = load_instance(tmp_path / "no_npv.xlsx")
    assert inst.projects["KZ-2"].npv_musd == pytest.approx(-130 / 11)


def test_a_country_with_no_project_is_a_warning(base: Path, tmp_path: Path) -> None:
    path, names = edited(base, tmp_path, {(C, "country", 4): "Tajikistan",
                                          (C, "loss_probability", 4): 0.1})
    inst = load_instance(path)
    one_with(inst.warnings, f"{names[C, 'country', 4]}: ",
             "country 'Tajikistan' is listed in Countries but no project is there")
    assert inst.countries["Tajikistan"].loss_probability == 0.1


def test_a_look_alike_country_is_read_as_the_projects_spelling(base: Path,
                                                                tmp_path: Path) -> None:
    path, names = edited(base, tmp_path, {(C, "country", 2): "KAZAKHSTAN\u200b",
                                          (S, "lost_countries", 3): "kazakhstan, Uzbekistan"})
    inst = load_instance(path)
    assert list(inst.countries) == ["Kazakhstan", "Uzbekistan"]
    assert inst.countries["Kazakhstan"].max_capex_share == 0.6
    assert inst.scenarios[1].lost_countries == ("Kazakhstan", "Uzbekistan")
    one_with(inst.warnings, f"{names[C, 'country', 2]}: ", "country 'KAZAKHSTAN'",
             "matches 'Kazakhstan'", "'Kazakhstan' is used")
    one_with(inst.warnings, f"{names[S, 'lost_countries', 3]}: ", "'kazakhstan'",
             "'Kazakhstan' is used")
    one_with(inst.warnings, names[C, "country", 2], "U+200B")


def test_countries_differing_only_by_case_are_a_duplicate(base: Path, tmp_path: Path) -> None:
    path, names = edited(base, tmp_path, {(C, "country", 3): "kazakhstan"})
    one_with(problems_of(path)[0], f"{names[C, 'country', 3]}: ", "'Kazakhstan'",
             "'kazakhstan'", "differ only by case")


def test_an_offset_given_twice_is_an_error(base: Path, tmp_path: Path) -> None:
    path, names = edited(base, tmp_path, {(CF, "year_offset", 3): 0})
    one_with(problems_of(path)[0], f"{names[CF, 'year_offset', 3]}: ",
             "project KZ-REF has year_offset 0 twice", cell(base, CF, "year_offset", 2))


def test_cash_flows_of_a_look_alike_id_belong_to_the_project(base: Path,
                                                              tmp_path: Path) -> None:
    path, names = edited(base, tmp_path, {(CF, "project_id", 5): "kz-2"})
    inst = load_instance(path)
    assert inst.projects["KZ-2"].cash_flows == (121.0,)
    one_with(inst.warnings, f"{names[CF, 'project_id', 5]}: ", "'kz-2'", "'KZ-2' is used")


def test_all_problems_at_once_exit_2_and_nothing_written(base: Path, tmp_path: Path,
                                                          capsys) -> None:
    path, names = edited(base, tmp_path, {(P, "npv_musd", 2): 200, (CF, "project_id", 5): "XX",
                                          (C, "loss_probability", 3): 85,
                                          (S, "lost_countries", 2): "Mars"})
    out = tmp_path / "out"
    assert main(["solve", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    for where in names.values():
        assert f"{where}: " in err
    assert not out.exists()


# ---- template --------------------------------------------------------------------------------

def test_template_has_the_new_sheets_and_notes(tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(write_template(tmp_path / "t.xlsx"))
    assert {"Countries", "CashFlows"} <= set(wb.sheetnames)
    assert wb.sheetnames.index("Countries") == wb.sheetnames.index("Projects") + 1
    note = wb["Countries"]["B1"].comment.text
    assert "country-wide loss event (war, seizure, expropriation)" in note
    assert "% per year" in note
    npv = field_note(schema.PROJECTS, schema.PROJECTS.field("npv_musd"))
    assert "Required." in npv and "May be blank only when the project has CashFlows rows" in npv
    settings = [r[0].value for r in wb["Settings"].iter_rows(min_row=2)]
    assert "risk_adjusted" in settings and "target_protection" in settings
