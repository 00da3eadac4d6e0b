"""One finance model: the cash flows of a project and of the plan, and the one rule that applies
capex draws, delays, losses and scenario multipliers to them.

Units: $M, undiscounted, by calendar year; a positive flow is an inflow. Discounting uses the
workbook's ``discount_rate`` r: a project's own NPV is valued at its start year, the plan's at
``first_year``.

A project's flows (contract, "Cash flows: one finance model for every analysis"):

- capital: a capex of c spends ``c x f[o]`` in year ``start + o`` (f its capex shares);
- operating: its CashFlows rows by year offset from its online year ``start + build_years``, or,
  without rows, the level flow A over L years for which the NPV at the capex basis equals
  ``npv_musd`` (:func:`operating_flows`).

:func:`cash_flows` is the rule every analysis uses (the plan's figures, scenarios, the Monte Carlo,
stress tests): a capex of c' instead of c spends ``c' x f[o]``; a delay of d moves the operating
flows (and the deliveries) d years later and keeps the capital schedule; a project lost in year u
spends its capex of year u and nothing after, and has no operating flow in year u or after; an
operating multiplier k scales every operating flow. It works on numpy arrays, one row per draw, so
that a scenario (one row) and a simulation (many rows) take the same arithmetic.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from .instance import Instance, Project, Settings

NEVER = np.iinfo(np.int64).max // 2  # "never lost": a year after every flow
FEW_ROWS = 16  # cash_flows places the operating flows row by row up to this many rows


def operating_years_implied(project: Project, settings: Settings) -> int:
    """L: ``operating_years``, or when blank the years it could deliver within the horizon from its
    earliest start (at least 1)."""
    if project.operating_years is not None:
        return project.operating_years
    return max(1, settings.last_year - (project.earliest_start + project.build_years) + 1)


def capital_pv_factor(project: Project, rate: float) -> float:
    """sum_o f[o] (1 + r)^-o: the present value at the start year of $1 of capex."""
    return sum(share * (1.0 + rate) ** -o for o, share in enumerate(project.spend_shares))


def implied_level_flow(project: Project, settings: Settings) -> float:
    """A in ``npv_musd = -c sum_o f[o] v^o + A sum_{j<L} v^(b+j)``, v = 1/(1+r), c the capex at the
    basis, b build_years, L :func:`operating_years_implied` ($M a year)."""
    r = settings.discount_rate
    c = project.capex(settings.capex_basis)
    annuity = sum((1.0 + r) ** -(project.build_years + j)
                  for j in range(operating_years_implied(project, settings)))
    return (project.npv_musd + c * capital_pv_factor(project, r)) / annuity


def operating_flows(project: Project, settings: Settings) -> tuple[float, ...]:
    """The project's operating flows by year offset from its online year ($M): its CashFlows
    rows, or the implied level flow over L years."""
    if project.cash_flows:
        return tuple(project.cash_flows)
    return (implied_level_flow(project, settings),) * operating_years_implied(project, settings)


@dataclass(frozen=True)
class Flows:
    """Cash flows on a grid of calendar years: ``values[draw, i]`` is the flow of year
    ``first + i`` ($M, undiscounted)."""

    first: int
    values: np.ndarray

    @property
    def years(self) -> range:
        return range(self.first, self.first + self.values.shape[1])

    def npv(self, rate: float, base_year: int) -> np.ndarray:
        """Present value at ``base_year`` of each draw's flows ($M)."""
        return self.values @ _factors(rate, self.first - base_year, self.values.shape[1])


@functools.lru_cache(maxsize=1024)
def _factors(rate: float, offset: int, size: int) -> np.ndarray:
    """(1 + rate)^-(offset + g), g = 0 .. size - 1 (read-only; kept for the next call)."""
    factors = (1.0 + rate) ** -(np.arange(size) + offset)
    factors.setflags(write=False)
    return factors


def cash_flows(project: Project, settings: Settings, start: int, *,
               operating: Sequence[float] | None = None,
               capex: float | np.ndarray | None = None,
               delay: int | np.ndarray = 0,
               lost_year: int | np.ndarray | None = None,
               operating_multiplier: float = 1.0,
               first: int | None = None, last: int | None = None) -> Flows:
    """The project's flows, started in ``start``, under the one rule (see the module docstring).

    ``capex`` (default: at the capex basis), ``delay`` (years) and ``lost_year`` (None: never
    lost) may be arrays, one entry per draw. ``operating`` defaults to :func:`operating_flows`
    (fitted on the workbook as given: pass them explicitly when the project has been changed).
    The grid runs from ``first`` (default: the start year) to ``last`` (default: the last year
    with a flow at the largest delay).
    """
    ops = np.asarray(operating_flows(project, settings) if operating is None else operating,
                     dtype=float)
    if operating_multiplier != 1.0:
        ops = ops * operating_multiplier
    c = np.asarray(project.capex(settings.capex_basis) if capex is None else capex,
                   dtype=float).reshape(-1)
    d = np.asarray(delay, dtype=np.int64).reshape(-1)
    u = np.asarray(NEVER if lost_year is None else lost_year, dtype=np.int64).reshape(-1)
    n = max(c.size, d.size, u.size)
    if c.size not in (1, n) or d.size not in (1, n) or u.size not in (1, n):
        raise ValueError(f"capex, delay and lost_year must have one entry or {n} entries each, "
                         f"not {c.size}, {d.size} and {u.size}")
    shares = project.spend_shares
    online = start + project.build_years
    first = start if first is None else first
    last_flow = max(start + len(shares) - 1, online + int(d.max()) + len(ops) - 1)
    last = last_flow if last is None else last
    values = np.zeros((n, last - first + 1))
    spends = c.size > 1 or c[0] != 0.0  # a capex of 0 spends 0 (the cells stay 0.0)
    for o, share in enumerate(shares if spends else ()):
        year = start + o
        if share and first <= year <= last:  # the capex of year u is spent
            values[:, year - first] -= c * share if lost_year is None else c * share * (year <= u)
    if not ops.size:
        return Flows(first, values)
    # Operating flow j lands in year online + d + j of its row, before the loss year u and
    # within the grid: one cell per (row, j), so adding them all at once adds exactly what a
    # loop over j would (a zero flow adds nothing: no cell holds -0.0).
    if n <= FEW_ROWS:  # row by row: flows lo .. hi-1 land in a run of consecutive years
        rows = zip(d.tolist() * (n // d.size), u.tolist() * (n // u.size))
        for row, (dr, ur) in enumerate(rows):
            shift = online + dr
            lo = max(0, first - shift)
            hi = min(len(ops), last - shift + 1, ur - shift)
            if hi > lo:
                values[row, shift + lo - first:shift + hi - first] += ops[lo:hi]
        return Flows(first, values)
    j = np.flatnonzero(ops)
    year = (online + (d if d.size == n else np.full(n, d[0])))[:, None] + j  # (n, flows)
    keep = (year < u[:, None]) & (year >= first) & (year <= last)
    row, k = np.nonzero(keep)
    values[row, year[row, k] - first] += ops[j[k]]
    return Flows(first, values)


def npv_at_start(project: Project, settings: Settings, start: int, **changes) -> np.ndarray:
    """The project's own NPV valued at ``start`` under ``changes`` (see :func:`cash_flows`)."""
    return cash_flows(project, settings, start, **changes).npv(settings.discount_rate, start)


# ---------------------------------------------------------------------------------------------
# Derived figures: IRR, payback, peak funding.

def sign_changes(flows: Sequence[float], tol: float = 1e-9) -> int:
    """How often the sign changes along the flows, zeros skipped."""
    signs = [1 if v > tol else -1 for v in flows if abs(v) > tol]
    return sum(1 for a, b in zip(signs, signs[1:]) if a != b)


@dataclass(frozen=True)
class Irr:
    """The internal rate of return, or None with the reason there is none to report."""

    value: float | None
    reason: str = ""


def irr(flows: Sequence[float]) -> Irr:
    """The rate at which ``flows`` (one per year, in order) have zero present value, reported only
    when it is unique: with exactly one change of sign the present value falls strictly through
    zero once (Descartes' rule of signs), so the root numpy-financial finds is the only one."""
    changes = sign_changes(flows)
    if changes == 0:
        kind = "outflows" if all(v <= 0 for v in flows) else "inflows"
        return Irr(None, f"no IRR: the flows are all {kind}")
    if changes > 1:
        return Irr(None, f"no unique IRR: the flows change sign {changes} times")
    import numpy_financial as npf

    value = float(npf.irr(np.asarray(flows, dtype=float)))
    if not np.isfinite(value):
        return Irr(None, "no IRR: the solver for the rate did not converge")
    return Irr(value)


def payback_year(years: Sequence[int], flows: Sequence[float], tol: float = 1e-9) -> int | None:
    """The first year from which the cumulative flow, having been negative, stays at >= 0; the
    first year when it is never negative; None when it is negative at the end."""
    cumulative = np.cumsum(np.asarray(flows, dtype=float))
    if len(cumulative) == 0 or cumulative.min() >= -tol:
        return years[0] if len(years) else None
    if cumulative[-1] < -tol:
        return None
    negative = np.nonzero(cumulative < -tol)[0]
    return years[int(negative[-1]) + 1]


def cumulative(by_year: Mapping[int, float]) -> dict[int, float]:
    """The running sum of flows by year, in year order ($M)."""
    total, out = 0.0, {}
    for year in sorted(by_year):
        total += by_year[year]
        out[year] = total
    return out


@dataclass(frozen=True)
class PlanFlows:
    """The plan's net cash flow by calendar year ($M, undiscounted), from every funded project."""

    by_year: Mapping[int, float]
    per_project: Mapping[str, Mapping[int, float]]

    def peak_funding(self) -> tuple[float, int | None]:
        """max(0, minus the lowest cumulative flow) and the year it is reached (None at 0)."""
        running = cumulative(self.by_year)
        if not running:
            return 0.0, None
        year = min(running, key=lambda t: (running[t], t))
        low = running[year]
        return (max(0.0, -low), year if low < 0 else None)


def plan_flows(instance: Instance, starts: Mapping[str, int]) -> PlanFlows:
    """The planned flows of every funded project (capex at the basis, no delay, no loss)."""
    per_project: dict[str, dict[int, float]] = {}
    total: dict[int, float] = {}
    for pid, start in starts.items():
        flows = cash_flows(instance.projects[pid], instance.settings, start)
        row = {year: float(v) for year, v in zip(flows.years, flows.values[0]) if v}
        per_project[pid] = row
        for year, value in row.items():
            total[year] = total.get(year, 0.0) + value
    return PlanFlows(dict(sorted(total.items())), per_project)
