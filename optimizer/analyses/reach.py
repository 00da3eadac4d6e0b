"""What would raise the chance of meeting every China-share target, measured.

The chance that a plan meets every target in the target year is counted over the Monte Carlo's
draws (:mod:`.simulate`: the workbook's seed, the same draws). When it is below
:data:`CONFIDENCE`, a committee asks what would raise it; each lever is measured on the *same*
draws, so the figures differ only by the lever:

- **Target level.** Per mineral with a target, the China share the plan keeps to in
  :data:`CONFIDENCE` of the futures: the smallest share s with P(share <= s) >= CONFIDENCE over
  the draws (the order statistic ``ceil(CONFIDENCE x draws)`` of the sorted shares). Then the
  chance that every target is met together when each target that the plan meets less often is
  set at that level (a target met more often stays as it is).
- **Target year.** The chance that the same plan meets every target in each of the
  :data:`LATER_YEARS` years after the target year (within the horizon): the same plan, a later
  year to meet it in.
- **Budget.** The plans of the budget sensitivity (re-solved with every budget 10%, 20%, 30%
  higher; :mod:`.sensitivity`), each simulated on the same draws: no new solve.
- **A risk-aware plan** (``risk_adjusted``: targets met by expected deliveries). When the
  workbook asks for one, the plan is one. Otherwise, only when the chance is below CONFIDENCE, one
  elastic solve with the target rows (and the NPV floor) relaxed tells whether one exists, and if
  not, which targets expected deliveries cannot meet (the diagnosis's words); only when it exists
  is it solved and simulated (a second solve).

Money in $M, shares fractions, years calendar years.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..diagnose import REPAIR_LIMIT_S, Elastic, Relaxation
from ..draws import Sampler, check_seed
from ..families import BY_NAME
from ..resolve import SolveOptions, resolve
from ..results import Result
from .riskprice import asks_for_risk
from .simulate import TARGET_TOL, _Bounds, _china_shares, _plan, chunk_draws

CONFIDENCE = 0.80  # the committee's bar: every target met in at least this share of futures
LATER_YEARS = 5  # later target years measured
BUDGET_CHANGES = (0.10, 0.20, 0.30)  # budget sensitivity rows measured (more budget)
# What expected figures change (targets and the NPV floor), relaxed in the risk-aware check; the
# other families are those of the plain plan, which meets them.
RISK_FAMILIES = ("target", "min_npv")


@dataclass(frozen=True)
class ShareDraws:
    """The China share of each mineral with a target in each draw and year, from the target year
    to the horizon end: ``shares[mineral]`` is (draws, years), ``years`` those years."""

    targets: Mapping[str, float]  # mineral -> target China share
    years: tuple[int, ...]
    shares: Mapping[str, np.ndarray]

    @property
    def draws(self) -> int:
        return next(iter(self.shares.values())).shape[0] if self.shares else 0

    def met(self, mineral: str, year: int, level: float | None = None) -> np.ndarray:
        """(draws,) whether the share of ``mineral`` in ``year`` is at most ``level`` (its
        target by default), with the simulation's tolerance."""
        limit = self.targets[mineral] if level is None else level
        return self.shares[mineral][:, self.years.index(year)] <= limit + TARGET_TOL

    def p_all(self, year: int, levels: Mapping[str, float] | None = None) -> float:
        """Share of draws meeting every target in ``year`` (at ``levels`` where given)."""
        every = np.ones(self.draws, dtype=bool)
        for mineral in self.targets:
            every &= self.met(mineral, year, (levels or {}).get(mineral))
        return float(every.mean())


def share_draws(result: Result, draws: int, seed: int | None = None) -> ShareDraws | None:
    """The China shares of ``result``'s plan over ``draws`` draws (seed None: the workbook's),
    exactly as :func:`.simulate.simulate` draws them; None without a target in the horizon."""
    inst = result.instance
    plan = _plan(result)
    if not plan.targets:
        return None
    sampler = Sampler(inst, seed=check_seed(inst.settings.seed if seed is None else seed),
                      project_ids=plan.pids, countries=plan.countries)
    span = tuple(int(t) for t in plan.targets[0]["span"])
    shares = {t["mineral"]: np.empty((draws, len(span))) for t in plan.targets}
    cache: dict = {}
    chunk = chunk_draws(plan)
    for lo in range(0, draws, chunk):
        block = sampler.block(lo, min(chunk, draws - lo))
        lost = block.lost_years(plan.starts, plan.country_row)
        bounds = _Bounds.of(plan, block, lost)
        for tgt in plan.targets:
            shares[tgt["mineral"]][lo:lo + block.n] = _china_shares(plan, tgt, block, lost, cache,
                                                                    bounds)
    return ShareDraws({t["mineral"]: t["target"] for t in plan.targets}, span, shares)


def level_at(shares: np.ndarray, confidence: float = CONFIDENCE) -> float:
    """The smallest s with P(share <= s) >= ``confidence`` over the draws: the
    ``ceil(confidence x n)``-th smallest share."""
    k = max(math.ceil(confidence * shares.size - 1e-9), 1)
    return float(np.sort(shares)[k - 1])


@dataclass(frozen=True)
class Reach:
    """``rows``: one per lever measured (results.json ``reach``): the plan as it is, the targets
    at the levels the plan keeps to in CONFIDENCE of the futures, each later target year, each
    larger budget, the risk-aware plan. ``levels``: one per mineral with a target
    (``reach_levels``)."""

    rows: tuple[Mapping[str, Any], ...]
    levels: tuple[Mapping[str, Any], ...]

    def tables(self) -> dict[str, Any]:
        return {"reach": [dict(r) for r in self.rows],
                "reach_levels": [dict(r) for r in self.levels]}


def _row(lever: str, change: str, p: float | None, *, target_year: int | None = None,
         budget_change: float | None = None, note: str = "") -> dict[str, Any]:
    return {"lever": lever, "change": change, "target_year": target_year,
            "budget_change": budget_change, "p_targets_met": p, "note": note}


def what_raises_the_chance(result: Result, draws: int, options: SolveOptions = SolveOptions(),
                           *, budget_plans: Mapping[float, Result | None] | None = None
                           ) -> Reach | None:
    """Every lever measured on ``draws`` draws of the workbook's seed (see the module
    docstring); None without a target in the horizon. ``budget_plans``: budget change -> the
    plan re-solved with it (None: no plan), from the budget sensitivity."""
    base = share_draws(result, draws)
    if base is None:
        return None
    s = result.instance.settings
    year = s.target_year
    p_plan = base.p_all(year)
    levels, at = [], {}
    for mineral, target in base.targets.items():
        shares = base.shares[mineral][:, 0]
        level = level_at(shares)
        at[mineral] = max(target, level)
        levels.append({"mineral": mineral, "target_china_share": target,
                       "p_met": float(base.met(mineral, year).mean()),
                       "china_share_p80": level,
                       "p_met_at_p80": float(base.met(mineral, year, level).mean())})
    rows = [_row("as planned", f"every target as set, met in {year}", p_plan, target_year=year)]
    loosened = [m for m in base.targets if at[m] > base.targets[m]]
    rows.append(_row("target level", "each target the plan meets in less than "
                     f"{CONFIDENCE:.0%} of futures set at the share it keeps to in "
                     f"{CONFIDENCE:.0%} ({', '.join(loosened) or 'none'})",
                     base.p_all(year, at), target_year=year))
    for later in base.years[1:LATER_YEARS + 1]:
        rows.append(_row("target year", f"every target met in {later}", base.p_all(later),
                         target_year=later))
    for change in BUDGET_CHANGES:
        if budget_plans is None or change not in budget_plans:
            continue
        plan = budget_plans[change]
        if plan is None:
            rows.append(_row("budget", f"every budget {change:+.0%}", None, target_year=year,
                             budget_change=change,
                             note="no plan with this budget (see the budget sensitivity)"))
            continue
        shares = share_draws(plan, draws)
        rows.append(_row("budget", f"every budget {change:+.0%} (plan re-solved)",
                         shares.p_all(year) if shares else None, target_year=year,
                         budget_change=change))
    rows.append(risk_aware_row(result, draws, p_plan, options))
    return Reach(tuple(rows), tuple(levels))


def risk_aware_row(result: Result, draws: int, p_plan: float,
                   options: SolveOptions = SolveOptions()) -> dict[str, Any]:
    """The risk-aware lever: the plan itself when the workbook asks for one; not checked when
    the plan already meets CONFIDENCE; otherwise whether a plan meeting every target with its
    expected deliveries exists (one elastic solve), and if so its chance (a second solve)."""
    year = result.instance.settings.target_year
    lever, change = "risk-aware plan", "every target met with expected deliveries (risk_adjusted)"
    if asks_for_risk(result):
        return _row(lever, change, p_plan, target_year=year, note="this plan is risk-aware")
    if p_plan >= CONFIDENCE:
        return _row(lever, change, None, target_year=year,
                    note=f"not checked: the plan meets every target in at least "
                         f"{CONFIDENCE:.0%} of futures")
    aware = result.instance.with_settings(risk_adjusted=True)
    limit = options.time_limit(aware)
    found = Elastic(aware, RISK_FAMILIES, options.solver or aware.settings.solver,
                    limit).ask(minimize=True)
    if found.status == "unsettled" or (found.rows and not found.least):
        return _row(lever, change, None, target_year=year,  # a relaxation, not proven needed
                    note=f"not settled: no answer within {min(limit, REPAIR_LIMIT_S):g} s")
    if found.status == "none" or found.rows:  # the least relaxation needs slack: proven
        return _row(lever, change, None, target_year=year,
                    note="does not exist with these figures: " + missed(aware, found))
    outcome = resolve(aware, options)
    if outcome.result is None:
        return _row(lever, change, None, target_year=year,
                    note="not found: " + outcome.message)
    shares = share_draws(outcome.result, draws)
    return _row(lever, change, shares.p_all(year) if shares else None, target_year=year,
                note="exists: the plan re-solved with risk_adjusted")


def missed(instance, found: Relaxation) -> str:
    """The rows expected figures cannot meet, in the diagnosis's words."""
    if found.status == "none":
        return "no plan meets the other rules with expected figures"
    return "; ".join(phrase for family, rows in found.rows.items()
                     for phrase in BY_NAME[family].describe(instance, rows))


def budget_plans_of(sensitivity: Any) -> dict[float, Result | None] | None:
    """Budget change -> plan, from a :class:`.sensitivity.BudgetSensitivity` that kept its
    plans (a result read back from results.json keeps none: then None)."""
    plans = getattr(sensitivity, "plans", None)
    return dict(plans) if plans else None
