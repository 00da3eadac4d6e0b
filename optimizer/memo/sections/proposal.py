"""Memo section on the committee's own plan: what it gives up against the recommendation."""

from __future__ import annotations

from typing import Any, Mapping

from .. import text as fmt
from ..context import MemoContext, label
from ..model import Block, Bullets, Paragraph, Table


def proposal(ctx: MemoContext, found: Mapping[str, Any]) -> tuple[Block, ...]:
    """The proposal's score, its broken rules, its regret in the objective's unit and in China
    share, and the projects in one plan and not the other."""
    result = ctx.result
    p = result.analyses.proposal
    if p is None:
        return ()
    objective = result.instance.settings.objective
    blocks: list[Block] = []
    n = len(p.starts)
    lead = (f"The committee proposes {fmt.plural(n, 'project')}. Scored by the same rules and "
            f"objective as the recommendation, it is worth "
            f"{fmt.objective_amount(p.objective_value, objective)}, against "
            f"{fmt.objective_amount(p.plan_objective_value, objective)} for the recommended "
            "plan.")
    if p.feasible and p.regret is not None:
        lead += f" It gives up {fmt.objective_amount(p.regret, objective)} of objective."
    if p.regret_note:
        lead += f" {p.regret_note}"
    blocks.append(Paragraph(lead))
    if p.violations:
        blocks.append(Paragraph(f"It breaks {fmt.plural(len(p.violations), 'rule')}:"))
        blocks.append(Bullets(tuple(p.violations)))
    year = p.report_year
    rows = []
    for m, share in p.china_share.items():
        plan = (p.plan_china_share or {}).get(m)
        rows.append((m, fmt.share(share), fmt.share(plan),
                     fmt.share(share - plan) if plan is not None else fmt.MISSING))
    if rows:
        blocks.append(Table(("Mineral", f"China share {year}, proposal",
                             f"China share {year}, recommended", "Difference"), tuple(rows),
                            ("left", "right", "right", "right"),
                            caption="China share: the proposal against the recommendation"))
    differ = []
    if p.only_in_proposal:
        differ.append("only in the proposal: " + ", ".join(
            label(result, q) for q in p.only_in_proposal))
    if p.only_in_plan:
        differ.append("only in the recommended plan: " + ", ".join(
            label(result, q) for q in p.only_in_plan))
    if p.start_differs:
        differ.append("in both, with another start year: " + ", ".join(
            f"{label(result, q)} ({p.starts[q]} proposed, {result.starts[q]} recommended)"
            for q in p.start_differs))
    if differ:
        blocks.append(Paragraph("Projects that differ:"))
        blocks.append(Bullets(tuple(differ)))
    if p.p_targets_met is not None:
        blocks.append(Paragraph(f"Under the risk model the proposal meets every China-share "
                                f"target in {year} in {fmt.share(p.p_targets_met)} of the "
                                "simulated futures."))
    return tuple(blocks)
