"""Typed, immutable input objects: what a valid workbook loads into.

Units everywhere: money in $M, quantities in metric tons (per year for capacities), shares as
fractions 0..1, years as calendar-year integers. Defaults of the contract are already resolved here
(``capex_high_musd`` = low when blank, ``latest_start`` = earliest_start, an even capex profile when
the CapexProfile sheet has no rows for a project), so later stages never look at the schema again.
Probabilities (loss, delay) are fractions 0..1; a loss probability is per year.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping


@dataclass(frozen=True)
class Settings:
    first_year: int
    horizon_years: int = 25
    discount_rate: float = 0.08
    objective: str = "weighted"  # npv | security | weighted
    capex_basis: str = "mid"  # low | mid | high
    total_budget_musd: float | None = None
    budget_carryover: bool = False
    target_year: int | None = None
    min_npv_musd: float | None = None
    solver: str = "highs"  # highs | cbc
    time_limit_s: float = 60.0
    mip_gap: float = 0.0001
    robust_gamma: int = 0
    delay_probability: float = 0.3
    max_delay_years: int = 3
    seed: int = 20250131
    alternatives_within: float = 0.05
    max_project_risk: float | None = None
    risk_adjusted: bool = False  # objective, targets and min_npv_musd count expected figures
    target_protection: int = 0  # funded projects per mineral a target must survive losing

    @property
    def last_year(self) -> int:
        return self.first_year + self.horizon_years - 1

    @property
    def years(self) -> range:
        """Horizon years, first_year .. last_year inclusive."""
        return range(self.first_year, self.first_year + self.horizon_years)

    def discount(self, year: int) -> float:
        """Discount factor of ``year`` to first_year: (1 + rate)^-(year - first_year)."""
        return (1.0 + self.discount_rate) ** -(year - self.first_year)


@dataclass(frozen=True)
class Mineral:
    mineral: str
    us_demand_t: float
    china_share: float
    demand_growth: float = 0.0
    target_china_share: float | None = None
    weight: float = 1.0
    security_premium_usd_per_t: float = 0.0

    def demand(self, year: int, first_year: int) -> float:
        """US demand in ``year`` (t): us_demand_t grown by demand_growth from first_year."""
        return self.us_demand_t * (1.0 + self.demand_growth) ** (year - first_year)


@dataclass(frozen=True)
class Project:
    project_id: str
    name: str
    kind: str  # plant | offtake
    mineral: str
    country: str
    capex_low_musd: float
    capex_high_musd: float
    build_years: int
    earliest_start: int
    latest_start: int
    capacity_tpa: float
    npv_musd: float
    operating_years: int | None = None  # None: delivers to the horizon end
    requires: tuple[str, ...] = ()
    exclusive_group: str | None = None
    risk: float = 0.0
    must_fund: bool = False
    # Share of capex spent in each year after the start (offset 0 = start year); sums to 1.
    # Empty means "evenly over the build years" (all in the start year when build_years is 0).
    capex_profile: tuple[float, ...] = ()
    loss_probability: float = 0.0  # the project's own yearly loss probability, fraction
    delay_probability: float | None = None  # None: its country's, else Settings
    max_delay_years: int | None = None  # None: its country's, else Settings
    # Net operating cash flow in $M by year offset from the online year (0 = first operating
    # year), from the CashFlows sheet; empty when the project has no rows (a level flow is fitted
    # to npv_musd downstream). A missing offset between given ones is 0.0.
    cash_flows: tuple[float, ...] = ()
    proposed_start: int | None = None  # the committee's proposed start year; None: not proposed

    def capex(self, basis: str) -> float:
        """Capital cost in $M at ``basis`` (low, mid = average of low and high, high)."""
        return capex_at_basis(self.capex_low_musd, self.capex_high_musd, basis)

    @property
    def spend_shares(self) -> tuple[float, ...]:
        """Share of capex by year offset from the start year (resolved profile)."""
        if self.capex_profile:
            return self.capex_profile
        n = max(self.build_years, 1)
        return tuple([1.0 / n] * n)


def capex_at_basis(low_musd: float, high_musd: float, basis: str) -> float:
    """Capital cost in $M at ``basis``: low, mid (the average of low and high) or high."""
    if basis == "low":
        return low_musd
    if basis == "high":
        return high_musd
    return 0.5 * (low_musd + high_musd)


@dataclass(frozen=True)
class Country:
    """One row of the Countries sheet: the risks of a country where projects are.

    ``loss_probability``: yearly probability of a country-wide loss event (every project there is
    lost from that year on), fraction. ``delay_probability`` / ``max_delay_years``: None inherits
    Settings. ``max_capex_share``: cap on the plan's capex there as a fraction of its total capex
    (None: no cap).
    """

    country: str
    loss_probability: float = 0.0
    delay_probability: float | None = None
    max_delay_years: int | None = None
    max_capex_share: float | None = None
    source: str | None = None


@dataclass(frozen=True)
class SourceRow:
    """One row of the optional Sources sheet (provenance), carried into the memo as text."""

    cells: tuple[str, ...]


@dataclass(frozen=True)
class Scenario:
    scenario: str
    capex_multiplier: float = 1.0
    delay_years: int = 0
    demand_multiplier: float = 1.0
    npv_multiplier: float = 1.0
    lost_countries: tuple[str, ...] = ()  # no project in these countries may be funded


@dataclass(frozen=True)
class BudgetLevel:
    """One row of the optional BudgetLevels sheet: a budget the decision may get, not yet known.

    At the level, every yearly budget and the total budget are ``budget_multiplier`` times the
    workbook's; ``probability`` (a fraction) is its chance; the levels' probabilities sum to 1.
    """

    level: str
    budget_multiplier: float
    probability: float


def _frozen(d: Mapping) -> Mapping:
    return MappingProxyType(dict(d))


_MAPPINGS = ("minerals", "projects", "budget", "countries")  # Instance's read-only mappings


@dataclass(frozen=True)
class Instance:
    """A whole, valid decision problem."""

    settings: Settings
    minerals: Mapping[str, Mineral]  # mineral name -> Mineral, workbook order
    projects: Mapping[str, Project]  # project_id -> Project, workbook order
    budget: Mapping[int, float]  # year -> $M; every horizon year present (missing rows are 0)
    name: str = "instance"  # workbook stem, used for the reports folder
    source_path: str | None = None
    input_sha256: str | None = None
    sources_header: tuple[str, ...] = ()
    sources: tuple[SourceRow, ...] = ()
    scenarios: tuple[Scenario, ...] = ()
    # country (as spelt in Projects) -> Country, workbook order; a country without a row has none
    countries: Mapping[str, Country] = field(default_factory=dict)
    # BudgetLevels rows, workbook order; empty when the sheet is absent or has no rows
    budget_levels: tuple[BudgetLevel, ...] = ()
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        for attr in _MAPPINGS:
            value = getattr(self, attr)
            if not isinstance(value, MappingProxyType):
                object.__setattr__(self, attr, _frozen(value))

    def __getstate__(self) -> dict:
        """Picklable state (read-only mappings become dicts), for parallel re-solves."""
        state = dict(self.__dict__)
        for attr in _MAPPINGS:
            state[attr] = dict(state[attr])
        return state

    def __setstate__(self, state: dict) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)
        self.__post_init__()

    def with_settings(self, **changes) -> "Instance":
        """A copy with some settings changed (used by sensitivity runs and the command line)."""
        return replace(self, settings=replace(self.settings, **changes))

    def with_budget(self, budget: Mapping[int, float]) -> "Instance":
        return replace(self, budget=_frozen(budget))

    def with_projects(self, projects: Mapping[str, Project]) -> "Instance":
        return replace(self, projects=_frozen(projects))

    def with_minerals(self, minerals: Mapping[str, Mineral]) -> "Instance":
        return replace(self, minerals=_frozen(minerals))
