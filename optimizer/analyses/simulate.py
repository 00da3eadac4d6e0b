"""Monte Carlo risk of a chosen portfolio: capex overruns and build delays, vectorized with numpy.

The plan (which projects, which start years) is fixed; only the capital cost and the online year of
each funded project are uncertain. Every figure follows the conventions of ``evaluate.py``: money
in $M, calendar years, discounting to ``first_year`` with ``(1 + discount_rate)^-(t - first_year)``.

Model of uncertainty (our documented choices)
---------------------------------------------
* **Capex.** Each funded project's capital cost is drawn from a triangular distribution over
  ``[capex_low_musd, capex_high_musd]`` whose mode is the capex at ``settings.capex_basis`` (low,
  mid = average of low and high, or high). When low == high the cost is that constant. Draws are
  made by the inverse CDF, so the degenerate case needs no special path.
* **Delay.** With probability ``delay_probability`` a project slips by k years, k uniform on
  ``1 .. max_delay_years`` (k = 0 when ``max_delay_years`` is 0). Projects are independent.
* **Spending.** A project spends its drawn capex along its ``spend_shares`` from its *planned*
  start year: money is committed on schedule, a slip stretches nothing. Spending outside the horizon
  (impossible for a valid plan) counts in total capex but in no budget year.
* **Deliveries.** ``capacity_tpa`` from the online year ``start + build_years + k`` for
  ``operating_years`` years (to the horizon end when blank), counted within the horizon only.
* **NPV** of a draw: the sum over funded projects of
  ``(npv_musd - (capex_draw - capex_at_basis)) * discount(start) * (1 + discount_rate)^-k``:
  ``npv_musd`` is net of the capex at the basis, so an overrun lowers NPV one for one, and a slip
  delays the project's cash flows by k years.
* **Budget exceeded** in year t: the year's spend is above its budget (with ``budget_carryover``,
  the cumulative spend to t is above the cumulative budget to t), beyond the tolerance of
  ``families.violations`` (``TOL * max(1, budget)``). Reported per horizon year, for any year, and
  for total capex over ``total_budget_musd`` when that is set.
* **Target met**: for each mineral with a ``target_china_share`` (and ``target_year`` set), the
  China share in the target year, computed as in ``evaluate.py`` (displaced tonnes = min(deliveries,
  china_share x demand)), is at most the target. The tolerance is the one ``evaluate.py`` uses for
  targets (1e-7), so a plan the verifier accepts meets its targets in every draw without delays.
  ``p_met_all_years`` also asks it of every year from the target year to the horizon end, which is
  what the contract requires of a plan.
* **Online year** per project: the probability of coming online in the planned year, and the
  P10/P50/P90 online year. The probabilities are sampled; the quantiles are those of the model's
  own (exactly known) delay distribution, because a sampled quantile of a discrete variable flips
  between neighbouring years when the CDF sits on the quantile: with the defaults (p = 0.3, up to 3
  years) P(delay <= 2) is exactly 0.9, and a sampled P90 would read planned + 2 or + 3 at random.

Random numbers and reproducibility
----------------------------------
Each funded project has its own random stream, ``PCG64(SeedSequence(seed, spawn_key=(h,)))`` with
``h`` a SHA-256 digest of its project_id, and each draw takes three uniforms from it, in order:
capex, whether it slips, by how much. Hence: the same seed gives the same figures, bit for bit; a
project's draws do not depend on which other projects are funded or on their order (common random
numbers when two plans are compared); and draws are processed in chunks (for memory and the
progress bar) with results identical to one unchunked pass, because each stream is consumed
sequentially and every sum over draws is either an integer count or taken over the whole array.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..evaluate import TOL
from ..results import Result

TARGET_TOL = 1e-7  # the tolerance families.violations / target_met_year apply to China shares
QUANTILES = (10, 50, 90)  # percentiles reported (P10, P50, P90)
# Draws are processed in chunks of about CHUNK_ELEMENTS draws x projects (2,500 draws of 40
# projects): small enough to stay in cache, which is faster than one pass, and bounded in memory.
# Results do not depend on the chunk size.
CHUNK_ELEMENTS = 100_000
MIN_CHUNK_DRAWS = 1_000
PROGRESS_DELAY_S = 0.5  # the progress bar appears only for runs longer than this
MEASURES = {"total_capex": "total capex $M", "npv": "NPV $M"}
TABLE_KEYS = ("simulation_summary", "simulation_budget", "simulation_targets", "simulation_online",
              "simulation_risks", "simulation_settings", "simulation_histogram")


@dataclass(frozen=True)
class SimulationTables:
    """The tables of a :class:`Simulation` (see :meth:`Simulation.to_tables`), as a result carries
    them and as results.json holds them: ``by_key`` maps each key of :data:`TABLE_KEYS` present
    to its rows."""

    by_key: dict[str, list[dict[str, Any]]]

    def tables(self) -> dict[str, Any]:
        return dict(self.by_key)

    @classmethod
    def of(cls, sim: "Simulation", histogram_bins: int | None = 30) -> "SimulationTables":
        return cls(sim.to_tables(histogram_bins))

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


@dataclass(frozen=True)
class TargetRisk:
    """China-share target of one mineral."""

    mineral: str
    target_china_share: float
    target_year: int
    planned_china_share: float  # the plan's share in the target year, without uncertainty
    p_met: float  # share of draws whose China share in the target year is at most the target
    p_met_all_years: float  # ... in every year from the target year to the horizon end


@dataclass(frozen=True)
class Simulation:
    """Monte Carlo summary of a plan; ``total_capex`` and ``npv`` hold the per-draw values."""

    draws: int
    seed: int
    capex_basis: str
    delay_probability: float
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
    planned_npv: float
    capex_summary: Distribution
    npv_summary: Distribution
    online: tuple[OnlineRisk, ...]
    targets: tuple[TargetRisk, ...]
    total_capex: np.ndarray = field(compare=False, repr=False)  # (draws,) $M, read-only
    npv: np.ndarray = field(compare=False, repr=False)  # (draws,) $M discounted, read-only

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
        the workbook writer). ``histogram_bins=None`` leaves the histogram table out."""
        test = "cumulative" if self.budget_carryover else "year"
        summary = [
            {"measure": MEASURES[key], "p10": d.p10, "p50": d.p50, "p90": d.p90, "mean": d.mean,
             "std": d.std, "planned": planned}
            for key, d, planned in (("total_capex", self.capex_summary, self.planned_total_capex),
                                    ("npv", self.npv_summary, self.planned_npv))
        ]
        budget = [
            {"year": t, "budget_musd": b, "planned_spend_musd": s, "p_exceeded": p,
             "mean_spend_musd": m, "test": test}
            for t, b, s, p, m in zip(self.years, self.budget, self.planned_spend,
                                     self.p_budget_exceeded, self.mean_spend)
        ]
        targets = [
            {"mineral": r.mineral, "target_china_share": r.target_china_share,
             "target_year": r.target_year, "p_met": r.p_met,
             "planned_china_share": r.planned_china_share, "p_met_all_years": r.p_met_all_years}
            for r in self.targets
        ]
        online = [
            {"project_id": r.project_id, "planned_online": r.planned_online,
             "p_on_time": r.p_on_time, "p10": r.p10, "p50": r.p50, "p90": r.p90}
            for r in self.online
        ]
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
            risks.append({"event": "every China-share target met in the target year",
                          "probability": self.p_all_targets_met})
        settings = [
            {"setting": "draws", "value": self.draws},
            {"setting": "seed", "value": self.seed},
            {"setting": "capex_basis (triangular mode)", "value": self.capex_basis},
            {"setting": "delay_probability", "value": self.delay_probability},
            {"setting": "max_delay_years", "value": self.max_delay_years},
            {"setting": "discount_rate", "value": self.discount_rate},
            {"setting": "budget_carryover", "value": self.budget_carryover},
        ]
        tables = {
            "simulation_summary": summary,
            "simulation_budget": budget,
            "simulation_targets": targets,
            "simulation_online": online,
            "simulation_risks": risks,
            "simulation_settings": settings,
        }
        if histogram_bins:
            tables["simulation_histogram"] = (self.histogram("total_capex", histogram_bins)
                                              + self.histogram("npv", histogram_bins))
        return tables


# ---------------------------------------------------------------------------------------------


def project_stream(seed: int, project_id: str) -> np.random.Generator:
    """The random stream of one project (see the module docstring)."""
    key = int.from_bytes(hashlib.sha256(project_id.encode("utf-8")).digest()[:16], "little")
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(key,))))


def delay_cdf(delay_probability: float, max_delay_years: int) -> np.ndarray:
    """P(delay <= k), k = 0 .. max_delay_years, of the delay model."""
    if max_delay_years <= 0:
        return np.ones(1)
    k = np.arange(max_delay_years + 1)
    return (1.0 - delay_probability) + delay_probability * k / max_delay_years


def triangular_from_uniform(u: np.ndarray, low: np.ndarray, mode: np.ndarray,
                            high: np.ndarray) -> np.ndarray:
    """Inverse CDF of triangular(low, mode, high) at ``u`` (broadcast; low == high is allowed)."""
    low, mode, high = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (low, mode, high)))
    width = high - low
    f_mode = np.divide(mode - low, width, out=np.zeros_like(width), where=width > 0)
    on_left = u < f_mode
    # left of the mode: low + sqrt(u (high-low) (mode-low)); right: high - sqrt((1-u) (high-low)
    # (high-mode)). One square root serves both sides.
    root = np.sqrt(np.where(on_left, u * (mode - low), (1.0 - u) * (high - mode)) * width)
    return np.where(on_left, low + root, high - root)


def simulate(result: Result, draws: int = 10_000, *, seed: int | None = None,
             progress: bool = False) -> Simulation:
    """Monte Carlo of the plan of ``result`` over ``draws`` draws (seed None: settings.seed)."""
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise ValueError(f"draws must be a positive integer, not {draws!r}")
    inst, ev = result.instance, result.evaluation
    s = inst.settings
    seed = s.seed if seed is None else seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
    seed, draws = int(seed), int(draws)
    p_delay = float(s.delay_probability)
    if not 0.0 <= p_delay <= 1.0:
        raise ValueError(f"delay_probability must be within 0..1, not {p_delay!r}")
    kmax = max(int(s.max_delay_years), 0)

    pids = result.funded_ids
    projects = [inst.projects[pid] for pid in pids]
    n_proj = len(pids)
    years = list(s.years)
    n_years = len(years)
    rate = s.discount_rate

    def column(values) -> np.ndarray:  # (P, 1): broadcasts over the draws of each project
        return np.array(values, dtype=float).reshape(n_proj, 1)

    low = column([p.capex_low_musd for p in projects])
    high = column([p.capex_high_musd for p in projects])
    basis = column([p.capex(s.capex_basis) for p in projects])
    npv = column([p.npv_musd for p in projects])
    start_disc = column([(1.0 + rate) ** -(result.starts[pid] - s.first_year) for pid in pids])
    delay_disc = (1.0 + rate) ** -np.arange(kmax + 1, dtype=float)
    # spend[(year index, share)] per project, in the order evaluate.py adds them
    spend_rows = [[(result.starts[pid] + off - s.first_year, share)
                   for off, share in enumerate(p.spend_shares) if share != 0]
                  for pid, p in zip(pids, projects)]

    budget = [float(ev.budget[t]) for t in years]
    if s.budget_carryover:
        limits, cum = [], 0.0
        for b in budget:
            cum += b
            limits.append(cum)
    else:
        limits = budget
    limit_tol = np.array([lim + TOL * max(1.0, lim) for lim in limits])
    total_budget = s.total_budget_musd
    min_npv = s.min_npv_musd

    targets = _target_tables(result, kmax)

    streams = [project_stream(seed, pid) for pid in pids]
    chunk = max(MIN_CHUNK_DRAWS, CHUNK_ELEMENTS // max(n_proj, 1))
    total_capex = np.empty(draws)
    npv_draws = np.empty(draws)
    spend_sum = np.zeros(n_years)
    exceeded = np.zeros(n_years, dtype=np.int64)
    any_exceeded = over_total = below_min = all_met = 0
    delay_counts = np.zeros((n_proj, kmax + 1), dtype=np.int64)
    met_counts = np.zeros((len(targets), 2), dtype=np.int64)

    bar = None
    if progress and draws > chunk:
        from tqdm import tqdm

        bar = tqdm(total=draws, desc="Monte Carlo", unit="draw", unit_scale=True, file=sys.stderr,
                   leave=False, delay=PROGRESS_DELAY_S)
    try:
        for lo in range(0, draws, chunk):
            n = min(chunk, draws - lo)
            # Arrays are project-major, (projects, draws) and (years, draws): each project's and
            # each year's draws are contiguous, which is ~10x faster than (draws, projects).
            u = np.empty((n_proj, n, 3))
            for j, rng in enumerate(streams):
                rng.random((n, 3), out=u[j])  # capex, slips?, slip size: one stream per project
            cap = triangular_from_uniform(u[:, :, 0], low, basis, high)  # (P, n)
            if kmax > 0:
                size = np.minimum((u[:, :, 2] * kmax).astype(np.intp) + 1, kmax)  # 1..kmax
                delay = np.where(u[:, :, 1] < p_delay, size, 0)  # (P, n)
            else:
                delay = np.zeros((n_proj, n), dtype=np.intp)
            value = (npv - (cap - basis)) * start_disc * delay_disc[delay]  # (P, n)

            spend = np.zeros((n_years, n))
            tot = np.zeros(n)
            npv_n = np.zeros(n)
            for j in range(n_proj):  # fixed order: sums do not depend on the chunking
                tot += cap[j]
                npv_n += value[j]
                for yi, share in spend_rows[j]:
                    if 0 <= yi < n_years:
                        spend[yi] += cap[j] * share
            total_capex[lo:lo + n] = tot
            npv_draws[lo:lo + n] = npv_n
            # sequential sum over draws, continued across chunks (identical to one pass)
            spend_sum = np.add.accumulate(np.hstack([spend_sum[:, None], spend]), axis=1)[:, -1]

            rows = np.cumsum(spend, axis=0) if s.budget_carryover else spend
            over = rows > limit_tol[:, None]  # (Y, n)
            exceeded += over.sum(axis=1)
            any_exceeded += int(over.any(axis=0).sum())
            if total_budget is not None:
                over_total += int((tot > total_budget + TOL * max(1.0, total_budget)).sum())
            if min_npv is not None:
                below_min += int((npv_n < min_npv - TOL * max(1.0, abs(min_npv))).sum())

            if n_proj:
                idx = delay + (kmax + 1) * np.arange(n_proj)[:, None]
                delay_counts += np.bincount(idx.ravel(), minlength=n_proj * (kmax + 1)).reshape(
                    n_proj, kmax + 1)
            every = np.ones(n, dtype=bool)
            for i, tgt in enumerate(targets):
                deliv = np.zeros((n, tgt["exposed"].size))  # (n, years from the target year)
                for j, table in tgt["tables"]:
                    deliv += np.take(table, delay[j], axis=0)
                x = np.minimum(deliv, tgt["exposed"])
                share = (tgt["exposed"] - x) / tgt["demand"]
                met = share <= tgt["target"] + TARGET_TOL
                met_counts[i, 0] += int(met[:, 0].sum())
                met_counts[i, 1] += int(met.all(axis=1).sum())
                every &= met[:, 0]
            all_met += int(every.sum())
            if bar is not None:
                bar.update(n)
    finally:
        if bar is not None:
            bar.close()

    total_capex.setflags(write=False)
    npv_draws.setflags(write=False)
    cdf = delay_cdf(p_delay, kmax)
    quant = [int(np.argmax(cdf >= q / 100.0 - 1e-9)) for q in QUANTILES]
    online = tuple(
        OnlineRisk(project_id=pid, planned_online=ev.online[pid],
                   p_on_time=float(delay_counts[j, 0]) / draws,
                   p10=ev.online[pid] + quant[0], p50=ev.online[pid] + quant[1],
                   p90=ev.online[pid] + quant[2],
                   delay_probs=tuple(float(c) / draws for c in delay_counts[j]))
        for j, pid in enumerate(pids)
    )
    target_risks = tuple(
        TargetRisk(mineral=t["mineral"], target_china_share=t["target"], target_year=s.target_year,
                   planned_china_share=ev.share_after[t["mineral"]][s.target_year],
                   p_met=float(met_counts[i, 0]) / draws,
                   p_met_all_years=float(met_counts[i, 1]) / draws)
        for i, t in enumerate(targets)
    )
    return Simulation(
        draws=draws, seed=seed, capex_basis=s.capex_basis, delay_probability=p_delay,
        max_delay_years=kmax, discount_rate=rate, budget_carryover=s.budget_carryover,
        years=tuple(years), budget=tuple(budget),
        planned_spend=tuple(float(ev.spend[t]) for t in years),
        mean_spend=tuple(float(v) / draws for v in spend_sum),
        p_budget_exceeded=tuple(float(c) / draws for c in exceeded),
        p_any_year_exceeded=any_exceeded / draws,
        total_budget_musd=total_budget,
        p_total_budget_exceeded=None if total_budget is None else over_total / draws,
        min_npv_musd=min_npv,
        p_below_min_npv=None if min_npv is None else below_min / draws,
        p_all_targets_met=all_met / draws if targets else None,
        planned_total_capex=float(ev.total_capex), planned_npv=float(ev.npv_musd),
        capex_summary=Distribution.of(total_capex), npv_summary=Distribution.of(npv_draws),
        online=online, targets=target_risks, total_capex=total_capex, npv=npv_draws,
    )


def _target_tables(result: Result, kmax: int) -> list[dict]:
    """Per mineral with a target: demand and China-exposed tonnes from the target year to the
    horizon end, and per funded project of the mineral a (kmax + 1, years) table of its deliveries
    for each delay."""
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
        tables = []
        for j, pid in enumerate(pids):
            p = inst.projects[pid]
            if p.mineral != name:
                continue
            online = result.starts[pid] + p.build_years
            table = np.zeros((kmax + 1, span.size))
            for k in range(kmax + 1):
                first = online + k
                end = s.last_year if p.operating_years is None else first + p.operating_years - 1
                table[k] = np.where((span >= first) & (span <= min(end, s.last_year)),
                                    p.capacity_tpa, 0.0)
            tables.append((j, table))
        out.append({"mineral": name, "target": float(m.target_china_share), "demand": demand,
                    "exposed": m.china_share * demand, "tables": tables})
    return out
