"""Memo section on sampled futures: the robust core, the bets and the projects never chosen when
the plan is re-optimized in each of many futures, and the objective's distribution over them.

Everything is read from the ``futures`` tables of ``result.analyses`` (as results.json holds
them), so a memo rebuilt from a results folder says the same."""

from __future__ import annotations

from typing import Any, Mapping

from .. import text as fmt
from ... import charts
from ...analyses.futures import CORE_SHARE, TABLE_KEYS, VERDICT_WORDS
from ...tables import objective_unit, sheet_title
from ..context import MemoContext, label, number, rows_of
from ..model import Block, Paragraph, Table

FUTURES_KEYS = TABLE_KEYS[1:]  # the tables beside the "futures" summary
PROJECTS_SHEET = sheet_title("futures_projects", ())  # its sheet in results.xlsx
DRAWS_SHEET = sheet_title("futures_draws", ())


def futures(ctx: MemoContext, found: Mapping[str, Any]) -> tuple[Block, ...]:
    """What holds across the futures: the shares, the lists, what the recommended plan funds
    among them, the futures without a plan and the objective's spread."""
    summary = found.get("futures")
    if not isinstance(summary, Mapping):
        return ()
    result = ctx.result
    s = result.instance.settings
    draws = int(number(summary.get("draws")) or 0)
    core = number(summary.get("core_share")) or CORE_SHARE
    projects = rows_of(found.get("futures_projects"))
    blocks: list[Block] = [Paragraph(
        f"The plan re-optimized in each of {draws:,} sampled futures (seed "
        f"{summary.get('seed')}): each future knows its own capital costs (drawn in each "
        "project's range), build delays and losses by country and project, as the Monte Carlo "
        "draws them, and the best plan for it is found under the same budgets, targets and "
        "rules. A project funded in nearly every future is a robust choice; one funded in few "
        "is a bet on the future turning out well. Shares are of all the futures, with one "
        f"standard error (at most {fmt.share(0.5 / max(draws, 1) ** 0.5)} with {draws:,} "
        "futures).")]
    blocks += _no_plan(summary, rows_of(found.get("futures_no_plan")), draws)
    blocks += _verdicts(ctx, projects, core)
    blocks += _objective(rows_of(found.get("futures_objective")), s.objective)
    not_proven = int(number(summary.get("not_proven_optimal")) or 0)
    if not_proven:
        blocks.append(Paragraph(
            f"{fmt.plural(not_proven, 'future')} reached the time limit with a plan not proven "
            "optimal; each counts with the plan found.", style="note"))
    blocks.append(Paragraph(
        f"Every future, its plan and its status: results.xlsx, sheet {DRAWS_SHEET}; the shares "
        f"of every project: sheet {PROJECTS_SHEET}.", style="note"))
    return tuple(blocks)


def _no_plan(summary: Mapping[str, Any], rules: list[Mapping[str, Any]],
             draws: int) -> list[Block]:
    share = number(summary.get("no_plan_share")) or 0.0
    if not share:
        return [Paragraph("Every future has a plan that meets the rules.")]
    se = number(summary.get("no_plan_standard_error"))
    text = (f"In {fmt.share(share)} of the futures (\u00b1 {fmt.share(se)}) no plan meets the "
            "rules: those futures fund nothing and count against every project's share.")
    if rules:
        top = rules[0]
        text += (f" The rule that fails most often is {top.get('rule')} "
                 f"({fmt.plural(int(number(top.get('futures')) or 0), 'future')}; the rule "
                 "named for a future is the one its best compromise breaks by the widest "
                 "margin).")
    blocks: list[Block] = [Paragraph(text)]
    if len(rules) > 1:
        blocks.append(Table(
            header=("Rule that fails", "Futures", "Share of futures"),
            rows=tuple((str(r.get("rule", "")), f"{int(number(r.get('futures')) or 0):,}",
                        fmt.share(number(r.get("share_of_draws")))) for r in rules),
            align=("left", "right", "right"),
            caption=f"Futures without a plan, by the rule that fails ({draws:,} futures)"))
    return blocks


def _verdicts(ctx: MemoContext, projects: list[Mapping[str, Any]], core: float) -> list[Block]:
    result = ctx.result
    if not projects:
        return []
    by = {name: [p for p in projects if p.get("verdict") == name] for name in VERDICT_WORDS.values()}
    for rows in by.values():
        rows.sort(key=lambda p: (-(number(p.get("funded_share")) or 0.0),
                                 str(p.get("project_id"))))
    blocks: list[Block] = []
    core_rows, bets, never = by["robust core"], by["bet"], by["never chosen"]
    if core_rows:
        blocks.append(Paragraph(
            f"Robust core, funded in at least {fmt.share(core)} of the futures: "
            f"{fmt.join_words(_names(result, core_rows))}."))
    else:
        blocks.append(Paragraph(f"No project is funded in {fmt.share(core)} of the futures or "
                                "more: there is no robust core."))
    listed = core_rows + bets
    if listed:
        shown = listed[:charts.FULL_LIST_MAX] if len(listed) <= charts.FULL_LIST_MAX \
            else listed[:charts.TOP_PROJECTS]
        blocks.append(Table(
            header=("Project", "Verdict", "Funded in (share of futures)", "Standard error",
                    "Recommended plan"),
            rows=tuple((_label(result, p), str(p.get("verdict", "")),
                        fmt.share(number(p.get("funded_share"))),
                        f"\u00b1 {fmt.share(number(p.get('funded_share_se')))}",
                        "funds it" if p.get("in_recommended_plan") == "yes" else "\u2014")
                       for p in shown),
            align=("left", "left", "right", "right", "left"),
            caption="Projects funded in some futures, most often funded first"
                    + (f" (the first {len(shown)} of {len(listed):,}; the rest in results.xlsx, "
                       f"sheet {PROJECTS_SHEET})" if len(shown) < len(listed) else ""),
            emphasis=frozenset(i for i, p in enumerate(shown)
                               if p.get("in_recommended_plan") == "yes")))
    if never:
        names = [_label(result, p) + (" (in the recommended plan)"
                                      if p.get("in_recommended_plan") == "yes" else "")
                 for p in never[:charts.FULL_LIST_MAX]]
        more = (f" and {len(never) - charts.FULL_LIST_MAX:,} more (sheet {PROJECTS_SHEET})"
                if len(never) > charts.FULL_LIST_MAX else "")
        blocks.append(Paragraph(f"Never chosen in any future: {', '.join(names)}{more}."))
    blocks += _against_recommendation(result, bets, never, core_rows)
    return blocks


def _against_recommendation(result, bets, never, core_rows) -> list[Block]:
    """What the recommended plan funds that the futures do not back, and the reverse."""
    out = []
    risky = [p for p in bets + never if p.get("in_recommended_plan") == "yes"]
    if risky:
        items = [f"{_label(result, p)} ({fmt.share(number(p.get('funded_share')))})"
                 for p in risky]
        out.append(Paragraph(
            f"The recommended plan funds {fmt.join_words(items)}, "
            f"{'which is' if len(items) == 1 else 'which are'} funded in fewer than "
            "the core's share of the futures: "
            f"{'a bet' if len(items) == 1 else 'bets'} on how the future turns out."))
    missing = [p for p in core_rows if p.get("in_recommended_plan") != "yes"]
    if missing:
        out.append(Paragraph(
            f"In the robust core but not in the recommended plan: "
            f"{fmt.join_words(_names(result, missing))}: the plan for the workbook's own "
            "figures leaves out what most futures would fund."))
    if not risky and not missing:
        out.append(Paragraph("The recommended plan funds exactly the robust core and no bet."))
    return out


def _objective(rows: list[Mapping[str, Any]], objective: str) -> list[Block]:
    if len(rows) <= 1:
        return []
    unit = objective_unit(objective)
    return [Table(
        header=("Statistic", f"Objective ({unit})"),
        rows=tuple((str(r.get("statistic", "")),
                    fmt.objective_cell(number(r.get("objective_value")), objective))
                   for r in rows),
        align=("left", "right"),
        caption="The objective of each future's best plan, over the futures with a plan "
                "(P10: 10% of them are at or below), beside the recommended plan's at the "
                "workbook's figures",
        emphasis=frozenset({0}))]


def _label(result, row: Mapping[str, Any]) -> str:
    pid = str(row.get("project_id", ""))
    if pid in result.instance.projects:
        return label(result, pid)
    return fmt.project_label(str(row.get("name", "")), pid)


def _names(result, rows: list[Mapping[str, Any]]) -> list[str]:
    """Labels with the share, the recommended plan's projects marked."""
    return [f"{_label(result, p)} ({fmt.share(number(p.get('funded_share')))}"
            f"{', recommended' if p.get('in_recommended_plan') == 'yes' else ''})" for p in rows]
