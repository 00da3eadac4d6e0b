"""Write a run's files into its folder atomically, and never touch a file the tool did not write.

A run's folder is the tool's own: every file in it is listed, with its SHA-256, in the folder's
``run-manifest.json``. An existing destination is replaced (with ``force``) only when it holds
nothing else: a folder with any other file (the input workbook, a document, a file changed since
the run) is refused, whatever the flags. A version 1 folder has no manifest; it may be replaced only
when it holds nothing but the file names version 1 writes.

All files are first written into a fresh hidden folder beside the destination. Only when every
file is complete does that folder take the destination's place; the swap runs with SIGINT and
SIGTERM held back, so a signal leaves either the earlier folder or the new one, never half of
each. A run first claims its destination (:func:`claim`, a lock beside it), so that two runs into
the same folder at once cannot both write there. New folders follow the user's umask.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from .analyses import Analyses
from .interrupts import signals_held
from .results import Result

try:  # POSIX; on Windows the claim falls back to an exclusive lock file
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

RUN_MARKER = "results.json"
MANIFEST = "run-manifest.json"
# What version 1 wrote into a results folder (it kept no manifest).
V1_FILES = frozenset({"results.json", "results.xlsx", "memo.html", "memo.docx", "memo.md"})
V1_CHART = re.compile(r"chart_[a-z0-9_]+\.png")
NAMED = 5  # a refusal names this many foreign files, then counts the rest


class DestinationExists(Exception):
    """The output folder cannot be written: an earlier run without --force, or not ours."""


class ForeignFiles(DestinationExists):
    """The output folder holds something the tool did not write; refused whatever the flags."""


class DestinationBusy(DestinationExists):
    """Another run is writing into the same folder right now."""


def default_out_dir(workbook: str | Path, root: str | Path = "reports") -> Path:
    return Path(root) / Path(workbook).stem


# ---------------------------------------------------------------------------------------------
# What the tool may replace.
# ---------------------------------------------------------------------------------------------

def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _entries(folder: Path) -> list[Path]:
    """Every file, folder and link under ``folder`` (not following links), sorted."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        found += [Path(root) / name for name in dirs + files]
    return sorted(found)


def foreign_entries(folder: Path) -> list[str]:
    """What in ``folder`` the tool did not write, or changed since, in words (empty: all ours)."""
    manifest = folder / MANIFEST
    if manifest.is_file() and not manifest.is_symlink():
        return _foreign_by_manifest(folder, manifest)
    return _foreign_by_v1_names(folder)


def _foreign_by_manifest(folder: Path, manifest: Path) -> list[str]:
    try:
        listed = json.loads(manifest.read_text(encoding="utf-8"))["files"]
        if not isinstance(listed, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError, OSError):
        return [f"{MANIFEST} (unreadable, so nothing in the folder can be told to be the tool's)"]
    foreign: list[str] = []
    listed_dirs = {str(Path(name).parent) for name in listed} - {"."}
    for entry in _entries(folder):
        name = entry.relative_to(folder).as_posix()
        if entry == manifest:
            continue
        if entry.is_symlink():
            foreign.append(f"{name} (a link)")
        elif entry.is_dir():
            if name not in listed_dirs:
                foreign.append(f"{name}/ (a folder the tool did not write)")
        elif name not in listed:
            foreign.append(f"{name} (not written by the tool)")
        elif sha256_file(entry) != listed[name]:
            foreign.append(f"{name} (changed since the tool wrote it)")
    return foreign


def _foreign_by_v1_names(folder: Path) -> list[str]:
    foreign: list[str] = []
    for entry in sorted(folder.iterdir()):
        ours = (entry.is_file() and not entry.is_symlink()
                and (entry.name in V1_FILES or V1_CHART.fullmatch(entry.name)))
        if not ours:
            foreign.append(f"{entry.name}{'/' if entry.is_dir() else ''} "
                           "(not a file the tool writes)")
    return foreign


def check_destination(out_dir: Path, force: bool, protect: Iterable[str | Path] = ()) -> None:
    """Refuse, before any work, a destination the run may not replace.

    Refused whatever ``force`` says: a destination that is not a folder, one that holds a path of
    ``protect`` (the input workbook), and one holding anything the tool did not write. An earlier
    run of the tool is replaced only with ``force``.
    """
    out_dir = Path(out_dir)
    where = out_dir.resolve()
    for path in protect:
        path = Path(path).resolve()
        if path == where or where in path.parents:
            raise ForeignFiles(f"{out_dir} holds the input workbook {path.name}; the tool never "
                               "writes over its input. Choose another --out folder.")
    if not out_dir.exists() and not out_dir.is_symlink():
        return
    if out_dir.is_symlink() or not out_dir.is_dir():
        raise ForeignFiles(f"{out_dir} is {'a link' if out_dir.is_symlink() else 'a file'}, not "
                           "a results folder; it is kept. Choose another --out folder.")
    if not any(out_dir.iterdir()):
        return
    foreign = foreign_entries(out_dir)
    if foreign:
        shown = "; ".join(foreign[:NAMED])
        more = f"; and {len(foreign) - NAMED} more" if len(foreign) > NAMED else ""
        raise ForeignFiles(
            f"{out_dir} holds files the tool did not write: {shown}{more}. Nothing in it was "
            "touched, and --force does not change that: the tool replaces only a folder of its "
            "own results. Choose another --out folder, or move those files away.")
    if not force:
        raise DestinationExists(
            f"{out_dir} already holds files of an earlier run; they are kept. Use --force to "
            f"replace them, or --out DIR to write elsewhere.")


# ---------------------------------------------------------------------------------------------
# Claiming the destination, so that two runs at once cannot both write it.
# ---------------------------------------------------------------------------------------------

def lock_path(out_dir: Path) -> Path:
    return out_dir.with_name(f".{out_dir.name}.lock")


@contextlib.contextmanager
def claim(out_dir: Path) -> Iterator[None]:
    """Hold ``out_dir`` for this run; a second run claiming it meanwhile gets DestinationBusy.

    The claim is a lock file beside the folder, locked with ``flock`` (released by the kernel if
    the process dies) and removed at the end. Parent folders created for it are removed again
    when the run leaves no results folder in them.
    """
    out_dir = Path(out_dir)
    created = make_parents(out_dir.parent)
    try:
        with _locked(lock_path(out_dir), out_dir):
            yield
    finally:
        if not out_dir.exists():
            remove_empty(created)


def make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents (umask applies); return those created."""
    missing = [p for p in [folder, *folder.parents] if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    return missing  # deepest first


def remove_empty(folders: list[Path]) -> None:
    """Remove the folders the run created, deepest first, where they are still empty."""
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()


@contextlib.contextmanager
def _locked(path: Path, out_dir: Path) -> Iterator[None]:
    busy = DestinationBusy(f"another run is writing into {out_dir} right now; wait for it to "
                           "finish, or use --out DIR to write elsewhere.")
    if fcntl is None:  # pragma: no cover - Windows: an exclusive lock file
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            raise busy from None
    else:
        fd = _flock(path, busy)
    try:
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)


def _flock(path: Path, busy: DestinationBusy) -> int:
    """An open descriptor of ``path`` holding its exclusive lock. A lock file removed by its
    holder between our open and our lock is a different file: open it again."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise busy from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# Writing.
# ---------------------------------------------------------------------------------------------

def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_manifest(folder: Path) -> Path:
    """List every file in ``folder`` with its SHA-256 in ``run-manifest.json``."""
    files = {entry.relative_to(folder).as_posix(): sha256_file(entry)
             for entry in _entries(folder) if entry.is_file()}
    from . import __version__

    doc = {"written_by": f"mineral-portfolio-optimizer {__version__}",
           "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "note": "The tool replaces this folder only while every file here is listed below "
                   "unchanged; anything else in it makes the tool refuse to touch it.",
           "files": files}
    path = folder / MANIFEST
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def _json_default(value):
    if isinstance(value, (set, tuple)):
        return list(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _clean(value):
    """JSON has no NaN or infinity: write null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_json(result: Result, path: Path) -> None:
    path.write_text(json.dumps(_clean(result.to_json()), indent=2, default=_json_default),
                    encoding="utf-8")


Writer = Callable[[Result, Path], object]


class WrittenThenInterrupted(KeyboardInterrupt):
    """A signal arrived while the finished folder was being moved into place: it is complete."""

    def __init__(self, folder: Path):
        super().__init__(str(folder))
        self.folder = folder


def write_run(result: Result, out_dir: Path, writers: list[Writer], force: bool = False,
              protect: Iterable[str | Path] = ()) -> Path:
    """Run every writer into a hidden folder beside ``out_dir``, then move it into place.

    Each writer is called with (result, that folder). The destination is checked first (see
    :func:`check_destination`) and again just before the swap. On any error or signal the hidden
    folder is removed and the destination is as it was. Returns ``out_dir``.
    """
    out_dir = Path(out_dir)
    protect = tuple(protect)
    check_destination(out_dir, force, protect)
    created = make_parents(out_dir.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    committed = False
    try:
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it private (0700)
        for writer in writers:
            writer(result, tmp)
        write_manifest(tmp)
        with signals_held():
            check_destination(out_dir, force, protect)
            _swap(tmp, out_dir)
            committed = True
    except KeyboardInterrupt as exc:
        if committed:
            raise WrittenThenInterrupted(out_dir) from exc
        _discard(tmp, created, out_dir)
        raise
    except BaseException:
        _discard(tmp, created, out_dir)
        raise
    return out_dir


def _swap(tmp: Path, out_dir: Path) -> None:
    """Put ``tmp`` in the place of ``out_dir`` (an earlier run of ours, or nothing)."""
    old = None
    if out_dir.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        os.replace(out_dir, old / out_dir.name)
    try:
        os.replace(tmp, out_dir)
    except BaseException:
        if old is not None:  # put the earlier run back
            os.replace(old / out_dir.name, out_dir)
            old.rmdir()
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _discard(tmp: Path, created: list[Path], out_dir: Path) -> None:
    shutil.rmtree(tmp, ignore_errors=True)
    if not out_dir.exists():
        remove_empty(created)


def load_result(folder: Path, workbook: str | Path | None = None) -> Result:
    """The Result of an earlier run, rebuilt from its results.json and its input workbook.

    The workbook must be the one that was solved: its SHA-256 is checked against results.json.
    """
    from .validate import load_instance

    doc_path = Path(folder) / RUN_MARKER
    if not doc_path.exists():
        raise FileNotFoundError(f"{doc_path} not found: run solve first")
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    source = Path(workbook or doc.get("input_file") or "")
    if not source.is_file():
        raise FileNotFoundError(f"the input workbook {source} is not there; pass --workbook PATH")
    digest = sha256_file(source)
    if doc.get("input_sha256") and digest != doc["input_sha256"]:
        raise ValueError(f"{source} has changed since the solve (SHA-256 {digest[:12]}... differs "
                         f"from {doc['input_sha256'][:12]}...); solve it again")
    result = Result.from_json(doc, load_instance(source))
    return replace(result, analyses=read_analyses(doc))


def earlier_run_of(folder: Path, workbook: str | Path) -> dict | None:
    """The results.json of an earlier run in ``folder`` of the same workbook (same SHA-256), when
    the folder holds nothing but that run's own files; else None."""
    doc_path = Path(folder) / RUN_MARKER
    if not doc_path.is_file() or foreign_entries(Path(folder)):
        return None
    try:
        doc = json.loads(doc_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    source = Path(workbook)
    if not source.is_file() or doc.get("input_sha256") != sha256_file(source):
        return None
    return doc


def carry_over(new: Analyses, earlier: Analyses) -> Analyses:
    """``new`` with every analysis it did not run taken from ``earlier`` (a later command adds to
    a run, it does not drop what the run had)."""
    from dataclasses import fields

    kept = {f.name: getattr(earlier, f.name) for f in fields(Analyses)
            if f.name not in ("sensitivity_skipped", "extra")
            and getattr(new, f.name) is None and getattr(earlier, f.name) is not None}
    return replace(new, **kept)


def read_analyses(doc: Mapping[str, Any]) -> Analyses:
    """The analyses a results.json holds, typed again: the one place that reads them back.

    The keys read are those ``doc["analyses"]`` lists (every key when it has no such list: a
    mapping of analysis tables alone). A table that is not what its analysis writes, and any key
    no analysis writes, is kept in ``Analyses.extra`` as found."""
    from .analyses.alternatives import Alternatives
    from .analyses.frontier import BudgetLadder, Frontier
    from .analyses.futures import TABLE_KEYS as FUTURES_KEYS, Futures
    from .analyses.priority import TABLE_KEYS as PRIORITY_KEYS, from_tables as priority_from_tables
    from .analyses.proposal import from_tables as proposal_from_tables
    from .analyses.reach import Reach
    from .analyses.riskprice import RiskPrice
    from .analyses.scenarios import RobustPrice, ScenarioComparison
    from .analyses.sensitivity import BudgetSensitivity
    from .analyses.simulate import TABLE_KEYS, SimulationTables
    from .analyses.stress import StressTest
    from .analyses.whynot import WhyNot

    keys = list(doc["analyses"]) if "analyses" in doc else list(doc)
    tables = {k: doc[k] for k in keys if k in doc}
    extra: dict[str, Any] = {}

    def rows(key: str) -> tuple | None:
        value = tables.pop(key, None)
        if value is None:
            return None
        if isinstance(value, (list, tuple)) and all(isinstance(r, Mapping) for r in value):
            return tuple(value)
        extra[key] = value
        return None

    found: dict[str, Any] = {"sensitivity_skipped": bool(tables.pop("sensitivity_skipped", False))}
    if (stress := rows("stress_test")) is not None:
        found["stress"] = StressTest(stress)
    if isinstance(tables.get("proposal"), Mapping):
        found["proposal"] = proposal_from_tables(tables)
        tables.pop("proposal")
        tables.pop("proposal_projects", None)
        tables.pop("proposal_summary", None)
    if isinstance(tables.get("priority"), Mapping):
        found["priority"] = priority_from_tables(tables)
        for key in PRIORITY_KEYS:
            tables.pop(key, None)
    if (price := rows("risk_price")) is not None:
        found["risk_price"] = RiskPrice(price)
    if (reach := rows("reach")) is not None:
        found["reach"] = Reach(reach, rows("reach_levels") or ())
    if (robust := rows("robust")) is not None:
        found["robust"] = RobustPrice(robust)
    if (scenarios := rows("scenarios")) is not None:
        found["scenarios"] = ScenarioComparison(scenarios, rows("scenario_projects") or ())
    if isinstance(tables.get("why_not"), Mapping):
        found["why_not"] = WhyNot(dict(tables.pop("why_not")), str(tables.pop("why_not_note", "")
                                                                    or ""))
    if (sensitivity := rows("sensitivity")) is not None:
        found["sensitivity"] = BudgetSensitivity(sensitivity)
    if (frontier := rows("frontier")) is not None:
        found["frontier"] = Frontier(frontier, str(tables.pop("frontier_note", "") or ""))
    if (ladder := rows("budget_ladder")) is not None:
        found["budget_ladder"] = BudgetLadder(ladder)
    if (alternatives := rows("alternatives")) is not None:
        found["alternatives"] = Alternatives(alternatives,
                                             str(tables.pop("alternatives_note", "") or ""))
    simulated = {k: tables.pop(k) for k in TABLE_KEYS if tables.get(k) is not None}
    if simulated:
        found["simulation"] = SimulationTables(simulated)
    if (futures := Futures.from_tables(tables)) is not None:
        found["futures"] = futures
        for key in FUTURES_KEYS:
            tables.pop(key, None)
    extra.update(tables)
    return Analyses(**found, extra=extra)
