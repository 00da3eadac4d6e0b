"""Untrusted workbooks: entity expansion, zip bombs and files that are not .xlsx are refused with a
clear InputError (never a traceback, never by inflating or expanding anything).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from defusedxml import EntitiesForbidden

from optimizer import reader
from optimizer.errors import InputError
from optimizer.validate import load_instance

FIXTURE = Path(__file__).parent / "data" / "good.xlsx"
PROJECTS_PART = "xl/worksheets/sheet3.xml"  # the fixture's third sheet, Projects
ROOT = Path(__file__).resolve().parents[1]


def refusal(path: Path) -> str:
    """The single file-level problem load_instance raises for ``path``."""
    with pytest.raises(InputError) as info:
        load_instance(path)
    problems = info.value.problems
    assert len(problems) == 1, info.value.report()
    return str(problems[0])


def rewrite(source: Path, target: Path, changes: dict[str, bytes],
            extra: dict[str, bytes] | None = None) -> Path:
    """Copy an xlsx, replacing the members in ``changes`` and adding those in ``extra``."""
    out = io.BytesIO()
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            zout.writestr(item, changes.get(item.filename, zin.read(item.filename)))
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    target.write_bytes(out.getvalue())
    return target


# ---- XML entity expansion ------------------------------------------------------------------

def billion_laughs(levels: int = 9) -> str:
    """A DOCTYPE whose entity &lol9; expands to 10**9 "lol"s (3 GB) if a parser allowed it."""
    entities = ['<!ENTITY lol0 "lol">']
    for i in range(1, levels + 1):
        entities.append(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">')
    return f"<!DOCTYPE worksheet [{''.join(entities)}]>"


def with_entities(tmp_path: Path, part: str, padding: int = 0) -> Path:
    """The fixture with ``part`` carrying the billion-laughs DOCTYPE (after ``padding`` bytes of
    comment) and, in the Projects sheet, a cell holding &lol9;."""
    with zipfile.ZipFile(FIXTURE) as archive:
        xml = archive.read(part).decode("utf-8")
    xml = xml.replace("<t>Gallium recovery plant, Louisiana</t>", "<t>&lol9;</t>")
    comment = f"<!--{'x' * padding}-->" if padding else ""
    if xml.startswith("<?xml"):
        declaration, rest = xml.split("?>", 1)
        xml = f"{declaration}?>{comment}{billion_laughs()}{rest}"
    else:
        xml = f'<?xml version="1.0" encoding="UTF-8"?>{comment}{billion_laughs()}{xml}'
    return rewrite(FIXTURE, tmp_path / "laughs.xlsx", {part: xml.encode("utf-8")})


@pytest.mark.parametrize("part", [PROJECTS_PART, "xl/workbook.xml", "[Content_Types].xml"])
def test_entity_expansion_is_refused(part: str, tmp_path: Path) -> None:
    path = with_entities(tmp_path, part)
    start = time.perf_counter()
    message = refusal(path)
    assert time.perf_counter() - start < 5
    assert message.startswith("file: ") and "DOCTYPE" in message and "refused as unsafe" in message
    assert part in message


def test_entity_expansion_behind_a_long_prolog_is_refused_by_defusedxml(tmp_path: Path) -> None:
    """A DOCTYPE beyond the reader's quick prolog scan still meets defusedxml, which refuses it."""
    path = with_entities(tmp_path, PROJECTS_PART, padding=reader.PROLOG_SCAN_BYTES + 10)
    message = refusal(path)
    assert "forbidden XML construct" in message and "refused as unsafe" in message
    assert "lol" not in message


def test_openpyxl_parses_with_defusedxml() -> None:
    """The guard reader.py asserts at import, and the parser openpyxl really uses for sheets."""
    from openpyxl.xml.functions import iterparse

    assert openpyxl.DEFUSEDXML is True
    payload = f'<?xml version="1.0"?>{billion_laughs()}<worksheet>&lol9;</worksheet>'
    with pytest.raises(EntitiesForbidden):
        for _ in iterparse(io.BytesIO(payload.encode())):
            pass


def test_reader_refuses_to_import_without_defusedxml() -> None:
    env = {**os.environ, "OPENPYXL_DEFUSEDXML": "False"}
    result = subprocess.run([sys.executable, "-c", "import optimizer.reader"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "RuntimeError" in result.stderr and "defusedxml" in result.stderr


# ---- zip bombs -----------------------------------------------------------------------------

def bomb(tmp_path: Path, megabytes: int, members: int = 0) -> Path:
    """The fixture plus a member of ``megabytes`` MB of zeros and ``members`` empty members."""
    path = rewrite(FIXTURE, tmp_path / "bomb.xlsx", {},
                   {f"xl/media/empty{i}.bin": b"" for i in range(members)})
    if megabytes:
        with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
            with archive.open("xl/media/big.bin", "w", force_zip64=True) as member:
                chunk = bytes(1024 * 1024)
                for _ in range(megabytes):
                    member.write(chunk)
    return path


@pytest.fixture
def opened_members(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the zip members anything opens (to inflate them) during the test."""
    names: list[str] = []
    original = zipfile.ZipFile.open

    def spy(self: zipfile.ZipFile, name: str | zipfile.ZipInfo, *args: object, **kwargs: object):
        names.append(name.filename if isinstance(name, zipfile.ZipInfo) else name)
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return names


def test_zip_bomb_is_refused_without_inflating(tmp_path: Path, opened_members: list[str]) -> None:
    path = bomb(tmp_path, megabytes=300)
    assert path.stat().st_size < 2 * 1024 * 1024  # 300 MB of zeros, zipped
    opened_members.clear()
    start = time.perf_counter()
    message = refusal(path)
    assert time.perf_counter() - start < 1.0
    assert "300 MB" in message and "zip bomb" in message
    assert opened_members == []  # refused from the zip directory alone


def test_absurd_compression_ratio_is_refused(tmp_path: Path, opened_members: list[str]) -> None:
    path = bomb(tmp_path, megabytes=20)  # small in total, but ~1000:1
    opened_members.clear()
    message = refusal(path)
    assert "xl/media/big.bin" in message and "zip bomb" in message and "200:1" in message
    assert opened_members == []


def test_too_many_members_is_refused(tmp_path: Path) -> None:
    message = refusal(bomb(tmp_path, megabytes=0, members=reader.MAX_MEMBERS))
    assert f"more than the {reader.MAX_MEMBERS}" in message


def test_too_many_columns_is_refused(tmp_path: Path) -> None:
    """A stray cell in column XFD would make every row 16,384 cells wide."""
    wb = openpyxl.load_workbook(FIXTURE)
    wb["Projects"]["XFD3"] = 1
    path = tmp_path / "wide.xlsx"
    wb.save(path)
    message = refusal(path)
    assert message.startswith("Projects: ") and "column XFD" in message


# ---- files that are not .xlsx --------------------------------------------------------------

def test_old_xls_signature(tmp_path: Path) -> None:
    path = tmp_path / "old.xlsx"
    path.write_bytes(reader.OLE2_SIGNATURE + bytes(504))
    message = refusal(path)
    assert "old.xlsx" in message and ".xls" in message and "password-protected" in message


def test_csv_renamed_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "projects.xlsx"
    path.write_text("project_id,name,kind\nGA-1,Gallium plant,plant\n", encoding="utf-8")
    assert "is a CSV or text file" in refusal(path)


def test_truncated_zip(tmp_path: Path) -> None:
    data = FIXTURE.read_bytes()
    path = tmp_path / "truncated.xlsx"
    path.write_bytes(data[: len(data) // 2])
    assert "damaged or truncated" in refusal(path)


def test_corrupt_member_data(tmp_path: Path) -> None:
    """The zip directory is intact but a member's compressed bytes are garbage."""
    data = bytearray(FIXTURE.read_bytes())
    with zipfile.ZipFile(FIXTURE) as archive:
        info = archive.getinfo(PROJECTS_PART)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 10, start + info.compress_size - 10):
        data[i] ^= 0x5A
    path = tmp_path / "corrupt.xlsx"
    path.write_bytes(bytes(data))
    message = refusal(path)
    assert "damaged" in message


@pytest.mark.parametrize("content, fragment", [
    (None, "does not exist"),
    (b"", "is empty"),
    (bytes(range(256)) * 4, "not an Excel .xlsx workbook"),
])
def test_missing_empty_and_unknown_files(content: bytes | None, fragment: str,
                                         tmp_path: Path) -> None:
    path = tmp_path / "input.xlsx"
    if content is not None:
        path.write_bytes(content)
    message = refusal(path)
    assert message.startswith("file: ") and fragment in message


def test_folder_instead_of_file(tmp_path: Path) -> None:
    assert "is a folder" in refusal(tmp_path)


def test_zip_that_is_not_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "letter.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/document.xml", "<document/>")
    assert "zip archive but not an Excel workbook" in refusal(path)
