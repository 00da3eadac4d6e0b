"""Memo section on risk: the Monte Carlo simulation of the chosen plan."""

from __future__ import annotations

from typing import Any, Mapping

from .. import text as fmt
from ...evaluate import TOL
from ..context import figure, id_labels, MemoContext, number, rows_of
from ..model import Block, Paragraph, Table

# ---------------------------------------------------------------------------------------------
# 10. Risk: Monte Carlo simulation

SIMULATION_KEYS = ("simulation_summary", "simulation_budget", "simulation_targets",
                   "simulation_online", "simulation_risks", "simulation_settings")


def simulation(ctx: MemoContext, found: Mapping[str, Any]) -> tuple[Block, ...]:
    """Draws and assumptions, P10/P50/P90, the chance of breaking a budget or missing a target,
    the histogram, then the tables."""
    result = ctx.result
    settings = {str(r.get("setting")): r.get("value")
                for r in rows_of(found.get("simulation_settings"))}
    summary = rows_of(found.get("simulation_summary"))
    budget = rows_of(found.get("simulation_budget"))
    targets = rows_of(found.get("simulation_targets"))
    online = rows_of(found.get("simulation_online"))
    risks = rows_of(found.get("simulation_risks"))
    sentences = [simulation_assumptions(settings)] if settings else []
    sentences += [summary_sentence(r) for r in summary]
    if risks:
        sentences.append("Probabilities over the draws: " + "; ".join(
            f"{str(r.get('event', 'event'))}, {fmt.share(number(r.get('probability')))}"
            for r in risks) + ".")
    if targets:
        sentences.append("Probability that each China-share target is met: " + "; ".join(
            target_phrase(r, result.instance.settings.last_year) for r in targets) + ".")
    blocks: list[Block] = [Paragraph(" ".join(sentences))] if sentences else []
    blocks += figure(ctx, "simulation_histogram", "Distribution of NPV and total capital cost "
                     "over the draws: P10 and P90 dotted, P50 dashed, planned value red",
                     "Histograms of simulated NPV and total capital cost")
    if summary:
        blocks.append(Table(
            header=("Measure", "P10 $M", "P50 $M", "P90 $M", "Mean $M", "Planned $M"),
            rows=tuple((measure_name(r.get("measure")),
                        *(fmt.amount(number(r.get(k))) for k in ("p10", "p50", "p90", "mean",
                                                                  "planned")))
                       for r in summary),
            align=("left",) + ("right",) * 5,
            caption="P10, P50 and P90: 10%, 50% and 90% of the draws are at or below the value"))
    spending = [r for r in budget if (number(r.get("planned_spend_musd")) or 0.0) > TOL]
    if spending:
        cumulative = any(r.get("test") == "cumulative" for r in spending)
        blocks.append(Table(
            header=("Year", "Budget $M", "Planned spend $M", "Mean spend $M",
                    "P(budget exceeded)"),
            rows=tuple((fmt.cell_text("year", r.get("year")),
                        fmt.amount(number(r.get("budget_musd"))),
                        fmt.amount(number(r.get("planned_spend_musd"))),
                        fmt.amount(number(r.get("mean_spend_musd"))),
                        fmt.share(number(r.get("p_exceeded")))) for r in spending),
            align=("left",) + ("right",) * 4,
            caption="Chance that the budget is exceeded, years with planned spend"
                    + (" (with carry-over: cumulative spend against cumulative budget)"
                       if cumulative else "") + "; years with any chance are highlighted",
            emphasis=frozenset(i for i, r in enumerate(spending)
                               if (number(r.get("p_exceeded")) or 0.0) > 0)))
    if targets:
        blocks.append(Table(
            header=("Mineral", "Target China share", "Target year", "Planned share",
                    "P(met in target year)", "P(met every year from then)"),
            rows=tuple((str(r.get("mineral", "")), fmt.share(number(r.get("target_china_share"))),
                        fmt.cell_text("year", r.get("target_year")),
                        fmt.share(number(r.get("planned_china_share"))),
                        fmt.share(number(r.get("p_met"))),
                        fmt.share(number(r.get("p_met_all_years")))) for r in targets),
            align=("left",) + ("right",) * 5,
            caption="Chance of meeting each China-share target"))
    if online:
        blocks.append(Table(
            header=("Project", "Planned online", "P(on time)", "P10 online", "P50 online",
                    "P90 online"),
            rows=tuple((id_labels(result, [r.get("project_id", "")])[0]
                        if r.get("project_id") else fmt.MISSING,
                        *(fmt.cell_text("year", r.get(k)) for k in ("planned_online",)),
                        fmt.share(number(r.get("p_on_time"))),
                        *(fmt.cell_text("year", r.get(k)) for k in ("p10", "p50", "p90")))
                       for r in online),
            align=("left",) + ("right",) * 5,
            caption="Online year of each funded project: the chance of the planned year, and the "
                    "year by which 10%, 50% and 90% of the draws are online"))
    return tuple(blocks)


def simulation_assumptions(settings: Mapping[str, Any]) -> str:
    """Draws, seed, the capex distribution and the delay model, from simulation_settings."""
    draws, seed = settings.get("draws"), settings.get("seed")
    basis = settings.get("capex_basis (triangular mode)", settings.get("capex_basis"))
    p = number(settings.get("delay_probability"))
    kmax = settings.get("max_delay_years")
    head = (f"The plan was simulated over {fmt.cell_text('draws', draws)} draws"
            + (f" (seed {seed})" if seed is not None else "") + ": ")
    capex = ("each funded project's capital cost is drawn from a triangular distribution between "
             "its low and high estimates" + (f", most likely at the {basis} basis" if basis
                                              else ""))
    if p is None or not fmt.is_number(kmax):
        delay = ""
    elif p <= 0 or kmax <= 0:
        delay = "; no project is delayed"
    else:
        span = "1 year" if kmax == 1 else f"1 to {kmax} years, each equally likely"
        delay = (f"; with probability {fmt.share(p)} a project comes online late by {span}")
    return (head + capex + delay + ". Start years and spending schedules stay as planned, so a "
            "delay moves deliveries and NPV, not spending.")


def summary_sentence(row: Mapping[str, Any]) -> str:
    """"NPV: P10 $66.7M, P50 $79.1M, P90 $92.0M (planned $82.6M)." """
    quantiles = ", ".join(f"{k.upper()} {fmt.money(number(row.get(k)))}"
                          for k in ("p10", "p50", "p90"))
    planned = number(row.get("planned"))
    tail = f" (planned {fmt.money(planned)})" if planned is not None else ""
    return f"{measure_name(row.get('measure'))}: {quantiles}{tail}."


def measure_name(measure: Any) -> str:
    """"total capex $M" -> "Total capex", "NPV $M" -> "NPV"."""
    text = str(measure or "").removesuffix(" $M").strip()
    return fmt.sentence_case(text) if text else fmt.MISSING


def target_phrase(row: Mapping[str, Any], last_year: int) -> str:
    year = row.get("target_year")
    return (f"{row.get('mineral')} (China share at most "
            f"{fmt.share(number(row.get('target_china_share')))} in {year}) "
            f"{fmt.share(number(row.get('p_met')))} in {year}, "
            f"{fmt.share(number(row.get('p_met_all_years')))} in every year from {year} to "
            f"{last_year}")
