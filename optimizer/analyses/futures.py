"""Sampled futures: the plan re-optimized in each of many futures, knowing that future.

A *future* is draw i of the Monte Carlo's seeded draws (:class:`optimizer.draws.Sampler`, so it is
reproducible from the seed and i alone): every project's capex (triangular over its range, mode at
the basis), its delay, its own loss offset and its country's loss event year. In each future the
workbook is changed by the one cash-flow rule (:mod:`optimizer.cashflow`) into the instance that
future makes (:func:`future_instance`) and re-optimized through :func:`optimizer.resolve.resolve`
(one HiGHS thread: the same answer on any machine, whatever runs it).

How a future changes a project p (capex c' drawn, delay d, own loss k years after its start, its
country's event in calendar year E; b its build years, f its capex shares, a its operating flows
as the workbook gives them):

* **capex** c' (low = high = c': nothing is uncertain any more, so robust budgets protect nothing);
* **delay**: build years b + d with the capital schedule kept (as a scenario's ``delay_years``);
* **loss** in year u = min(s + k, E) for a start s. A project lost in year u spends its capex of
  years up to u and nothing after, and has no flow or delivery from u on: its capex becomes
  c' x sum(f[o] for o <= u - s) on the same schedule, its operating life u - s - b - d years. Its
  own loss (offset k) does this exactly for every start. Its country's event is a calendar year,
  so its effect depends on the start: the start window is narrowed to the starts the event leaves
  untouched, or, when even the earliest start is touched, to that earliest start with the loss
  applied exactly. Every start left open is thus valued exactly; a later start the event would cut
  shorter is not offered (see docs/decisions.md).
* a project that delivers nothing before its loss is **known lost**: it is not offered (a
  must-fund one is released), and nor is a project that requires it;
* its NPV is recomputed from its flows; every loss and delay probability becomes 0 (the future is
  known), so ``risk_adjusted`` counts these very figures.

Budgets, targets and every other rule stay. For a future in which no plan meets the rules, "the
rule that fails most" is found with one more solve: every constraint family elastic at once,
minimizing the scaled slack (:func:`failing_rule`, through the diagnosis's
:class:`optimizer.diagnose.Elastic`); the family needing the most scaled slack is named. That is cheaper than relaxing each family alone (one solve, not one per family) and names
the rule the future breaks by the widest margin.

Reported: per project the share of futures whose plan funds it (over all draws; a future without
a plan funds nothing) with its binomial standard error sqrt(p (1 - p) / N); the share of futures
with no plan, with the rules that fail; the distribution of the objective over the futures with a
plan. A project funded in at least :data:`CORE_SHARE` of futures is in the *robust core*, one
funded in none is *never chosen*, the rest are *bets*.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

import numpy as np

from ..cashflow import npv_at_start, operating_flows
from ..draws import Future, Sampler, check_seed
from ..errors import SolverError
from ..evaluate import allowed_starts
from ..families import BY_NAME, FAMILIES
from ..instance import Instance, Project
from ..resolve import Parallel, SolveOptions, resolve, run_parallel
from ..results import Result
from .scenarios import _without_unreachable, released
from .simulate import Distribution

CORE_SHARE = 0.90  # funded in at least this share of futures: the robust core
TIME_LIMIT_RULE = "time_limit"  # "rule" of a future whose solve found no plan in its time limit
UNKNOWN_RULE = "unknown"  # the elastic solve itself found nothing
RULE_WORDS = {TIME_LIMIT_RULE: "no plan within the time limit",
              UNKNOWN_RULE: "not identified (the diagnosis solve found no answer)"}


def rule_words(rule: str) -> str:
    """The words of a failing rule: a constraint family's ("the yearly budgets") or ours."""
    return BY_NAME[rule].words if rule in BY_NAME else RULE_WORDS.get(rule, rule)


# ---------------------------------------------------------------------------------------------
# One future: the instance it makes, and its re-solve


@dataclass(frozen=True)
class KnownFuture:
    """The instance future ``index`` makes; ``lost``: projects known lost in it (not offered),
    ``released``: must-fund projects among them."""

    index: int
    instance: Instance
    lost: tuple[str, ...] = ()
    released: tuple[str, ...] = ()


def future_instance(instance: Instance, future: Future) -> KnownFuture:
    """The instance as ``future`` changes it (see the module docstring)."""
    kept: dict[str, Project] = {}
    for pid, p in instance.projects.items():
        draw = future.projects[pid]
        changed, _narrowed = known_project(instance, pid, draw.capex_musd, draw.delay,
                                           draw.loss_offset, future.event_year.get(p.country))
        if changed is not None:
            kept[pid] = changed
    reachable = _without_unreachable(kept)  # a project requiring a lost one cannot be funded
    countries = {name: replace(c, loss_probability=0.0, delay_probability=0.0)
                 for name, c in instance.countries.items()}
    known = replace(instance.with_projects(reachable), countries=countries)
    return KnownFuture(future.index, known,
                       tuple(pid for pid in instance.projects if pid not in reachable),
                       tuple(released(instance, known)))


def known_project(instance: Instance, pid: str, capex: float, delay: int,
                  loss_offset: int | None, event_year: int | None) -> tuple[Project | None, bool]:
    """Project ``pid`` with capex ``capex`` ($M), ``delay`` years late, lost ``loss_offset`` years
    after its start (None: never) or in its country's ``event_year`` (None: never), whichever
    comes first. Returns the changed project (None when it delivers nothing before its loss) and
    whether its start window was narrowed by the event."""
    s = instance.settings
    p = instance.projects[pid]
    starts = allowed_starts(instance, pid) or list(range(p.earliest_start, p.latest_start + 1))
    offset, narrowed = loss_offset, False
    if event_year is not None and starts:
        ops = operating_flows(p, s)
        untouched = [t for t in starts
                     if _last_year(p, s, t, delay, len(ops), loss_offset) < event_year]
        if untouched:  # the starts whose every flow and delivery comes before the event
            narrowed = len(untouched) < len(starts)
            starts = untouched
        else:  # touched from the earliest start: only that start, with the event applied
            narrowed = len(starts) > 1
            starts = starts[:1]
            by_event = event_year - starts[0]
            offset = by_event if offset is None else min(offset, by_event)
    first, last = (starts[0], starts[-1]) if starts else (p.earliest_start, p.latest_start)
    changed = _lost_at(p, s, capex, delay, offset, first, last)
    return changed, narrowed and changed is not None


def _last_year(p: Project, s, start: int, delay: int, n_ops: int, offset: int | None) -> int:
    """The last year in which the project, started in ``start``, ``delay`` years late and lost
    ``offset`` years after its start (None: never), spends, has an operating flow (``n_ops`` of
    them) or delivers within the horizon."""
    online = start + p.build_years + delay
    lost = None if offset is None else start + offset
    spend = [start + o for o, share in enumerate(p.spend_shares)
             if share and (lost is None or start + o <= lost)]
    ends = [online + n_ops - 1]
    if p.capacity_tpa > 0:
        ends.append(s.last_year if p.operating_years is None
                    else min(s.last_year, online + p.operating_years - 1))
    end = max(ends)
    if lost is not None:
        end = min(end, lost - 1)
    return max(spend + [end])


def _lost_at(p: Project, s, capex: float, delay: int, offset: int | None, first: int,
             last: int) -> Project | None:
    """The project with its capex, delay and a loss ``offset`` years after its start applied,
    offered for starts ``first`` .. ``last``; None when it delivers nothing before the loss."""
    ops = operating_flows(p, s)  # fitted on the workbook as given
    shares = p.spend_shares
    operating_years = p.operating_years
    if offset is not None:
        life = offset - p.build_years - delay  # operating years before the loss
        if life <= 0:
            return None
        kept = [share if o <= offset else 0.0 for o, share in enumerate(shares)]
        spent = sum(kept)
        if spent > 0:
            capex *= spent
            shares = tuple(share / spent for share in kept)
        ops = ops[:life]
        operating_years = life if operating_years is None else min(operating_years, life)
    changed = replace(p, capex_low_musd=capex, capex_high_musd=capex,
                      build_years=p.build_years + delay, capex_profile=tuple(shares),
                      cash_flows=tuple(ops), operating_years=operating_years,
                      earliest_start=first, latest_start=last, loss_probability=0.0,
                      delay_probability=0.0, max_delay_years=0)
    npv = float(npv_at_start(changed, s, first, operating=ops)[0])
    return replace(changed, npv_musd=npv)


@dataclass(frozen=True)
class FutureRow:
    """What the re-solve of one future gave: ``status`` optimal / feasible (with a plan),
    infeasible or no_plan; the funded projects (workbook order); the plan's objective, NPV and
    capex ($M; objective in the workbook's unit); ``rule``: for a future without a plan, the
    rule that fails most (a family name, :data:`TIME_LIMIT_RULE` or :data:`UNKNOWN_RULE`);
    ``known_lost`` and ``released`` as in :class:`KnownFuture`. ``seconds``: wall time of the
    task (for benchmarks; not part of the result)."""

    index: int
    status: str
    funded: tuple[str, ...] = ()
    objective_value: float | None = None
    npv_musd: float | None = None
    total_capex_musd: float | None = None
    rule: str | None = None
    known_lost: tuple[str, ...] = ()
    released: tuple[str, ...] = ()
    seconds: float = field(default=0.0, compare=False)

    @property
    def has_plan(self) -> bool:
        return self.objective_value is not None

    def to_row(self) -> dict[str, Any]:
        return {"future": self.index, "status": self.status,
                "objective_value": self.objective_value, "npv_musd": self.npv_musd,
                "total_capex_musd": self.total_capex_musd,
                "funded_count": len(self.funded) if self.has_plan else None,
                "funded": ", ".join(self.funded), "known_lost": ", ".join(self.known_lost),
                "released": ", ".join(self.released), "failing_rule": self.rule or ""}

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "FutureRow":
        def ids(key: str) -> tuple[str, ...]:
            return tuple(i.strip() for i in str(row.get(key) or "").split(",") if i.strip())

        return cls(index=int(row["future"]), status=str(row.get("status", "")),
                   funded=ids("funded"), objective_value=_float(row.get("objective_value")),
                   npv_musd=_float(row.get("npv_musd")),
                   total_capex_musd=_float(row.get("total_capex_musd")),
                   rule=str(row.get("failing_rule") or "") or None, known_lost=ids("known_lost"),
                   released=ids("released"))


def future_task(instance: Instance, index: int, seed: int,
                options: SolveOptions = SolveOptions()) -> FutureRow:
    """Future ``index`` of ``seed`` re-optimized: the picklable task every executor runs."""
    t0 = time.perf_counter()
    known = future_instance(instance, Sampler(instance, seed=seed).future(index))
    outcome = resolve(known.instance, options)
    common = {"index": index, "status": outcome.status, "known_lost": known.lost,
              "released": known.released}
    r = outcome.result
    if r is not None:
        row = FutureRow(**common, funded=tuple(p for p in known.instance.projects if p in r.starts),
                        objective_value=r.objective_value, npv_musd=r.evaluation.npv_musd,
                        total_capex_musd=r.evaluation.total_capex)
    elif outcome.status == "infeasible":
        row = FutureRow(**common, rule=failing_rule(known.instance, options))
    else:
        row = FutureRow(**common, rule=TIME_LIMIT_RULE)
    return replace(row, seconds=time.perf_counter() - t0)


def failing_rule(instance: Instance, options: SolveOptions = SolveOptions()) -> str:
    """The constraint family an infeasible ``instance`` breaks by the widest margin: the least
    relaxation with every family elastic (:meth:`optimizer.diagnose.Elastic.ask`, within the
    diagnosis's time limit), each row's violation scaled by its size (a budget, a demand); the
    family with the largest scaled violation in all. :data:`UNKNOWN_RULE` when that solve finds
    nothing."""
    from ..diagnose import SLACK_TOL, Elastic, static_reasons

    if static_reasons(instance):
        return "must_fund"
    elastic = Elastic(instance, [f.name for f in FAMILIES],  # absent ones add no slack
                      options.solver or instance.settings.solver, options.time_limit(instance))
    try:
        least = elastic.ask(minimize=True)
    except SolverError:
        return UNKNOWN_RULE
    if least.status != "plan":
        return UNKNOWN_RULE
    scaled = {name: sum(amount / elastic.m.slacks[name][key][1] for key, amount in rows)
              for name, rows in least.rows.items()}
    name, most = max(scaled.items(), key=lambda item: item[1], default=(UNKNOWN_RULE, 0.0))
    return name if most > SLACK_TOL else UNKNOWN_RULE


# ---------------------------------------------------------------------------------------------
# Many futures


@dataclass(frozen=True)
class ProjectShare:
    """One project over the futures: how many fund it, the share (of all draws) and its standard
    error sqrt(p (1 - p) / N), whether the recommended plan funds it, and its verdict (core, bet
    or never)."""

    project_id: str
    name: str
    funded: int
    share: float
    standard_error: float
    recommended: bool
    verdict: str


@dataclass(frozen=True)
class Futures:
    """The futures of one workbook: ``draws`` futures of ``seed``, one row each (index order);
    ``projects`` in workbook order; ``objective`` the workbook's objective name and
    ``recommended_objective`` the recommended plan's value in its unit."""

    draws: int
    seed: int
    objective: str
    recommended_objective: float
    projects: tuple[ProjectShare, ...]
    rows: tuple[FutureRow, ...]
    core_share: float = CORE_SHARE

    @classmethod
    def of(cls, result: Result, rows: Sequence[FutureRow], seed: int) -> "Futures":
        inst = result.instance
        n = len(rows)
        counts = {pid: 0 for pid in inst.projects}
        for row in rows:
            for pid in row.funded:
                counts[pid] += 1
        projects = tuple(
            ProjectShare(pid, p.name, counts[pid], counts[pid] / n, binomial_se(counts[pid], n),
                         pid in result.starts, verdict(counts[pid], n, CORE_SHARE))
            for pid, p in inst.projects.items())
        return cls(draws=n, seed=seed, objective=inst.settings.objective,
                   recommended_objective=result.objective_value, projects=projects,
                   rows=tuple(sorted(rows, key=lambda r: r.index)))

    @property
    def no_plan(self) -> int:
        return sum(1 for r in self.rows if not r.has_plan)

    @property
    def no_plan_share(self) -> float:
        return self.no_plan / self.draws if self.draws else 0.0

    @property
    def rules(self) -> dict[str, int]:
        """Failing rule -> futures without a plan it was named for, most frequent first."""
        counts: dict[str, int] = {}
        for r in self.rows:
            if not r.has_plan:
                counts[r.rule or UNKNOWN_RULE] = counts.get(r.rule or UNKNOWN_RULE, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    @property
    def not_proven(self) -> int:
        """Futures whose plan was not proven optimal (a time limit stopped the search)."""
        return sum(1 for r in self.rows if r.has_plan and r.status != "optimal")

    def objective_distribution(self) -> Distribution | None:
        values = np.array([r.objective_value for r in self.rows if r.has_plan], dtype=float)
        return Distribution.of(values) if values.size else None

    def with_verdict(self, name: str) -> list[ProjectShare]:
        """Projects with verdict ``name``, most often funded first."""
        return sorted((p for p in self.projects if p.verdict == name),
                      key=lambda p: (-p.share, p.project_id))

    def tables(self) -> dict[str, Any]:
        dist = self.objective_distribution()
        objective = {"recommended": self.recommended_objective}
        if dist is not None:
            objective.update({k: getattr(dist, k) for k in ("mean", "p10", "p50", "p90",
                                                           "min", "max")})
        summary = {
            "draws": self.draws, "seed": self.seed, "core_share": self.core_share,
            "no_plan_share": self.no_plan_share,
            "no_plan_standard_error": binomial_se(self.no_plan, self.draws),
            "no_plan_rules": self.rules,
            "funded_share": {p.project_id: p.share for p in self.projects},
            "funded_standard_error": {p.project_id: p.standard_error for p in self.projects},
            "objective": self.objective, "objective_distribution": objective,
            "not_proven_optimal": self.not_proven,
            "robust_core": [p.project_id for p in self.with_verdict("core")],
            "bets": [p.project_id for p in self.with_verdict("bet")],
            "never_chosen": [p.project_id for p in self.with_verdict("never")],
        }
        out: dict[str, Any] = {"futures": summary, "futures_projects": [
            {"project_id": p.project_id, "name": p.name, "futures_funding_it": p.funded,
             "funded_share": p.share, "funded_share_se": p.standard_error,
             "verdict": VERDICT_WORDS[p.verdict], "in_recommended_plan": "yes" if p.recommended
             else "no"} for p in self.projects]}
        stats = [("Recommended plan (planned figures)", self.recommended_objective)]
        if dist is not None:
            stats += [("P10 over the futures", dist.p10), ("P50 over the futures", dist.p50),
                      ("P90 over the futures", dist.p90), ("Mean over the futures", dist.mean),
                      ("Lowest", dist.min), ("Highest", dist.max)]
        out["futures_objective"] = [{"statistic": k, "objective_value": v} for k, v in stats]
        if self.no_plan:
            out["futures_no_plan"] = [
                {"rule": rule_words(rule), "futures": count, "share_of_draws": count / self.draws}
                for rule, count in self.rules.items()]
        out["futures_draws"] = [r.to_row() for r in self.rows]
        return out

    @classmethod
    def from_tables(cls, doc: Mapping[str, Any]) -> "Futures | None":
        """The Futures a results.json holds (None when it holds none or not in this form)."""
        summary, projects = doc.get("futures"), doc.get("futures_projects")
        draws = doc.get("futures_draws")
        if not isinstance(summary, Mapping) or not isinstance(projects, list) \
                or not isinstance(draws, list):
            return None
        try:
            rows = tuple(FutureRow.from_row(r) for r in draws)
            n = int(summary["draws"])
            words = {v: k for k, v in VERDICT_WORDS.items()}
            shares = tuple(
                ProjectShare(str(r["project_id"]), str(r.get("name", "")),
                             int(r["futures_funding_it"]), float(r["funded_share"]),
                             float(r["funded_share_se"]), r.get("in_recommended_plan") == "yes",
                             words.get(str(r.get("verdict")), "bet")) for r in projects)
            return cls(draws=n, seed=int(summary["seed"]), objective=str(summary["objective"]),
                       recommended_objective=float(
                           summary["objective_distribution"]["recommended"]),
                       projects=shares, rows=rows,
                       core_share=float(summary.get("core_share", CORE_SHARE)))
        except (KeyError, TypeError, ValueError):
            return None


VERDICT_WORDS = {"core": "robust core", "bet": "bet", "never": "never chosen"}
TABLE_KEYS = ("futures", "futures_projects", "futures_objective", "futures_no_plan",
              "futures_draws")


def verdict(funded: int, draws: int, core_share: float = CORE_SHARE) -> str:
    if funded == 0:
        return "never"
    return "core" if funded >= core_share * draws - 1e-9 else "bet"


def binomial_se(count: int, n: int) -> float:
    """Standard error of a share count / n: sqrt(p (1 - p) / n) (0 for n = 0)."""
    if n <= 0:
        return 0.0
    p = count / n
    return math.sqrt(p * (1.0 - p) / n)


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def sample_futures(result: Result, draws: int, options: SolveOptions = SolveOptions(),
                   parallel: Parallel = Parallel(), *, seed: int | None = None) -> Futures:
    """``draws`` futures of the workbook of ``result`` re-optimized (seed None: the workbook's
    seed), on the executor of ``parallel``; results do not depend on where they run."""
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise ValueError(f"the number of futures must be a positive integer, not {draws!r}")
    inst = result.instance
    seed = check_seed(inst.settings.seed if seed is None else seed)
    rows = run_parallel(future_task, [(inst, i, seed, options) for i in range(draws)], parallel,
                        label="futures")
    return Futures.of(result, rows, seed)


def summary_lines(futures: Futures) -> list[str]:
    """What the command line prints after a run with futures."""
    f = futures
    lines = [f"\nFutures: the plan re-optimized in {f.draws:,} sampled futures (seed {f.seed})."]
    if f.no_plan:
        rule, count = next(iter(f.rules.items()))
        lines.append(f"  No plan meets the rules in {f.no_plan_share:.1%} of them "
                     f"(+/- {binomial_se(f.no_plan, f.draws):.1%}); most often "
                     f"{rule_words(rule)} ({count:,}).")
    for name, words in (("core", f"Robust core (funded in >= {f.core_share:.0%})"),
                        ("bet", "Bets"), ("never", "Never chosen")):
        found = f.with_verdict(name)
        if found:
            shown = ", ".join(f"{p.project_id}{'*' if p.recommended else ''}"
                              + (f" {p.share:.0%}" if name == "bet" else "") for p in found[:25])
            more = f" and {len(found) - 25:,} more" if len(found) > 25 else ""
            lines.append(f"  {words}: {shown}{more}.")
    lines.append("  (* in the recommended plan)")
    return lines
