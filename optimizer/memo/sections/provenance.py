"""The memo's last section: assumptions and provenance (run facts, settings, sources)."""

from __future__ import annotations

from datetime import timezone
from pathlib import Path
from typing import Any, Sequence

from .. import text as fmt
from ... import __version__
from ...tables import OBJECTIVE_WORDS
from ..context import MemoContext
from ..model import Block, Bullets, Paragraph, Section, Table

# ---------------------------------------------------------------------------------------------
# Last: Assumptions and provenance


def provenance(ctx: MemoContext) -> Section:
    """Run facts (input file and digest, tool and solver, date), every setting, the workbook's
    Sources sheet and the reader's warnings."""
    result = ctx.result
    inst, info, s = result.instance, result.info, result.instance.settings
    run = [
        ("Input file", Path(inst.source_path).name if inst.source_path else "not recorded"),
        ("Input SHA-256", inst.input_sha256 or "not recorded"),
        ("Tool version", f"optimizer {__version__}"),
        ("Solver", info.solver),
        ("Solver status", info.status_words),
        ("Optimality gap", "not reported" if info.mip_gap is None else
         f"{100 * info.mip_gap:.3f}%"),
        ("Solve time", f"{info.solve_seconds:.2f} s"),
        ("Objective", f"{s.objective}: {OBJECTIVE_WORDS.get(s.objective, '')}"),
        ("Objective value", fmt.objective_amount(result.objective_value, s.objective)),
        ("Security (reliance removed)", f"{result.evaluation.security:,.3f} share-years, "
                                        "discounted"),
        ("Run date (UTC)", f"{ctx.run_time.astimezone(timezone.utc):%Y-%m-%d %H:%M}"),
    ]
    blocks: list[Block] = [
        Table(("Item", "Value"), tuple(run), ("left", "left"), caption="This run"),
        Table(("Setting", "Value"), tuple((name, setting_text(name, getattr(s, name)))
                                          for name in s.__dataclass_fields__),
              ("left", "left"), caption="Settings used (the workbook's Settings sheet, defaults "
                                        "filled in)"),
    ]
    if inst.sources:
        blocks.append(Paragraph("Sources (the workbook's Sources sheet), one line per row:"))
        blocks.append(Bullets(tuple(source_line(inst.sources_header, r.cells)
                                    for r in inst.sources)))
    else:
        blocks.append(Paragraph("The workbook has no Sources sheet: the origin of its figures is "
                                "not recorded in it.", style="note"))
    if inst.warnings:
        blocks.append(Paragraph("Warnings from reading the workbook:"))
        blocks.append(Bullets(tuple(str(w) for w in inst.warnings)))
    return Section("provenance", "Assumptions and provenance", tuple(blocks))


def source_line(header: Sequence[str], cells: Sequence[object]) -> str:
    """One Sources row as a line: its first cell, then "column: value" for every other filled
    cell. A list reads better than a wide table when rows carry long notes and file paths."""
    texts = [" ".join(str(c).split()) for c in cells]
    names = list(header) + [f"column {i + 1}" for i in range(len(header), len(texts))]
    lead = texts[0] if texts else ""
    rest = "; ".join(f"{n}: {t}" for n, t in zip(names[1:], texts[1:]) if t)
    return f"{lead} ({rest})" if lead and rest else lead or rest


def setting_text(name: str, value: Any) -> str:
    """A setting's value as text: rates as percent, money in $M, blanks as "not set"."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name in ("discount_rate", "delay_probability", "alternatives_within"):
        return f"{fmt.share(value)} ({value:g})"
    if name == "mip_gap":
        return f"{100 * value:.3f}% ({value:g})"
    if name.endswith("_musd"):
        return fmt.money(value)
    if name == "time_limit_s":
        return f"{value:g} s"
    return str(value)
