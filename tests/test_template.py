"""The input template and workbook writer: layout from the schema, text stays text, round trips."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest
from openpyxl import Workbook

from optimizer import schema
from optimizer.docs_gen import plain
from optimizer.instance import Instance, Mineral, Project, Scenario, Settings, SourceRow
from optimizer.template import (
    README_SHEET,
    number_format_for,
    write_template,
    write_workbook,
)
from optimizer.xlsx_style import (
    MONEY_INPUT,
    PERCENT_INPUT,
    YEAR,
    safe_text,
    save_atomically,
    write_cell,
)
from optimizer.validate import load_instance

RECORD_SHEETS = [s for s in schema.SHEETS if not s.key_value]
FORMULA_TEXTS = ["=1+1", '=HYPERLINK("http://example.com","click")', "+1", "-2", "@SUM(A1)"]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_template(tmp_path_factory.mktemp("template") / "template.xlsx")


@pytest.fixture(scope="module")
def book(template: Path) -> Workbook:
    return openpyxl.load_workbook(template)


def small_instance() -> Instance:
    """Two minerals, three projects (one uneven capex profile), every setting off its default."""
    settings = Settings(
        first_year=2026, horizon_years=10, discount_rate=0.07, objective="security",
        capex_basis="high", total_budget_musd=900.0, budget_carryover=True, target_year=2032,
        min_npv_musd=-50.0, solver="cbc", time_limit_s=30.0, mip_gap=0.001, robust_gamma=1,
        delay_probability=0.25, max_delay_years=2, seed=7, alternatives_within=0.1,
    )
    minerals = {
        "gallium": Mineral("gallium", us_demand_t=20.0, china_share=0.9, demand_growth=0.03,
                           target_china_share=0.5, weight=2.0, security_premium_usd_per_t=150000.0),
        "graphite": Mineral("graphite", us_demand_t=120000.0, china_share=0.65),
    }
    projects = {
        "P1": Project("P1", "Gallium recovery, Alaska", "plant", "gallium", "USA",
                      capex_low_musd=120.0, capex_high_musd=180.5, build_years=3,
                      earliest_start=2026, latest_start=2029, capacity_tpa=12.5, npv_musd=40.0,
                      exclusive_group="ga", risk=0.2, capex_profile=(0.2, 0.5, 0.3)),
        "P2": Project("P2", '=HYPERLINK("http://example.com","offtake")', "offtake", "gallium",
                      "Canada", capex_low_musd=0.0, capex_high_musd=0.0, build_years=0,
                      earliest_start=2027, latest_start=2027, capacity_tpa=4.0, npv_musd=-3.5,
                      operating_years=5, requires=("P1",), must_fund=True),
        "P3": Project("P3", "Graphite anode plant", "plant", "graphite", "USA",
                      capex_low_musd=300.0, capex_high_musd=300.0, build_years=2,
                      earliest_start=2026, latest_start=2030, capacity_tpa=25000.0, npv_musd=55.0,
                      requires=("P1", "P2"), exclusive_group="graphite site"),
    }
    budget = {year: 150.0 + year - 2026 for year in range(2026, 2036)}
    return Instance(
        settings=settings, minerals=minerals, projects=projects, budget=budget,
        sources_header=("source", "note"),
        sources=(SourceRow(("USGS MCS 2025", "=1+1 is text here")),),
        scenarios=(Scenario("costly", capex_multiplier=1.3, delay_years=1),),
    )


def sheet_xml(path: Path, sheet_index: int) -> str:
    with zipfile.ZipFile(path) as archive:
        return archive.read(f"xl/worksheets/sheet{sheet_index}.xml").decode("utf-8")


def validation_at(ws, coord: str):
    """The data validation covering cell ``coord`` ("C2"), or None."""
    found = [dv for dv in ws.data_validations.dataValidation if coord in dv.sqref]
    return found[0] if found else None


def column_validation(ws, col: int):
    """The data validation covering row 2 of column ``col``, or None."""
    return validation_at(ws, ws.cell(row=2, column=col).coordinate)


# --- safe text ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text", FORMULA_TEXTS)
def test_safe_text_keeps_formula_like_text_as_text(tmp_path: Path, text: str) -> None:
    wb = Workbook()
    cell = safe_text(wb.active["A1"], text)
    assert cell.data_type == "s"
    path = save_atomically(wb, tmp_path / "t.xlsx")
    assert "<f>" not in sheet_xml(path, 1)
    reloaded = openpyxl.load_workbook(path)["Sheet"]["A1"]
    assert reloaded.value == text
    assert reloaded.data_type == "s"


def test_write_cell_writes_numbers_booleans_blanks_and_formats(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    write_cell(ws, 1, 1, 2031, YEAR)
    write_cell(ws, 1, 2, 0.25, PERCENT_INPUT)
    write_cell(ws, 1, 3, True)
    write_cell(ws, 1, 4, None, MONEY_INPUT)
    write_cell(ws, 1, 5, "=A1")
    path = save_atomically(wb, tmp_path / "t.xlsx")
    ws = openpyxl.load_workbook(path).active
    assert [c.value for c in ws[1]] == [2031, 0.25, True, None, "=A1"]
    assert ws["B1"].number_format == PERCENT_INPUT
    assert ws["E1"].data_type == "s"


def test_save_atomically_keeps_the_old_file_when_saving_fails(tmp_path: Path, monkeypatch) -> None:
    path = write_template(tmp_path / "t.xlsx")
    before = path.read_bytes()

    def broken_save(self, filename):
        Path(filename).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(Workbook, "save", broken_save)
    with pytest.raises(OSError):
        write_template(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.xlsx"]


# --- the template ------------------------------------------------------------------------------

def test_template_has_readme_then_every_sheet(book: Workbook) -> None:
    assert book.sheetnames == [README_SHEET, *(s.name for s in schema.SHEETS)]


def test_readme_explains_units_commands_and_every_sheet(book: Workbook) -> None:
    text = "\n".join(str(v) for row in book[README_SHEET].iter_rows(values_only=True)
                     for v in row if v is not None)
    for needle in ("python -m optimizer validate", "python -m optimizer solve", "$M",
                   "metric tons", "85%", "calendar years", "TRUE or FALSE"):
        assert needle in text
    for sheet in schema.SHEETS:
        assert f"Sheet {sheet.name}" in text
        for f in sheet.fields:
            assert (f.name if sheet.key_value else f.header) in text


@pytest.mark.parametrize("sheet", RECORD_SHEETS, ids=lambda s: s.name)
def test_record_headers_are_friendly_and_read_back_as_their_fields(book: Workbook, sheet) -> None:
    ws = book[sheet.name]
    headers = [c.value for c in ws[1]]
    assert headers == [f.header for f in sheet.fields]
    aliases = schema.header_aliases(sheet)
    assert [aliases[schema.normalize_header(h)] for h in headers] == list(sheet.names)


@pytest.mark.parametrize("sheet", RECORD_SHEETS, ids=lambda s: s.name)
def test_every_header_has_a_note_with_meaning_default_and_range(book: Workbook, sheet) -> None:
    ws = book[sheet.name]
    for col, f in enumerate(sheet.fields, start=1):
        note = ws.cell(row=1, column=col).comment
        assert note is not None, f"{sheet.name} {f.name} has no note"
        assert f.name in note.text
        expected = "Required." if f.required else "Blank means:"
        assert expected in note.text
        assert "Allowed:" in note.text


def test_settings_list_every_setting_with_its_default_and_a_note(book: Workbook) -> None:
    ws = book[schema.SETTINGS.name]
    assert [c.value.lower() for c in ws[1]] == [schema.SETTING_COLUMN, schema.VALUE_COLUMN]
    assert ws["A1"].comment is not None and ws["B1"].comment is not None
    assert ws.max_column == 2
    rows = list(ws.iter_rows(min_row=2))
    assert [r[0].value for r in rows] == list(schema.SETTINGS.names)
    for (name, value), f in zip(rows, schema.SETTINGS.fields):
        assert name.comment is not None and plain(f.description) in name.comment.text
        expected = None if f.required or f.default is None else f.default
        assert value.value == expected, f.name
        assert value.number_format == number_format_for(f)


def test_drop_downs_for_choices_booleans_and_lookups(book: Workbook) -> None:
    for sheet in RECORD_SHEETS:
        ws = book[sheet.name]
        for col, f in enumerate(sheet.fields, start=1):
            dv = column_validation(ws, col)
            if f.choices:
                assert dv is not None and dv.formula1 == '"' + ",".join(f.choices) + '"'
            elif f.kind == "bool":
                assert dv is not None and dv.formula1 == '"TRUE,FALSE"'
    projects = book[schema.PROJECTS.name]
    mineral_col = schema.PROJECTS.names.index("mineral") + 1
    source = column_validation(projects, mineral_col).formula1
    assert source.replace("'", "").startswith("Minerals!$A$2:$A$")
    settings = book[schema.SETTINGS.name]
    for row, f in enumerate(schema.SETTINGS.fields, start=2):
        dv = validation_at(settings, f"B{row}")
        if f.choices or f.kind == "bool":
            assert dv is not None, f.name
        else:
            assert dv is None, f.name


def test_number_formats_follow_units(book: Workbook) -> None:
    projects = book[schema.PROJECTS.name]
    letters = {f.name: openpyxl.utils.get_column_letter(i)
               for i, f in enumerate(schema.PROJECTS.fields, start=1)}
    assert projects.column_dimensions[letters["capex_low_musd"]].number_format == MONEY_INPUT
    assert projects.column_dimensions[letters["npv_musd"]].number_format == MONEY_INPUT
    assert projects.column_dimensions[letters["risk"]].number_format == PERCENT_INPUT
    assert projects.column_dimensions[letters["earliest_start"]].number_format == YEAR
    minerals = book[schema.MINERALS.name]
    assert minerals.column_dimensions["D"].number_format == PERCENT_INPUT  # china_share
    for sheet in schema.SHEETS:
        for f in sheet.fields:
            if f.kind == "share":
                assert number_format_for(f) == PERCENT_INPUT
            if f.unit == "$M":
                assert number_format_for(f) == MONEY_INPUT
            if f.kind == "year":
                assert number_format_for(f) == YEAR


def test_header_rows_are_frozen_and_columns_sized(book: Workbook) -> None:
    for sheet in schema.SHEETS:
        ws = book[sheet.name]
        assert ws.freeze_panes == "A2"
        if not sheet.key_value:
            for col, f in enumerate(sheet.fields, start=1):
                letter = openpyxl.utils.get_column_letter(col)
                assert ws.column_dimensions[letter].width == f.width


def test_filled_template_validates(template: Path, tmp_path: Path) -> None:
    """Fill the template's own rows and columns as an analyst would; the validator accepts it."""
    wb = openpyxl.load_workbook(template)
    settings = wb[schema.SETTINGS.name]
    value_row = {row[0].value: row[1] for row in settings.iter_rows(min_row=2)}
    value_row["first_year"].value = 2026
    value_row["horizon_years"].value = 5
    value_row["objective"].value = "npv"
    fill_row(wb[schema.MINERALS.name], 2, {"mineral": "gallium", "us_demand_t": 20,
                                            "china_share": 0.9})
    fill_row(wb[schema.PROJECTS.name], 2, {
        "project_id": "P1", "name": "Gallium recovery", "kind": "plant", "mineral": "gallium",
        "country": "USA", "capex_low_musd": 100, "build_years": 2, "capacity_tpa": 10,
        "npv_musd": 25})
    for row, year in enumerate(range(2026, 2031), start=2):
        fill_row(wb[schema.BUDGET.name], row, {"year": year, "budget_musd": 80})
    path = tmp_path / "filled.xlsx"
    wb.save(path)

    instance = load_instance(path)
    assert instance.warnings == ()
    assert instance.settings.first_year == 2026 and instance.settings.horizon_years == 5
    assert instance.settings.objective == "npv"
    assert instance.settings.discount_rate == schema.SETTINGS.field("discount_rate").default
    assert list(instance.projects) == ["P1"]
    p = instance.projects["P1"]
    assert (p.capex_high_musd, p.earliest_start, p.latest_start) == (100, 2026, 2026)
    assert dict(instance.budget) == {year: 80 for year in range(2026, 2031)}


def fill_row(ws, row: int, values: dict[str, object]) -> None:
    """Write ``values`` under the template's own headers (found by their friendly labels)."""
    sheet = schema.SHEETS_BY_NAME[ws.title]
    aliases = schema.header_aliases(sheet)
    columns = {aliases[schema.normalize_header(c.value)]: c.column for c in ws[1]}
    for name, value in values.items():
        ws.cell(row=row, column=columns[name], value=value)


# --- a filled workbook from an instance ---------------------------------------------------------

@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("workbook") / "small.xlsx"
    return write_workbook(small_instance(), path, extra_sheets={"Notes": [["note"], ["=2+2"]]})


def test_written_workbook_has_the_template_layout(written: Path, book: Workbook) -> None:
    wb = openpyxl.load_workbook(written)
    assert wb.sheetnames == [*book.sheetnames, schema.SOURCES_SHEET, "Notes"]
    for sheet in RECORD_SHEETS:
        assert [c.value for c in wb[sheet.name][1]] == [c.value for c in book[sheet.name][1]]
        assert wb[sheet.name].freeze_panes == "A2"


def test_written_workbook_has_no_formula_anywhere(written: Path) -> None:
    with zipfile.ZipFile(written) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert "<f>" not in archive.read(name).decode("utf-8"), name
    wb = openpyxl.load_workbook(written)
    names = [c.value for c in wb[schema.PROJECTS.name]["B"]]
    assert '=HYPERLINK("http://example.com","offtake")' in names
    assert wb[schema.SOURCES_SHEET]["B2"].value == "=1+1 is text here"
    assert wb["Notes"]["A2"].value == "=2+2"


def test_capex_profile_rows_only_for_uneven_projects(written: Path) -> None:
    ws = openpyxl.load_workbook(written)[schema.CAPEX_PROFILE.name]
    rows = [tuple(c.value for c in row) for row in ws.iter_rows(min_row=2)]
    assert rows == [("P1", 0, 0.2), ("P1", 1, 0.5), ("P1", 2, 0.3)]


def test_requires_are_joined_and_optional_blanks_stay_blank(written: Path) -> None:
    ws = openpyxl.load_workbook(written)[schema.PROJECTS.name]
    col = {f.name: i for i, f in enumerate(schema.PROJECTS.fields, start=1)}
    assert ws.cell(row=4, column=col["requires"]).value == "P1, P2"
    assert ws.cell(row=2, column=col["requires"]).value is None
    assert ws.cell(row=2, column=col["operating_years"]).value is None
    assert ws.cell(row=4, column=col["capex_high_musd"]).value == 300.0


def test_extra_sheet_may_not_replace_a_contract_sheet(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Projects"):
        write_workbook(small_instance(), tmp_path / "x.xlsx", extra_sheets={"Projects": [["a"]]})
    assert list(tmp_path.iterdir()) == []


def even_profiles(instance: Instance) -> dict[str, Project]:
    """Projects with the capex profile resolved (an empty profile means even spending)."""
    return {pid: replace(p, capex_profile=p.spend_shares) for pid, p in instance.projects.items()}


def test_written_workbook_reads_back_as_the_same_instance(written: Path) -> None:
    original = small_instance()
    loaded = load_instance(written)
    assert loaded.warnings == ()  # extra sheets are ignored without a word
    assert loaded.settings == original.settings
    assert dict(loaded.minerals) == dict(original.minerals)
    assert even_profiles(loaded) == even_profiles(original)
    assert dict(loaded.budget) == dict(original.budget)
    assert loaded.scenarios == original.scenarios
    assert loaded.sources_header == original.sources_header
    assert loaded.sources == original.sources


def test_instance_at_defaults_round_trips(tmp_path: Path) -> None:
    """An instance at every default writes and reads back unchanged (blank optional cells)."""
    instance = Instance(
        settings=Settings(first_year=2030),
        minerals={"graphite": Mineral("graphite", us_demand_t=1000.0, china_share=0.7)},
        projects={"A": Project("A", "Anode plant", "plant", "graphite", "USA", 10.0, 10.0, 1,
                               2030, 2030, 100.0, 5.0)},
        budget={year: 10.0 for year in Settings(first_year=2030).years},
    )
    loaded = load_instance(write_workbook(instance, tmp_path / "defaults.xlsx"))
    assert loaded.settings == instance.settings
    assert dict(loaded.minerals) == dict(instance.minerals)
    assert even_profiles(loaded) == even_profiles(instance)
    assert dict(loaded.budget) == dict(instance.budget)
