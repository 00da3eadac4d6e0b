"""Build, solve and verify: the entry points the command line and the analyses use.

The solver runs themselves (HiGHS or CBC, their statuses, versions, output silencing and
interrupts) live in :mod:`optimizer.solvers`; ``run_solver``, ``RawSolve``, ``solver_name``,
``HIGHS_VERSION`` and ``SOLVERS`` are re-exported here for the modules that import them from here.
"""

from __future__ import annotations

import time

import pulp

from .errors import InfeasibleError, SolverError
from .instance import Instance
from .model import PortfolioModel, build_model, decision
from .results import Result, SolveInfo
from .solvers import HIGHS_VERSION, SOLVERS, RawSolve, run_solver, solver_name
from .verify import verify

__all__ = ["HIGHS_VERSION", "SOLVERS", "RawSolve", "run_solver", "solver_name", "solve",
           "solve_model"]


def solve(instance: Instance, *, solver: str | None = None, time_limit_s: float | None = None,
          mip_gap: float | None = None, threads: int = 1, diagnose: bool = True) -> Result:
    """Build, solve and verify. Raises InfeasibleError (with reasons) when no plan exists.

    ``solver``, ``time_limit_s`` and ``mip_gap`` override the workbook's settings.
    """
    t0 = time.perf_counter()
    m = build_model(instance)
    build_seconds = time.perf_counter() - t0
    return solve_model(m, solver=solver, time_limit_s=time_limit_s, mip_gap=mip_gap,
                       threads=threads, diagnose=diagnose, build_seconds=build_seconds)


def solve_model(m: PortfolioModel, *, solver: str | None = None,
                time_limit_s: float | None = None, mip_gap: float | None = None,
                threads: int = 1, diagnose: bool = True, build_seconds: float = 0.0,
                objective: str | None = None) -> Result:
    """Solve a built model (possibly with extra rows or another objective) and verify the plan.

    ``objective`` names what ``m.objective_expr`` counts (npv, security or weighted; the
    workbook's by default): the verifier recomputes that value from the decision. Every figure of
    the Result comes from that recomputation; ``info.model_objective`` keeps the model's own
    count, which may be lower for a plan not proven optimal (see :func:`optimizer.verify.verify`).
    """
    instance = m.instance
    s = instance.settings
    solver = solver or s.solver
    time_limit_s = s.time_limit_s if time_limit_s is None else time_limit_s
    mip_gap = s.mip_gap if mip_gap is None else mip_gap
    raw = run_solver(m, solver, time_limit_s, mip_gap, threads)
    if raw.status == "infeasible":
        if not diagnose:
            raise InfeasibleError(["the solver proved that no plan satisfies all constraints"])
        from .diagnose import explain_infeasibility

        raise InfeasibleError(explain_infeasibility(instance, solver, time_limit_s))
    if raw.status == "no_solution":  # the solvers report every other failure as SolverError
        raise SolverError(f"{raw.solver} found no plan within the time limit of {time_limit_s:g} s; "
                          "raise time_limit_s (Settings sheet or --time-limit)")
    starts = decision(m)
    model_objective = float(pulp.value(m.objective_expr) or 0.0)
    evaluation = verify(instance, starts, model_objective, objective=objective,
                        proven=raw.status == "optimal")
    info = SolveInfo(
        status=raw.status, solver=raw.solver,
        mip_gap=raw.mip_gap, best_bound=raw.best_bound,
        solve_seconds=raw.seconds, build_seconds=build_seconds,
        model_objective=model_objective,
        n_variables=m.prob.numVariables(), n_constraints=m.prob.numConstraints(),
    )
    return Result(instance=instance, starts=starts, evaluation=evaluation, info=info)
