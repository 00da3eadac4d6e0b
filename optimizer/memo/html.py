"""Render the memo :class:`~optimizer.memo.model.Document` as ONE self-contained HTML file.

Inline CSS, charts embedded as base64 ``data:`` URIs, no scripts and no external references, so
the file can be mailed and opened anywhere. It prints on A4 (``@page``): the body is as wide as
the printable area, tables wrap long words instead of overflowing, and page breaks are avoided
inside figures and table rows. Every string is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from .model import Block, Bullets, Document, Figure, Paragraph, Section, Table

PAGE_MARGIN_MM = (16, 15)  # top/bottom, left/right
CONTENT_WIDTH_MM = 210 - 2 * PAGE_MARGIN_MM[1]  # A4 width less the side margins
CHAR_MM = 1.75  # generous width of one character of 8.5 pt table text (bold header), mm
CELL_PADDING_MM = 3.2  # left + right padding of a cell and its border, mm
COMPACT_ROWS = 30  # a table with at most this many rows is kept on one page when it fits
LONG_WORD = 20  # characters: a longer word may be broken anywhere in its table cell

CSS = f"""
@page {{ size: A4; margin: {PAGE_MARGIN_MM[0]}mm {PAGE_MARGIN_MM[1]}mm; }}
* {{ box-sizing: border-box; }}
html {{ background: #ffffff; }}
body {{ font-family: "Liberation Sans", Arial, "DejaVu Sans", sans-serif; font-size: 10pt;
  line-height: 1.4; color: #1a1a1a; max-width: {CONTENT_WIDTH_MM}mm; margin: 0 auto;
  padding: 8mm 0; overflow-wrap: break-word; }}
h1 {{ font-size: 17pt; color: #1f4e78; margin: 0 0 2mm 0; }}
p.subtitle {{ color: #555555; margin: 0 0 5mm 0; font-size: 9pt; }}
h2 {{ font-size: 13pt; color: #1f4e78; border-bottom: 1.5px solid #1f4e78; padding-bottom: 1mm;
  margin: 7mm 0 2.5mm 0; break-after: avoid; page-break-after: avoid; }}
p {{ margin: 0 0 2.5mm 0; }}
p.lead {{ font-size: 11pt; background: #f3f6fa; border-left: 4px solid #1f4e78;
  padding: 2.5mm 3.5mm; }}
p.note {{ font-size: 8.5pt; color: #444444; }}
ul {{ margin: 0 0 2.5mm 5mm; padding-left: 4mm; font-size: 9pt; }}
table {{ width: 100%; max-width: 100%; border-collapse: collapse; margin: 0 0 4mm 0;
  font-size: 8.5pt; }}
caption {{ caption-side: top; text-align: left; font-weight: bold; font-size: 8.5pt;
  color: #333333; padding: 0 0 1mm 0; }}
th, td {{ padding: 1mm 1.5mm; border-bottom: 0.5px solid #c8c8c8; vertical-align: top;
  overflow-wrap: break-word; word-break: normal; }}
th.breakable, td.breakable {{ overflow-wrap: anywhere; }}
th {{ background: #1f4e78; color: #ffffff; font-weight: bold; text-align: left; }}
thead {{ display: table-header-group; }}
tfoot {{ display: table-row-group; }}
tfoot td {{ font-weight: bold; border-top: 1.5px solid #1f4e78; border-bottom: none; }}
tr {{ break-inside: avoid; page-break-inside: avoid; }}
table.compact {{ break-inside: avoid; page-break-inside: avoid; }}
tr.emphasis td {{ background: #fbe3e0; font-weight: bold; }}
.right {{ text-align: right; font-variant-numeric: tabular-nums; }}
.center {{ text-align: center; }}
.left {{ text-align: left; }}
figure {{ margin: 0 0 4mm 0; break-inside: avoid; page-break-inside: avoid; text-align: center; }}
figure img {{ max-width: 100%; max-height: 245mm; width: auto; height: auto; }}
figcaption {{ font-size: 8.5pt; color: #444444; text-align: left; }}
@media print {{ body {{ padding: 0; max-width: none; }} h2 {{ margin-top: 5mm; }} }}
"""


def e(text: str) -> str:
    """Escape text for HTML content and attribute values (quotes included)."""
    return html.escape(str(text), quote=True)


def render_html(doc: Document) -> str:
    """The whole memo as an HTML string."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(doc.title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(doc.title)}</h1>",
        f'<p class="subtitle">{e(doc.subtitle)}</p>',
    ]
    for index, section in enumerate(doc.sections):
        parts.append(render_section(doc.heading(index), section))
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def write_html(doc: Document, path: Path) -> Path:
    """Write the memo to ``path`` (UTF-8) and return it."""
    path.write_text(render_html(doc), encoding="utf-8")
    return path


def render_section(heading: str, section: Section) -> str:
    body = "\n".join(render_block(block) for block in section.blocks)
    return f'<section id="{e(section.key)}">\n<h2>{e(heading)}</h2>\n{body}\n</section>'


def render_block(block: Block) -> str:
    if isinstance(block, Paragraph):
        cls = f' class="{e(block.style)}"' if block.style != "body" else ""
        return f"<p{cls}>{e(block.text)}</p>"
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{e(item)}</li>" for item in block.items) + "</ul>"
    if isinstance(block, Table):
        return render_table(block)
    if isinstance(block, Figure):
        return render_figure(block)
    raise TypeError(f"unknown block {type(block).__name__}")


def render_table(table: Table) -> str:
    classes = [f"{a} breakable" if b else a
               for a, b in zip(table.align, breakable_columns(table))]

    def cells(tag: str, row: tuple[str, ...]) -> str:
        return "".join(f'<{tag} class="{c}">{e(v)}</{tag}>' for v, c in zip(row, classes))

    rows = []
    for i, row in enumerate(table.rows):
        cls = ' class="emphasis"' if i in table.emphasis else ""
        rows.append(f"<tr{cls}>{cells('td', row)}</tr>")
    caption = f"<caption>{e(table.caption)}</caption>" if table.caption else ""
    compact = ' class="compact"' if len(table.rows) <= COMPACT_ROWS else ""
    foot = f"<tfoot><tr>{cells('td', table.footer)}</tr></tfoot>" if table.footer else ""
    return (f"<table{compact}>{caption}<thead><tr>{cells('th', table.header)}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody>{foot}</table>")


def longest_word(texts) -> int:
    return max((len(word) for text in texts for word in str(text).split()), default=0)


def breakable_columns(table: Table) -> list[bool]:
    """Columns whose words may be broken anywhere so that the table fits the page: a column
    holding a word longer than :data:`LONG_WORD` characters (a digest, a URL), or every column
    when the longest words of all columns together would not fit the content width."""
    columns = list(zip(table.header, *table.rows, *([table.footer] if table.footer else [])))
    longest = [longest_word(column) for column in columns]
    needed_mm = sum(n * CHAR_MM + CELL_PADDING_MM for n in longest)
    if needed_mm > CONTENT_WIDTH_MM:
        return [True] * len(columns)
    return [n > LONG_WORD for n in longest]


def render_figure(fig: Figure) -> str:
    data = base64.b64encode(Path(fig.path).read_bytes()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{e(fig.alt or fig.caption)}">'
            f"<figcaption>{e(fig.caption)}</figcaption></figure>")
