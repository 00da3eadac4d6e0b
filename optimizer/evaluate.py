"""Recompute every figure of a plan from the decision alone, without the model.

A *decision* is ``{project_id: start_year}`` for the funded projects. :func:`evaluate` turns it into
spending, deliveries, China shares and objective values by plain arithmetic over the input objects;
:func:`optimizer.families.violations` lists, from it, every rule of the contract the plan breaks. The
solver's plan is accepted only when this independent account agrees with the model (see
``verify.py``). Nothing here imports PuLP or the model builder.

Planned and expected figures. The fields ``deliveries``, ``displaced``, ``share_after``,
``security``, ``premium_musd``, ``npv_discounted`` and ``npv_musd`` are the figures the rules
count: with Settings ``risk_adjusted`` they are the *expected* ones (deliveries under the loss and
delay model of :mod:`optimizer.risk`, displaced tonnes min(expected deliveries, China-dependent
volume), NPV ``risk.expected_npv_at_start x discount(start)``), otherwise the planned ones. The
``planned_*`` fields always hold the planned figures (no delay, no loss, capex at the basis,
``npv_musd x discount(start)``). Without ``risk_adjusted`` both are the same numbers, computed
exactly as in version 1. Spending and budget rows are always planned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .instance import Instance
from .risk import deliveries_by_year, expected_npv_at_start

TOL = 1e-6  # absolute tolerance for money ($M) and tonnes comparisons, relative where stated


@dataclass(frozen=True)
class Evaluation:
    """All figures of one plan. Years are calendar years; money $M; tonnes t; shares fractions."""

    starts: Mapping[str, int]  # funded project -> start year
    online: Mapping[str, int]  # funded project -> first delivery year (start + build_years)
    capex: Mapping[str, float]  # funded project -> capex at the capex basis ($M)
    npv_discounted: Mapping[str, float]  # funded project -> its NPV x discount(start), as counted
    spend: Mapping[int, float]  # horizon year -> capital spent
    budget: Mapping[int, float]  # horizon year -> budget
    # Left and right side of each budget row: the year's spend and budget, or with carry-over the
    # cumulative spend and budget to that year; with robust_gamma > 0 the spend side includes the
    # gamma largest overruns to capex_high among the projects spending in that row.
    row_spend: Mapping[int, float]
    row_budget: Mapping[int, float]
    deliveries: Mapping[str, Mapping[int, float]]  # mineral -> year -> tonnes delivered (counted)
    demand: Mapping[str, Mapping[int, float]]  # mineral -> year -> US demand (t)
    displaced: Mapping[str, Mapping[int, float]]  # mineral -> year -> China-dependent t displaced
    share_before: Mapping[str, Mapping[int, float]]  # mineral -> year -> China share, no plan
    share_after: Mapping[str, Mapping[int, float]]  # mineral -> year -> China share with the plan
    npv_musd: float  # sum of discounted NPV of funded projects
    security: float  # weighted, discounted share-years of China reliance removed
    premium_musd: float  # discounted security premium of displaced tonnes ($M)
    total_capex: float
    # Planned figures (equal to the counted ones above unless risk_adjusted; see the module).
    planned_deliveries: Mapping[str, Mapping[int, float]]  # mineral -> year -> t
    planned_displaced: Mapping[str, Mapping[int, float]]  # mineral -> year -> t
    planned_share_after: Mapping[str, Mapping[int, float]]  # mineral -> year -> fraction
    planned_npv_discounted: Mapping[str, float]  # funded project -> npv_musd x discount(start)
    planned_npv_musd: float
    # funded project -> horizon year -> tonnes it delivers, as counted (years with none left out)
    project_deliveries: Mapping[str, Mapping[int, float]]
    risk_adjusted: bool  # the counted figures are expected ones

    def objective_value(self, objective: str) -> float:
        if objective == "npv":
            return self.npv_musd
        if objective == "security":
            return self.security
        if objective == "premium":  # the security value alone: a criterion of the frontier
            return self.premium_musd
        return self.npv_musd + self.premium_musd


def allowed_starts(instance: Instance, project_id: str) -> list[int]:
    """Start years open to a project: its window, clipped so that all spending is in the horizon."""
    s = instance.settings
    p = instance.projects[project_id]
    last_spend_offset = len(p.spend_shares) - 1
    lo = max(p.earliest_start, s.first_year)
    hi = min(p.latest_start, s.last_year - last_spend_offset)
    return list(range(lo, hi + 1))


def evaluate(instance: Instance, starts: Mapping[str, int]) -> Evaluation:
    """Every figure of the plan that funds ``starts`` (project_id -> start year)."""
    s = instance.settings
    years = list(s.years)
    spend, overrun, capex = _spending(instance, starts)
    online = {pid: start + instance.projects[pid].build_years for pid, start in starts.items()}
    npv_disc = {pid: instance.projects[pid].npv_musd
                * (1.0 + s.discount_rate) ** -(start - s.first_year) for pid, start in starts.items()}
    planned_by_project = {pid: deliveries_by_year(instance, pid, start)
                          for pid, start in starts.items()}
    planned = _by_mineral(instance, planned_by_project)
    planned_view = _supply_view(instance, planned)
    if s.risk_adjusted:
        counted_npv = {pid: expected_npv_at_start(instance, pid, start) * s.discount(start)
                       for pid, start in starts.items()}
        by_project = {pid: deliveries_by_year(instance, pid, start, expected=True)
                      for pid, start in starts.items()}
        counted = _by_mineral(instance, by_project)
        view = _supply_view(instance, counted)
    else:
        counted_npv, by_project, counted, view = npv_disc, planned_by_project, planned, planned_view
    budget = {t: float(instance.budget.get(t, 0.0)) for t in years}
    row_spend, row_budget = _budget_rows(s.budget_carryover, s.robust_gamma, years, spend, budget,
                                         overrun)
    return Evaluation(
        starts=dict(starts), online=online, capex=capex, npv_discounted=counted_npv,
        spend=spend, budget=budget, row_spend=row_spend, row_budget=row_budget,
        deliveries=counted, demand=view.demand, displaced=view.displaced,
        share_before=view.before, share_after=view.after,
        npv_musd=sum(counted_npv.values()), security=view.security,
        premium_musd=view.premium, total_capex=sum(capex.values()),
        planned_deliveries=planned, planned_displaced=planned_view.displaced,
        planned_share_after=planned_view.after, planned_npv_discounted=npv_disc,
        planned_npv_musd=sum(npv_disc.values()), project_deliveries=by_project,
        risk_adjusted=s.risk_adjusted,
    )


def _spending(instance: Instance, starts: Mapping[str, int]):
    """($M) spend by year (horizon years, and any other year money falls in), each project's
    overrun to capex_high by year, and each project's capex at the basis."""
    s = instance.settings
    spend = {t: 0.0 for t in s.years}
    overrun: dict[str, dict[int, float]] = {}  # project -> year -> $M extra at capex_high
    capex = {}
    for pid, start in starts.items():
        p = instance.projects[pid]
        cap = p.capex(s.capex_basis)
        capex[pid] = cap
        extra = max(p.capex_high_musd - cap, 0.0)
        overrun[pid] = {}
        for offset, share in enumerate(p.spend_shares):
            year = start + offset
            if share == 0:
                continue
            spend[year] = spend.get(year, 0.0) + cap * share
            overrun[pid][year] = extra * share
    return spend, overrun, capex


def _by_mineral(instance: Instance, by_project: Mapping[str, Mapping[int, float]]):
    """mineral -> horizon year -> tonnes, summed over the projects' deliveries (t)."""
    out = {m: {t: 0.0 for t in instance.settings.years} for m in instance.minerals}
    for pid, by_year in by_project.items():
        mineral = instance.projects[pid].mineral
        for year, tonnes in by_year.items():
            out[mineral][year] += tonnes
    return out


@dataclass(frozen=True)
class _SupplyView:
    """China reliance of every mineral and year for one set of deliveries (see _supply_view)."""

    demand: dict[str, dict[int, float]]  # t
    displaced: dict[str, dict[int, float]]  # t
    before: dict[str, dict[int, float]]  # fraction
    after: dict[str, dict[int, float]]  # fraction
    security: float  # share-years, discounted
    premium: float  # $M, discounted


def _supply_view(instance: Instance, deliveries: Mapping[str, Mapping[int, float]]) -> _SupplyView:
    """Demand, displaced tonnes min(deliveries, china_share x demand), China shares before and
    after, and the discounted security (share-years) and premium ($M) of ``deliveries``."""
    s = instance.settings
    demand, displaced, before, after = {}, {}, {}, {}
    security = premium = 0.0
    for name, m in instance.minerals.items():
        demand[name], displaced[name], before[name], after[name] = {}, {}, {}, {}
        for t in s.years:
            d = m.us_demand_t * (1.0 + m.demand_growth) ** (t - s.first_year)
            exposed = m.china_share * d
            x = min(deliveries[name][t], exposed)
            disc = (1.0 + s.discount_rate) ** -(t - s.first_year)
            demand[name][t] = d
            displaced[name][t] = x
            before[name][t] = m.china_share
            after[name][t] = (exposed - x) / d
            security += m.weight * x / d * disc
            premium += x * m.security_premium_usd_per_t / 1e6 * disc
    return _SupplyView(demand, displaced, before, after, security, premium)


def _budget_rows(carryover: bool, gamma: int, years: list[int], spend: Mapping[int, float],
                 budget: Mapping[int, float], overrun: Mapping[str, Mapping[int, float]]):
    """Both sides of every budget row (see Evaluation.row_spend)."""
    row_spend, row_budget = {}, {}
    cum_spend = cum_budget = 0.0
    cum_over = {pid: 0.0 for pid in overrun}
    for t in years:
        if carryover:
            cum_spend += spend[t]
            cum_budget += budget[t]
            for pid, by_year in overrun.items():
                cum_over[pid] += by_year.get(t, 0.0)
            extras = [v for pid, v in cum_over.items() if any(y <= t for y in overrun[pid])]
            base, limit = cum_spend, cum_budget
        else:
            extras = [by_year[t] for by_year in overrun.values() if t in by_year]
            base, limit = spend[t], budget[t]
        row_spend[t] = base + sum(sorted(extras, reverse=True)[:gamma])
        row_budget[t] = limit
    return row_spend, row_budget


def target_met_year(instance: Instance, ev: Evaluation, mineral: str) -> int | None:
    """First year from which the mineral's China share stays at or below its target, or None."""
    m = instance.minerals[mineral]
    if m.target_china_share is None:
        return None
    met = None
    for t in instance.settings.years:
        if ev.share_after[mineral][t] <= m.target_china_share + 1e-7:
            if met is None:
                met = t
        else:
            met = None
    return met
