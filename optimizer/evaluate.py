"""Recompute every figure of a plan from the decision alone, without the model.

A *decision* is ``{project_id: start_year}`` for the funded projects. :func:`evaluate` turns it into
spending, deliveries, China shares and objective values by plain arithmetic over the input objects;
:func:`optimizer.families.violations` lists, from it, every rule of the contract the plan breaks. The
solver's plan is accepted only when this independent account agrees with the model (see
``verify.py``). Nothing here imports PuLP or the model builder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .instance import Instance

TOL = 1e-6  # absolute tolerance for money ($M) and tonnes comparisons, relative where stated


@dataclass(frozen=True)
class Evaluation:
    """All figures of one plan. Years are calendar years; money $M; tonnes t; shares fractions."""

    starts: Mapping[str, int]  # funded project -> start year
    online: Mapping[str, int]  # funded project -> first delivery year (start + build_years)
    capex: Mapping[str, float]  # funded project -> capex at the capex basis ($M)
    npv_discounted: Mapping[str, float]  # funded project -> npv_musd x discount(start)
    spend: Mapping[int, float]  # horizon year -> capital spent
    budget: Mapping[int, float]  # horizon year -> budget
    # Left and right side of each budget row: the year's spend and budget, or with carry-over the
    # cumulative spend and budget to that year; with robust_gamma > 0 the spend side includes the
    # gamma largest overruns to capex_high among the projects spending in that row.
    row_spend: Mapping[int, float]
    row_budget: Mapping[int, float]
    deliveries: Mapping[str, Mapping[int, float]]  # mineral -> year -> tonnes delivered
    demand: Mapping[str, Mapping[int, float]]  # mineral -> year -> US demand (t)
    displaced: Mapping[str, Mapping[int, float]]  # mineral -> year -> China-dependent t displaced
    share_before: Mapping[str, Mapping[int, float]]  # mineral -> year -> China share, no plan
    share_after: Mapping[str, Mapping[int, float]]  # mineral -> year -> China share with the plan
    npv_musd: float  # sum of discounted NPV of funded projects
    security: float  # weighted, discounted share-years of China reliance removed
    premium_musd: float  # discounted security premium of displaced tonnes ($M)
    total_capex: float

    def objective_value(self, objective: str) -> float:
        if objective == "npv":
            return self.npv_musd
        if objective == "security":
            return self.security
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
    spend = {t: 0.0 for t in years}
    overrun: dict[str, dict[int, float]] = {}  # project -> year -> $M extra at capex_high
    deliveries = {m: {t: 0.0 for t in years} for m in instance.minerals}
    online, capex, npv_disc = {}, {}, {}
    for pid, start in starts.items():
        p = instance.projects[pid]
        cap = p.capex(s.capex_basis)
        capex[pid] = cap
        npv_disc[pid] = p.npv_musd * (1.0 + s.discount_rate) ** -(start - s.first_year)
        extra = max(p.capex_high_musd - cap, 0.0)
        overrun[pid] = {}
        for offset, share in enumerate(p.spend_shares):
            year = start + offset
            if share == 0:
                continue
            spend[year] = spend.get(year, 0.0) + cap * share
            overrun[pid][year] = extra * share
        online[pid] = start + p.build_years
        end = s.last_year if p.operating_years is None else online[pid] + p.operating_years - 1
        for year in range(online[pid], min(end, s.last_year) + 1):
            deliveries[p.mineral][year] += p.capacity_tpa
    budget = {t: float(instance.budget.get(t, 0.0)) for t in years}
    row_spend, row_budget = _budget_rows(s.budget_carryover, s.robust_gamma, years, spend, budget,
                                         overrun)
    demand, displaced, before, after = {}, {}, {}, {}
    security = premium = 0.0
    for name, m in instance.minerals.items():
        demand[name], displaced[name], before[name], after[name] = {}, {}, {}, {}
        for t in years:
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
    return Evaluation(
        starts=dict(starts), online=online, capex=capex, npv_discounted=npv_disc,
        spend=spend, budget=budget, row_spend=row_spend, row_budget=row_budget,
        deliveries=deliveries, demand=demand, displaced=displaced,
        share_before=before, share_after=after,
        npv_musd=sum(npv_disc.values()), security=security, premium_musd=premium,
        total_capex=sum(capex.values()),
    )


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
