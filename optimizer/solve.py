"""Build, solve and verify: the entry points the command line and the analyses use.

The solver runs themselves (HiGHS or CBC, their statuses, versions, output silencing and
interrupts) live in :mod:`optimizer.solvers`; ``run_solver``, ``RawSolve``, ``solver_name``,
``HIGHS_VERSION`` and ``SOLVERS`` are re-exported here for the modules that import them from here.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Mapping, Sequence

import pulp

from .errors import InfeasibleError, SolverError
from .instance import Instance
from .model import (PortfolioModel, add_floor, build_model, decision, linear, objective_terms,
                    set_objective_to)
from .results import Result, SolveInfo
from .solvers import HIGHS_VERSION, SOLVERS, RawSolve, run_solver, solver_name
from .verify import verify

__all__ = ["HIGHS_VERSION", "SOLVERS", "RawSolve", "run_solver", "solver_name", "solve",
           "solve_model", "solve_parts"]


TIE_BREAK = {"npv": "security", "security": "npv"}  # each objective's second criterion
TIE_TOL = 1e-7  # relative: plans this close in the first criterion count as tied


def solve(instance: Instance, *, solver: str | None = None, time_limit_s: float | None = None,
          mip_gap: float | None = None, threads: int = 1, diagnose: bool = True,
          tie_break: bool = False, start: Mapping[str, int] | None = None) -> Result:
    """Build, solve and verify. Raises InfeasibleError (with reasons) when no plan exists.

    ``solver``, ``time_limit_s`` and ``mip_gap`` override the workbook's settings. ``start``
    (project -> start year, a plan that keeps every rule) is the solver's first incumbent.
    HiGHS's plans are improved while it solves by :class:`optimizer.warmstart.Polisher`.
    ``tie_break`` (the recommended plan): with the npv or security objective, a proven optimum
    is followed by :func:`break_tie` on the other criterion (:data:`TIE_BREAK`), so that no plan
    of the same objective value has more of the other; a weighted optimum needs none.
    """
    t0 = time.perf_counter()
    m = build_model(instance)
    build_seconds = time.perf_counter() - t0
    kwargs = {"solver": solver, "time_limit_s": time_limit_s, "mip_gap": mip_gap,
              "threads": threads}
    result = solve_model(m, diagnose=diagnose, build_seconds=build_seconds, start=start,
                         polish=True, **kwargs)
    objective = instance.settings.objective
    if tie_break and objective in TIE_BREAK and result.info.status == "optimal":
        result = break_tie(m, result, objective, TIE_BREAK[objective], **kwargs)
    return result


def break_tie(m: PortfolioModel, first: Result, criterion: str, second: str,
              **kwargs) -> Result:
    """A lexicographic second stage: among the plans of ``m`` within :data:`TIE_TOL` of
    ``first``'s value of ``criterion``, the best for ``second`` (``m`` keeps that floor and
    takes ``second`` as its objective). The Result keeps ``first``'s solver info (status, gap
    and bound are those of ``criterion``; the solve time is both stages'); ``first`` itself is
    returned when the second stage finds nothing better (it stopped at its time limit). The
    second stage starts from ``first``'s plan, which keeps every row of it."""
    value = first.evaluation.objective_value(criterion)
    terms = objective_terms(m, criterion)
    add_floor(m, terms, value - TIE_TOL * max(1.0, abs(value)), "tie")
    set_objective_to(m, objective_terms(m, second))
    try:
        other = solve_model(m, diagnose=False, objective=second, start=first.starts, **kwargs)
    except (InfeasibleError, SolverError):
        return first
    if other.evaluation.objective_value(second) <= first.evaluation.objective_value(second):
        return first
    info = replace(first.info, solve_seconds=first.info.solve_seconds + other.info.solve_seconds,
                   model_objective=float(pulp.value(linear(terms)) or 0.0))
    return replace(other, info=info)


def solve_model(m: PortfolioModel, *, solver: str | None = None,
                time_limit_s: float | None = None, mip_gap: float | None = None,
                threads: int = 1, diagnose: bool = True, build_seconds: float = 0.0,
                objective: str | None = None, start: Mapping[str, int] | None = None,
                polish: bool = False) -> Result:
    """Solve a built model (possibly with extra rows or another objective) and verify the plan.

    ``start`` (project -> start year) is handed to the solver as its first incumbent; it must
    keep the model's rows (:func:`optimizer.repair.repair` makes one), else the solver ignores it.
    ``polish`` (a model as :func:`build_model` made it, nothing added): with HiGHS, a local
    search improves its plans during the solve (:class:`optimizer.warmstart.Polisher`).

    ``objective`` names what ``m.objective_expr`` counts (npv, security or weighted; the
    workbook's by default): the verifier recomputes that value from the decision. Every figure of
    the Result comes from that recomputation; ``info.model_objective`` keeps the model's own
    count, which may be lower for a plan not proven optimal (see :func:`optimizer.verify.verify`).
    """
    instance = m.instance
    solver, time_limit_s, mip_gap = _settings(m, solver, time_limit_s, mip_gap)
    extra = {} if start is None else {"start": start}  # fakes in tests take no start
    if polish and solver == "highs":
        from .warmstart import Polisher

        extra["before_solve"] = Polisher(m, time_limit_s).attach
    raw = run_solver(m, solver, time_limit_s, mip_gap, threads, **extra)
    if raw.status == "infeasible" and diagnose:
        from .diagnose import explain_infeasibility

        raise InfeasibleError(explain_infeasibility(instance, solver, time_limit_s))
    _raise_without_plan(raw, time_limit_s)
    starts = decision(m)
    model_objective = float(pulp.value(m.objective_expr) or 0.0)
    evaluation = verify(instance, starts, model_objective, objective=objective,
                        proven=raw.status == "optimal")
    return Result(instance=instance, starts=starts, evaluation=evaluation,
                  info=_info(m, raw, model_objective, build_seconds))


def _settings(m: PortfolioModel, solver: str | None, time_limit_s: float | None,
              mip_gap: float | None) -> tuple[str, float, float]:
    """The solver, time limit and gap in force: those given, else the workbook's."""
    s = m.instance.settings
    return (solver or s.solver, s.time_limit_s if time_limit_s is None else time_limit_s,
            s.mip_gap if mip_gap is None else mip_gap)


def _raise_without_plan(raw: RawSolve, time_limit_s: float) -> None:
    """InfeasibleError (no diagnosis) or SolverError when the solve gave no plan."""
    if raw.status == "infeasible":
        raise InfeasibleError(["the solver proved that no plan satisfies all constraints"])
    if raw.status == "no_solution":  # the solvers report every other failure as SolverError
        raise SolverError(f"{raw.solver} found no plan within the time limit of {time_limit_s:g} s; "
                          "raise time_limit_s (Settings sheet or --time-limit)")


def _info(m: PortfolioModel, raw: RawSolve, model_objective: float,
          build_seconds: float = 0.0) -> SolveInfo:
    return SolveInfo(status=raw.status, solver=raw.solver, mip_gap=raw.mip_gap,
                     best_bound=raw.best_bound, solve_seconds=raw.seconds,
                     build_seconds=build_seconds, model_objective=model_objective,
                     n_variables=m.prob.numVariables(), n_constraints=m.prob.numConstraints())


def solve_parts(m: PortfolioModel, parts: Sequence[PortfolioModel], weights: Sequence[float], *,
                solver: str | None = None, time_limit_s: float | None = None,
                mip_gap: float | None = None, threads: int = 1) -> list[Result]:
    """Solve a joint model that holds several plans and verify each plan on its own instance.

    ``m.prob`` is the one problem; each model of ``parts`` has its own variables in it, its own
    instance and its ``objective_expr``; the joint objective is ``sum weights[i] x
    parts[i].objective_expr`` (the nested priority plan, :mod:`optimizer.analyses.priority`).
    Returns one verified Result per part, all with the joint solve's status and gap. A part of
    weight 0 is not pushed to its best valuation, so its model value is only checked not to
    exceed the recomputed one. Raises InfeasibleError or SolverError as :func:`solve_model` does
    (no diagnosis: the parts are solved alone first).
    """
    solver, time_limit_s, mip_gap = _settings(m, solver, time_limit_s, mip_gap)
    raw = run_solver(m, solver, time_limit_s, mip_gap, threads)
    _raise_without_plan(raw, time_limit_s)
    results = []
    for part, weight in zip(parts, weights):
        starts = decision(part)
        model_objective = float(pulp.value(part.objective_expr) or 0.0)
        evaluation = verify(part.instance, starts, model_objective,
                            proven=raw.status == "optimal" and weight > 0)
        results.append(Result(instance=part.instance, starts=starts, evaluation=evaluation,
                              info=_info(m, raw, model_objective)))
    return results
