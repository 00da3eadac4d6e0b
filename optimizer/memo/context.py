"""What every memo section reads: the context (result, charts, run date), chart files, and the
small helpers several sections share (figures, project labels, generic tables, cells of ids)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping, Sequence

from . import text as fmt
from ..results import Result
from .model import Block, Figure, Table

# Chart keys and the file each is written to, beside the memo.
CHART_FILES = {
    "timeline": "chart_timeline.png",
    "spend": "chart_spend.png",
    "china_share": "chart_china_share.png",
}
FIRST_NAMED = 3  # the recommendation names this many funded projects, then counts the rest


@dataclass(frozen=True)
class MemoContext:
    """What every section builder reads: the result, the chart PNGs written so far (chart key ->
    path) and the run date."""

    result: Result
    charts: Mapping[str, Path]
    run_time: datetime

    @property
    def report_year(self) -> int:
        """The year the memo reports shares for: target_year, else the horizon's last year."""
        s = self.result.instance.settings
        return s.target_year if s.target_year is not None else s.last_year

def figure(ctx: MemoContext, key: str, caption: str, alt: str) -> tuple[Block, ...]:
    """The chart ``key`` as a figure block, or nothing when it was not drawn."""
    path = ctx.charts.get(key)
    return (Figure(path, caption, alt),) if path is not None else ()


def label(result: Result, project_id: str) -> str:
    return fmt.project_label(result.instance.projects[project_id].name, project_id)

def generic_table(rows: Sequence[Mapping[str, Any]], caption: str = "") -> Table:
    """A list of dicts as a table: columns from the keys (first-seen order), cells formatted by
    key name (see :func:`optimizer.memo.text.cell_text`), numbers right-aligned."""
    keys: list[str] = []
    for row in rows:
        keys.extend(k for k in row if k not in keys)
    body = tuple(tuple(fmt.cell_text(k, row.get(k)) for k in keys) for row in rows)
    align = tuple("right" if any(fmt.is_number(r.get(k)) for r in rows) else "left"
                  for k in keys)
    return Table(tuple(fmt.header_for(k) for k in keys), body, align,  # type: ignore[arg-type]
                 caption=caption)


def is_table(value: Any) -> bool:
    return (isinstance(value, (list, tuple)) and bool(value)
            and all(isinstance(r, Mapping) for r in value))

def rows_of(value: Any) -> list[Mapping[str, Any]]:
    """The dict rows of a list-of-dict analysis (anything else: no rows)."""
    if not isinstance(value, (list, tuple)):
        return []
    return [r for r in value if isinstance(r, Mapping)]


def number(value: Any) -> float | None:
    return float(value) if fmt.is_number(value) else None


def id_labels(result: Result, ids: Any) -> list[str]:
    """Comma-joined project ids (as the analyses write them) as "Name (ID)" labels."""
    if isinstance(ids, str):
        ids = [i.strip() for i in ids.split(",")]
    out = []
    for pid in ids or []:
        pid = str(pid)
        if not pid:
            continue
        out.append(label(result, pid) if pid in result.instance.projects else pid)
    return out


def ids_cell(value: Any, empty: str = fmt.MISSING) -> str:
    """Comma-joined project ids for a table cell, as written in results.json."""
    text = fmt.cell_text("ids", value) if value is not None else ""
    return text if text and text != fmt.MISSING else empty


def others(ids: Sequence[str], shown: Sequence[str]) -> list[str]:
    """The projects of ``ids`` not in ``shown``, in the order of ``ids``."""
    kept = set(shown)
    return [pid for pid in ids if pid not in kept]


def shortened_list(shown: int, total: int, what: str, sheet: str) -> str:
    """The sentence that says a list is cut: which projects it shows and where the rest are."""
    return (f"The table lists the {shown} largest by capex of the {total:,} {what}; the other "
            f"{total - shown:,} are summed in one row. The full list is in results.xlsx, sheet "
            f"{sheet}.")
