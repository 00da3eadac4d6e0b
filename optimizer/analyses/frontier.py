"""Trade-offs: the NPV / China-reliance frontier and the budget ladder.

Frontier (epsilon-constraint). Let NPV and SEC (China reliance removed, share-years) be the two
criteria. First the two extremes: the plan of highest SEC (then highest NPV among those) and the
plan of highest NPV (then highest SEC). Between SEC at the highest-NPV plan and the highest SEC, N
evenly spaced bounds eps_i give N problems: maximize NPV subject to SEC >= eps_i, then, to avoid
weakly dominated points, maximize SEC subject to NPV >= the NPV just found. Every point is a real
portfolio, verified like any plan. Duplicate and dominated points are removed.

Budget ladder: the workbook's objective optimized at a list of total budgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..instance import Instance
from ..model import add_floor, build_model, npv_terms, security_terms, set_objective_to
from ..resolve import (Outcome, Parallel, SolveOptions, resolve, resolve_model, run_parallel,
                       summary_row)
from ..results import Result

TOL = 1e-7


@dataclass(frozen=True)
class Frontier:
    """The non-dominated NPV / security points, ordered by security, with the projects added and
    dropped between neighbours; ``note`` says which bounds gave no plan (a time limit)."""

    points: tuple[Mapping[str, Any], ...]
    note: str = ""

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
                  options: SolveOptions = SolveOptions()) -> Outcome:
    """Maximize ``first`` (npv or security) subject to security >= floor (when given), then
    ``second`` with ``first`` held at its optimum. No plan when the floor cannot be reached (or
    the first stage stopped at its time limit without one)."""
    terms = {"npv": npv_terms, "security": security_terms}
    m = build_model(instance)
    if floor is not None:
        add_floor(m, security_terms(m), floor, "eps")
    set_objective_to(m, terms[first](m))
    stage1 = resolve_model(m, options, objective=first)
    if stage1.result is None:
        return stage1
    best = stage1.result.evaluation.objective_value(first)
    add_floor(m, terms[first](m), best - TOL * max(1.0, abs(best)), "lex")
    set_objective_to(m, terms[second](m))
    stage2 = resolve_model(m, options, objective=second)
    return stage2 if stage2.result is not None else stage1  # on the edge: keep the first plan


def _point(result: Result, bound: float | None) -> dict:
    ev = result.evaluation
    return {"security_floor": bound, "npv_musd": ev.npv_musd, "security_share_years": ev.security,
            "total_capex_musd": ev.total_capex, "funded_count": len(result.starts),
            "status": result.info.status, "funded": sorted(result.starts)}


def nondominated(points: list[dict]) -> list[dict]:
    """Drop duplicates (same funded set or same criteria) and dominated points; sort by security."""
    kept: list[dict] = []
    for p in sorted(points, key=lambda q: (q["security_share_years"], q["npv_musd"])):
        dominated = any(
            q["npv_musd"] >= p["npv_musd"] - 1e-6 and q["security_share_years"] >= p["security_share_years"] - 1e-9
            and (q["npv_musd"] > p["npv_musd"] + 1e-6 or q["security_share_years"] > p["security_share_years"] + 1e-9)
            for q in points)
        duplicate = any(abs(q["npv_musd"] - p["npv_musd"]) <= 1e-6 and
                        abs(q["security_share_years"] - p["security_share_years"]) <= 1e-9
                        for q in kept)
        if not dominated and not duplicate:
            kept.append(p)
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
                   parallel: Parallel = Parallel()) -> Frontier:
    """The non-dominated NPV / security points, ordered by security, with the changes between
    neighbours. ``points`` evenly spaced security bounds (at least 2) including both extremes."""
    points = max(2, points)
    top = lexicographic(instance, "security", "npv", None, options)
    rich = lexicographic(instance, "npv", "security", None, options)
    if top.result is None or rich.result is None:
        failed = top if top.result is None else rich
        return Frontier((), f"No frontier: an extreme plan gave no plan ({failed.message}).")
    lo, hi = rich.result.evaluation.security, top.result.evaluation.security
    bounds = [lo + (hi - lo) * i / (points - 1) for i in range(1, points - 1)]
    tasks = [(instance, "npv", "security", b, options) for b in bounds]
    inner = run_parallel(lexicographic, tasks, parallel, label="frontier")
    found = [_point(rich.result, lo)]
    found += [_point(o.result, b) for o, b in zip(inner, bounds) if o.result is not None]
    found.append(_point(top.result, hi))
    stopped = [o for o in inner if o.status == "no_plan"]
    note = ""
    if stopped:
        note = (f"{len(stopped)} of {len(bounds)} inner frontier bounds gave no plan within the "
                f"time limit ({stopped[0].message}); they are not drawn.")
    return Frontier(tuple(with_changes(nondominated(found))), note)


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
