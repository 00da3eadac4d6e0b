"""Memo sections on other plans: the workbook's scenarios, and near-optimal alternatives."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .. import text as fmt
from ... import charts
from ...results import Result
from ...tables import objective_unit, sheet_title
from ..context import id_labels, ids_cell, label, MemoContext, number, rows_of
from ..model import Block, Bullets, Paragraph, Table

# ---------------------------------------------------------------------------------------------
# 11. Scenarios


def scenarios(ctx: MemoContext, found: Mapping[str, Any]) -> tuple[Block, ...]:
    """The scenarios side by side, then the robust choices (funded in every scenario with a plan)
    and the projects funded only in some."""
    result = ctx.result
    s = result.instance.settings
    unit = objective_unit(s.objective)
    rows = rows_of(found.get("scenarios"))
    projects = rows_of(found.get("scenario_projects"))
    if not rows and not projects:
        return ()
    defined = {sc.scenario: sc for sc in result.instance.scenarios}
    blocks: list[Block] = [Paragraph(
        "The plan re-solved under each scenario of the workbook's Scenarios sheet: a scenario "
        "multiplies every project's capex and NPV and every mineral's US demand, and adds years "
        "to every build, as the sheet says; \"base\" is the workbook as given, the recommended "
        "plan.")]
    if rows:
        table_rows, notes = [], []
        for r in rows:
            name = str(r.get("scenario", ""))
            sc = defined.get(name)
            table_rows.append((
                name,
                *((f"{sc.capex_multiplier:g}", f"{sc.delay_years:+d}" if sc.delay_years else "0",
                   f"{sc.demand_multiplier:g}", f"{sc.npv_multiplier:g}") if sc is not None
                  else (("1", "0", "1", "1") if name == "base" else (fmt.MISSING,) * 4)),
                fmt.status_text(r.get("status")),
                fmt.objective_cell(number(r.get("objective_value")), s.objective),
                fmt.amount(number(r.get("npv_musd"))),
                fmt.amount(number(r.get("total_capex_musd"))),
                fmt.cell_text("funded_count", r.get("funded_count"))))
            if r.get("note"):
                notes.append(f"{name}: {fmt.cell_text('note', r.get('note'))}")
        blocks.append(Table(
            header=("Scenario", "Capex \u00d7", "Delay (years)", "Demand \u00d7", "NPV \u00d7",
                    "Status", f"Objective ({unit})", "NPV $M", "Capex $M", "Funded"),
            rows=tuple(table_rows), align=("left",) + ("right",) * 4 + ("left",) + ("right",) * 4,
            caption="The best plan under each scenario",
            emphasis=frozenset(i for i, r in enumerate(rows) if r.get("scenario") == "base")))
        if notes:
            blocks.append(Paragraph("Notes: " + "; ".join(notes) + ".", style="note"))
    solved = [str(r.get("scenario")) for r in rows if number(r.get("objective_value")) is not None]
    failed = [str(r.get("scenario")) for r in rows if number(r.get("objective_value")) is None]
    every = [p for p in projects if p.get("funded_in") == "every scenario"]
    some = [p for p in projects if p.get("funded_in") != "every scenario"]
    scope = (f"all {len(solved)} scenarios with a feasible plan" if solved
             else "every scenario with a feasible plan")
    if every:
        blocks.append(Paragraph(
            f"Robust choices, funded in {scope}: "
            f"{fmt.join_words(first_labels(result, every))}."))
    elif projects:
        blocks.append(Paragraph(f"No project is funded in {scope}."))
    if some:
        blocks.append(Paragraph("Funded in some scenarios only (the scenarios that fund it):"))
        items = [f"{scenario_label(result, p)}: {p.get('scenarios', '')}"
                 for p in some[:charts.FULL_LIST_MAX]]
        if len(some) > charts.FULL_LIST_MAX:
            items[charts.TOP_PROJECTS:] = [
                f"{len(some) - charts.TOP_PROJECTS:,} more: the full list is in results.xlsx, "
                f"sheet {SCENARIO_SHEET}"]
        blocks.append(Bullets(tuple(items)))
    elif every:
        blocks.append(Paragraph("No project is funded in some scenarios only: the scenarios "
                                "agree on which projects to fund."))
    if failed:
        blocks.append(Paragraph(
            f"No plan satisfies the constraints under {fmt.join_words(failed)}; "
            f"{'that scenario counts' if len(failed) == 1 else 'those scenarios count'} in "
            "neither list.", style="note"))
    return tuple(blocks)


SCENARIO_SHEET = sheet_title("scenario_projects", ())  # its sheet in results.xlsx


def first_labels(result: Result, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The labels of scenario-project ``rows``: all, or beyond ``charts.FULL_LIST_MAX`` the
    first ``charts.TOP_PROJECTS`` and "N more (results.xlsx, sheet Scenario projects)"."""
    if len(rows) <= charts.FULL_LIST_MAX:
        return [scenario_label(result, r) for r in rows]
    named = [scenario_label(result, r) for r in rows[:charts.TOP_PROJECTS]]
    return [*named, f"{len(rows) - len(named):,} more (results.xlsx, sheet {SCENARIO_SHEET})"]


def scenario_label(result: Result, row: Mapping[str, Any]) -> str:
    pid = str(row.get("project_id", ""))
    if pid in result.instance.projects:
        return label(result, pid)
    return fmt.project_label(str(row.get("name", "")), pid)


# ---------------------------------------------------------------------------------------------
# 12. Near-optimal alternatives


def alternatives(ctx: MemoContext, found: Mapping[str, Any]) -> tuple[Block, ...]:
    """One line per alternative on what it gains and gives up, and the table with the best plan
    on top."""
    result = ctx.result
    s, ev = result.instance.settings, result.evaluation
    rows = rows_of(found.get("alternatives"))
    unit = objective_unit(s.objective)
    within = fmt.share(s.alternatives_within)
    blocks: list[Block] = [Paragraph(
        f"Other portfolios whose objective is within {within} of the best plan's "
        "(alternatives_within in Settings), best first. Each funds a different set of projects "
        "from the best plan and from every alternative before it; a change of start years alone "
        "does not count.")]
    if found.get("alternatives_note"):
        blocks.append(Paragraph(str(found["alternatives_note"]), style="note"))
    elif not rows:
        blocks.append(Paragraph(f"No other portfolio comes within {within} of the best plan."))
        return tuple(blocks)
    blocks.append(Bullets(tuple(alternative_line(result, r) for r in rows)))
    best = ("Best", fmt.objective_cell(result.objective_value, s.objective), fmt.MISSING,
            fmt.amount(ev.npv_musd), fmt.MISSING, fmt.share_years(ev.security), fmt.MISSING,
            fmt.amount(ev.total_capex), fmt.MISSING, fmt.MISSING, fmt.MISSING)
    table_rows = [best]
    for r in rows:
        table_rows.append((
            f"Alt.\u00a0{r.get('alternative', '')}",
            fmt.objective_cell(number(r.get("objective_value")), s.objective),
            fmt.share(number(r.get("objective_below_optimum_pct"))),
            fmt.amount(number(r.get("npv_musd"))),
            fmt.signed_amount(number(r.get("npv_change_musd"))),
            fmt.share_years(number(r.get("security_share_years"))),
            fmt.signed_share_years(number(r.get("security_change"))),
            fmt.amount(number(r.get("total_capex_musd"))),
            fmt.signed_amount(number(r.get("capex_change_musd"))),
            ids_cell(r.get("adds"), "none"), ids_cell(r.get("drops"), "none")))
    blocks.append(Table(
        header=("Plan", f"Objective ({unit})", "Below best", "NPV $M", "NPV change $M",
                "Reliance removed", "Reliance change", "Capex $M", "Capex change $M", "Adds",
                "Drops"),
        rows=tuple(table_rows), align=("left",) + ("right",) * 8 + ("left", "left"),
        caption="The best plan and the near-optimal alternatives (Alt. 1, 2, ...); changes "
                "against the best plan; China reliance removed in share-years",
        emphasis=frozenset({0})))
    return tuple(blocks)


def alternative_line(result: Result, row: Mapping[str, Any]) -> str:
    """"Alternative 1 scores 2.1% below the best plan: it adds X and drops Y; NPV +$12.0M, China
    reliance removed -0.050 share-years, capital -$150.0M." """
    adds = id_labels(result, row.get("adds"))
    drops = id_labels(result, row.get("drops"))
    change = []
    if adds:
        change.append(f"adds {fmt.join_words(adds)}")
    if drops:
        change.append(f"drops {fmt.join_words(drops)}")
    what = " and ".join(change) if change else "funds the same projects"
    below = number(row.get("objective_below_optimum_pct"))
    score = (f"scores {fmt.share(below)} below the best plan" if below is not None
             else "scores close to the best plan")
    capex = number(row.get("capex_change_musd"))
    capital = ("capital unchanged" if capex is not None and fmt.amount(capex) == "0.0"
               else f"capital {fmt.signed_money(capex)}")
    return (f"Alternative {row.get('alternative', '')} {score}: it {what}; "
            f"NPV {fmt.signed_money(number(row.get('npv_change_musd')))}, China reliance removed "
            f"{fmt.signed_share_years(number(row.get('security_change')))} share-years, "
            f"{capital}.")


