"""docs/input-workbook.md is generated from the schema and must be kept up to date."""

from __future__ import annotations

from pathlib import Path

from optimizer import docs_gen, schema


def test_input_doc_is_up_to_date() -> None:
    current = docs_gen.DOC_PATH.read_text(encoding="utf-8") if docs_gen.DOC_PATH.exists() else ""
    assert current == docs_gen.render_input_doc(), (
        f"{docs_gen.DOC_PATH.name} differs from the schema: run "
        f"`{docs_gen.REGENERATE_COMMAND}` and commit the result.")


def test_doc_has_a_table_row_for_every_field_of_every_sheet() -> None:
    doc = docs_gen.render_input_doc()
    for sheet in schema.SHEETS:
        section = doc.split(f"## Sheet `{sheet.name}`", 1)[1].split("\n## ", 1)[0]
        for f in sheet.fields:
            assert f"| `{f.name}`" in section, f"{sheet.name}.{f.name} missing from its table"
            if not sheet.key_value:
                assert f"| {f.header} |" in section


def test_additions_to_contract_v1_exist_and_are_marked() -> None:
    doc = docs_gen.render_input_doc()
    for name in docs_gen.ADDED_SETTINGS:
        assert name in schema.SETTINGS.names
        assert f"| `{name}` *(addition)* |" in doc
    for name in docs_gen.ADDED_SHEETS:
        assert f"## Sheet `{name}` (optional) *(addition)*" in doc
    assert "| `first_year` |" in doc  # a v1 setting carries no mark


def test_main_writes_the_file_and_check_reports_drift(tmp_path: Path, capsys) -> None:
    path = tmp_path / "input-workbook.md"
    assert docs_gen.main(["--check", "--path", str(path)]) == 1
    assert docs_gen.main(["--path", str(path)]) == 0
    assert path.read_text(encoding="utf-8") == docs_gen.render_input_doc()
    assert docs_gen.main(["--check", "--path", str(path)]) == 0
    assert docs_gen.REGENERATE_COMMAND in capsys.readouterr().err
