"""Stage 1: open an input workbook safely and hand back its sheets as raw cells.

Workbooks are untrusted. Before openpyxl inflates anything this module checks, with the file's own
bytes and the zip directory:

- the file exists and is an ``.xlsx`` zip (an old ``.xls``, a password-protected workbook, a CSV or
  text file renamed ``.xlsx``, a truncated zip and an Excel binary ``.xlsb`` each get their own
  message);
- the archive is not a zip bomb: at most ``MAX_MEMBERS`` members, at most ``MAX_UNCOMPRESSED_BYTES``
  once inflated, and no member over ``RATIO_CHECK_BYTES`` compressed more than ``MAX_RATIO`` : 1.
  The sizes come from the zip directory; :mod:`zipfile` never inflates a member past its declared
  size (a lying header fails its CRC check instead), so the declared sizes bound the work;
- no XML part declares a DOCTYPE (entity expansion, "billion laughs", external entities);
- no two members share a name (compared ignoring case and a leading slash): zip readers differ on
  which copy they take, so such a file is damaged or tampered with and is refused.

A Strict Open XML workbook (Excel's "Strict Open XML Spreadsheet", recognised by the namespace of
the workbook part that ``_rels/.rels`` points to) is read by rewriting its Strict namespace URIs to
the transitional ones in memory (:data:`STRICT_NAMESPACES`, as Apache POI does); the SHA-256 digest
is that of the file as given. If the rewrite leaves the workbook part Strict, it is refused with a
message saying how to re-save it.

XML is parsed with defusedxml throughout (openpyxl uses it when ``openpyxl.DEFUSEDXML`` is true,
which is asserted at import). Sheets are read with ``read_only=True`` and ``data_only=True`` (cached
values of formulas), iterating rows once; the ``<dimension>`` tag of an untrusted file is not
believed, and a row wider than ``MAX_COLUMNS`` is refused. When a sheet's XML holds any formula
element, a second, streaming pass finds the cells whose formula has no cached value.

Merged cells: openpyxl's read-only sheets do not expose them, so the ``<mergeCells>`` element of
the sheet XML is read here too. A merged range below the header row is read as its top-left value
for every cell it covers, with a warning naming it; a merged range touching the header row (row 1)
is an error. These findings travel on :attr:`RawSheet.problems`.

This module knows nothing about the contract's fields: :mod:`optimizer.validate` turns raw cells
into typed objects.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

import openpyxl
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse
from openpyxl.cell.read_only import ReadOnlyCell
from openpyxl.utils.cell import column_index_from_string, get_column_letter
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet.cell_range import CellRange

from .errors import InputError, Problem

if openpyxl.DEFUSEDXML is not True:  # pragma: no cover - environment guard
    raise RuntimeError(
        "openpyxl is not using defusedxml, so untrusted workbooks could expand XML entities. "
        "Install defusedxml (a dependency of this package); do not set OPENPYXL_DEFUSEDXML=False."
    )

# Limits for untrusted files. An honest 5,000-project workbook is well under 1 MB zipped.
MAX_FILE_BYTES = 200 * 1024 * 1024  # bytes on disk
MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024  # bytes, all members inflated
MAX_MEMBERS = 10_000  # files inside the zip
MAX_RATIO = 200.0  # inflated : compressed, for members larger than RATIO_CHECK_BYTES
RATIO_CHECK_BYTES = 1024 * 1024  # bytes, inflated
MAX_COLUMNS = 1_000  # columns read per sheet (Excel allows 16,384)
PROLOG_SCAN_BYTES = 64 * 1024  # bytes of each XML part searched for a DOCTYPE
MAX_MERGED_CELLS = 100_000  # cells covered by a sheet's merged ranges below the header

OLE2_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")  # .xls, and password-protected .xlsx
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_DOCTYPE_MARKERS = tuple(
    marker.encode(encoding)
    for marker in ("<!DOCTYPE", "<!ENTITY")
    for encoding in ("ascii", "utf-16-le", "utf-16-be")
)
_XML_SUFFIXES = (".xml", ".rels", ".vml")

_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_ROW_TAG = _MAIN_NS + "row"
_FORMULA_TAG = _MAIN_NS + "f"
_VALUE_TAG = _MAIN_NS + "v"
_SHEET_DATA_TAG = _MAIN_NS + "sheetData"
_MERGE_CELL_TAG = _MAIN_NS + "mergeCell"
_TEXT_TYPES = ("str", "inlineStr")  # cell types whose cached value may legitimately be ""
_FORMULA_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]")  # <f>, <f t=...>, <x:f>
_MERGE_CELL_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell[\s/>]")

# Strict Open XML namespace -> transitional namespace (ECMA-376 Part 1 strict vs transitional
# schemas). Relationship types are these URIs plus "/worksheet", "/styles" ..., so they follow.
STRICT_NAMESPACES = {
    "http://purl.oclc.org/ooxml/spreadsheetml/main":
        "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "http://purl.oclc.org/ooxml/officeDocument/relationships":
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/drawingml/main":
        "http://schemas.openxmlformats.org/drawingml/2006/main",
    "http://purl.oclc.org/ooxml/drawingml/chart":
        "http://schemas.openxmlformats.org/drawingml/2006/chart",
    "http://purl.oclc.org/ooxml/drawingml/spreadsheetDrawing":
        "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing",
    "http://purl.oclc.org/ooxml/officeDocument/extendedProperties":
        "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties",
    "http://purl.oclc.org/ooxml/officeDocument/customProperties":
        "http://schemas.openxmlformats.org/officeDocument/2006/custom-properties",
    "http://purl.oclc.org/ooxml/officeDocument/docPropsVTypes":
        "http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes",
    "http://purl.oclc.org/ooxml/officeDocument/sharedTypes":
        "http://schemas.openxmlformats.org/officeDocument/2006/sharedTypes",
}
_STRICT_MAIN_NS = "{http://purl.oclc.org/ooxml/spreadsheetml/main}"
_ROOT_RELS = "_rels/.rels"
_OFFICE_DOCUMENT_REL = "/officeDocument"  # end of the workbook part's relationship type
_STRICT_REFUSAL = (
    "this is a Strict Open XML workbook that could not be converted for reading (its parts are "
    "not written the way Excel writes them, e.g. in UTF-16); in Excel use File > Save As > "
    "'Excel Workbook (*.xlsx)'; in LibreOffice use File > Save As > 'Excel 2007-365 (.xlsx)'.")
_MERGED_HEADER = ("cells {ref} are merged in the header row: each column needs its own header "
                  "cell. Unmerge them (Home > Merge & Center > Unmerge Cells) and type each "
                  "column's header.")
_MERGED_DATA = ("cells {ref} are merged; the value {value} is read for every cell they cover. If "
                "each row needs its own value, unmerge them and fill every cell.")


@dataclass(frozen=True)
class CellError:
    """An Excel error value held by a cell (``#DIV/0!``, ``#N/A``, ``#REF!`` ...)."""

    code: str

    def __str__(self) -> str:
        return self.code


@dataclass(frozen=True)
class UncachedFormula:
    """A cell holding a formula that was never calculated (no cached value in the file)."""

    formula: str  # "=1+1"; "=" alone for a shared formula's dependent cell

    def __str__(self) -> str:
        return self.formula


class RawCell(NamedTuple):
    """One cell: its Excel reference ("F12") and its value as stored.

    ``value`` is None (empty), str, int, float, bool, datetime/date/time, :class:`CellError` or
    :class:`UncachedFormula`.
    """

    ref: str
    value: Any


@dataclass(frozen=True)
class RawRow:
    """A non-blank row below the header: its row number and every cell up to the sheet's width."""

    number: int
    cells: tuple[RawCell, ...]


@dataclass(frozen=True)
class RawSheet:
    """A sheet as found: header cells (row 1) and the non-blank rows below it.

    A cell holding a formula without a cached value has an :class:`UncachedFormula` value.
    """

    title: str
    header: tuple[RawCell, ...]
    rows: tuple[RawRow, ...]
    merged: tuple[str, ...] = ()  # merged ranges as written in the sheet XML ("K3:K4")
    problems: tuple[Problem, ...] = ()  # errors and warnings found reading it (merged ranges)


def is_blank(value: object) -> bool:
    """True for an empty cell or one holding only whitespace."""
    return value is None or (isinstance(value, str) and not value.strip())


def _file_problem(message: str) -> InputError:
    """An InputError about the file as a whole."""
    return InputError([Problem("file", message)])


class WorkbookFile:
    """An opened, checked workbook. Use :func:`open_workbook`; close it (or use ``with``)."""

    def __init__(self, path: Path, data: bytes):
        self.path = path
        self.sha256 = hashlib.sha256(data).hexdigest()  # of the file as given
        package = _transitional(data)  # the same bytes unless the workbook is Strict Open XML
        self._book = _load_openpyxl(package, path)
        self._archive = zipfile.ZipFile(io.BytesIO(package))  # checked by open_workbook
        self.sheet_names: tuple[str, ...] = tuple(self._book.sheetnames)

    def read_sheet(self, title: str) -> RawSheet:
        """Every non-blank row of sheet ``title`` (an exact name from ``sheet_names``).

        Raises InputError when the sheet cannot be read safely (a chart sheet, damaged XML,
        an entity declaration, more than MAX_COLUMNS columns).
        """
        sheet = self._book[title]
        if not isinstance(sheet, ReadOnlyWorksheet):
            raise InputError([Problem(title, f"sheet '{title}' is a chart sheet, not a table: "
                                             "keep the data on an ordinary worksheet.")])
        part = sheet._worksheet_path.lstrip("/")  # openpyxl 3.1 (pinned <3.2): the sheet's part
        try:
            xml = self._archive.read(part)
            uncached = _uncached_formulas(xml)
            merged = _merged_ranges(xml)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # e.g. a date out of range: read as #VALUE!
                return _collect_rows(sheet, title, uncached, merged)
        except InputError:
            raise
        except Exception as exc:  # untrusted input: report, never a traceback
            cause = _root_cause(exc)
            if isinstance(cause, DefusedXmlException):
                message = (f"sheet '{title}' contains a forbidden XML construct "
                           f"({type(cause).__name__}): refused as unsafe.")
            else:
                message = (f"sheet '{title}' could not be read: the file is damaged "
                           f"({type(cause).__name__}: {cause}). Re-save it from Excel or "
                           "LibreOffice.")
            raise InputError([Problem(title, message)]) from None

    def close(self) -> None:
        self._book.close()
        self._archive.close()

    def __enter__(self) -> "WorkbookFile":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def open_workbook(path: str | Path) -> WorkbookFile:
    """Open ``path`` read-only after the file-level and zip-bomb checks; InputError if refused.

    The file is read into memory once (at most MAX_FILE_BYTES); everything, including the SHA-256
    digest, comes from those bytes, and the file on disk is never opened for writing.
    """
    path = Path(path)
    data = _read_bytes(path)
    _check_format(data, path)
    _check_archive(data)
    return WorkbookFile(path, data)


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, or InputError for a missing, unreadable, empty or oversized file."""
    if not path.exists():
        raise _file_problem(f"'{path}' does not exist: check the path and the file name.")
    if path.is_dir():
        raise _file_problem(f"'{path}' is a folder, not a workbook file.")
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _file_problem(f"'{path.name}' is {size / 2**20:.0f} MB; workbooks over "
                                f"{MAX_FILE_BYTES // 2**20} MB are refused.")
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise _file_problem(f"'{path}' could not be read: {exc.strerror or exc}.") from None
    if not data:
        raise _file_problem(f"'{path.name}' is empty (0 bytes): save the workbook again as .xlsx.")
    if len(data) > MAX_FILE_BYTES:
        raise _file_problem(f"'{path.name}' is over {MAX_FILE_BYTES // 2**20} MB; refused.")
    return data


def _check_format(data: bytes, path: Path) -> None:
    """Refuse files that are not zip archives, saying what they look like instead."""
    name = path.name
    if data.startswith(OLE2_SIGNATURE):
        raise _file_problem(
            f"'{name}' is an old Excel 97-2003 (.xls) file or a password-protected workbook, not "
            "an .xlsx: open it in Excel or LibreOffice, remove any password, and save as "
            "'Excel Workbook (.xlsx)'.")
    if data.startswith(ZIP_SIGNATURES):
        return
    if _looks_like_text(data):
        kind = "a CSV or text file" if _looks_like_csv(data) else "a text file"
        raise _file_problem(
            f"'{name}' is {kind} (renamed?), not an Excel .xlsx workbook: open it in Excel or "
            "LibreOffice and save as 'Excel Workbook (.xlsx)' with the contract's sheets.")
    raise _file_problem(
        f"'{name}' is not an Excel .xlsx workbook (it starts with bytes {data[:8].hex(' ')}, an "
        ".xlsx starts with 'PK'): save it from Excel or LibreOffice as 'Excel Workbook (.xlsx)'.")


def _looks_like_text(data: bytes) -> bool:
    head = data[:4096]
    for encoding in ("utf-8-sig", "utf-16", "cp1252"):
        try:
            text = head.decode(encoding)
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t")
        if controls == 0:
            return True
    return False


def _looks_like_csv(data: bytes) -> bool:
    head = data[:4096].decode("utf-8", errors="replace")
    first_line = head.splitlines()[0] if head.splitlines() else ""
    return any(sep in first_line for sep in (",", ";", "\t"))


def _check_archive(data: bytes) -> None:
    """Refuse a damaged zip, a zip bomb, an encrypted or non-Excel archive, and DOCTYPEs."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            _check_zip_directory(members)
            _check_unique_names(members)
            names = {m.filename for m in members}
            if "xl/workbook.bin" in names:
                raise _file_problem("the file is an Excel binary workbook (.xlsb), not an .xlsx: "
                                    "save it as 'Excel Workbook (.xlsx)'.")
            if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
                raise _file_problem("the file is a zip archive but not an Excel workbook (no "
                                    "[Content_Types].xml and xl/ parts; a Word or other document "
                                    "renamed .xlsx?): save it from Excel as .xlsx.")
            _check_no_doctype(archive, members)
    except InputError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, NotImplementedError,
            RuntimeError) as exc:
        raise _file_problem(f"the file is damaged or truncated (its zip archive cannot be read: "
                            f"{exc}): copy it again or re-save it from Excel.") from None


def _check_zip_directory(members: list[zipfile.ZipInfo]) -> None:
    """Zip-bomb checks on the declared sizes of the zip directory (nothing is inflated)."""
    if len(members) > MAX_MEMBERS:
        raise _file_problem(f"the workbook's zip archive holds {len(members)} files, more than "
                            f"the {MAX_MEMBERS} accepted: refused as unsafe.")
    total = sum(m.file_size for m in members)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise _file_problem(f"the workbook would inflate to {total / 2**20:.0f} MB, more than "
                            f"the {MAX_UNCOMPRESSED_BYTES // 2**20} MB accepted: refused as a "
                            "possible zip bomb.")
    for m in members:
        if m.flag_bits & 0x1:
            raise _file_problem(f"the workbook's zip member '{m.filename}' is encrypted: remove "
                                "the password and save as .xlsx.")
        if m.file_size > RATIO_CHECK_BYTES:
            ratio = m.file_size / max(m.compress_size, 1)
            if ratio > MAX_RATIO:
                raise _file_problem(f"the workbook's member '{m.filename}' inflates {ratio:.0f} "
                                    f"times (to {m.file_size / 2**20:.0f} MB), more than "
                                    f"{MAX_RATIO:.0f}:1: refused as a possible zip bomb.")


def _check_unique_names(members: list[zipfile.ZipInfo]) -> None:
    """Refuse two members with the same name (ignoring case, backslashes and a leading slash)."""
    seen: set[str] = set()
    for m in members:
        key = m.filename.replace("\\", "/").lstrip("/").casefold()
        if key in seen:
            raise _file_problem(f"the file holds two parts named {m.filename}; it is damaged or "
                                "has been tampered with: open and re-save it in Excel, or use the "
                                "original.")
        seen.add(key)


def _check_no_doctype(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo]) -> None:
    """Refuse any XML part whose prolog declares a DOCTYPE or entities (never in honest .xlsx)."""
    for m in members:
        if not m.filename.lower().endswith(_XML_SUFFIXES):
            continue
        with archive.open(m) as stream:
            head = stream.read(PROLOG_SCAN_BYTES)
        if any(marker in head for marker in _DOCTYPE_MARKERS):
            raise _file_problem(f"the workbook's XML part '{m.filename}' declares a DOCTYPE or "
                                "XML entities (a known attack, e.g. 'billion laughs' entity "
                                "expansion); Excel never writes these: refused as unsafe.")


def _transitional(data: bytes) -> bytes:
    """The package with Strict Open XML namespaces rewritten to transitional ones (``data``
    itself when the workbook part is not Strict); InputError if it stays Strict."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if not _is_strict(archive):
                return data
            package = _rewrite_namespaces(archive)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:  # a member's bytes
        raise _file_problem(f"the file is damaged (a part of its zip archive cannot be read: "
                            f"{exc}): copy it again or re-save it from Excel.") from None
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        if _is_strict(archive):  # e.g. a UTF-16 part, where the byte rewrite does not apply
            raise _file_problem(_STRICT_REFUSAL)
    return package


def _is_strict(archive: zipfile.ZipFile) -> bool:
    """True when the workbook part named by ``_rels/.rels`` is in the Strict SpreadsheetML
    namespace. A missing or unreadable part is left for openpyxl to report."""
    try:
        part = _workbook_part(archive)
        if part is None:
            return False
        with archive.open(part) as stream:
            _, root = next(iterparse(stream, events=("start",)))
        return str(root.tag).startswith(_STRICT_MAIN_NS)
    except (KeyError, StopIteration, ValueError, SyntaxError, zipfile.BadZipFile, zlib.error,
            EOFError, OSError):
        return False  # SyntaxError covers the XML ParseError


def _workbook_part(archive: zipfile.ZipFile) -> str | None:
    """Name of the main (workbook) part, from the package relationships in ``_rels/.rels``."""
    with archive.open(_ROOT_RELS) as stream:
        for _, elem in iterparse(stream, events=("end",)):
            if str(elem.get("Type", "")).endswith(_OFFICE_DOCUMENT_REL) and elem.get("Target"):
                return str(elem.get("Target")).lstrip("/")
    return None


def _rewrite_namespaces(archive: zipfile.ZipFile) -> bytes:
    """A copy of the package whose XML parts have the Strict namespace URIs replaced (longest
    first, so a URI that extends another is replaced whole)."""
    pairs = sorted(((s.encode(), t.encode()) for s, t in STRICT_NAMESPACES.items()),
                   key=lambda pair: -len(pair[0]))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as copy:
        for member in archive.infolist():
            content = archive.read(member)
            if member.filename.lower().endswith(_XML_SUFFIXES):
                for strict, transitional in pairs:
                    content = content.replace(strict, transitional)
            copy.writestr(member.filename, content)
    return out.getvalue()


def _load_openpyxl(data: bytes, path: Path) -> Any:
    """openpyxl workbook in read-only, cached-values mode, or InputError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # notes on unsupported Excel extensions: irrelevant
            return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True,
                                          keep_links=False, keep_vba=False)
    except Exception as exc:  # untrusted input: report, never a traceback
        cause = _root_cause(exc)
        if isinstance(cause, DefusedXmlException):
            raise _file_problem(f"'{path.name}' contains a forbidden XML construct "
                                f"({type(cause).__name__}): refused as unsafe.") from None
        raise _file_problem(f"'{path.name}' could not be opened as an Excel workbook "
                            f"({type(cause).__name__}: {cause}): re-save it from Excel or "
                            "LibreOffice as .xlsx.") from None


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost exception of a chain (openpyxl wraps parser errors in ValueError)."""
    seen = {id(exc)}
    while True:
        inner = exc.__cause__ or exc.__context__
        if inner is None or id(inner) in seen:
            return exc
        seen.add(id(inner))
        exc = inner


def _uncached_formulas(xml: bytes) -> dict[str, UncachedFormula]:
    """Cells of a sheet's XML holding a formula without a cached value: ref -> formula.

    A quick byte search skips sheets without any formula element; otherwise one streaming
    defusedxml pass looks at every cell. A formula has no cached value when its ``<v>`` is missing
    or empty (openpyxl writes ``<v/>``), except for text results, which may cache "".
    """
    if not _may_hold_formulas(xml):
        return {}
    uncached: dict[str, UncachedFormula] = {}
    sheet_data = None
    row_number = 0
    for event, elem in iterparse(io.BytesIO(xml), events=("start", "end")):
        if event == "start":
            if elem.tag == _SHEET_DATA_TAG:
                sheet_data = elem
            continue
        if elem.tag != _ROW_TAG:
            continue
        row_number = int(elem.get("r") or row_number + 1)
        _scan_row(elem, row_number, uncached)
        if sheet_data is not None:
            sheet_data.remove(elem)  # keep memory flat on long sheets
    return uncached


def _may_hold_formulas(xml: bytes) -> bool:
    """False only when the XML surely has no formula element (``<f>``, ``<f .../>``, ``<x:f>``)."""
    if xml[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in xml[:200]:
        return True  # UTF-16: the byte search below does not apply; parse it
    return _FORMULA_START.search(xml) is not None


def _merged_ranges(xml: bytes) -> tuple[str, ...]:
    """The ``ref`` of every ``<mergeCell>`` of a sheet's XML ("K3:K4"), in file order.

    A quick byte search skips sheets without merged cells; otherwise one streaming defusedxml pass
    drops rows as it goes (``<mergeCells>`` follows ``<sheetData>``).
    """
    if not _may_hold_merged_cells(xml):
        return ()
    refs: list[str] = []
    sheet_data = None
    for event, elem in iterparse(io.BytesIO(xml), events=("start", "end")):
        if event == "start":
            if elem.tag == _SHEET_DATA_TAG:
                sheet_data = elem
        elif elem.tag == _MERGE_CELL_TAG:
            refs.append(str(elem.get("ref") or ""))
        elif elem.tag == _ROW_TAG and sheet_data is not None:
            sheet_data.remove(elem)  # keep memory flat on long sheets
    return tuple(refs)


def _may_hold_merged_cells(xml: bytes) -> bool:
    """False only when the XML surely has no ``<mergeCell>`` element."""
    if xml[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in xml[:200]:
        return True  # UTF-16: the byte search below does not apply; parse it
    return _MERGE_CELL_START.search(xml) is not None


def _scan_row(row: Any, row_number: int, uncached: dict[str, UncachedFormula]) -> None:
    """Record the row's formulas that have no cached value."""
    column = 0
    for cell in row:
        ref = cell.get("r")
        column = column_index_from_string(ref.rstrip("0123456789")) if ref else column + 1
        formula = cell.find(_FORMULA_TAG)
        if formula is None:
            continue
        cached = cell.find(_VALUE_TAG)
        if cached is None or (not cached.text and cell.get("t") not in _TEXT_TYPES):
            uncached[f"{get_column_letter(column)}{row_number}"] = UncachedFormula(
                "=" + (formula.text or ""))


def _collect_rows(sheet: Any, title: str, uncached: dict[str, UncachedFormula],
                  merged: tuple[str, ...] = ()) -> RawSheet:
    """The sheet's header (row 1) and non-blank rows below it, merged ranges filled in.

    Rows are padded to the sheet's width (its widest row), so a column index is valid in every row.
    """
    grid = _read_grid(sheet, title, uncached)
    problems = _fill_merged(grid, title, merged)
    header = grid.pop(1, [])
    rows = {n: values for n, values in sorted(grid.items()) if any(not is_blank(v) for v in values)}
    width = max([len(header), *(len(values) for values in rows.values())])
    letters = [get_column_letter(i) for i in range(1, width + 1)]

    def raw_cells(number: int, values: list[Any]) -> tuple[RawCell, ...]:
        padded = values + [None] * (width - len(values))
        return tuple(RawCell(f"{letter}{number}", value) for letter, value in zip(letters, padded))

    return RawSheet(title, raw_cells(1, header),
                    tuple(RawRow(number, raw_cells(number, values))
                          for number, values in rows.items()),
                    merged=merged, problems=problems)


def _read_grid(sheet: Any, title: str, uncached: dict[str, UncachedFormula]) -> dict[int, list]:
    """Iterate the sheet once: row number -> cell values, for row 1 and every non-blank row."""
    sheet.reset_dimensions()  # do not believe the file's <dimension> tag
    grid: dict[int, list[Any]] = {}
    for number, cells in enumerate(sheet.iter_rows(min_row=1), start=1):
        if len(cells) > MAX_COLUMNS:
            raise InputError([Problem(title, f"sheet '{title}' has cells out to column "
                                             f"{get_column_letter(len(cells))} in row {number}; "
                                             f"at most {MAX_COLUMNS} columns are read: delete the "
                                             "stray cells.")])
        values = [_cell_value(c) for c in cells]
        if uncached:
            values = [uncached.get(f"{get_column_letter(col)}{number}", value)
                      for col, value in enumerate(values, start=1)]
        if number == 1 or any(not is_blank(v) for v in values):
            grid[number] = values
    return grid


class _Box(NamedTuple):
    """A merged range's bounds, 1-based and inclusive."""

    min_col: int
    min_row: int
    max_col: int
    max_row: int

    @property
    def size(self) -> int:
        """Cells covered."""
        return (self.max_col - self.min_col + 1) * (self.max_row - self.min_row + 1)


def _fill_merged(grid: dict[int, list[Any]], title: str,
                 merged: tuple[str, ...]) -> tuple[Problem, ...]:
    """Give every cell of each merged range below the header its top-left value (in ``grid``).

    Returns a warning per range filled and an error per range touching the header row; raises
    InputError when the ranges cover more than MAX_MERGED_CELLS cells or MAX_COLUMNS columns.
    """
    problems: list[Problem] = []
    covered = 0
    for ref in merged:
        box = _merged_box(ref)
        if box.size == 1:
            continue  # a "merge" of one cell changes nothing
        where = f"{title}!{ref}"
        if box.min_row == 1:
            problems.append(Problem(where, _MERGED_HEADER.format(ref=ref)))
            continue
        covered += box.size
        if covered > MAX_MERGED_CELLS or box.max_col > MAX_COLUMNS:
            raise InputError([Problem(where, f"merged range {ref} is too large to read (merged "
                                             f"ranges may cover at most {MAX_MERGED_CELLS} cells "
                                             f"and {MAX_COLUMNS} columns): unmerge it.")])
        value = _fill_box(grid, box)
        problems.append(Problem(where, _MERGED_DATA.format(ref=ref, value=_show_value(value)),
                                severity="warning"))
    return tuple(problems)


def _merged_box(ref: str) -> _Box:
    """Bounds of a merged range ("K3:K4"). openpyxl has already refused a malformed ``ref``
    while iterating the sheet, with the same parser (the sheet is then reported as damaged)."""
    cells = CellRange(ref)
    return _Box(cells.min_col, cells.min_row, cells.max_col, cells.max_row)


def _fill_box(grid: dict[int, list[Any]], box: _Box) -> Any:
    """Set every cell of ``box`` in ``grid`` to the box's top-left value, and return that value."""
    top = grid.get(box.min_row, [])
    value = top[box.min_col - 1] if len(top) >= box.min_col else None
    for number in range(box.min_row, box.max_row + 1):
        values = grid.setdefault(number, [])
        if len(values) < box.max_col:
            values.extend([None] * (box.max_col - len(values)))
        values[box.min_col - 1:box.max_col] = [value] * (box.max_col - box.min_col + 1)
    return value


def _show_value(value: Any) -> str:
    """A cell value as quoted in a message: 'text', 2027, or "(blank)"."""
    if is_blank(value):
        return "(blank)"
    return f"'{value}'" if isinstance(value, str) else str(value)


def _cell_value(cell: Any) -> Any:
    """The cached value of an openpyxl read-only cell; Excel errors become CellError."""
    if not isinstance(cell, ReadOnlyCell):
        return None  # EmptyCell
    if cell.data_type == "e" and cell.value is not None:
        return CellError(str(cell.value))
    return cell.value

