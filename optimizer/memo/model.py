"""The memo as a neutral document: sections of paragraphs, bullet lists, tables and figures.

:mod:`optimizer.memo.content` builds one :class:`Document` from a Result; the HTML, Word and
Markdown renderers each turn that same object into a file, so the three files always say the same
thing. Every string in the model is final, already formatted text (numbers included); renderers
only escape and lay it out. :func:`sanitize` removes the characters XML 1.0 forbids (control
characters from a hostile workbook), so no renderer can be broken by them.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Union

Align = Literal["left", "right", "center"]

# Characters XML 1.0 allows: tab, newline, carriage return and everything from U+0020 except the
# surrogates and U+FFFE/U+FFFF. Anything else is dropped from every string of the model.
_XML_FORBIDDEN = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Paragraph:
    """Plain text. ``style``: "body", "lead" (the recommendation, set larger) or "note" (small)."""

    text: str
    style: str = "body"


@dataclass(frozen=True)
class Bullets:
    """An unordered list of plain-text items."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table of formatted strings. ``align`` has one entry per column; ``emphasis`` holds the
    indexes of data rows to highlight (e.g. years where the budget binds); ``footer`` is an
    optional total row, kept apart from the data rows."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align: tuple[Align, ...]
    caption: str = ""
    emphasis: frozenset[int] = frozenset()
    footer: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        width = len(self.header)
        if len(self.align) != width:
            raise ValueError(f"table {self.caption!r}: {len(self.align)} alignments for "
                             f"{width} columns")
        for row in (*self.rows, *([self.footer] if self.footer else [])):
            if len(row) != width:
                raise ValueError(f"table {self.caption!r}: a row has {len(row)} cells, the header "
                                 f"{width}")


@dataclass(frozen=True)
class Figure:
    """A chart: the PNG file (written beside the memo) and its caption."""

    path: Path
    caption: str
    alt: str = ""


Block = Union[Paragraph, Bullets, Table, Figure]


@dataclass(frozen=True)
class Section:
    """A numbered section: ``key`` is a stable identifier (e.g. "money"), ``title`` the heading."""

    key: str
    title: str
    blocks: tuple[Block, ...] = ()


@dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    sections: tuple[Section, ...] = field(default=())

    def heading(self, index: int) -> str:
        """The numbered heading of section ``index`` (0-based): "3. Timeline"."""
        return f"{index + 1}. {self.sections[index].title}"

    def headings(self) -> list[str]:
        return [self.heading(i) for i in range(len(self.sections))]


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids (NUL, other control characters, lone
    surrogates, U+FFFE/U+FFFF)."""
    return _XML_FORBIDDEN.sub("", str(text))


def sanitize(value):
    """A copy of a model object (or string, tuple, frozenset) with every string made
    :func:`xml_safe`. Paths are kept as they are."""
    if isinstance(value, str):
        return xml_safe(value)
    if isinstance(value, tuple):
        return tuple(sanitize(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: sanitize(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return dataclasses.replace(value, **changes)
    return value


def fit_widths(least: list[float], wants: list[float], total: float) -> list[float]:
    """Column widths that fill ``total``: each column gets at least its ``least`` width and, as
    far as room allows, its ``wants`` width; the room left is shared in proportion to what each
    column still wants. Used by the Word and PDF renderers (any unit)."""
    if sum(least) >= total:
        return [total * w / sum(least) for w in least]
    if sum(wants) <= total:
        return [total * w / sum(wants) for w in wants]
    extra = total - sum(least)
    more = [w - m for w, m in zip(wants, least)]
    return [m + extra * x / sum(more) for m, x in zip(least, more)]
