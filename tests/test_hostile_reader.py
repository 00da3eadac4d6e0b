"""Hostile or unusual workbook packages: merged cells, Strict Open XML, duplicated zip members.

Each workbook here starts as a small valid instance written by the template code
(:func:`optimizer.template.write_workbook`) and is then changed the way Excel, another tool or an
attacker would change it.
"""

from __future__ import annotations

import io
import time
import warnings
import zipfile
from pathlib import Path

import openpyxl
import pytest

from optimizer import cli
from optimizer.errors import InputError
from optimizer.solve import solve
from optimizer.template import write_workbook
from optimizer.validate import check, load_instance
from test_model_hand import instance, project

GROUP = "kz"


def two_projects(tmp_path: Path, name: str = "base.xlsx") -> Path:
    """Projects A (NPV 50, exclusive_group "kz") and B (NPV 40, no group) in rows 2 and 3; each
    costs $10M in 2026 and the budget is $100M a year, so without a group both are funded."""
    inst = instance([project("A", capex=10, build=1, npv=50, exclusive_group=GROUP),
                     project("B", capex=10, build=1, npv=40)], budget=100)
    return write_workbook(inst, tmp_path / name)


def merged(tmp_path: Path, cells: str, name: str = "merged.xlsx") -> Path:
    """two_projects() with ``cells`` of the Projects sheet merged, as Excel's Merge & Center
    does (openpyxl keeps the top-left value and empties the other cells)."""
    wb = openpyxl.load_workbook(two_projects(tmp_path))
    wb["Projects"].merge_cells(cells)
    path = tmp_path / name
    wb.save(path)
    return path


def group_column(path: Path) -> str:
    """Column letter of exclusive_group in the Projects sheet (the cell holding "kz")."""
    ws = openpyxl.load_workbook(path)["Projects"]
    return next(c.column_letter for c in ws[2] if c.value == GROUP)


def rewrite_parts(source: Path, target: Path, change) -> Path:
    """Copy a zip, passing each member's (name, bytes) through ``change`` -> bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            zout.writestr(item.filename, change(item.filename, zin.read(item.filename)))
    target.write_bytes(out.getvalue())
    return target


def refusal(path: Path) -> str:
    """The single problem load_instance raises for ``path``."""
    with pytest.raises(InputError) as info:
        load_instance(path)
    assert len(info.value.problems) == 1, info.value.report()
    return str(info.value.problems[0])


# ---- 6. merged cells ---------------------------------------------------------------------------

def test_a_merged_exclusive_group_covers_both_rows(tmp_path: Path) -> None:
    """The group cell of A (row 2) merged over B's row 3: both are in group "kz", the solver funds
    only A, and a warning names the range. Without reading merges, B had no group and both were
    funded."""
    column = group_column(two_projects(tmp_path))
    path = merged(tmp_path, f"{column}2:{column}3")
    inst = load_instance(path)
    assert inst.projects["A"].exclusive_group == GROUP
    assert inst.projects["B"].exclusive_group == GROUP
    warning = next(w for w in inst.warnings if "merged" in w)
    assert warning.startswith(f"Projects!{column}2:{column}3: ")
    assert f"'{GROUP}' is read for every cell" in warning
    assert solve(inst).starts == {"A": 2026}


def test_merged_cells_warning_reaches_check(tmp_path: Path) -> None:
    column = group_column(two_projects(tmp_path))
    errors, found = check(merged(tmp_path, f"{column}2:{column}3"))
    assert errors == []
    assert [w.where for w in found if "merged" in w.message] == [f"Projects!{column}2:{column}3"]


@pytest.mark.parametrize("cells", ["A1:B1", "B1:B2"])
def test_a_merged_range_touching_the_header_row_is_an_error(cells: str, tmp_path: Path) -> None:
    """Across two headers, or from a header down into the data: an error naming the range."""
    errors, _ = check(merged(tmp_path, cells))
    named = [e for e in errors if e.where == f"Projects!{cells}"]
    assert len(named) == 1, errors
    assert "header row" in named[0].message and "Unmerge" in named[0].message


def test_merged_cells_in_the_free_text_sources_sheet_are_no_problem(tmp_path: Path) -> None:
    """Sources has no contract headers: a merged title over row 1 is read, not reported."""
    wb = openpyxl.load_workbook(two_projects(tmp_path))
    sources = wb.create_sheet("Sources")
    for row in (["Sources of the figures", None, None], ["item", "source", "note"],
                ["capex", "company filings", "2025"]):
        sources.append(row)
    sources.merge_cells("A1:C1")
    path = tmp_path / "sources.xlsx"
    wb.save(path)
    assert check(path) == ([], [])
    assert load_instance(path).sources_header == ("Sources of the figures",)


def with_merge_xml(tmp_path: Path, ref: str) -> Path:
    """two_projects() with ``<mergeCells><mergeCell ref=...>`` written straight into the
    Projects sheet's XML (as a hostile file could), right after ``</sheetData>``."""
    source = two_projects(tmp_path)
    index = openpyxl.load_workbook(source).sheetnames.index("Projects") + 1  # openpyxl's numbering
    part = f"xl/worksheets/sheet{index}.xml"
    element = f'</sheetData><mergeCells count="1"><mergeCell ref="{ref}"/></mergeCells>'.encode()

    def change(name: str, data: bytes) -> bytes:
        return data.replace(b"</sheetData>", element) if name == part else data

    return rewrite_parts(source, tmp_path / "hostile_merge.xlsx", change)


def test_a_huge_merged_range_is_refused_quickly(tmp_path: Path) -> None:
    """A merge over a whole column would otherwise become a million filled rows."""
    path = with_merge_xml(tmp_path, "B2:B1048576")
    start = time.perf_counter()
    message = refusal(path)
    assert time.perf_counter() - start < 5
    assert message.startswith("Projects!B2:B1048576: ") and "too large" in message


# ---- 7. Strict Open XML ------------------------------------------------------------------------

# How a Strict file is made from a transitional one: the URIs Excel's "Strict Open XML
# Spreadsheet" writes instead of the transitional ones (checked against files saved by Excel).
# Relationship types are these URIs plus "/worksheet", "/styles" ..., so they follow, except the
# extended-properties type, which Strict spells "extendedProperties".
TO_STRICT = [
    (b"http://schemas.openxmlformats.org/spreadsheetml/2006/main",
     b"http://purl.oclc.org/ooxml/spreadsheetml/main"),
    (b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties",
     b"http://purl.oclc.org/ooxml/officeDocument/relationships/extendedProperties"),
    (b"http://schemas.openxmlformats.org/officeDocument/2006/relationships",
     b"http://purl.oclc.org/ooxml/officeDocument/relationships"),
    (b"http://schemas.openxmlformats.org/drawingml/2006/main",
     b"http://purl.oclc.org/ooxml/drawingml/main"),
    (b"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties",
     b"http://purl.oclc.org/ooxml/officeDocument/extendedProperties"),
    (b"http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes",
     b"http://purl.oclc.org/ooxml/officeDocument/docPropsVTypes"),
    (b"<left/>", b"<start/>"),  # Strict borders are start/end, not left/right
    (b"<right/>", b"<end/>"),
]


def to_strict(name: str, data: bytes) -> bytes:
    """One part of a transitional package, as Excel writes it in Strict Open XML."""
    if not name.endswith((".xml", ".rels")):
        return data
    for transitional, strict in TO_STRICT:
        data = data.replace(transitional, strict)
    if name == "xl/workbook.xml":  # Excel marks the workbook element too
        data = data.replace(b"<workbook ", b'<workbook conformance="strict" ', 1)
    return data


def test_a_strict_open_xml_workbook_is_read_like_its_transitional_original(
        tmp_path: Path) -> None:
    """Before: "required sheet 'Settings' is missing (the workbook has: no sheets)"."""
    source = two_projects(tmp_path)
    strict = rewrite_parts(source, tmp_path / "strict_copy.xlsx", to_strict)
    with zipfile.ZipFile(strict) as archive:
        assert b"purl.oclc.org/ooxml/spreadsheetml/main" in archive.read("xl/workbook.xml")
    got, want = load_instance(strict), load_instance(source)
    assert got.projects == want.projects and got.settings == want.settings
    assert got.minerals == want.minerals and got.budget == want.budget
    assert got.warnings == want.warnings
    assert got.input_sha256 != want.input_sha256  # the digest is of the file as given


def test_merged_cells_are_read_in_a_strict_workbook(tmp_path: Path) -> None:
    column = group_column(two_projects(tmp_path))
    strict = rewrite_parts(merged(tmp_path, f"{column}2:{column}3"), tmp_path / "s.xlsx",
                           to_strict)
    assert load_instance(strict).projects["B"].exclusive_group == GROUP


def test_a_strict_workbook_that_cannot_be_converted_is_refused_clearly(tmp_path: Path) -> None:
    """A UTF-16 workbook part: the in-memory rewrite does not apply, so the file is refused."""
    def utf16_strict(name: str, data: bytes) -> bytes:
        data = to_strict(name, data)
        if name != "xl/workbook.xml":
            return data
        text = data.decode("utf-8").replace("encoding='UTF-8'", "encoding='UTF-16'")
        return text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")

    message = refusal(rewrite_parts(two_projects(tmp_path), tmp_path / "u16.xlsx", utf16_strict))
    assert message.startswith("file: ") and "Strict Open XML workbook" in message
    assert "File > Save As > 'Excel Workbook (*.xlsx)'" in message and "LibreOffice" in message


def test_a_damaged_strict_workbook_is_refused_without_a_traceback(tmp_path: Path) -> None:
    """Converting inflates every part: a part with garbage bytes is reported, not raised."""
    strict = rewrite_parts(two_projects(tmp_path), tmp_path / "strict.xlsx", to_strict)
    with zipfile.ZipFile(strict, "a") as archive:
        archive.writestr("xl/media/image1.bin", bytes(range(256)) * 64)
        info = archive.getinfo("xl/media/image1.bin")
    data = bytearray(strict.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 10, start + info.compress_size - 10):
        data[i] ^= 0x5A
    strict.write_bytes(bytes(data))
    message = refusal(strict)
    assert message.startswith("file: the file is damaged") and "re-save it from Excel" in message


# ---- 8. duplicated zip members -----------------------------------------------------------------

@pytest.mark.parametrize("second", ["xl/worksheets/sheet1.xml", "XL/Worksheets/Sheet1.xml",
                                    "/xl/worksheets/sheet1.xml"])
def test_a_zip_with_two_parts_of_the_same_name_is_refused(second: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    """Zip readers differ on which copy they take (Python's the last): refuse the file."""
    path = two_projects(tmp_path)
    with zipfile.ZipFile(path) as archive:
        copy = archive.read("xl/worksheets/sheet1.xml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile: "Duplicate name: ..."
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(second, copy)
    assert cli.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"file: the file holds two parts named {second}; it is damaged or has been tampered " \
           "with" in err
    assert "Nothing was written." in err


def test_the_duplicate_check_keeps_distinct_names(tmp_path: Path) -> None:
    """sheet1.xml and sheet11.xml are different parts: no false alarm."""
    path = two_projects(tmp_path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("xl/media/sheet1.xml.bak", b"")
    assert load_instance(path).projects.keys() == {"A", "B"}
