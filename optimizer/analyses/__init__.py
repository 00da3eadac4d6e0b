"""Analyses of a solved plan, one module each, all re-solving through :mod:`optimizer.resolve`.

Each analysis is a pure function of the result and the options that returns a frozen dataclass
knowing its own tables (``tables()``: the ``results.json`` keys of version 1, each a list of rows
or a mapping). :class:`Analyses` carries them, typed, on a :class:`~optimizer.results.Result`;
JSON is made from it only at the output edge and read back in one place
(:func:`optimizer.outputs.load_result`).

- :mod:`.whynot`       why each rejected project is out (rules, then forced re-solves)
- :mod:`.sensitivity`  budgets scaled -30% .. +30%
- :mod:`.scenarios`    the workbook's scenarios side by side; the price of robust budgets
- :mod:`.frontier`     NPV against China reliance; the budget ladder
- :mod:`.alternatives` near-optimal portfolios
- :mod:`.simulate`     Monte Carlo of the chosen plan
- :mod:`.futures`      the plan re-optimized in each of many sampled futures
- :mod:`.stress`       each country with a funded project lost, no re-solve
- :mod:`.proposal`     the committee's own plan scored and set beside the recommendation
- :mod:`.priority`     the nested funding priority list over the BudgetLevels
- :mod:`.riskprice`    the risk-aware plan against the plain one, each with its chance of
                       meeting the targets
- :mod:`.reach`        what would raise the chance of meeting every target (levels, years,
                       budgets, a risk-aware plan), measured on the simulation's draws

The analysis classes are imported here for type checking only, so that this package can be
imported by :mod:`optimizer.results` without importing what the analyses import.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # type names only: the modules import optimizer.results
    from .alternatives import Alternatives
    from .frontier import BudgetLadder, Frontier
    from .futures import Futures
    from .priority import PriorityPlan
    from .proposal import Proposal
    from .reach import Reach
    from .riskprice import RiskPrice
    from .scenarios import RobustPrice, ScenarioComparison
    from .sensitivity import BudgetSensitivity
    from .simulate import SimulationTables
    from .stress import StressTest
    from .whynot import WhyNot


@dataclass(frozen=True)
class Analyses:
    """The analyses attached to a result; None where an analysis was not run.

    ``sensitivity_skipped`` records that why-not and budget sensitivity were skipped on purpose
    (``--no-sensitivity``), so the memo can say so. ``extra`` holds further tables by key (an
    analysis read back from a results.json of a later version, say): the memo and the workbook
    show each list of rows as a generic table."""

    stress: StressTest | None = None
    proposal: Proposal | None = None
    priority: PriorityPlan | None = None
    robust: RobustPrice | None = None
    risk_price: RiskPrice | None = None
    scenarios: ScenarioComparison | None = None
    why_not: WhyNot | None = None
    sensitivity: BudgetSensitivity | None = None
    sensitivity_skipped: bool = False
    frontier: Frontier | None = None
    budget_ladder: BudgetLadder | None = None
    alternatives: Alternatives | None = None
    simulation: SimulationTables | None = None
    reach: Reach | None = None
    futures: Futures | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def present(self) -> list[Any]:
        """The analyses that were run, in this order."""
        return [getattr(self, f.name) for f in fields(self)
                if f.name not in ("sensitivity_skipped", "extra")
                and getattr(self, f.name) is not None]

    def tables(self) -> dict[str, Any]:
        """Every table of every analysis present, by its results.json key, in order; then the
        ``extra`` tables (by key, shown as generic tables), and the skip flag."""
        out: dict[str, Any] = {}
        for analysis in self.present():
            out.update(analysis.tables())
        out.update(self.extra)
        if self.sensitivity_skipped:
            out["sensitivity_skipped"] = True
        return out
