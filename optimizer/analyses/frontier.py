"""Trade-offs: the NPV / security frontier in the objective's terms, and the budget ladder.

Frontier (epsilon-constraint). The two criteria are NPV ($M, discounted) and the security measure
the workbook's objective counts (:func:`measure_for`): for ``weighted`` the security value, the
displaced China-dependent tonnes at the workbook's premiums ($M, discounted: the objective is NPV
plus this); for ``npv`` and ``security`` the China reliance removed (share-years). Call the
measure SEC. The two ends are the plan of highest NPV (then highest SEC) and the plan of highest
SEC (then highest NPV). Between the SEC of those two, evenly spaced bounds eps_i give problems:
maximize NPV subject to SEC >= eps_i, then, so that no point is weakly dominated, maximize SEC
subject to NPV >= the NPV just found (less a relative 1e-7): a lexicographic second stage. For
the security value the second stage maximizes NPV + SEC instead (at both ends too): within the
tie it is SEC up to 1e-7, any plan with more of both would score higher, and HiGHS proves it
sooner. Every point is a real portfolio, verified like any plan; duplicate and dominated points
are removed.

The recommended plan lies on this frontier: a weighted optimum maximizes NPV + SEC, so no plan has
more of both; an npv (security) optimum with its ties broken on the other criterion
(``solve(tie_break=True)``) is the frontier's end of highest NPV (SEC). Given the recommended
plan, :func:`trace_frontier` uses it: as that end, or (weighted) as the point of the bound nearest
its SEC, which saves those solves. Its proven bound is not added as a row (objective <= bound):
that row holds for every plan, but near the high-security end HiGHS took six times longer with
it (docs/decisions.md).

Budget ladder: the workbook's objective optimized at a list of total budgets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ..instance import Instance
from ..model import (PortfolioModel, add_floor, build_model, objective_terms,
                     set_objective_to)
from ..resolve import (Outcome, Parallel, SolveOptions, outcome_of, resolve, resolve_model,
                       run_parallel, summary_row)
from ..results import Result
from ..solve import break_tie

TOL = 1e-6  # relative: points closer than this on a criterion are equal on it


@dataclass(frozen=True)
class Measure:
    """A security criterion of the frontier: ``name`` as an objective (``security`` or
    ``premium``), the point rows' column ``key`` and floor column ``floor_key``, and words."""

    name: str
    key: str
    floor_key: str
    words: str  # "China reliance removed"
    short: str  # "reliance removed", in sentences that already said what it is
    unit: str  # "share-years" or "$M"
    label: str  # written in each point row ("measure"): which criterion the frontier traded

    @property
    def axis(self) -> str:
        """The chart's axis title."""
        return f"{self.words[0].upper()}{self.words[1:]} ({self.unit}, discounted)"


SHARE_YEARS = Measure("security", "security_share_years", "security_floor",
                      "China reliance removed", "reliance removed", "share-years",
                      "China reliance removed, share-years (discounted)")
SECURITY_VALUE = Measure("premium", "security_premium_musd", "security_premium_floor_musd",
                         "security value at the workbook's premiums", "security value", "$M",
                         "security value at the workbook's premiums, $M (discounted)")
MEASURES = (SHARE_YEARS, SECURITY_VALUE)


def measure_for(objective: str) -> Measure:
    """The security criterion of the frontier in the objective's terms: the security value ($M)
    for ``weighted`` (NPV plus that value), share-years for ``npv`` and ``security``."""
    return SECURITY_VALUE if objective == "weighted" else SHARE_YEARS


def measure_of(rows: Sequence[Mapping[str, Any]], objective: str | None = None) -> Measure:
    """The criterion frontier ``rows`` were traced on (their ``measure``); without rows that say,
    the one of ``objective``, else share-years (the only one before the weighted frontier)."""
    for r in rows:
        for m in MEASURES:
            if isinstance(r, Mapping) and r.get("measure") == m.label:
                return m
    return measure_for(objective) if objective and not rows else SHARE_YEARS


@dataclass(frozen=True)
class Frontier:
    """The non-dominated NPV / security points, ordered by the security measure, with the
    projects added and dropped between neighbours; ``note`` says which bounds gave no plan (a
    time limit). Each row says its ``measure`` and whether it is the ``recommended`` plan."""

    points: tuple[Mapping[str, Any], ...]
    note: str = ""
    # (what was solved, seconds) of each solve of this run; not a table: never written
    timings: tuple[tuple[str, float], ...] = field(default=(), compare=False)

    @property
    def measure(self) -> Measure:
        return measure_of(self.points)

    def summary_lines(self) -> list[str]:
        """The points and the solve times, for the command line."""
        m = self.measure
        unit = (lambda v: f"{v:,.3f} share-years removed") if m is SHARE_YEARS else \
            (lambda v: f"security value {money(v)}")
        out = [f"Frontier: {len(self.points)} non-dominated points, NPV against {m.label}:"]
        for i, p in enumerate(self.points, start=1):
            star = "  (recommended plan)" if p.get("recommended") else ""
            out.append(f"  {i:>2}. NPV {money(p['npv_musd'])}, {unit(p[m.key])}, "
                       f"{p.get('funded_count')} funded{star}")
        if self.timings:
            total = sum(s for _, s in self.timings)
            out.append(f"Frontier solves ({len(self.timings)}, {total:,.1f} s in all): "
                       + "; ".join(f"{what} {s:.1f} s" for what, s in self.timings))
        if self.note:
            out.append(self.note)
        return out

    def tables(self) -> dict[str, Any]:
        out: dict[str, Any] = {"frontier": [dict(p) for p in self.points]}
        if self.note:
            out["frontier_note"] = self.note
        return out


@dataclass(frozen=True)
class BudgetLadder:
    """The optimum (workbook objective) at each total budget, with changes between neighbours."""

    rows: tuple[Mapping[str, Any], ...]

    def tables(self) -> dict[str, Any]:
        return {"budget_ladder": [dict(r) for r in self.rows]}


def lexicographic(instance: Instance, first: str, second: str, floor: float | None,
                  options: SolveOptions = SolveOptions(), floor_on: str = "security") -> Outcome:
    """Maximize ``first`` (an objective name: npv, security, premium, weighted) subject to
    ``floor_on`` >= ``floor`` (when given), then ``second`` with ``first`` held at its optimum
    (:func:`optimizer.solve.break_tie`). No plan when the floor cannot be reached (or the first
    stage stopped at its time limit without one); the second stage keeps the first's plan when
    it finds nothing better."""
    m = _floored(instance, floor, floor_on)
    return _second(m, _first(m, first, options), first, second, options)


def first_stage(instance: Instance, first: str, floor: float | None,
                options: SolveOptions = SolveOptions(), floor_on: str = "security") -> Outcome:
    """The first stage of :func:`lexicographic` alone."""
    return _first(_floored(instance, floor, floor_on), first, options)


def second_stage(instance: Instance, first: str, second: str, floor: float | None,
                 stage1: Outcome, options: SolveOptions = SolveOptions(),
                 floor_on: str = "security") -> Outcome:
    """The second stage of :func:`lexicographic` after ``stage1`` (its first stage, solved
    apart): the same model built again, the same answer."""
    return _second(_floored(instance, floor, floor_on), stage1, first, second, options)


def _floored(instance: Instance, floor: float | None, floor_on: str) -> PortfolioModel:
    m = build_model(instance)
    if floor is not None:
        add_floor(m, objective_terms(m, floor_on), floor, "eps")
    return m


def _first(m: PortfolioModel, first: str, options: SolveOptions) -> Outcome:
    set_objective_to(m, objective_terms(m, first))
    return resolve_model(m, options, objective=first)


def _second(m: PortfolioModel, stage1: Outcome, first: str, second: str,
            options: SolveOptions) -> Outcome:
    if stage1.result is None:
        return stage1
    return outcome_of(lambda: break_tie(m, stage1.result, first, second, **options.kwargs()))


def money(value: float) -> str:
    """$M in a line of text: -50.9 -> "-$50.9M"."""
    return f"{'-' if value < 0 else ''}${abs(value):,.1f}M"


def timed(func: Callable[..., Outcome], *args: Any) -> tuple[Outcome, float]:
    """``func(*args)`` (a stage or both: build, solve, verification) and its wall time (s)."""
    t0 = time.perf_counter()
    out = func(*args)
    return out, time.perf_counter() - t0


def value_of(result: Result, measure: Measure) -> float:
    return result.evaluation.objective_value(measure.name)


def _point(result: Result, measure: Measure, bound: float | None,
           recommended: bool = False) -> dict:
    ev = result.evaluation
    row: dict[str, Any] = {measure.floor_key: bound, "npv_musd": ev.npv_musd}
    if measure is SECURITY_VALUE:
        row["security_premium_musd"] = ev.premium_musd
    row.update({"security_share_years": ev.security, "objective_value": result.objective_value,
                "total_capex_musd": ev.total_capex, "funded_count": len(result.starts),
                "status": result.info.status, "recommended": recommended,
                "measure": measure.label, "funded": sorted(result.starts)})
    return row


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOL * max(1.0, abs(a), abs(b))


def dominates(q: Mapping[str, Any], p: Mapping[str, Any], key: str) -> bool:
    """``q`` has at least as much NPV and ``key`` as ``p`` and more of one (beyond :data:`TOL`)."""
    pairs = [(q["npv_musd"], p["npv_musd"]), (q[key], p[key])]
    return (all(a >= b or _close(a, b) for a, b in pairs)
            and any(a > b and not _close(a, b) for a, b in pairs))


def nondominated(points: list[dict], key: str = "security_share_years") -> list[dict]:
    """Drop dominated points and duplicates (the same NPV and ``key``; the recommended plan's row
    is the one kept); sort by ``key``."""
    kept: list[dict] = []
    for p in sorted(points, key=lambda q: (q[key], q["npv_musd"])):
        if any(dominates(q, p, key) for q in points):
            continue
        same = next((i for i, q in enumerate(kept) if _close(q["npv_musd"], p["npv_musd"])
                     and _close(q[key], p[key])), None)
        if same is None:
            kept.append(p)
        elif p.get("recommended") and not kept[same].get("recommended"):
            kept[same] = p
    return kept


def with_changes(points: list[dict]) -> list[dict]:
    """Annotate each point with the projects added and dropped against the previous point."""
    out = []
    previous: set[str] | None = None
    for p in points:
        funded = set(p["funded"])
        q = dict(p)
        q["added"] = sorted(funded - previous) if previous is not None else []
        q["dropped"] = sorted(previous - funded) if previous is not None else []
        q["funded"] = ", ".join(p["funded"])
        q["added"] = ", ".join(q["added"])
        q["dropped"] = ", ".join(q["dropped"])
        out.append(q)
        previous = funded
    return out


def trace_frontier(instance: Instance, points: int = 11, options: SolveOptions = SolveOptions(),
                   parallel: Parallel = Parallel(), recommended: Result | None = None) -> Frontier:
    """The non-dominated NPV / security points in the objective's terms (:func:`measure_for`),
    ordered by the security measure, with the changes between neighbours: ``points`` evenly
    spaced bounds (at least 2) including both ends.

    ``recommended``: the workbook objective's plan of ``instance`` (with its ties broken,
    ``solve(tie_break=True)``). It is one of the points: with the npv (security) objective and a
    proven optimum it is the end of highest NPV (security), not solved again; with weighted it
    takes the place of the inner bound nearest its security value."""
    objective = instance.settings.objective
    measure = measure_for(objective)
    n = max(2, points)
    # second stages: the security value's is NPV + security value (the weighted objective):
    # within the tie it orders plans as the lexicographic stage does, and HiGHS proves it sooner
    tie = {"rich": "weighted" if measure is SECURITY_VALUE else measure.name,
           "top": "weighted" if measure is SECURITY_VALUE else "npv"}
    spec = {"rich": ("npv", tie["rich"]), "top": (measure.name, tie["top"])}
    ends: dict[str, Outcome] = {}
    reuse = {"npv": "rich", "security": "top"}.get(objective)
    if recommended is not None and reuse and recommended.info.status == "optimal":
        ends[reuse] = Outcome(recommended.info.status, result=recommended)
    names = {"rich": "end of highest NPV", "top": f"end of highest {measure.short}"}
    # The bounds need the rich end's measure (after its second stage) and the top end's highest
    # measure (its first stage): the top end's second stage runs beside the inner bounds.
    batch = []
    if "rich" not in ends:
        batch.append(("rich", (lexicographic, instance, *spec["rich"], None, options,
                               measure.name)))
    if "top" not in ends:
        batch.append(("top", (first_stage, instance, spec["top"][0], None, options,
                              measure.name)))
    solved = dict(zip([k for k, _ in batch],
                      run_parallel(timed, [task for _, task in batch], parallel,
                                   label="frontier ends")))
    if "rich" in solved:
        ends["rich"] = solved["rich"][0]
    top1 = solved["top"][0] if "top" in solved else ends["top"]
    rich = ends["rich"].result
    if rich is None or top1.result is None:
        failed = ends["rich"] if rich is None else top1
        return Frontier((), f"No frontier: an extreme plan gave no plan ({failed.message}).",
                        tuple((names[k], sec) for k, (_, sec) in solved.items()))
    lo, hi = value_of(rich, measure), value_of(top1.result, measure)
    bounds = [lo + (hi - lo) * i / (n - 1) for i in range(1, n - 1)]
    if _close(lo, hi):  # one plan has the most of both: nothing lies between the ends
        bounds = []
    found = [_point(rich, measure, lo, rich is recommended)]
    if recommended is not None and reuse is None:  # weighted: the point of the nearest bound
        own = value_of(recommended, measure)
        found.append(_point(recommended, measure, own, True))
        if bounds and lo < own < hi:
            bounds.remove(min(bounds, key=lambda b: abs(b - own)))
    elif recommended is not None and recommended.info.status != "optimal":
        found.append(_point(recommended, measure, None, True))  # not proven: not an end
    # the top end's second stage first, then the highest bounds (the slowest) first
    order = sorted(range(len(bounds)), key=lambda i: -bounds[i])
    tasks = [(lexicographic, instance, "npv", tie["rich"], bounds[i], options, measure.name)
             for i in order]
    if "top" in solved:
        tasks.insert(0, (second_stage, instance, *spec["top"], None, top1, options,
                         measure.name))
    ran = run_parallel(timed, tasks, parallel, label="frontier")
    if "top" in solved:
        top2, seconds = ran.pop(0)
        ends["top"] = top2
        solved["top"] = (top2, solved["top"][1] + seconds)
    timed_bounds = [None] * len(bounds)
    for i, value in zip(order, ran):
        timed_bounds[i] = value
    timings = [(names[k], sec) for k, (_, sec) in solved.items()]
    top = ends["top"].result
    found.insert(1, _point(top, measure, hi, top is recommended))  # the order as before
    inner = [out for out, _ in timed_bounds]
    timings += [(f"bound {b:,.4g}", seconds) for b, (_, seconds) in zip(bounds, timed_bounds)]
    found += [_point(o.result, measure, b) for o, b in zip(inner, bounds) if o.result is not None]
    stopped = [o for o in inner if o.status == "no_plan"]
    note = ""
    if stopped:
        note = (f"{len(stopped)} of {len(bounds)} inner frontier bounds gave no plan within the "
                f"time limit ({stopped[0].message}); they are not drawn.")
    return Frontier(tuple(with_changes(nondominated(found, measure.key))), note, tuple(timings))


def _ladder_point(instance: Instance, total: float, options: SolveOptions) -> dict:
    out = resolve(instance.with_settings(total_budget_musd=total), options)
    row = {"total_budget_musd": total, **summary_row(out)}
    r = out.result
    row["security_share_years"] = None if r is None else r.evaluation.security
    row["funded"] = [] if r is None else sorted(r.starts)
    return row


def ladder_budgets(instance: Instance, steps: int = 6) -> list[float]:
    """Evenly spaced total budgets from a sixth of the horizon's yearly budgets to all of them."""
    yearly = sum(instance.budget.values())
    total = instance.settings.total_budget_musd
    top = yearly if total is None else max(min(total * 1.5, yearly), 0.0)
    return [round(top * k / steps, 6) for k in range(1, steps + 1)]


def budget_ladder(instance: Instance, budgets: list[float] | None = None,
                  options: SolveOptions = SolveOptions(),
                  parallel: Parallel = Parallel()) -> BudgetLadder:
    """The optimum (workbook objective) at each total budget, with changes between neighbours."""
    budgets = budgets or ladder_budgets(instance)
    tasks = [(instance, b, options) for b in budgets]
    rows = run_parallel(_ladder_point, tasks, parallel, label="budget ladder")
    return BudgetLadder(tuple(with_changes(rows)))
