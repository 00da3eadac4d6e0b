"""The plan's finance and concentration figures, from its decision alone (no re-solve).

- per funded project: its planned cash flows, IRR (only when unique, with the reason otherwise)
  and payback year (:mod:`optimizer.cashflow`);
- the portfolio: net cash flow by calendar year (past the horizon too), its cumulative sum, the
  peak funding need (max(0, minus the lowest cumulative value)) and its year, and the IRR;
- by country: the share of the plan's capex (at the basis; projects with no capex do not count)
  and the deliveries in the report year; the Herfindahl-Hirschman index of the capex shares on
  the usual 0-10,000 scale.

Money in $M, undiscounted unless said; shares are fractions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .cashflow import Irr, cumulative, irr, payback_year, plan_flows
from .instance import Instance


@dataclass(frozen=True)
class ProjectFinance:
    project_id: str
    irr: Irr
    payback_year: int | None


@dataclass(frozen=True)
class PortfolioFinance:
    """See the module docstring."""

    projects: Mapping[str, ProjectFinance]
    cash_flow_by_year: Mapping[int, float]
    peak_funding_musd: float
    peak_funding_year: int | None
    irr: Irr
    payback_year: int | None
    country_capex_share: Mapping[str, float]
    country_capex_musd: Mapping[str, float]
    capex_hhi: float

    @property
    def cumulative_by_year(self) -> dict[int, float]:
        return cumulative(self.cash_flow_by_year)


def hhi(shares: Mapping[str, float]) -> float:
    """Herfindahl-Hirschman index of shares (fractions summing to 1), on the 0-10,000 scale."""
    return sum((100.0 * v) ** 2 for v in shares.values())


def portfolio_finance(instance: Instance, starts: Mapping[str, int]) -> PortfolioFinance:
    """The figures of the plan funding ``starts`` (project_id -> start year)."""
    flows = plan_flows(instance, starts)
    projects = {}
    for pid, by_year in flows.per_project.items():
        years = list(range(starts[pid], max(by_year, default=starts[pid]) + 1))
        values = [by_year.get(y, 0.0) for y in years]
        projects[pid] = ProjectFinance(pid, irr(values), payback_year(years, values))
    years = list(range(min(flows.by_year, default=0), max(flows.by_year, default=-1) + 1))
    values = [flows.by_year.get(y, 0.0) for y in years]
    peak, peak_year = flows.peak_funding()
    capex: dict[str, float] = {}
    basis = instance.settings.capex_basis
    for pid in starts:
        p = instance.projects[pid]
        if p.capex(basis) > 0:
            capex[p.country] = capex.get(p.country, 0.0) + p.capex(basis)
    total = sum(capex.values())
    shares = {c: v / total for c, v in capex.items()} if total > 0 else {}
    return PortfolioFinance(
        projects=projects, cash_flow_by_year=flows.by_year, peak_funding_musd=peak,
        peak_funding_year=peak_year,
        irr=irr(values) if values else Irr(None, "no IRR: the plan funds nothing"),
        payback_year=payback_year(years, values) if values else None,
        country_capex_share=shares, country_capex_musd=capex, capex_hhi=hhi(shares))
