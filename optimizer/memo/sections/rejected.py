"""Memo sections 6-7: Why not the others, Budget sensitivity."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .. import text as fmt
from ... import charts
from ...results import Result
from ...tables import objective_unit, OBJECTIVE_WORDS, REJECTED
from ..context import label, MemoContext, others, shortened_list
from ..model import Block, Paragraph, Section, Table

# ---------------------------------------------------------------------------------------------
# 6. Why not the others


def why_not(ctx: MemoContext) -> Section:
    """Each rejected project with the reason the why-not re-solves found, in plain words."""
    result = ctx.result
    inst, s = result.instance, result.instance.settings
    rejected = result.rejected_ids
    analyses = result.analyses.tables()
    reasons = analyses.get("why_not")
    blocks: list[Block] = []
    if not rejected:
        return Section("why_not", "Why not the others",
                       (Paragraph("Every candidate project is funded."),))
    if not isinstance(reasons, Mapping):
        blocks.append(Paragraph(skipped_sentence(result, "The re-solves that explain why each "
                                                         "project is left out")))
        reasons = {}
    else:
        blocks.append(Paragraph(
            f"{len(rejected):,} of the {len(inst.projects):,} candidate projects "
            f"{'is' if len(rejected) == 1 else 'are'} left out. For each, the reason comes from "
            "re-solving the plan with that project forced in."))
    note = analyses.get("why_not_note")
    if note:
        blocks.append(Paragraph(str(note), style="note"))
    capex = {pid: inst.projects[pid].capex(s.capex_basis) for pid in rejected}
    shown = charts.largest_by_capex(rejected, capex)
    if len(shown) < len(rejected):
        blocks.append(Paragraph(shortened_list(len(shown), len(rejected), "projects left out",
                                               REJECTED) + " It gives the reason for each."))
    blocks.append(rejected_table(result, reasons, shown, capex))
    return Section("why_not", "Why not the others", tuple(blocks))


def rejected_table(result: Result, reasons: Mapping[str, Any], shown: Sequence[str],
                   capex: Mapping[str, float]) -> Table:
    """The projects left out, in workbook order, with their reasons: the ``shown`` ones by
    name; when that is not all of them, the others summed in one row and a total row. ``capex``:
    project -> capex at the capex basis, $M."""
    inst, s = result.instance, result.instance.settings
    rejected = result.rejected_ids
    has_loss = any(isinstance(reasons.get(p), Mapping) and reasons[p].get("objective_loss")
                   is not None for p in rejected)
    unit = objective_unit(s.objective)
    rows = []
    for pid in shown:
        p = inst.projects[pid]
        entry = reasons.get(pid)
        reason = reason_text(entry)
        row = [label(result, pid), p.kind, p.mineral, fmt.amount(capex[pid]),
               fmt.amount(p.npv_musd), reason]
        if has_loss:
            loss = entry.get("objective_loss") if isinstance(entry, Mapping) else None
            row.insert(5, fmt.objective_cell(loss, s.objective))
        rows.append(tuple(row))
    rest = others(rejected, shown)
    footer = None
    if rest:
        rows.append(summed_row(f"Other {fmt.plural(len(rest), 'project')} left out", rest,
                               capex, result, has_loss, f"see results.xlsx, sheet {REJECTED}"))
        footer = summed_row(f"Total: {fmt.plural(len(rejected), 'project')}", rejected, capex,
                            result, has_loss, "")
    header = ["Project", "Kind", "Mineral", "Capex $M", "NPV $M", "Reason"]
    align = ["left", "left", "left", "right", "right", "left"]
    if has_loss:
        header.insert(5, f"Objective lost if forced in ({unit})")
        align.insert(5, "right")
    caption = ("Projects left out, in workbook order" if not rest else
               f"The {len(shown)} largest projects left out by capex, in workbook order, and the "
               f"other {len(rest):,} in one row")
    return Table(tuple(header), tuple(rows), tuple(align),  # type: ignore[arg-type]
                 caption=caption, footer=footer)


def summed_row(title: str, ids: Sequence[str], capex: Mapping[str, float], result: Result,
               has_loss: bool, reason: str) -> tuple[str, ...]:
    """A row of the rejected table summing the capex and NPV ($M) of ``ids``."""
    row = [title, "", "", fmt.amount(sum(capex[p] for p in ids)),
           fmt.amount(sum(result.instance.projects[p].npv_musd for p in ids)), reason]
    if has_loss:
        row.insert(5, "")
    return tuple(row)


def reason_text(entry: Any) -> str:
    """The plain-words reason of a why-not entry, or "not analysed"."""
    if isinstance(entry, Mapping) and entry.get("reason"):
        return str(entry["reason"])
    if isinstance(entry, str) and entry:
        return entry
    return "not analysed"


def skipped_sentence(result: Result, what: str) -> str:
    """"<what> were skipped (--no-sensitivity)." or "... were not run." """
    if result.analyses.sensitivity_skipped:
        return f"{what} were skipped: the run was made with --no-sensitivity."
    return f"{what} were not run for this memo."


# ---------------------------------------------------------------------------------------------
# 7. Budget sensitivity


def sensitivity(ctx: MemoContext) -> Section:
    """The plan re-solved with every yearly budget scaled: a table and what $1B more buys."""
    result = ctx.result
    inst, s = result.instance, result.instance.settings
    rows = result.analyses.tables().get("sensitivity")
    title = "Budget sensitivity"
    if not isinstance(rows, (list, tuple)) or not rows:
        return Section("sensitivity", title, (Paragraph(skipped_sentence(
            result, "The re-solves with larger and smaller budgets")),))
    rows = sorted((r for r in rows if isinstance(r, Mapping)),
                  key=lambda r: r.get("budget_change") or 0.0)
    unit = objective_unit(s.objective)
    main = []
    for r in rows:
        main.append((
            change_label(r.get("budget_change")),
            fmt.amount(r.get("extra_budget_musd")),
            fmt.status_text(r.get("status")),
            fmt.objective_cell(r.get("objective_value"), s.objective),
            fmt.amount(r.get("npv_musd")),
            fmt.amount(r.get("total_capex_musd")),
            fmt.cell_text("funded_count", r.get("funded_count")),
            fmt.objective_cell(r.get("objective_per_extra_busd"), s.objective),
        ))
    base = [i for i, r in enumerate(rows) if not r.get("budget_change")]
    table = Table(
        header=("Budget change", "Extra budget $M", "Status", f"Objective ({unit})", "NPV $M",
                "Capex $M", "Funded", f"Objective per extra $1B ({unit})"),
        rows=tuple(main), align=("left", "right", "left") + ("right",) * 5,
        caption="The plan re-solved with every yearly budget changed by the same fraction",
        emphasis=frozenset(base),
    )
    year = ctx.report_year
    share_rows = []
    for r in rows:
        share_rows.append((change_label(r.get("budget_change")),
                           *(fmt.share(r.get(f"china_share:{m}")) for m in inst.minerals)))
    shares = Table(
        header=("Budget change", *inst.minerals),
        rows=tuple(share_rows), align=("left",) + ("right",) * len(inst.minerals),
        caption=f"China's share of US demand in {year} under each budget",
        emphasis=frozenset(base),
    )
    blocks: list[Block] = [Paragraph(what_a_billion_buys(rows, s.objective)), table]
    if inst.minerals:
        blocks.append(shares)
    return Section("sensitivity", title, tuple(blocks))


def change_label(change: Any) -> str:
    """-0.3 -> "-30%", 0 or None -> "base"."""
    if not fmt.is_number(change) or change == 0:
        return "base"
    return fmt.percent_change(float(change))


def what_a_billion_buys(rows: Sequence[Mapping[str, Any]], objective: str) -> str:
    """One or two sentences on the change in the objective per $1B of budget added or cut, and a
    sentence naming the budget changes at which no plan exists."""
    def effect(r: Mapping[str, Any], cut: bool) -> str | None:
        value = r.get("objective_per_extra_busd")
        if not fmt.is_number(value):
            return None
        verb = ("lowers" if value >= 0 else "raises") if cut else (
            "raises" if value >= 0 else "lowers")
        return (f"{verb} it by {fmt.objective_amount(abs(value), objective)} at "
                f"{change_label(r.get('budget_change'))}")

    added = [e for r in rows if (r.get("budget_change") or 0) > 0 if (e := effect(r, False))]
    cut = [e for r in rows if (r.get("budget_change") or 0) < 0 if (e := effect(r, True))]
    what = OBJECTIVE_WORDS.get(objective, objective)
    parts = []
    if added:
        parts.append(f"each extra $1B {fmt.join_words(added)}")
    if cut:
        parts.append(f"each $1B cut {fmt.join_words(cut)}")
    sentences = []
    if parts:
        sentences.append(f"What $1B of budget is worth in the objective ({what}): "
                         f"{'; '.join(parts)}. Budget changes scale every year's budget by the "
                         "same fraction.")
    infeasible = [change_label(r.get("budget_change")) for r in rows
                  if str(r.get("status")) == "infeasible"]
    stopped = [change_label(r.get("budget_change")) for r in rows
               if str(r.get("status")) == "no_plan"]
    if infeasible:
        sentences.append(f"With the budgets changed by {fmt.join_words(infeasible, 'or')}, no "
                         "plan keeps every rule.")
    if stopped:
        sentences.append(f"With the budgets changed by {fmt.join_words(stopped, 'or')}, the "
                         "re-solve found no plan within its time limit.")
    if not sentences:
        return "The re-solves give no change in the objective per $1B of budget."
    return " ".join(sentences)