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
