"""The decision memo a funding committee reads, as HTML, Word, Markdown and PDF with the same
content.

:func:`write_memo` draws the charts (:mod:`optimizer.charts`) as PNG files, builds one neutral
:class:`~optimizer.memo.model.Document` from the Result (:mod:`optimizer.memo.content`) and
renders it four ways (:mod:`~optimizer.memo.html`, :mod:`~optimizer.memo.docx`,
:mod:`~optimizer.memo.markdown`, :mod:`~optimizer.memo.pdf`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from .. import charts
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


def write_charts(result: Result, folder: Path) -> dict[str, Path]:
    """Draw every chart the memo shows into ``folder`` as PNG; return chart key -> path.

    The timeline is drawn only when a project is funded; an optional section's chart only when
    its analysis is present."""
    folder = Path(folder)
    drawn: dict[str, Path] = {}
    for key, draw in CORE_CHARTS.items():
        if key == "timeline" and not result.starts:
            continue
        drawn[key] = charts.save_png(draw(result), folder / CHART_FILES[key])
    tables = result.analyses.tables()
    for option in OPTIONAL_SECTIONS:
        if option.chart is not None and tables.get(option.key) is not None:
            drawn[option.key] = charts.save_png(option.chart(result),
                                                folder / f"chart_{option.key}.png")
    return drawn


def write_memo(result: Result, folder: Path, *, run_time: datetime | None = None
               ) -> dict[str, Path]:
    """Write memo.html (self-contained), memo.docx, memo.md, memo.pdf and the chart PNGs into
    ``folder``.

    ``run_time`` is the run date shown in the memo (default: now, UTC). Returns the files
    written: keys "html", "docx", "md", "pdf" and "chart_<key>" for each chart."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pngs = write_charts(result, folder)
    doc = build_document(result, pngs, run_time or datetime.now(timezone.utc))
    written = {
        "html": write_html(doc, folder / "memo.html"),
        "docx": write_docx(doc, folder / "memo.docx"),
        "md": write_markdown(doc, folder / "memo.md"),
        "pdf": write_pdf(doc, folder / "memo.pdf"),
    }
    written.update({f"chart_{key}": path for key, path in pngs.items()})
    return written
