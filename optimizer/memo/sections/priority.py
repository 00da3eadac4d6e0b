"""Memo section on the funding priority list: if the money is less, what goes first.

Shows what each budget level buys (the nested portfolios, against the best plan for each budget
alone) and the funding order: every project funded at some level, ranked by the lowest level that
funds it, with the objective it adds there. Money in $M; the objective in its own unit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from .. import text as fmt
from ... import charts
from ...analyses.priority import TABLE_KEYS
from ...tables import objective_unit, sheet_title
from ..context import label, MemoContext
from ..model import Block, Bullets, Paragraph, Table

if TYPE_CHECKING:
    from ...analyses.priority import PriorityPlan

PRIORITY_KEYS = TABLE_KEYS[1:]  # the tables beside the "priority" summary
ORDER_SHEET = sheet_title("priority_order", [])
NAMED_ADDED = 4  # a level's new projects are named up to this many, then counted
LEVEL_STATUS = {"optimal": "proven optimal", "feasible": "best found in the time limit",
                "infeasible": "no plan", "no_plan": "no plan in the time limit"}


def priority(ctx: MemoContext, found: Mapping[str, Any]) -> tuple[Block, ...]:
    """The levels, what each buys, where nesting costs something, and the funding order."""
    result = ctx.result
    plan = result.analyses.priority
    if plan is None:
        return ()
    objective = plan.objective
    unit = objective_unit(objective)
    levels = plan.levels
    blocks: list[Block] = [Paragraph(
        f"The budget is not known yet: the workbook's BudgetLevels sheet gives "
        f"{fmt.plural(len(levels), 'budget level')}, each multiplying every yearly budget and the "
        "total budget, with its probability. The priority plan funds one portfolio per level, "
        "nested: a project funded at a level stays funded at every larger one (its start year "
        "may move), so a budget that turns out larger never withdraws a project. It maximizes "
        "the objective weighted by the levels' probabilities. The recommendation above remains "
        "the best plan at the workbook's own budget.")]
    if plan.expected_objective is None:
        blocks.append(Paragraph(plan.note or "No budget level has a plan."))
        blocks.append(level_table(ctx, objective))
        return tuple(blocks)
    lead = (f"Expected objective of the priority plan: "
            f"{fmt.objective_amount(plan.expected_objective, objective)} "
            f"({LEVEL_STATUS.get(plan.status, plan.status)}")
    if plan.status == "feasible":
        lead += (f", within {fmt.share(plan.mip_gap)} of the best possible"
                 if plan.mip_gap is not None else "; its distance from the best is unknown")
    lead += ")."
    missing = [lp for lp in levels if not lp.has_plan]
    if missing:
        lead += (f" {fmt.plural(len(missing), 'level')} ha{'s' if len(missing) == 1 else 've'} "
                 f"no plan; the priority plan covers the others, "
                 f"{fmt.share(plan.probability_with_plan)} of the probability, and a level "
                 "without a plan counts nothing.")
    blocks.append(Paragraph(lead))
    blocks.append(level_table(ctx, objective))
    for lp in missing:
        why = ("no plan keeps every rule at that budget" if lp.status == "infeasible"
               else "the solver found no plan within the time limit")
        blocks.append(Paragraph(f"Level \"{lp.level}\" (budgets \u00d7 {lp.budget_multiplier:g}): "
                                f"{why}. {lp.note}".strip(), style="note"))
    blocks.append(Paragraph(nesting_sentence(plan, objective)))
    blocks += order_blocks(ctx, unit)
    never = [pid for pid in result.instance.projects
             if all(pid not in lp.starts for lp in plan.with_plan)]
    if never:
        blocks.append(Paragraph(f"{fmt.plural(len(never), 'project')} "
                                f"{'is' if len(never) == 1 else 'are'} funded at no level."))
    return tuple(blocks)


def level_table(ctx: MemoContext, objective: str) -> Table:
    """One row per level: multiplier, probability, status, objective, NPV, capex, projects, the
    projects it adds, and the best plan for that budget alone."""
    plan = ctx.result.analyses.priority
    unit = objective_unit(objective)
    rows = []
    for lp in plan.levels:
        funded = plan.funded(lp)
        added = plan.added(lp)
        rows.append((lp.level, f"{lp.budget_multiplier:g}", fmt.share(lp.probability),
                     LEVEL_STATUS.get(lp.status, fmt.status_text(lp.status)),
                     fmt.objective_cell(lp.objective_value, objective),
                     fmt.amount(lp.npv_musd), fmt.amount(lp.total_capex_musd),
                     f"{len(funded):,}" if lp.has_plan else fmt.MISSING,
                     added_text(ctx, added) if lp.has_plan else fmt.MISSING,
                     fmt.objective_cell(lp.separate_objective_value, objective)))
    return Table(
        header=("Level", "Budget \u00d7", "Probability", "Status", f"Objective ({unit})",
                "NPV $M", "Capex $M", "Projects", "Added at this level",
                f"Best for this budget alone ({unit})"),
        rows=tuple(rows), align=("left", "right", "right", "left", "right", "right", "right",
                                 "right", "left", "right"),
        caption="What each budget level buys")


def added_text(ctx: MemoContext, added: list[str]) -> str:
    if not added:
        return "none"
    if len(added) > NAMED_ADDED:
        return f"{fmt.plural(len(added), 'project')} (see the funding order)"
    return ", ".join(label(ctx.result, pid) for pid in added)


def nesting_sentence(plan: PriorityPlan, objective: str) -> str:
    """Where the nesting costs something against the best plan for each budget alone."""
    costs = [(lp, lp.given_up) for lp in plan.with_plan if lp.given_up is not None
             and lp.given_up > 1e-6 * max(1.0, abs(lp.separate_objective_value or 0.0))]
    if not costs:
        return ("At every level the nested portfolio is worth as much as the best plan for that "
                "budget alone: the priority list costs nothing here.")
    parts = [f"at level \"{lp.level}\" it gives up {fmt.objective_amount(cost, objective)} against "
             f"the best plan for that budget alone" for lp, cost in costs]
    return ("Nesting has a price, paid so that no project is withdrawn when the budget turns out "
            f"larger: {fmt.join_words(parts)}.")


def order_blocks(ctx: MemoContext, unit: str) -> list[Block]:
    """The funding order as a ranked table (cut to the first projects for a long list)."""
    plan = ctx.result.analyses.priority
    order = plan.order
    if not order:
        return [Paragraph("No level funds any project.")]
    shown = order if len(order) <= charts.FULL_LIST_MAX else order[:charts.TOP_PROJECTS]
    rows = [(str(e.rank), label(ctx.result, e.project_id),
             f"{e.level} (\u00d7 {e.budget_multiplier:g})", str(e.start_year),
             fmt.objective_cell(e.objective_added, plan.objective)) for e in shown]
    blocks: list[Block] = [Paragraph(
        "The funding order: if the money is less, the projects at the bottom go first. Each "
        "project comes in at the lowest level that funds it; within a level, the project that "
        "adds more objective ranks first.")]
    if len(shown) < len(order):
        blocks.append(Paragraph(f"The table lists the first {len(shown)} of the {len(order):,} "
                                f"projects; the full order is in results.xlsx, sheet "
                                f"{ORDER_SHEET}."))
    blocks.append(Table(
        header=("Rank", "Project", "Comes in at level", "Start year there",
                f"Objective it adds ({unit})"),
        rows=tuple(rows), align=("right", "left", "left", "right", "right"),
        caption="Funding order"))
    moved = start_changes(ctx)
    if moved:
        blocks.append(Paragraph("Start years that change with the budget:"))
        blocks.append(Bullets(tuple(moved)))
    return blocks


def start_changes(ctx: MemoContext) -> list[str]:
    """Projects whose start year differs between levels, in words."""
    plan = ctx.result.analyses.priority
    out = []
    for e in plan.order:
        starts = [(lp.level, lp.starts[e.project_id]) for lp in plan.with_plan
                  if e.project_id in lp.starts]
        if len({year for _, year in starts}) > 1:
            out.append(f"{label(ctx.result, e.project_id)}: "
                       + ", ".join(f"{year} at {level}" for level, year in starts))
    return out
