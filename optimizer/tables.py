"""Tables and words the reports share: the memo, the results workbook and the charts import them
from here, and none of the three imports another.

Money in $M; years are calendar years.
"""

from __future__ import annotations

from typing import Any, Sequence

from .results import Result

# Sheet names of results.xlsx that the memo points a reader to.
SUMMARY = "Summary"
PORTFOLIO = "Portfolio"
SPEND = "Spend"
CHINA = "China reliance"
REJECTED = "Rejected"

OBJECTIVE_WORDS = {
    "npv": "NPV of funded projects, discounted",
    "security": "China reliance removed, discounted",
    "weighted": "NPV plus security premium, discounted",
}


def objective_unit(objective: str) -> str:
    """Unit of an objective's value: share-years for security, $M otherwise."""
    return "share-years" if objective == "security" else "$M"


def sheet_title(key: str, taken: Sequence[str]) -> str:
    """A valid, unused sheet title for an analysis key ("frontier" -> "Frontier")."""
    base = "".join(" " if c in '[]:*?/\\' else c for c in key.replace("_", " ")).strip()
    base = (base[:1].upper() + base[1:])[:31] or "Analysis"
    title, n = base, 2
    lowered = {t.lower() for t in taken}
    while title.lower() in lowered:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    return title


def is_binding(headroom: float, budget: float) -> bool:
    """Headroom ~ 0: below 0.5% of the budget or below 0.01 $M."""
    return headroom < 0.005 * budget or headroom < 0.01


def spend_rows(result: Result) -> list[list[Any]]:
    """Year, spend, budget, headroom, cumulative spend and budget, binding flag, and (when
    robust_gamma > 0) the spend side of the budget row with its overruns.

    The binding flag judges the budget row the plan must meet (``Evaluation.row_spend`` against
    ``row_budget``): per year, or cumulative with carry-over, overruns included when
    robust_gamma > 0.
    """
    ev = result.evaluation
    robust = result.instance.settings.robust_gamma > 0
    rows, cum_spend, cum_budget = [], 0.0, 0.0
    for year in result.instance.settings.years:
        spend, budget = ev.spend[year], ev.budget[year]
        cum_spend += spend
        cum_budget += budget
        binding = is_binding(ev.row_budget[year] - ev.row_spend[year], ev.row_budget[year])
        row = [year, spend, budget, budget - spend, cum_spend, cum_budget,
               "yes" if binding else ""]
        rows.append(row + [ev.row_spend[year]] if robust else row)
    return rows


# ---------------------------------------------------------------------------------------------
# Column headers of the analysis tables (lists of dicts keyed by results.json field names)

# Field name -> header words, where the rules of header_words() would not say it well. Units
# follow the reports' convention: "$M" after money, "(share-years)", "(%)", "(years)" in brackets.
HEADER_WORDS = {
    "project_id": "Project ID",
    "npv_musd": "NPV $M",
    "total_capex_musd": "Total capex $M",
    "npv_change_musd": "NPV change $M",
    "capex_change_musd": "Capex change $M",
    "objective_value": "Objective",
    "planned_objective_value": "Objective, planned figures",
    "objective_below_optimum": "Objective below optimum",
    "objective_per_extra_busd": "Objective change per extra $1B",
    "price": "Price of the risk-aware plan",
    "funded_count": "Projects funded",
    "funded": "Funded projects",
    "added": "Projects added",
    "dropped": "Projects dropped",
    "adds": "Projects added",
    "drops": "Projects dropped",
    "funded_in": "Funded in",
    "funded_projects": "Funded projects",
    "security_share_years": "Reliance removed (share-years)",
    "security_floor": "Reliance removed at least (share-years)",
    "security_change": "Change in reliance removed (share-years)",
    "robust_gamma": "Overruns covered (gamma)",
    "budget_change": "Budget change (%)",
    "extra_budget_musd": "Extra budget $M",
    "p10": "P10", "p50": "P50", "p90": "P90",
    "mean": "Mean", "std": "Standard deviation", "planned": "Planned",
    "planned_online": "Planned online year",
    "p_on_time": "Probability online on time",
    "p_met": "Probability met in target year",
    "p_met_all_years": "Probability met every year from then",
    "p_met_scaled": "Probability met, losses scaled",
    "p_met_all_years_scaled": "Probability met every year, losses scaled",
    "p_exceeded": "Probability budget exceeded",
    "p_targets_met": "Probability all targets met",
    "china_share_p80": "China share kept to in 80% of futures",
    "p_met_at_p80": "Probability met at that share",
    "lever": "What changes",
    "p_event_by_horizon_end": "Probability of a loss by the horizon end",
    "loss_probability": "Loss probability per year",
    "loss_multiplier": "Loss probability multiplier",
    "mean_projects_lost": "Mean projects lost",
    "target": "Target",
    "holds": "Target holds",
    "tonnes_lost": "Tonnes lost t",
    "china_share": "China share",
    "planned_china_share": "Planned China share",
    "target_china_share": "Target China share",
    "bin_low_musd": "Bin from $M",
    "bin_high_musd": "Bin to $M",
    "count": "Draws",
    "share": "Share of draws",
    "test": "Test",
    "plan": "Plan",
    "futures_funding_it": "Futures funding it",
    "funded_share": "Share of futures funding it",
    "funded_share_se": "Standard error of the share",
    "in_recommended_plan": "In the recommended plan",
    "statistic": "Statistic",
    "share_of_draws": "Share of futures",
    "future": "Future (draw index)",
    "known_lost": "Known lost (not offered)",
    "released": "Must-fund released",
    "failing_rule": "Rule that fails most",
    "separate_objective_value": "Best objective for this budget alone",
    "objective_given_up": "Objective given up for nesting",
    "objective_added": "Objective added",
}
# Fields measured in the objective's unit ($M or share-years): header_words() adds the unit.
OBJECTIVE_FIELDS = ("objective_value", "planned_objective_value", "objective_below_optimum",
                    "objective_per_extra_busd", "price", "price_of_robustness",
                    "separate_objective_value", "objective_given_up", "objective_added")
# Name endings that carry a unit: ending -> unit words put after the header.
UNIT_ENDINGS = (("_musd", "$M"), ("_busd", "$B"), ("_usd_per_t", "$/t"), ("_tpa", "t/yr"),
                ("_t", "t"), ("_seconds", "time (s)"), ("_s", "(s)"), ("_pct", "(%)"),
                ("_share_years", "(share-years)"), ("_years", "(years)"))
# Words written in capitals or with a capital in a header.
PROPER_WORDS = {"npv": "NPV", "irr": "IRR", "id": "ID", "us": "US", "usd": "USD",
                "china": "China", "mip": "MIP", "p10": "P10", "p50": "P50", "p90": "P90"}


def header_words(key: Any, objective_unit: str | None = None) -> str:
    """A column header in words, with its unit, for a results.json field name.

    ``"npv_musd"`` -> "NPV $M", ``"objective_below_optimum_pct"`` -> "Objective below optimum
    (%)", ``"china_share:gallium"`` -> "China share, gallium", ``"p_on_time"`` -> "Probability
    online on time", ``"capacity_tpa"`` -> "Capacity t/yr". Known names come from
    :data:`HEADER_WORDS`; the rest by rule: a unit ending (:data:`UNIT_ENDINGS`) becomes its unit,
    ``p_*`` a probability, underscores spaces. ``objective_unit`` ("$M" or "share-years"), when
    given, is added to the fields measured in the objective's unit (:data:`OBJECTIVE_FIELDS`).
    The memo, the workbook and the charts all head their columns with this function.
    """
    text = str(key)
    if ":" in text:  # "china_share:gallium": a field per mineral (or per other name)
        field, _, name = text.partition(":")
        return f"{header_words(field, objective_unit)}, {name}"
    words = HEADER_WORDS.get(text) or _rule_words(text)
    if objective_unit and text in OBJECTIVE_FIELDS:
        words = f"{words} ({objective_unit})"
    return words


def _rule_words(key: str) -> str:
    """Header words for a field name not in HEADER_WORDS (see header_words)."""
    unit = ""
    for ending, words in UNIT_ENDINGS:
        if key.endswith(ending) and len(key) > len(ending):
            key, unit = key[: -len(ending)], words
            break
    parts = [p for p in key.split("_") if p]
    if parts and parts[0] == "p" and len(parts) > 1:
        parts[0] = "probability"
    text = " ".join(PROPER_WORDS.get(p.lower(), p) for p in parts) or key
    text = text[:1].upper() + text[1:]
    return f"{text} {unit}" if unit else text
