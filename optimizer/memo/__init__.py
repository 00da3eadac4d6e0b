"""The decision memo a funding committee reads, as HTML, Word, Markdown and PDF with the same
content.

:func:`write_memo` draws the charts (:mod:`optimizer.charts`) as PNG files, builds one neutral
:class:`~optimizer.memo.model.Document` from the Result (:mod:`optimizer.memo.content`) and
renders it four ways (:mod:`~optimizer.memo.html`, :mod:`~optimizer.memo.docx`,
:mod:`~optimizer.memo.markdown`, :mod:`~optimizer.memo.pdf`).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from .. import charts
from ..interrupts import worker_pool
from ..results import Result
from .content import OPTIONAL_SECTIONS, build_document
from .context import CHART_FILES
from .docx import write_docx
from .html import write_html
from .markdown import write_markdown
from .pdf import write_pdf

__all__ = ["write_memo", "write_charts", "build_document"]

CORE_CHARTS = {
    "timeline": charts.timeline_figure,
    "spend": charts.spend_figure,
    "china_share": charts.china_share_figure,
}


def chart_jobs(result: Result) -> list[tuple[str, str]]:
    """(chart key, file name) of every chart the memo shows, in the memo's order.

    The timeline is drawn only when a project is funded; an optional section's chart only when
    its analysis is present."""
    jobs = [(key, CHART_FILES[key]) for key in CORE_CHARTS
            if key != "timeline" or result.starts]
    tables = result.analyses.tables()
    jobs += [(option.key, f"chart_{option.key}.png") for option in OPTIONAL_SECTIONS
             if option.chart is not None and tables.get(option.key) is not None]
    return jobs


def draw_chart(result: Result, key: str, path: Path) -> Path:
    """Draw the chart ``key`` of :func:`chart_jobs` into ``path`` (PNG)."""
    draw = CORE_CHARTS.get(key) or next(o.chart for o in OPTIONAL_SECTIONS if o.key == key)
    return charts.save_png(draw(result), path)


def write_charts(result: Result, folder: Path,
                 helper: ProcessPoolExecutor | None = None) -> dict[str, Path]:
    """Draw every chart the memo shows into ``folder`` as PNG; return chart key -> path, in the
    memo's order. With ``helper`` (a process), it draws every other chart meanwhile."""
    folder = Path(folder)
    jobs = chart_jobs(result)
    theirs = {key: _elsewhere(helper, draw_chart, result, key, folder / name)
              for key, name in jobs[1::2]}
    drawn = {key: draw_chart(result, key, folder / name) for key, name in jobs[0::2]}
    drawn.update({key: future.result() for key, future in theirs.items()})
    return {key: drawn[key] for key, _ in jobs}


def _elsewhere(helper: ProcessPoolExecutor | None, func: Callable[..., Path],
               *args: Any) -> Future:
    """``func(*args)`` handed to ``helper``, or done here at once when there is none."""
    if helper is not None:
        return helper.submit(func, *args)
    done: Future = Future()
    done.set_result(func(*args))
    return done


@contextmanager
def report_helper(enabled: bool = True) -> Iterator[ProcessPoolExecutor | None]:
    """One forked process that writes part of the memo beside this one (charts, the Word file),
    or None: on one core, where fork is not available, in a daemonic process (a pool's worker,
    which may have no children), or when not ``enabled``. Forked, it has the charting and
    document libraries loaded already. An interrupt stops it at once."""
    if (not enabled or (os.cpu_count() or 1) < 2 or multiprocessing.current_process().daemon
            or "fork" not in multiprocessing.get_all_start_methods()):
        yield None
        return
    with worker_pool(1, multiprocessing.get_context("fork")) as pool:
        yield pool


def write_memo(result: Result, folder: Path, *, run_time: datetime | None = None,
               helper: bool = True) -> dict[str, Path]:
    """Write memo.html (self-contained), memo.docx, memo.md, memo.pdf and the chart PNGs into
    ``folder``.

    ``run_time`` is the run date shown in the memo (default: now, UTC). ``helper``: a second
    process (:func:`report_helper`) draws half the charts and writes the Word file while this
    one draws the rest and writes the others; the files are the same either way. Returns the
    files written: keys "html", "docx", "md", "pdf" and "chart_<key>" for each chart."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with report_helper(helper) as pool:
        pngs = write_charts(result, folder, pool)
        doc = build_document(result, pngs, run_time or datetime.now(timezone.utc))
        docx = _elsewhere(pool, write_docx, doc, folder / "memo.docx")
        html = write_html(doc, folder / "memo.html")
        md = write_markdown(doc, folder / "memo.md")
        pdf = write_pdf(doc, folder / "memo.pdf")
        written = {"html": html, "docx": docx.result(), "md": md, "pdf": pdf}
    written.update({f"chart_{key}": path for key, path in pngs.items()})
    return written
