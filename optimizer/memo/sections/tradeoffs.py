"""Memo sections of the trade-offs: the NPV / China-reliance frontier with the budget ladder, and
the price of robust budgets."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from .. import text as fmt
from ... import charts
from ...analyses.frontier import SECURITY_VALUE, SHARE_YEARS, Measure
from ...results import Result
from ...tables import objective_unit, OBJECTIVE_WORDS
from ..context import figure, ids_cell, MemoContext, number, rows_of
from ..model import Block, Paragraph, Table

# ---------------------------------------------------------------------------------------------
# 8. Trade-offs: the NPV / China-reliance frontier and the budget ladder


def tradeoffs(ctx: MemoContext, found: Mapping[str, Any]) -> tuple[Block, ...]:
    blocks: list[Block] = []
    if found.get("frontier_note"):
        blocks.append(Paragraph(str(found["frontier_note"]), style="note"))
    if "frontier" in found:
        blocks += frontier_blocks(ctx)
    if "budget_ladder" in found:
        blocks += ladder_blocks(ctx, rows_of(found["budget_ladder"]))
    return tuple(blocks)


def frontier_blocks(ctx: MemoContext) -> list[Block]:
    """What the frontier is (in the objective's terms) and what moving along it trades, the
    chart, and the points with the projects that change between neighbours. Points are numbered
    as in the chart (:func:`optimizer.charts.frontier_points`)."""
    result = ctx.result
    points, measure = charts.frontier_points(result)
    chosen = recommended_point(result, points)
    blocks: list[Block] = [Paragraph(frontier_intro(result, measure, chosen is not None))]
    if not points:
        blocks.append(Paragraph("The frontier analysis found no point."))
        return blocks
    blocks.append(Paragraph(" ".join(frontier_sentences(result, points, chosen, measure))))
    blocks += figure(ctx, "frontier", f"NPV against {measure.words} for each frontier point "
                     "(numbered as in the table); the red star is the recommended plan",
                     f"Scatter chart of the frontier: NPV against {measure.words}")
    rows, same = [], []
    for i, p in enumerate(points):
        added, dropped = p.get("added"), p.get("dropped")
        if i > 0 and not added and not dropped:
            same.append(i + 1)
        rows.append((str(i + 1), measure_cell(measure, p[measure.key]),
                     fmt.amount(p["npv_musd"]), fmt.amount(number(p.get("total_capex_musd"))),
                     fmt.cell_text("funded_count", p.get("funded_count")),
                     fmt.MISSING if i == 0 else ids_cell(added, "none"),
                     fmt.MISSING if i == 0 else ids_cell(dropped, "none")))
    caption = f"Frontier points, by {measure.words}; added and dropped against the point above"
    if chosen is not None:
        caption += "; the recommended plan is highlighted"
    blocks.append(Table(
        header=("Point", measure_header(measure), "NPV $M", "Capex $M", "Funded",
                "Added", "Dropped"),
        rows=tuple(rows), align=("right",) * 5 + ("left", "left"), caption=caption,
        emphasis=frozenset({chosen}) if chosen is not None else frozenset()))
    first = [pid for pid in str(points[0].get("funded") or "").split(", ") if pid]
    note = (f"Point 1 funds {fmt.join_words(first)}." if first else "Point 1 funds nothing.")
    if same:
        which = (f"Point {same[0]} funds" if len(same) == 1 else
                 f"Points {fmt.join_words([str(n) for n in same])} fund")
        note += (f" {which} the same projects as the point above, with other start years "
                 "(\"none\" added or dropped).")
    note += " Every point's full list of funded projects is in results.xlsx (sheet Frontier)."
    blocks.append(Paragraph(note, style="note"))
    return blocks


def frontier_intro(result: Result, measure: Measure, on_frontier: bool) -> str:
    """What a point is, in the terms of the workbook's objective, and (``on_frontier``) why the
    recommended plan is one of the points."""
    objective = result.instance.settings.objective
    how = (f"found by maximizing NPV under rising floors on {measure.short}, then the most "
           f"{measure.short} at that NPV.")
    if measure is SECURITY_VALUE:
        return ("The workbook's objective adds two terms: portfolio NPV and the security value "
                "of the plan, which counts each China-dependent tonne it displaces at the "
                "premium the Minerals sheet puts on it (security_premium_usd_per_t), "
                "discounted, in $M. The frontier trades these two terms. Each point is a "
                "portfolio that no other plan beats on both NPV and security value, " + how +
                (" The recommended plan maximizes their sum, so no plan has more of both: it "
                 "lies on this frontier." if on_frontier else ""))
    text = ("Each point is a portfolio that no other plan beats on both portfolio NPV and "
            "China reliance removed, " + how + " Reliance removed is counted in share-years: one "
            "share-year is a mineral's whole US demand freed from China for one year (weighted "
            "and discounted).")
    if objective == "npv" and on_frontier:
        text += (" The workbook's objective is NPV, and among the plans of highest NPV the "
                 "recommended one removes the most reliance: it is the frontier's point of "
                 "highest NPV.")
    elif objective == "security" and on_frontier:
        text += (" The workbook's objective is reliance removed, and among the plans that remove "
                 "the most the recommended one has the highest NPV: it is the frontier's point "
                 "of most reliance removed.")
    return text


def measure_header(measure: Measure) -> str:
    return ("Reliance removed (share-years)" if measure is SHARE_YEARS
            else "Security value $M")


def measure_cell(measure: Measure, value: float | None) -> str:
    return fmt.share_years(value) if measure is SHARE_YEARS else fmt.amount(value)


def measure_text(measure: Measure, value: float | None) -> str:
    """A value of the measure in a sentence: "1.234 share-years" or "$1,234.5M of security
    value"."""
    if measure is SHARE_YEARS:
        return f"{fmt.share_years(value)} share-years"
    return f"{fmt.money(value)} of security value"


def recommended_point(result: Result, points: Sequence[Mapping[str, Any]]) -> int | None:
    """The point marked as the recommended plan, else the one with its NPV and China reliance
    removed (:func:`optimizer.charts.chosen_point`: frontiers written before the mark)."""
    marked = [i for i, p in enumerate(points) if p.get("recommended") is True]
    if marked:
        return marked[0]
    if any("recommended" in p for p in points):
        return None
    return charts.chosen_point(result, list(points))


def frontier_sentences(result: Result, points: Sequence[Mapping[str, Any]],
                       chosen: int | None, measure: Measure) -> list[str]:
    """What moving along the frontier trades (on ``measure``, the one the points were traced
    on), and where the recommended plan sits."""
    ev = result.evaluation
    key = measure.key
    n = len(points)
    first, last = points[0], points[-1]
    per = "per share-year" if measure is SHARE_YEARS else "per $1 of security value"

    def price(npv: float, sec: float) -> str:
        return fmt.money(npv / sec) if measure is SHARE_YEARS else f"${npv / sec:,.2f}"

    out = []
    if n == 1:
        out.append(f"There is a single point ({fmt.money(first['npv_musd'])}, "
                   f"{measure_text(measure, first[key])}): the plan of highest NPV also has the "
                   f"most {measure.short}, so there is nothing to trade.")
    else:
        lost = first["npv_musd"] - last["npv_musd"]
        gained = last[key] - first[key]
        words = measure.short
        rise = (f"{fmt.share_years(gained)} share-years" if measure is SHARE_YEARS
                else fmt.money(gained))
        out.append(
            f"Moving along the frontier trades NPV for {measure.short}: from point 1 (highest "
            f"NPV, {fmt.money(first['npv_musd'])}, {measure_text(measure, first[key])}) to "
            f"point {n} (most {words}, {measure_text(measure, last[key])}, "
            f"{fmt.money(last['npv_musd'])}), NPV falls by {fmt.money(lost)} while {words} "
            f"rises by {rise}"
            + (f", {price(lost, gained)} of NPV {per} on average." if gained > 0 else "."))
        prices = [((points[i]["npv_musd"] - points[i + 1]["npv_musd"])
                   / (points[i + 1][key] - points[i][key]), i) for i in range(n - 1)
                  if points[i + 1][key] > points[i][key]]
        if len(prices) >= 2:
            low, high = min(prices), max(prices)
            out.append(f"Step by step the price ranges from {price(low[0], 1.0)} {per} "
                       f"(point {low[1] + 1} to {low[1] + 2}) to {price(high[0], 1.0)} "
                       f"(point {high[1] + 1} to {high[1] + 2}).")
    if chosen is not None:
        out.append(f"The recommended plan is point {chosen + 1} (red star in the chart, "
                   "highlighted in the table).")
    else:
        own = ev.objective_value(measure.name)
        better = [i for i, p in enumerate(points)
                  if p["npv_musd"] >= ev.npv_musd - 1e-6 and p[key] >= own - 1e-9]
        between = [i for i in range(len(points) - 1) if points[i][key] < own < points[i + 1][key]]
        if better:
            where = f"; point {better[0] + 1} has at least as much of both"
        elif between:
            i = between[0]
            where = (f" and no traced point beats it on both counts: it lies between points "
                     f"{i + 1} and {i + 2}, where a frontier with more points would show more "
                     "plans")
        else:
            where = " and no traced point beats it on both counts"
        objective = result.instance.settings.objective
        out.append(f"The recommended plan ({fmt.money(ev.npv_musd)}, "
                   f"{measure_text(measure, own)}; red star) is not one of the traced "
                   f"points{where}. It maximizes the workbook's objective "
                   f"({OBJECTIVE_WORDS.get(objective, objective)})"
                   + (", not either of these two criteria alone." if measure is SHARE_YEARS
                      and objective == "weighted" else "."))
    return out


def ladder_blocks(ctx: MemoContext, rows: Sequence[Mapping[str, Any]]) -> list[Block]:
    """The optimum at each total budget: a sentence on where it stops growing, and the table."""
    result = ctx.result
    s = result.instance.settings
    unit = objective_unit(s.objective)
    if not rows:
        return [Paragraph("The budget ladder found no rung.")]
    table_rows, previous_feasible = [], False
    for r in rows:
        feasible = number(r.get("objective_value")) is not None
        if not feasible or not previous_feasible:  # no plan to compare with: no change shown
            changes = (fmt.MISSING, fmt.MISSING)
        else:
            changes = (ids_cell(r.get("added"), "none"), ids_cell(r.get("dropped"), "none"))
        previous_feasible = feasible
        table_rows.append((
            fmt.amount(number(r.get("total_budget_musd"))), fmt.status_text(r.get("status")),
            fmt.objective_cell(number(r.get("objective_value")), s.objective),
            fmt.amount(number(r.get("npv_musd"))),
            fmt.share_years(number(r.get("security_share_years"))),
            fmt.amount(number(r.get("total_capex_musd"))),
            fmt.cell_text("funded_count", r.get("funded_count")),
            *changes,
        ))
    own = s.total_budget_musd
    table = Table(
        header=("Total budget $M", "Status", f"Objective ({unit})", "NPV $M",
                "Reliance removed (share-years)", "Capex $M", "Funded", "Added", "Dropped"),
        rows=tuple(table_rows), align=("right", "left") + ("right",) * 5 + ("left", "left"),
        caption="Budget ladder: the best plan under each cap on total capital; added and "
                "dropped against the row above (full lists in results.xlsx, sheet Budget ladder)"
                + ("; the workbook's own total budget is highlighted" if own is not None else ""),
        emphasis=frozenset(i for i, r in enumerate(rows) if own is not None
                           and is_close(number(r.get("total_budget_musd")), own)))
    return [Paragraph(" ".join(ladder_sentences(result, rows))), table]


def is_close(value: float | None, target: float) -> bool:
    return value is not None and abs(value - target) <= 1e-6 * max(1.0, abs(target))


def ladder_sentences(result: Result, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    s = result.instance.settings
    objective = s.objective
    budgets = [number(r.get("total_budget_musd")) for r in rows]
    out = [f"The budget ladder re-solves the plan for the workbook's objective "
           f"({OBJECTIVE_WORDS.get(objective, objective)}) under caps on total capital over the "
           f"horizon from {fmt.money(min(b for b in budgets if b is not None))} to "
           f"{fmt.money(max(b for b in budgets if b is not None))}; the yearly budgets still "
           "apply" + (f", and the workbook's own total budget, {fmt.money(s.total_budget_musd)}, "
                      "is replaced by each cap." if s.total_budget_musd is not None else
                      " (the workbook sets no total budget).")]
    feasible = [r for r in rows if number(r.get("objective_value")) is not None]
    infeasible = [fmt.money(number(r.get("total_budget_musd"))) for r in rows
                  if number(r.get("objective_value")) is None]
    if infeasible:
        out.append("No plan satisfies the constraints with a cap of "
                   f"{fmt.join_words(infeasible, last='or')}.")
    if not feasible:
        return out
    best = max(number(r["objective_value"]) for r in feasible)
    tol = 1e-6 * max(1.0, abs(best))
    top = next(r for r in feasible if number(r["objective_value"]) >= best - tol)
    low = feasible[0]
    low_text = fmt.objective_amount(number(low["objective_value"]), objective)
    top_text = fmt.objective_amount(number(top["objective_value"]), objective)
    cap = fmt.money(number(top.get("total_budget_musd")))
    if top is low:
        out.append(f"From {fmt.money(number(low.get('total_budget_musd')))} on the objective is "
                   f"{low_text}: a larger cap changes nothing.")
        return out
    out.append(f"The objective rises from {low_text} at "
               f"{fmt.money(number(low.get('total_budget_musd')))} to {top_text} at {cap}.")
    if top is feasible[-1]:
        out.append("It is still rising at the largest cap tried.")
    else:
        out.append(f"Beyond {cap} more budget changes nothing: the plan then spends "
                   f"{fmt.money(number(top.get('total_capex_musd')))}.")
    return out


# ---------------------------------------------------------------------------------------------
# 9. Robust budgets


def robust_budgets(ctx: MemoContext, found: Mapping[str, Any]) -> tuple[Block, ...]:
    """The price of robustness in plain words, and the two plans side by side."""
    result = ctx.result
    s = result.instance.settings
    rows = rows_of(found.get("robust"))
    if not rows:
        return (Paragraph("The price of robustness was not computed (robust_gamma is 0)."),)
    unit = objective_unit(s.objective)
    blocks: list[Block] = [Paragraph(robust_sentence(result, rows))]
    blocks.append(Paragraph(
        "How the budgets are protected (budgeted uncertainty, after Bertsimas and Sim): in every "
        "year's budget row the plan must still fit when the gamma funded projects whose overruns "
        f"weigh most in that row cost their high capex estimate instead of the {s.capex_basis} "
        "basis. Gamma is robust_gamma in the Settings sheet; prices, NPVs and demand are not "
        "varied.", style="note"))
    table_rows = []
    for r in rows:
        table_rows.append((
            fmt.cell_text("robust_gamma", r.get("robust_gamma")), fmt.status_text(r.get("status")),
            fmt.objective_cell(number(r.get("objective_value")), s.objective),
            fmt.amount(number(r.get("npv_musd"))), fmt.amount(number(r.get("total_capex_musd"))),
            fmt.cell_text("funded_count", r.get("funded_count")),
            fmt.objective_cell(number(r.get("price_of_robustness")), s.objective)))
    blocks.append(Table(
        header=("Gamma", "Status", f"Objective ({unit})", "NPV $M", "Capex $M", "Funded",
                f"Price of robustness ({unit})"),
        rows=tuple(table_rows), align=("right", "left") + ("right",) * 5,
        caption="The best plan without protection (gamma 0) and with it (the workbook's gamma)",
        emphasis=frozenset(i for i, r in enumerate(rows)
                           if r.get("robust_gamma") == s.robust_gamma)))
    return tuple(blocks)


def robust_sentence(result: Result, rows: Sequence[Mapping[str, Any]]) -> str:
    """"Protecting every year's budget against any 2 projects running to their high capital cost
    costs $12.5M of objective (3.1%): the objective is $400.0M at gamma 0 against $387.5M at
    gamma 2." """
    objective = result.instance.settings.objective
    nominal = next((r for r in rows if r.get("robust_gamma") == 0), rows[0])
    robust = next((r for r in rows if r is not nominal), nominal)
    gamma = robust.get("robust_gamma")
    a, b = number(nominal.get("objective_value")), number(robust.get("objective_value"))
    who = (f"any {gamma} project running to its high capital cost" if gamma == 1 else
           f"any {gamma} projects running to their high capital cost")
    if a is None or b is None:
        return (f"The price of protecting every year's budget against {who} could not be "
                "measured: no plan satisfies the constraints at "
                f"gamma {nominal.get('robust_gamma') if a is None else gamma}.")
    price = number(robust.get("price_of_robustness"))
    price = a - b if price is None else price
    pct = fmt.share(price / abs(a)) if a else fmt.MISSING
    return (f"Protecting every year's budget against {who} costs "
            f"{fmt.objective_amount(price, objective)} of objective ({pct}): the objective is "
            f"{fmt.objective_amount(a, objective)} at gamma 0 against "
            f"{fmt.objective_amount(b, objective)} at gamma {gamma}.")
