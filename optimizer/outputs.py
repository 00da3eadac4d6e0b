"""Write a run's files into its folder atomically, never silently replacing an earlier run.

All files are first written into a fresh temporary folder beside the destination. Only when every
file is complete does the folder take the destination's place. An existing destination that holds
an earlier run is kept unless ``force`` is given (the caller checks with :func:`check_destination`
before solving, so a refused run costs nothing).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from .results import Result

RUN_MARKER = "results.json"


class DestinationExists(Exception):
    """The output folder holds an earlier run and --force was not given."""


def default_out_dir(workbook: str | Path, root: str | Path = "reports") -> Path:
    return Path(root) / Path(workbook).stem


def check_destination(out_dir: Path, force: bool) -> None:
    """Refuse, before any work, to overwrite an earlier run without ``force``."""
    if out_dir.exists() and any(out_dir.iterdir()) and not force:
        raise DestinationExists(
            f"{out_dir} already holds files of an earlier run; they are kept. Use --force to "
            f"replace them, or --out DIR to write elsewhere.")


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


def write_run(result: Result, out_dir: Path, writers: list[Writer], force: bool = False) -> Path:
    """Run every writer into a temporary folder, then move it into place atomically.

    Each writer is called with (result, temporary folder). Returns ``out_dir``.
    """
    out_dir = Path(out_dir)
    check_destination(out_dir, force)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        for writer in writers:
            writer(result, tmp)
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def load_result(folder: Path, workbook: str | Path | None = None) -> Result:
    """The Result of an earlier run, rebuilt from its results.json and its input workbook.

    The workbook must be the one that was solved: its SHA-256 is checked against results.json.
    """
    import hashlib

    from .validate import load_instance

    doc_path = Path(folder) / RUN_MARKER
    if not doc_path.exists():
        raise FileNotFoundError(f"{doc_path} not found: run solve first")
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    source = Path(workbook or doc.get("input_file") or "")
    if not source.is_file():
        raise FileNotFoundError(f"the input workbook {source} is not there; pass --workbook PATH")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    if doc.get("input_sha256") and digest != doc["input_sha256"]:
        raise ValueError(f"{source} has changed since the solve (SHA-256 {digest[:12]}... differs "
                         f"from {doc['input_sha256'][:12]}...); solve it again")
    return Result.from_json(doc, load_instance(source))
