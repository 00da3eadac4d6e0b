"""Monte Carlo risk of a chosen portfolio under the risk model: capex overruns, delays and losses
(by country and by project), vectorized with numpy.

The plan (which projects, which start years) is fixed; each funded project's capital cost, online
year and loss year are uncertain. Money in $M, calendar years; NPVs are discounted to
``first_year`` with ``(1 + discount_rate)^-(t - first_year)``.

Model of uncertainty (the contract's "Risk by country and project"; the draws are made by
:mod:`optimizer.draws`)
-----------------------------------------------------------------------------------------------
* **Capex.** Triangular over ``[capex_low_musd, capex_high_musd]`` with its mode at the capex at
  ``settings.capex_basis``; constant when low == high.
* **Delay.** With its delay probability a project comes online d years late, d uniform on
  ``1 .. max_delay_years``; the project's own parameters, else its country's, else the Settings'.
* **Loss.** Each country's loss event year (geometric from ``first_year`` with the country's yearly
  loss probability; never without a Countries row or at probability 0) and each funded project's
  own loss, in its k-th year after its start (geometric with its own yearly loss probability). A
  project is lost in the earlier of the two years. ``loss_multiplier`` scales every loss
  probability (capped at 1) with the same uniforms, so a larger multiplier loses every project in
  every draw no later (common random numbers between the two simulations).
* **Money** goes through :func:`optimizer.cashflow.cash_flows`, the one rule every analysis
  uses: a capex of c' spends ``c' x f[o]`` on the planned schedule; a delay moves the operating
  flows (and deliveries) later and keeps the capital schedule; a project lost in year u spends its
  capex of year u and nothing after, and has no operating flow from u on. A draw's **NPV** is the
  present value at ``first_year`` of the plan's flows; its **spending** by year is the capital
  flows (spending outside the horizon, impossible for a valid plan, counts in total capex but in no
  budget year). So a scenario and a draw of the same capex or delay give the same NPV.
* **Deliveries.** ``capacity_tpa`` from the online year ``start + build_years + d`` for
  ``operating_years`` years (to the horizon end when blank), within the horizon, in the years
  before the project is lost.
* **Budget exceeded** in year t: the year's spend is above its budget (with ``budget_carryover``,
  the cumulative spend to t is above the cumulative budget to t), beyond the tolerance of
  ``families.violations`` (``TOL * max(1, budget)``). Reported per horizon year, for any year, and
  for total capex over ``total_budget_musd`` when that is set.
* **Target met**: for each mineral with a ``target_china_share`` (and ``target_year`` set), the
  China share in the target year, computed as in ``evaluate.py`` (displaced tonnes = min(deliveries,
  china_share x demand)), is at most the target (tolerance 1e-7, as ``evaluate.py``).
  ``p_met_all_years`` also asks it of every year from the target year to the horizon end; the P10,
  P50 and P90 of the China share in the target year are reported beside them.
* **Countries** (when the workbook has a Countries sheet or a funded project has a loss
  probability): per country with a funded project, the share of draws in which its loss event
  happens by the horizon end, and the mean number of its funded projects lost by the horizon end
  (by its event or their own loss).
* **Online year** per project: the probability of coming online in the planned year, and the
  P10/P50/P90 online year. The probabilities are sampled; the quantiles are those of the project's
  own (exactly known) delay distribution, because a sampled quantile of a discrete variable flips
  between neighbouring years when the CDF sits on the quantile: with the defaults (p = 0.3, up to 3
  years) P(delay <= 2) is exactly 0.9, and a sampled P90 would read planned + 2 or + 3 at random.

Random numbers and reproducibility
----------------------------------
Each funded project and each country has its own seeded streams (see :mod:`optimizer.draws`;
a project's capex and delay uniforms are those of version 1). Hence: the same seed gives the same
figures, bit for bit; a project's draws do not depend on which other projects are funded or on
their order (common random numbers when two plans are compared); and draws are processed in chunks
(for memory and the progress bar) with results identical to one unchunked pass, because draw i is
the same in any chunk and every sum over draws is either an integer count or taken over the whole
array. Sums over projects and years run in a fixed order, element by element (no BLAS).
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from ..cashflow import NEVER, cash_flows, operating_flows
from ..draws import (DrawBlock, Sampler, check_multiplier, check_seed, project_stream,
                     triangular_from_uniform)
from ..evaluate import TOL
from ..instance import Instance
from ..results import Result
from ..risk import project_risk

__all__ = ["Simulation", "SimulationTables", "simulate", "project_stream",
           "triangular_from_uniform", "loss_multiplier_rows"]

TARGET_TOL = 1e-7  # the tolerance families.violations / target_met_year apply to China shares
QUANTILES = (10, 50, 90)  # percentiles reported (P10, P50, P90)
# Draws are processed in chunks of about CHUNK_ELEMENTS draws x projects (5,000 draws of 40
# projects, about 10 MB of arrays at a time): few enough chunks for the steps of Python per chunk
# to count little, bounded in memory. Results do not depend on the chunk size.
CHUNK_ELEMENTS = 200_000
MIN_CHUNK_DRAWS = 1_000
# A mineral's first projects' delivery tables are folded into one table of up to this many rows
# (every combination of their delays and loss years; 120 kB over 15 years), so that one
# gather replaces theirs (see _china_shares).
FOLD_ROWS = 1_024
KEEP_FREED_BYTES = 16_000_000  # see _keep_freed_memory
PROGRESS_DELAY_S = 0.5  # the progress bar appears only for runs longer than this
MEASURES = {"total_capex": "total capex $M", "npv": "NPV $M"}
TABLE_KEYS = ("simulation_summary", "simulation_budget", "simulation_targets",
              "simulation_online", "simulation_risks", "simulation_settings",
              "simulation_histogram", "simulation_countries", "simulation_loss_multiplier")
ALL_TARGETS_EVENT = "every China-share target met in the target year"


@dataclass(frozen=True)
class SimulationTables:
    """The tables of a :class:`Simulation` (see :meth:`Simulation.to_tables`), as a result carries
    them and as results.json holds them: ``by_key`` maps each key of :data:`TABLE_KEYS` present
    to its rows."""

    by_key: dict[str, list[dict[str, Any]]]

    def tables(self) -> dict[str, Any]:
        return dict(self.by_key)

    @classmethod
    def of(cls, sim: "Simulation", histogram_bins: int | None = 30,
           scaled: "Simulation | None" = None) -> "SimulationTables":
        """The tables of ``sim``; with ``scaled`` (the same plan simulated with another
        ``loss_multiplier``) also ``simulation_loss_multiplier``."""
        tables = sim.to_tables(histogram_bins)
        if scaled is not None:
            tables["simulation_loss_multiplier"] = loss_multiplier_rows(sim, scaled)
        return cls(tables)

    @classmethod
    def from_tables(cls, doc: dict[str, Any]) -> "SimulationTables | None":
        found = {key: doc[key] for key in TABLE_KEYS if doc.get(key) is not None}
        return cls(found) if found else None


@dataclass(frozen=True)
class Distribution:
    """Summary of one simulated measure ($M)."""

    mean: float
    std: float
    p10: float
    p50: float
    p90: float
    min: float
    max: float

    @classmethod
    def of(cls, values: np.ndarray) -> "Distribution":
        p10, p50, p90 = (float(v) for v in np.percentile(values, QUANTILES))
        return cls(mean=float(values.mean()), std=float(values.std(ddof=1)) if values.size > 1
                   else 0.0, p10=p10, p50=p50, p90=p90, min=float(values.min()),
                   max=float(values.max()))


@dataclass(frozen=True)
class OnlineRisk:
    """Online year of one funded project."""

    project_id: str
    planned_online: int
    p_on_time: float  # sampled share of draws online in the planned year
    p10: int  # online-year quantiles of the delay model (see the module docstring)
    p50: int
    p90: int
    delay_probs: tuple[float, ...]  # sampled P(delay = k), k = 0 .. max_delay_years
    p_lost: float = 0.0  # sampled share of draws in which it is lost by the horizon end


@dataclass(frozen=True)
class TargetRisk:
    """China-share target of one mineral."""

    mineral: str
    target_china_share: float
    target_year: int
    planned_china_share: float  # the plan's share in the target year, without uncertainty
    p_met: float  # share of draws whose China share in the target year is at most the target
    p_met_all_years: float  # ... in every year from the target year to the horizon end
    share_p10: float  # China share in the target year (fraction): P10, P50, P90 over the draws
    share_p50: float
    share_p90: float


@dataclass(frozen=True)
class CountryRisk:
    """Losses in one country with a funded project, by the horizon end."""

    country: str
    loss_probability: float  # yearly probability of its loss event, as simulated
    funded_projects: int
    p_event: float  # share of draws in which its loss event happens by the horizon end
    mean_projects_lost: float  # mean number of its funded projects lost (event or own loss)


@dataclass(frozen=True)
class Simulation:
    """Monte Carlo summary of a plan; ``total_capex`` and ``npv`` hold the per-draw values."""

    draws: int
    seed: int
    capex_basis: str
    delay_probability: float  # Settings' (a project's or its country's may override it)
    max_delay_years: int
    discount_rate: float
    budget_carryover: bool
    years: tuple[int, ...]
    budget: tuple[float, ...]  # per horizon year
    planned_spend: tuple[float, ...]  # per horizon year, at the capex basis (evaluate.py)
    mean_spend: tuple[float, ...]  # per horizon year, mean over draws
    p_budget_exceeded: tuple[float, ...]  # per horizon year (cumulative test with carry-over)
    p_any_year_exceeded: float
    total_budget_musd: float | None
    p_total_budget_exceeded: float | None  # None when no total budget is set
    min_npv_musd: float | None
    p_below_min_npv: float | None  # None when no minimum NPV is set
    p_all_targets_met: float | None  # every target met in the target year; None without targets
    planned_total_capex: float
    planned_npv: float  # from the planned cash flows, at first_year
    capex_summary: Distribution
    npv_summary: Distribution
    online: tuple[OnlineRisk, ...]
    targets: tuple[TargetRisk, ...]
    total_capex: np.ndarray = field(compare=False, repr=False)  # (draws,) $M, read-only
    npv: np.ndarray = field(compare=False, repr=False)  # (draws,) $M discounted, read-only
    loss_multiplier: float = 1.0
    # Whether losses are modelled (a Countries sheet, or a funded project with a loss
    # probability): then the countries table and the loss rows are reported.
    losses_modelled: bool = False
    countries: tuple[CountryRisk, ...] = ()
    p_any_project_lost: float = 0.0  # share of draws losing a funded project by the horizon end

    def values(self, measure: str) -> np.ndarray:
        """Per-draw values of ``"total_capex"`` or ``"npv"`` ($M)."""
        if measure not in MEASURES:
            raise ValueError(f"measure must be one of {sorted(MEASURES)}, not {measure!r}")
        return self.total_capex if measure == "total_capex" else self.npv

    def histogram(self, measure: str = "npv", bins: int | Sequence[float] = 30) -> list[dict]:
        """Histogram of a measure as rows {measure, bin_low_musd, bin_high_musd, count, share}."""
        counts, edges = np.histogram(self.values(measure), bins=bins)
        return [{"measure": MEASURES[measure], "bin_low_musd": float(edges[i]),
                 "bin_high_musd": float(edges[i + 1]), "count": int(c),
                 "share": float(c) / self.draws} for i, c in enumerate(counts)]

    def to_tables(self, histogram_bins: int | None = 30) -> dict[str, list[dict[str, Any]]]:
        """Flat list-of-dict tables for a workbook sheet and the memo (empty lists are omitted by
        the workbook writer). ``histogram_bins=None`` leaves the histogram table out; the
        countries table is there when losses are modelled."""
        tables = {
            "simulation_summary": self._summary_rows(),
            "simulation_budget": self._budget_rows(),
            "simulation_targets": [target_row(r) for r in self.targets],
            "simulation_online": [online_row(r, self.losses_modelled) for r in self.online],
            "simulation_risks": self._risk_rows(),
            "simulation_settings": self._settings_rows(),
        }
        if histogram_bins:
            tables["simulation_histogram"] = (self.histogram("total_capex", histogram_bins)
                                              + self.histogram("npv", histogram_bins))
        if self.losses_modelled:
            tables["simulation_countries"] = [
                {"country": c.country, "loss_probability": c.loss_probability,
                 "funded_projects": c.funded_projects, "p_event_by_horizon_end": c.p_event,
                 "mean_projects_lost": c.mean_projects_lost} for c in self.countries]
        return tables

    def _summary_rows(self) -> list[dict[str, Any]]:
        return [
            {"measure": MEASURES[key], "p10": d.p10, "p50": d.p50, "p90": d.p90, "mean": d.mean,
             "std": d.std, "planned": planned}
            for key, d, planned in (("total_capex", self.capex_summary, self.planned_total_capex),
                                    ("npv", self.npv_summary, self.planned_npv))
        ]

    def _budget_rows(self) -> list[dict[str, Any]]:
        test = "cumulative" if self.budget_carryover else "year"
        return [
            {"year": t, "budget_musd": b, "planned_spend_musd": s, "p_exceeded": p,
             "mean_spend_musd": m, "test": test}
            for t, b, s, p, m in zip(self.years, self.budget, self.planned_spend,
                                     self.p_budget_exceeded, self.mean_spend)
        ]

    def _risk_rows(self) -> list[dict[str, Any]]:
        what = ("cumulative spend over the cumulative budget" if self.budget_carryover
                else "spend over the budget")
        risks = [{"event": f"{what} in at least one year", "probability": self.p_any_year_exceeded}]
        if self.p_total_budget_exceeded is not None:
            risks.append({"event": "total capex over the total budget",
                          "probability": self.p_total_budget_exceeded})
        if self.p_below_min_npv is not None:
            risks.append({"event": "NPV below the minimum NPV",
                          "probability": self.p_below_min_npv})
        if self.p_all_targets_met is not None:
            risks.append({"event": ALL_TARGETS_EVENT, "probability": self.p_all_targets_met})
        if self.losses_modelled:
            risks.append({"event": f"at least one funded project lost by {self.years[-1]}",
                          "probability": self.p_any_project_lost})
        return risks

    def _settings_rows(self) -> list[dict[str, Any]]:
        rows = [
            {"setting": "draws", "value": self.draws},
            {"setting": "seed", "value": self.seed},
            {"setting": "capex_basis (triangular mode)", "value": self.capex_basis},
            {"setting": "delay_probability", "value": self.delay_probability},
            {"setting": "max_delay_years", "value": self.max_delay_years},
            {"setting": "discount_rate", "value": self.discount_rate},
            {"setting": "budget_carryover", "value": self.budget_carryover},
        ]
        if self.losses_modelled or self.loss_multiplier != 1.0:
            rows.append({"setting": "loss_multiplier", "value": self.loss_multiplier})
        return rows


def target_row(r: TargetRisk) -> dict[str, Any]:
    return {"mineral": r.mineral, "target_china_share": r.target_china_share,
            "target_year": r.target_year, "p_met": r.p_met,
            "planned_china_share": r.planned_china_share, "p_met_all_years": r.p_met_all_years,
            "china_share_p10": r.share_p10, "china_share_p50": r.share_p50,
            "china_share_p90": r.share_p90}


def online_row(r: OnlineRisk, with_loss: bool) -> dict[str, Any]:
    row = {"project_id": r.project_id, "planned_online": r.planned_online,
           "p_on_time": r.p_on_time, "p10": r.p10, "p50": r.p50, "p90": r.p90}
    if with_loss:
        row["p_lost"] = r.p_lost
    return row


def loss_multiplier_rows(base: Simulation, scaled: Simulation) -> list[dict[str, Any]]:
    """How the chance of meeting each target (and all of them) moves when every loss probability
    is multiplied: one row per target, then one for every target, of two simulations of the same
    plan (``base`` and ``scaled``, usually multipliers 1 and 2)."""
    rows = [{"target": f"{a.mineral} China share at most {a.target_china_share:g} in "
                       f"{a.target_year}",
             "loss_multiplier": scaled.loss_multiplier, "p_met": a.p_met,
             "p_met_scaled": b.p_met, "p_met_all_years": a.p_met_all_years,
             "p_met_all_years_scaled": b.p_met_all_years}
            for a, b in zip(base.targets, scaled.targets)]
    if base.p_all_targets_met is not None:
        rows.append({"target": ALL_TARGETS_EVENT, "loss_multiplier": scaled.loss_multiplier,
                     "p_met": base.p_all_targets_met, "p_met_scaled": scaled.p_all_targets_met})
    return rows


# ---------------------------------------------------------------------------------------------


def delay_cdf(delay_probability: float, max_delay_years: int) -> np.ndarray:
    """P(delay <= k), k = 0 .. max_delay_years, of the delay model."""
    if max_delay_years <= 0:
        return np.ones(1)
    k = np.arange(max_delay_years + 1)
    return (1.0 - delay_probability) + delay_probability * k / max_delay_years


@dataclass(frozen=True)
class _Plan:
    """What every chunk needs of the plan: its funded projects (rows of the draws), their start
    years, operating flows, country rows, the first year of the grid of flows, the budget
    limits and the target tables."""

    instance: Instance
    pids: tuple[str, ...]
    starts: tuple[int, ...]
    operating: tuple[tuple[float, ...], ...]
    country_row: tuple[int, ...]  # row of each project's country in the draws
    max_delay: tuple[int, ...]  # each project's max_delay_years
    countries: tuple[str, ...]
    grid_first: int  # first calendar year of the grid of flows (first_year for a valid plan)
    limit_tol: np.ndarray  # (Y,) budget (cumulative with carry-over) plus the tolerance
    targets: tuple[dict, ...]
    grid_size: int  # years of the grid of capital flows (the horizon, or up to the last spend)
    discount: np.ndarray  # (grid_size,) (1 + r)^-(grid_first + g - first_year), read-only


def _plan(result: Result) -> _Plan:
    inst = result.instance
    s = inst.settings
    pids = tuple(result.funded_ids)
    starts = tuple(int(result.starts[pid]) for pid in pids)
    operating = tuple(operating_flows(inst.projects[pid], s) for pid in pids)
    countries = tuple(dict.fromkeys(inst.projects[pid].country for pid in pids))
    budget = np.array([float(result.evaluation.budget[t]) for t in s.years])
    limits = np.cumsum(budget) if s.budget_carryover else budget
    grid_first = min((s.first_year,) + starts)
    size = max([s.last_year - grid_first + 1]
               + [start - grid_first + len(inst.projects[pid].spend_shares)
                  for pid, start in zip(pids, starts)])
    return _Plan(
        instance=inst, pids=pids, starts=starts, operating=operating,
        country_row=tuple(countries.index(inst.projects[pid].country) for pid in pids),
        max_delay=tuple(max(project_risk(inst, pid).max_delay_years, 0) for pid in pids),
        countries=countries, grid_first=grid_first,
        limit_tol=limits + TOL * np.maximum(1.0, limits),
        targets=tuple(_target_tables(result)), grid_size=size,
        discount=_discount_factors(s.discount_rate, grid_first - s.first_year, size))


@functools.lru_cache(maxsize=256)
def _discount_factors(rate: float, first_offset: int, size: int) -> np.ndarray:
    """``(1 + rate) ** -(first_offset + g)`` for g = 0 .. size - 1, as Python computes each
    (read-only; kept for the next call with the same arguments)."""
    factors = np.array([(1.0 + rate) ** -(first_offset + g) for g in range(size)])
    factors.setflags(write=False)
    return factors


@dataclass(frozen=True)
class _Bounds:
    """Per project row of a block: the largest delay a table must hold (its max_delay_years, or
    more when a delay was forced), the largest delay drawn, and its earliest loss year."""

    max_delay: tuple[int, ...]
    drawn_delay: np.ndarray  # (P,) int64
    first_lost: np.ndarray  # (P,) int64, NEVER: never lost in the block

    @classmethod
    def of(cls, plan: _Plan, block: DrawBlock, lost: np.ndarray) -> "_Bounds":
        n_proj = len(plan.pids)
        drawn = (block.delay.max(axis=1) if block.n else np.zeros(n_proj, dtype=np.int64))
        first_lost = (np.full(n_proj, NEVER, dtype=np.int64) if block.never_lost or not block.n
                      else lost.min(axis=1))
        return cls(tuple(max(a, int(b)) for a, b in zip(plan.max_delay, drawn)), drawn,
                   first_lost)


@dataclass(frozen=True)
class _ProjectMoney:
    """One funded project's flows for every delay 0..``max_delay`` and every loss year from
    ``lost_from`` (before its start: nothing spent) to ``lost_from + unit_capital.shape[0] - 1``
    (after its last flow: never lost), each from :func:`optimizer.cashflow.cash_flows`.

    ``unit_capital[u, o]``: the capital spent in year start + o per $1 of capex when lost in year
    ``lost_from + u``; ``operating_pv[d, u]``: the present value at first_year of its operating
    flows with delay d, lost in year ``lost_from + u`` ($M). A draw's money is then exact
    arithmetic on these rows: capital is linear in the capex drawn. ``unit_total[u]``: the share
    of its capex spent when lost in year ``lost_from + u`` (1.0 when never lost, for a profile
    whose shares sum to 1 exactly), summed offset by offset."""

    lost_from: int
    unit_capital: np.ndarray  # (U, S)
    operating_pv: np.ndarray  # (D, U)
    unit_total: np.ndarray  # (U,)

    def lost_index(self, lost: np.ndarray) -> np.ndarray:
        return np.clip(lost, self.lost_from, self.lost_from + self.unit_capital.shape[0] - 1) \
            - self.lost_from


def _last_flow(plan: _Plan, j: int, max_delay: int) -> int:
    """The last year funded project row ``j`` has a flow in, at a delay up to ``max_delay``."""
    p = plan.instance.projects[plan.pids[j]]
    start = plan.starts[j]
    return max(start + len(p.spend_shares) - 1,
               start + p.build_years + max_delay + len(plan.operating[j]) - 1)


def _project_money(plan: _Plan, j: int, max_delay: int, lossy: bool = True) -> _ProjectMoney:
    """The :class:`_ProjectMoney` of funded project row ``j`` for delays up to ``max_delay``;
    without ``lossy`` only its "never lost" row (for draws that never lose it: the same numbers,
    one row instead of one per loss year)."""
    s = plan.instance.settings
    p = plan.instance.projects[plan.pids[j]]
    start, ops = plan.starts[j], plan.operating[j]
    n_spend = len(p.spend_shares)
    last_flow = _last_flow(plan, j, max_delay)
    lost_years = (np.arange(start - 1, last_flow + 2) if lossy  # before the start .. never
                  else np.array([last_flow + 1]))
    unit = -cash_flows(p, s, start, operating=(), capex=1.0,
                       lost_year=lost_years if lossy else None, last=start + n_spend - 1).values
    # every delay (outer) x every loss year (inner)
    delays = np.arange(max_delay + 1)
    if lossy:
        delays, lost_years = np.repeat(delays, lost_years.size), np.tile(lost_years, delays.size)
    operating = cash_flows(p, s, start, operating=ops, capex=0.0, delay=delays,
                           lost_year=lost_years, first=plan.grid_first, last=last_flow)
    pv = present_values(operating.values, s.discount_rate, plan.grid_first - s.first_year)
    total = np.zeros(unit.shape[0])
    for o in range(unit.shape[1]):
        total += unit[:, o]
    return _ProjectMoney(int(lost_years[0]), unit, pv.reshape(max_delay + 1, unit.shape[0]),
                         total)


def present_values(values: np.ndarray, rate: float, first_offset: int) -> np.ndarray:
    """Per row, the present value of flows ``values[:, g]`` of year ``first_year + first_offset +
    g`` at first_year, summed year by year (element by element, no BLAS: the same sums whatever
    the number of rows)."""
    if values.shape[1] == 0:
        return np.zeros(values.shape[0])
    terms = values * _discount_factors(rate, first_offset, values.shape[1])
    terms[:, 0] += 0.0  # 0 + the first term, as a running sum from 0 starts (-0.0 -> 0.0)
    return np.cumsum(terms, axis=1)[:, -1]  # a cumulative sum adds in order, one term at a time


def _money(plan: _Plan, block: DrawBlock, lost: np.ndarray, cache: dict, bounds: _Bounds):
    """Per draw: the plan's NPV at first_year (n,), capital spent by calendar year from
    ``plan.grid_first`` (G, n) and in total (n,), $M; all from cashflow.cash_flows (see
    :class:`_ProjectMoney`)."""
    n = block.n
    capital = np.zeros((plan.grid_size, n))
    npv = np.zeros(n)
    total = np.zeros(n)
    term = np.empty(n)
    for j, start in enumerate(plan.starts):  # projects in a fixed order
        max_delay = bounds.max_delay[j]
        # lost in some draw of this block while it still has flows (else: one row for all)
        lossy = bool(bounds.first_lost[j] <= _last_flow(plan, j, max_delay))
        if (j, max_delay, lossy) not in cache:
            cache[j, max_delay, lossy] = _project_money(plan, j, max_delay, lossy)
        money = cache[j, max_delay, lossy]
        at = start - plan.grid_first
        capex = block.capex_musd[j]
        if lossy:
            lost_at = money.lost_index(lost[j])
            for o in range(money.unit_capital.shape[1]):
                capital[at + o] += capex * money.unit_capital[lost_at, o]
            total += capex * money.unit_total[lost_at]
            npv += money.operating_pv[block.delay[j], lost_at]
        else:  # the same products, without gathering one row per draw
            for o, share in enumerate(money.unit_capital[0]):
                capital[at + o] += np.multiply(capex, share, out=term)
            total += np.multiply(capex, money.unit_total[0], out=term)
            npv += np.take(money.operating_pv[:, 0], block.delay[j], out=term)
    # minus the capital of each year discounted, year after year in order: the same sums in any
    # chunk (a running difference down the years, the first row holding npv - its term)
    terms = capital * plan.discount[:, None]
    np.subtract(npv, terms[0], out=terms[0])
    np.subtract.accumulate(terms, axis=0, out=terms)
    return terms[-1], capital, total


def _target_tables(result: Result) -> list[dict]:
    """Per mineral with a target: demand and China-exposed tonnes from the target year to the
    horizon end, and the funded projects (rows of the draws) of the mineral."""
    inst = result.instance
    s = inst.settings
    if s.target_year is None or s.target_year not in s.years:
        return []
    span = np.arange(s.target_year, s.last_year + 1)
    out = []
    pids = result.funded_ids
    for name, m in inst.minerals.items():
        if m.target_china_share is None:
            continue
        demand = np.array([m.us_demand_t * (1.0 + m.demand_growth) ** (int(t) - s.first_year)
                           for t in span])
        rows = [j for j, pid in enumerate(pids) if inst.projects[pid].mineral == name]
        out.append({"mineral": name, "target": float(m.target_china_share), "demand": demand,
                    "exposed": m.china_share * demand, "rows": rows, "span": span})
    return out


def _delivery_table(plan: _Plan, j: int, span: np.ndarray, max_delay: int,
                    lossy: bool = True) -> np.ndarray:
    """(delay 0..max_delay, loss year, year of ``span``) tonnes funded project row ``j``
    delivers: ``capacity_tpa`` from its online year for ``operating_years`` (to the horizon end
    when blank), in the years before it is lost. Loss years run from ``span[0]`` (lost by then:
    nothing) to ``span[-1] + 1`` (not lost within the span); without ``lossy`` only the last."""
    inst = plan.instance
    last = inst.settings.last_year
    p = inst.projects[plan.pids[j]]
    delay = np.arange(max_delay + 1)[:, None, None]
    lost = (np.arange(span[0], span[-1] + 2) if lossy else np.array([span[-1] + 1]))[None, :, None]
    online = plan.starts[j] + p.build_years + delay
    end = last if p.operating_years is None else np.minimum(online + p.operating_years - 1, last)
    year = span[None, None, :]
    return np.where((year >= online) & (year <= end) & (year < lost), p.capacity_tpa, 0.0)


def _china_shares(plan: _Plan, tgt: dict, block: DrawBlock, lost: np.ndarray,
                  cache: dict, bounds: _Bounds) -> np.ndarray:
    """(n, years from the target year) China share of one mineral in each draw.

    The mineral's deliveries are the sum, project by project in row order, of each project's
    row of its :func:`_delivery_table` (by delay, and by loss year when lost within the span).
    The first projects' tables are folded into one table of every combination of their rows
    (at most :data:`FOLD_ROWS` rows), added in the same order, so one gather replaces theirs:
    the same sums."""
    span = tgt["span"]
    parts = []  # (cache key, table (states, years), state of each draw)
    for j in tgt["rows"]:
        max_delay = bounds.max_delay[j]
        lossy = bool(bounds.first_lost[j] <= span[-1])  # lost within the span
        key = (j, max_delay, lossy)
        if key not in cache:
            cache[key] = _delivery_table(plan, j, span, max_delay, lossy)
        table = cache[key]
        if lossy:
            lost_at = np.clip(lost[j], span[0], span[-1] + 1) - span[0]
            state = block.delay[j] * table.shape[1] + lost_at
        else:
            state = block.delay[j]
        parts.append((key, table.reshape(-1, span.size), state))
    if not parts:
        deliv = np.zeros((block.n, span.size))
    else:
        folded, rows = 1, parts[0][1].shape[0]
        while folded < len(parts) and rows * parts[folded][1].shape[0] <= FOLD_ROWS:
            rows *= parts[folded][1].shape[0]
            folded += 1
        key = ("folded",) + tuple(part[0] for part in parts[:folded])
        if key not in cache:
            table = parts[0][1]
            for part in parts[1:folded]:
                table = (table[:, None, :] + part[1][None, :, :]).reshape(-1, span.size)
            cache[key] = table
        state = parts[0][2]
        for part in parts[1:folded]:
            state = state * part[1].shape[0] + part[2]
        deliv = np.take(cache[key], state, axis=0)
        for _, table, state in parts[folded:]:
            deliv += np.take(table, state, axis=0)
    exposed = tgt["exposed"]
    np.minimum(deliv, exposed, out=deliv)  # displaced China tonnes
    np.subtract(exposed, deliv, out=deliv)
    deliv /= tgt["demand"]
    return deliv


class _Tally:
    """Counts and per-draw values accumulated over the chunks (integer counts, or sums taken
    draw by draw in order, so that the chunking changes nothing)."""

    def __init__(self, plan: _Plan, draws: int):
        s = plan.instance.settings
        n_years, n_proj = len(s.years), len(plan.pids)
        self.total_capex = np.empty(draws)
        self.npv = np.empty(draws)
        self.shares = np.empty((len(plan.targets), draws))  # China share in the target year
        self.spend_sum = np.zeros(n_years)
        self.exceeded = np.zeros(n_years, dtype=np.int64)
        self.any_exceeded = self.over_total = self.below_min = self.all_met = 0
        # (P, K) draws by delay 0 .. K-1; a project's row ends at the largest delay drawn
        self.delay_table = np.zeros((n_proj, 1), dtype=np.int64)
        self.lost_counts = np.zeros(n_proj, dtype=np.int64)
        self.event_counts = np.zeros(len(plan.countries), dtype=np.int64)
        self.any_lost = 0
        self.met_counts = np.zeros((len(plan.targets), 2), dtype=np.int64)
        self.money: dict = {}  # (project row, max delay, lossy) -> _ProjectMoney
        self.deliveries: dict = {}  # (project row, max delay, lossy) -> _delivery_table

    @property
    def delay_counts(self) -> list[np.ndarray]:
        """Per project row, the draws by delay 0 .. the largest delay drawn (its last count that
        is not zero: every draw is counted once)."""
        return [row[:np.flatnonzero(row)[-1] + 1] for row in self.delay_table]

    def add(self, plan: _Plan, block: DrawBlock) -> None:
        """Account for the draws of ``block``."""
        s = plan.instance.settings
        lo, n = block.first_draw, block.n
        lost = block.lost_years(plan.starts, plan.country_row)
        bounds = _Bounds.of(plan, block, lost)
        npv, capital, total = _money(plan, block, lost, self.money, bounds)
        self.total_capex[lo:lo + n] = total
        self.npv[lo:lo + n] = npv
        first = s.first_year - plan.grid_first
        self._budgets(plan, capital[first:first + len(s.years)], total, npv)
        self._losses(plan, block, lost, bounds)
        self._targets(plan, block, lost, bounds)

    def _budgets(self, plan: _Plan, spend: np.ndarray, total: np.ndarray,
                 npv: np.ndarray) -> None:
        s = plan.instance.settings
        rows = np.cumsum(spend, axis=0) if s.budget_carryover else spend
        over = rows > plan.limit_tol[:, None]  # (Y, n)
        self.exceeded += over.sum(axis=1)
        self.any_exceeded += int(over.any(axis=0).sum())
        # sequential sum over draws, continued across chunks (identical to one pass), in place
        # of spend (not read after this)
        spend[:, 0] += self.spend_sum
        self.spend_sum = np.add.accumulate(spend, axis=1, out=spend)[:, -1].copy()
        if s.total_budget_musd is not None:
            limit = s.total_budget_musd + TOL * max(1.0, s.total_budget_musd)
            self.over_total += int((total > limit).sum())
        if s.min_npv_musd is not None:
            floor = s.min_npv_musd - TOL * max(1.0, abs(s.min_npv_musd))
            self.below_min += int((npv < floor).sum())

    def _losses(self, plan: _Plan, block: DrawBlock, lost: np.ndarray, bounds: _Bounds) -> None:
        last = plan.instance.settings.last_year
        n_proj = len(plan.pids)
        if n_proj and block.n:
            width = max(self.delay_table.shape[1], int(bounds.drawn_delay.max()) + 1)
            if width > self.delay_table.shape[1]:
                self.delay_table = np.hstack([self.delay_table, np.zeros(
                    (n_proj, width - self.delay_table.shape[1]), dtype=np.int64)])
            index = block.delay + width * np.arange(n_proj)[:, None]
            self.delay_table += np.bincount(index.ravel(), minlength=n_proj * width).reshape(
                n_proj, width)
        if not (bounds.first_lost <= last).any():  # nothing lost by the horizon end
            return
        gone = lost <= last  # (P, n)
        self.lost_counts += gone.sum(axis=1)
        self.any_lost += int(gone.any(axis=0).sum())
        self.event_counts += (block.event_year <= last).sum(axis=1)

    def _targets(self, plan: _Plan, block: DrawBlock, lost: np.ndarray,
                 bounds: _Bounds) -> None:
        lo, n = block.first_draw, block.n
        every = np.ones(n, dtype=bool)
        for i, tgt in enumerate(plan.targets):
            share = _china_shares(plan, tgt, block, lost, self.deliveries, bounds)
            self.shares[i, lo:lo + n] = share[:, 0]
            met = share <= tgt["target"] + TARGET_TOL
            self.met_counts[i, 0] += int(met[:, 0].sum())
            self.met_counts[i, 1] += int(met.all(axis=1).sum())
            every &= met[:, 0]
        self.all_met += int(every.sum())


def simulate(result: Result, draws: int = 10_000, *, seed: int | None = None,
             loss_multiplier: float = 1.0, progress: bool = False,
             force: Mapping[str, Any] | None = None) -> Simulation:
    """Monte Carlo of the plan of ``result`` over ``draws`` draws (seed None: settings.seed).

    ``loss_multiplier`` scales every loss probability (capped at 1). ``force`` fixes some draws
    for every draw, as keyword arguments of :meth:`optimizer.draws.DrawBlock.forced` (e.g.
    ``{"capex_multiplier": 1.25}``, ``{"delay": 2}``, ``{"event_year": {"Peru": 2030}}``)."""
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise ValueError(f"draws must be a positive integer, not {draws!r}")
    draws = int(draws)
    inst = result.instance
    s = inst.settings
    if not 0.0 <= float(s.delay_probability) <= 1.0:
        raise ValueError(f"delay_probability must be within 0..1, not {s.delay_probability!r}")
    seed = check_seed(s.seed if seed is None else seed)
    _keep_freed_memory()
    plan = _plan(result)
    sampler = Sampler(inst, seed=seed, project_ids=plan.pids, countries=plan.countries,
                      loss_multiplier=check_multiplier(loss_multiplier))
    tally = _Tally(plan, draws)
    chunk = chunk_draws(plan)
    bar = None
    if progress and draws > chunk:
        from tqdm import tqdm

        bar = tqdm(total=draws, desc="Monte Carlo", unit="draw", unit_scale=True, file=sys.stderr,
                   leave=False, delay=PROGRESS_DELAY_S)
    try:
        for lo in range(0, draws, chunk):
            block = sampler.block(lo, min(chunk, draws - lo))
            tally.add(plan, block.forced(**force) if force else block)
            if bar is not None:
                bar.update(block.n)
    finally:
        if bar is not None:
            bar.close()
    return _summarize(result, plan, sampler, tally, draws)


def chunk_draws(plan: _Plan) -> int:
    """Draws per chunk: about CHUNK_ELEMENTS draws x projects, at least MIN_CHUNK_DRAWS."""
    return max(MIN_CHUNK_DRAWS, CHUNK_ELEMENTS // max(len(plan.pids), 1))


def _keep_freed_memory() -> None:
    """Let the C allocator keep the memory of one chunk's arrays for the next chunk.

    Each chunk allocates and frees a few MB of arrays. glibc's malloc gives memory free at the
    top of its heap back to the system once more than a threshold is free there (128 kB at
    first, then twice the largest array it has served with mmap and freed), and each page of the
    next chunk's arrays then costs a page fault again: on the machine measured, a third of the
    run. Freeing one untouched array of 16 MB served with mmap raises glibc's thresholds for the
    process (to 16 MB and 32 MB; they never go down), as any program handling arrays that large
    does, so that the chunks reuse their memory. Nothing is written to the array (no page is
    touched); the numbers do not depend on it; other allocators simply free it."""
    np.empty(KEEP_FREED_BYTES // 8)


def _summarize(result: Result, plan: _Plan, sampler: Sampler, tally: _Tally,
               draws: int) -> Simulation:
    inst, ev = result.instance, result.evaluation
    s = inst.settings
    tally.total_capex.setflags(write=False)
    tally.npv.setflags(write=False)
    return Simulation(
        draws=draws, seed=sampler.seed, capex_basis=s.capex_basis,
        delay_probability=float(s.delay_probability),
        max_delay_years=max(int(s.max_delay_years), 0),
        discount_rate=s.discount_rate, budget_carryover=s.budget_carryover,
        years=tuple(s.years), budget=tuple(float(ev.budget[t]) for t in s.years),
        planned_spend=tuple(float(ev.spend[t]) for t in s.years),
        mean_spend=tuple(float(v) / draws for v in tally.spend_sum),
        p_budget_exceeded=tuple(float(c) / draws for c in tally.exceeded),
        p_any_year_exceeded=tally.any_exceeded / draws,
        total_budget_musd=s.total_budget_musd,
        p_total_budget_exceeded=(None if s.total_budget_musd is None
                                 else tally.over_total / draws),
        min_npv_musd=s.min_npv_musd,
        p_below_min_npv=None if s.min_npv_musd is None else tally.below_min / draws,
        p_all_targets_met=tally.all_met / draws if plan.targets else None,
        planned_total_capex=float(ev.total_capex), planned_npv=_planned_npv(plan),
        capex_summary=Distribution.of(tally.total_capex), npv_summary=Distribution.of(tally.npv),
        online=_online(result, plan, tally, draws),
        targets=_target_risks(result, plan, tally, draws),
        total_capex=tally.total_capex, npv=tally.npv,
        loss_multiplier=sampler.loss_multiplier, losses_modelled=losses_modelled(result),
        countries=_country_risks(plan, sampler, tally, draws),
        p_any_project_lost=tally.any_lost / draws,
    )


def losses_modelled(result: Result) -> bool:
    """Whether the workbook models losses: a Countries sheet, or a funded project with a loss
    probability (a version 1 workbook has neither)."""
    inst = result.instance
    return bool(inst.countries) or any(inst.projects[pid].loss_probability > 0
                                       for pid in result.starts)


def _planned_npv(plan: _Plan) -> float:
    """The plan's NPV at first_year from its planned cash flows ($M)."""
    s = plan.instance.settings
    return float(sum(float(cash_flows(plan.instance.projects[pid], s, start,
                                      operating=ops).npv(s.discount_rate, s.first_year)[0])
                     for pid, start, ops in zip(plan.pids, plan.starts, plan.operating)))


def _online(result: Result, plan: _Plan, tally: _Tally, draws: int) -> tuple[OnlineRisk, ...]:
    rows = []
    delay_counts = tally.delay_counts
    for j, pid in enumerate(plan.pids):
        risk = project_risk(result.instance, pid)
        cdf = delay_cdf(risk.delay_probability, max(risk.max_delay_years, 0))
        quant = [int(np.argmax(cdf >= q / 100.0 - 1e-9)) for q in QUANTILES]
        planned = result.evaluation.online[pid]
        counts = delay_counts[j]
        rows.append(OnlineRisk(
            project_id=pid, planned_online=planned, p_on_time=float(counts[0]) / draws,
            p10=planned + quant[0], p50=planned + quant[1], p90=planned + quant[2],
            delay_probs=tuple(float(c) / draws for c in counts),
            p_lost=float(tally.lost_counts[j]) / draws))
    return tuple(rows)


def _target_risks(result: Result, plan: _Plan, tally: _Tally,
                  draws: int) -> tuple[TargetRisk, ...]:
    s = result.instance.settings
    rows = []
    for i, t in enumerate(plan.targets):
        p10, p50, p90 = (float(v) for v in np.percentile(tally.shares[i], QUANTILES))
        rows.append(TargetRisk(
            mineral=t["mineral"], target_china_share=t["target"], target_year=s.target_year,
            planned_china_share=result.evaluation.planned_share_after[t["mineral"]][
                s.target_year],
            p_met=float(tally.met_counts[i, 0]) / draws,
            p_met_all_years=float(tally.met_counts[i, 1]) / draws,
            share_p10=p10, share_p50=p50, share_p90=p90))
    return tuple(rows)


def _country_risks(plan: _Plan, sampler: Sampler, tally: _Tally,
                   draws: int) -> tuple[CountryRisk, ...]:
    rows = []
    for c, country in enumerate(plan.countries):
        members = [j for j, row in enumerate(plan.country_row) if row == c]
        rows.append(CountryRisk(
            country=country, loss_probability=float(sampler.country_loss[c, 0]),
            funded_projects=len(members), p_event=float(tally.event_counts[c]) / draws,
            mean_projects_lost=float(sum(int(tally.lost_counts[j]) for j in members)) / draws))
    return tuple(rows)
