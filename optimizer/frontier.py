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

from .errors import InfeasibleError
from .instance import Instance
from .model import add_floor, build_model, npv_terms, security_terms, set_objective_to
from .resolve import run_parallel
from .results import Result
from .solve import solve, solve_model

TOL = 1e-7


def lexicographic(instance: Instance, first: str, second: str, floor: float | None,
                  solver: str | None, time_limit_s: float | None,
                  mip_gap: float | None) -> Result | None:
    """Maximize ``first`` (npv or security) subject to security >= floor (when given), then
    ``second`` with ``first`` held at its optimum. None when the floor cannot be reached."""
    terms = {"npv": npv_terms, "security": security_terms}
    m = build_model(instance)
    if floor is not None:
        add_floor(m, security_terms(m), floor, "eps")
    set_objective_to(m, terms[first](m))
    try:
        r1 = solve_model(m, solver=solver, time_limit_s=time_limit_s, mip_gap=mip_gap,
                         diagnose=False, objective=first)
    except InfeasibleError:
        return None
    best = r1.evaluation.objective_value(first)
    add_floor(m, terms[first](m), best - TOL * max(1.0, abs(best)), "lex")
    set_objective_to(m, terms[second](m))
    try:
        return solve_model(m, solver=solver, time_limit_s=time_limit_s, mip_gap=mip_gap,
                           diagnose=False, objective=second)
    except InfeasibleError:  # numerically on the edge: keep the first stage's plan
        return r1


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


def trace_frontier(instance: Instance, points: int = 11, *, solver: str | None = None,
                   time_limit_s: float | None = None, mip_gap: float | None = None,
                   workers: int | None = None, progress: bool = True) -> list[dict]:
    """The non-dominated NPV / security points, ordered by security, with the changes between
    neighbours. ``points`` evenly spaced security bounds (at least 2) including both extremes."""
    points = max(2, points)
    top = lexicographic(instance, "security", "npv", None, solver, time_limit_s, mip_gap)
    rich = lexicographic(instance, "npv", "security", None, solver, time_limit_s, mip_gap)
    if top is None or rich is None:
        raise InfeasibleError(["no plan satisfies the constraints, so there is no frontier"])
    lo, hi = rich.evaluation.security, top.evaluation.security
    bounds = [lo + (hi - lo) * i / (points - 1) for i in range(1, points - 1)]
    tasks = [(instance, "npv", "security", b, solver, time_limit_s, mip_gap) for b in bounds]
    inner = run_parallel(lexicographic, tasks, workers=workers, label="frontier", progress=progress)
    found = [_point(rich, lo)] + [_point(r, b) for r, b in zip(inner, bounds) if r is not None]
    found.append(_point(top, hi))
    return with_changes(nondominated(found))


def _ladder_point(instance: Instance, total: float, solver, time_limit_s, mip_gap) -> dict:
    row = {"total_budget_musd": total}
    try:
        r = solve(instance.with_settings(total_budget_musd=total), solver=solver,
                  time_limit_s=time_limit_s, mip_gap=mip_gap, diagnose=False)
    except InfeasibleError:
        row.update({"status": "infeasible", "objective_value": None, "npv_musd": None,
                    "security_share_years": None, "total_capex_musd": None, "funded_count": None,
                    "funded": []})
        return row
    row.update({"status": r.info.status, "objective_value": r.objective_value,
                "npv_musd": r.evaluation.npv_musd, "security_share_years": r.evaluation.security,
                "total_capex_musd": r.evaluation.total_capex, "funded_count": len(r.starts),
                "funded": sorted(r.starts)})
    return row


def ladder_budgets(instance: Instance, steps: int = 6) -> list[float]:
    """Evenly spaced total budgets from a sixth of the horizon's yearly budgets to all of them."""
    yearly = sum(instance.budget.values())
    total = instance.settings.total_budget_musd
    top = yearly if total is None else max(min(total * 1.5, yearly), 0.0)
    return [round(top * k / steps, 6) for k in range(1, steps + 1)]


def budget_ladder(instance: Instance, budgets: list[float] | None = None, *,
                  solver: str | None = None, time_limit_s: float | None = None,
                  mip_gap: float | None = None, workers: int | None = None,
                  progress: bool = True) -> list[dict]:
    """The optimum (workbook objective) at each total budget, with changes between neighbours."""
    budgets = budgets or ladder_budgets(instance)
    tasks = [(instance, b, solver, time_limit_s, mip_gap) for b in budgets]
    rows = run_parallel(_ladder_point, tasks, workers=workers, label="budget ladder",
                        progress=progress)
    return with_changes(rows)
