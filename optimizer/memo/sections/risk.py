"""Memo section on risk: the Monte Carlo simulation of the chosen plan."""

from __future__ import annotations

from typing import Any, Mapping

from .. import text as fmt
from ...analyses.reach import CONFIDENCE
from ...evaluate import TOL
from ..context import figure, generic_table, id_labels, MemoContext, number, rows_of
from ..model import Block, Paragraph, Table

# ---------------------------------------------------------------------------------------------
# 10. Risk: Monte Carlo simulation

SIMULATION_KEYS = ("simulation_summary", "simulation_budget", "simulation_targets",
                   "simulation_online", "simulation_risks", "simulation_settings",
                   "simulation_countries", "simulation_loss_multiplier", "risk_price",
                   "reach", "reach_levels")


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
    if settings and rows_of(found.get("simulation_countries")):
        sentences.append("Those delay figures are the Settings' defaults: the Countries sheet and "
                         "the projects' own columns override them where they give their own.")
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
    blocks += risk_blocks(ctx, found, targets, risks)
    return tuple(blocks)


def risk_blocks(ctx: MemoContext, found: Mapping[str, Any], targets: list, risks: list
                ) -> list[Block]:
    """Losses under the risk model: the plain verdict on meeting every target, the China-share
    spread, losses by country, doubled loss probabilities, and the price of a risk-aware plan."""
    blocks: list[Block] = []
    joint = next((number(r.get("probability")) for r in risks
                  if "every China-share target" in str(r.get("event"))), None)
    if joint is not None:
        year = targets[0].get("target_year") if targets else None
        if joint >= CONFIDENCE:
            verdict = (f"Under the modelled risks the plan meets every China-share target in "
                       f"{year} in {fmt.share(joint)} of the simulated futures, above the "
                       f"{fmt.share(CONFIDENCE)} a committee would want.")
        else:
            weakest = min(targets, key=lambda r: number(r.get("p_met")) or 0.0)
            verdict = (f"Under the modelled risks the plan meets every China-share target in "
                       f"{year} in only {fmt.share(joint)} of the simulated futures, short of "
                       f"the {fmt.share(CONFIDENCE)} a committee would want; the weakest is "
                       f"{weakest.get('mineral')} ({fmt.share(number(weakest.get('p_met')))}).")
            if not rows_of(found.get("reach")):  # a results.json from before the measurement
                verdict += (" Reaching more takes more budget, a later target year or a less "
                            "demanding target level.")
        blocks.append(Paragraph(verdict, style="lead" if joint < CONFIDENCE else "body"))
        if joint < CONFIDENCE:
            blocks += reach_blocks(found)
    spread = [r for r in targets if r.get("china_share_p50") is not None]
    if spread:
        blocks.append(Table(
            header=("Mineral", "Target", "China share P10", "P50", "P90"),
            rows=tuple((str(r.get("mineral")), fmt.share(number(r.get("target_china_share"))),
                        *(fmt.share(number(r.get(f"china_share_{q}"))) for q in
                          ("p10", "p50", "p90"))) for r in spread),
            align=("left",) + ("right",) * 4,
            caption="China share in the target year over the simulated futures"))
    countries = rows_of(found.get("simulation_countries"))
    if countries:
        blocks.append(Paragraph("Losses follow the Countries sheet and each project's own loss "
                                "probability: a lost project spends nothing after the year it is "
                                "lost and delivers nothing from then on."))
        blocks.append(Table(
            header=("Country", "Loss probability a year", "Funded projects",
                    "P(country-wide loss by the horizon end)", "Mean projects lost"),
            rows=tuple((str(r.get("country")), fmt.share(number(r.get("loss_probability"))),
                        fmt.cell_text("funded_projects", r.get("funded_projects")),
                        fmt.share(number(r.get("p_event_by_horizon_end"))),
                        f"{number(r.get('mean_projects_lost')) or 0.0:.2f}") for r in countries),
            align=("left",) + ("right",) * 4,
            caption="Losses by country over the simulated futures"))
    doubled = rows_of(found.get("simulation_loss_multiplier"))
    if doubled:
        blocks.append(Paragraph("If every loss probability were doubled (a second simulation of "
                                "the same plan with the same random numbers):"))
        blocks.append(generic_table(doubled, "Chance of meeting the targets with loss "
                                             "probabilities doubled"))
    price = rows_of(found.get("risk_price"))
    if price:
        blocks.append(Paragraph("The price of the risk-aware plan the workbook asks for: the plain "
                                "plan against it, each valued by planned figures, with its chance "
                                "of meeting every target."))
        blocks.append(generic_table(price, "Plain plan against the risk-aware plan"))
    return blocks


def reach_blocks(found: Mapping[str, Any]) -> list[Block]:
    """What would raise the chance of meeting every target, each lever measured on the same
    simulated futures (analyses/reach.py): sentences, then the table of the levers."""
    rows = rows_of(found.get("reach"))
    if not rows:
        return []
    sentences = ["What would raise it, measured on the same simulated futures, lever by lever."]
    sentences += [s for s in (level_sentence(rows, rows_of(found.get("reach_levels"))),
                              year_sentence(rows), budget_sentence(rows), aware_sentence(rows))
                  if s]
    measured = [r for r in rows if r.get("lever") != "as planned"
                and number(r.get("p_targets_met")) is not None]
    enough = [r for r in measured if number(r.get("p_targets_met")) >= CONFIDENCE]
    if enough:
        sentences.append(f"Of these, {fmt.join_words([lever_words(r) for r in enough])} "
                         f"reach{'es' if len(enough) == 1 else ''} {fmt.share(CONFIDENCE)}.")
    elif measured:
        best = max(measured, key=lambda r: number(r.get("p_targets_met")))
        sentences.append(f"None of these alone reaches {fmt.share(CONFIDENCE)}; the most is "
                         f"{fmt.share(number(best.get('p_targets_met')))}, with "
                         f"{lever_words(best)}.")
    return [Paragraph(" ".join(sentences)), Table(
        header=("What changes", "Change", "P(every target met)"),
        rows=tuple((str(r.get("lever", "")), str(r.get("change", "")), chance_cell(r))
                   for r in rows),
        align=("left", "left", "right"),
        caption="Chance that the plan meets every China-share target, each lever measured on "
                "the same simulated futures")]


def chance_cell(row: Mapping[str, Any]) -> str:
    """The measured chance, or why there is none ("no plan", "does not exist", "not checked")."""
    p = number(row.get("p_targets_met"))
    if p is not None:
        return fmt.share(p)
    note = str(row.get("note") or "")
    for words in ("does not exist", "not checked", "not settled", "not found", "no plan"):
        if note.startswith(words):
            return words
    return fmt.MISSING


def lever_words(row: Mapping[str, Any]) -> str:
    """A lever row in a few words: "the target year 2039", "every budget +20%"."""
    lever = row.get("lever")
    if lever == "target year":
        return f"the target year {row.get('target_year')}"
    if lever == "budget":
        return f"every budget {100 * (number(row.get('budget_change')) or 0.0):+.0f}%"
    if lever == "target level":
        return "the targets at those levels"
    return "the risk-aware plan" if lever == "risk-aware plan" else str(lever)


def level_sentence(rows: list, levels: list) -> str:
    loosened = [r for r in levels if (number(r.get("china_share_p80")) or 0.0)
                > (number(r.get("target_china_share")) or 0.0)]
    if not loosened:
        return ""
    row = next((r for r in rows if r.get("lever") == "target level"), {})
    keeps = fmt.join_words([f"{r.get('mineral')} at or below "
                            f"{fmt.share(number(r.get('china_share_p80')))} (target "
                            f"{fmt.share(number(r.get('target_china_share')))})"
                            for r in loosened])
    those = "that target" if len(loosened) == 1 else "those targets"
    return (f"A less demanding target level: in {fmt.share(CONFIDENCE)} of the futures the plan "
            f"keeps the China share of {keeps}; with {those} set there, every target is met "
            f"together in {fmt.share(number(row.get('p_targets_met')))} of them.")


def year_sentence(rows: list) -> str:
    later = [r for r in rows if r.get("lever") == "target year"]
    if not later:
        return ""
    return ("A later target year: the same plan meets every target in " + fmt.join_words(
        [f"{r.get('target_year')} in {fmt.share(number(r.get('p_targets_met')))}"
         for r in later]) + " of the futures.")


def budget_sentence(rows: list) -> str:
    more = [r for r in rows if r.get("lever") == "budget"]
    if not more:
        return ""
    changes = fmt.join_words([f"{100 * (number(r.get('budget_change')) or 0.0):.0f}%"
                              for r in more])
    chances = fmt.join_words([fmt.share(number(r.get("p_targets_met"))) if
                              number(r.get("p_targets_met")) is not None else "no plan"
                              for r in more])
    return (f"More budget: the plans re-solved with every budget {changes} higher meet every "
            f"target in {chances} of the futures (each re-solved for the workbook's objective, "
            "not for this chance).")


def aware_sentence(rows: list) -> str:
    row = next((r for r in rows if r.get("lever") == "risk-aware plan"), None)
    if row is None:
        return ""
    note = str(row.get("note") or "")
    what = ("A risk-aware plan, one that meets every target with its expected deliveries "
            "(risk_adjusted),")
    if note.startswith("does not exist"):
        return f"{what} {note}."
    if note.startswith("exists") and number(row.get("p_targets_met")) is not None:
        return (f"{what} exists: it meets every target in "
                f"{fmt.share(number(row.get('p_targets_met')))} of the futures.")
    if note.startswith("not settled"):
        return (f"Whether a risk-aware plan exists (one that meets every target with its "
                f"expected deliveries, risk_adjusted) is {note}.")
    if note.startswith("not found"):
        return f"{what} was {note}."
    return ""


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
