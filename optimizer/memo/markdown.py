"""Render the memo :class:`~optimizer.memo.model.Document` as Markdown (GitHub/CommonMark).

Tables are pipe tables; charts are referenced as the PNG files written beside ``memo.md``.
Text from the workbook is escaped so it stays text: ``<`` and ``>`` become ``&lt;``/``&gt;`` (no
raw HTML), ``|`` cannot end a cell, Markdown punctuation is backslash-escaped, and a line cannot
start a heading, list, quote or setext underline (a leading ``=`` or ``#`` is escaped).
"""

from __future__ import annotations

import re
from pathlib import Path

from .model import Block, Bullets, Document, Figure, Paragraph, Table

_PUNCTUATION = re.compile(r"([\\`*_\[\]|~$])")
_LINE_START = re.compile(r"^([#=+\-:>]|\d+[.)])")


def escape(text: str, line_start: bool = False) -> str:
    """Markdown-safe inline text on one line: ``&``, ``<``, ``>`` as entities, Markdown
    punctuation (and ``$``, which some renderers take for maths) backslash-escaped, and a leading
    ``=`` escaped. With ``line_start`` (a paragraph), anything that would start a heading, list,
    quote or setext underline is escaped too."""
    text = " ".join(str(text).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _PUNCTUATION.sub(r"\\\1", text)
    if line_start:
        return _LINE_START.sub(lambda m: "\\" + m.group(1), text)
    return "\\" + text if text.startswith("=") else text


def render_markdown(doc: Document) -> str:
    """The whole memo as Markdown text."""
    lines = [f"# {escape(doc.title)}", "", f"*{escape(doc.subtitle)}*", ""]
    for index, section in enumerate(doc.sections):
        lines += [f"## {escape(doc.heading(index))}", ""]
        for block in section.blocks:
            lines += render_block(block) + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


def write_markdown(doc: Document, path: Path) -> Path:
    """Write the memo to ``path`` (UTF-8); figures are linked by file name, so the PNGs must sit
    beside it."""
    path.write_text(render_markdown(doc), encoding="utf-8")
    return path


def render_block(block: Block) -> list[str]:
    if isinstance(block, Paragraph):
        text = escape(block.text, line_start=True)
        if block.style == "lead":
            return [f"> {text}"]
        if block.style == "note":
            return [f"*{text}*"]
        return [text]
    if isinstance(block, Bullets):
        return [f"- {escape(item, line_start=True)}" for item in block.items]
    if isinstance(block, Table):
        return render_table(block)
    if isinstance(block, Figure):
        return [f"![{escape(block.alt or block.caption)}]({Path(block.path).name})", "",
                f"*{escape(block.caption)}*"]
    raise TypeError(f"unknown block {type(block).__name__}")


def render_table(table: Table) -> list[str]:
    rule = {"left": ":---", "right": "---:", "center": ":---:"}

    def row(cells) -> str:
        return "| " + " | ".join(escape(c) if c else " " for c in cells) + " |"

    lines = [f"*{escape(table.caption)}*", ""] if table.caption else []
    lines.append(row(table.header))
    lines.append("| " + " | ".join(rule[a] for a in table.align) + " |")
    for i, cells in enumerate(table.rows):
        if i in table.emphasis:
            cells = tuple(f"**{escape(c)}**" if c else c for c in cells)
            lines.append("| " + " | ".join(c if c else " " for c in cells) + " |")
        else:
            lines.append(row(cells))
    if table.footer:
        lines.append("| " + " | ".join(f"**{escape(c)}**" if c else " " for c in table.footer)
                     + " |")
    return lines
