"""Solve the MILP with HiGHS (highspy) or CBC and tell the truth about what was proven.

PuLP's ``prob.status`` reads "Optimal" whenever a solution exists, also when a time limit stopped
the search. Here the status comes from the solver itself: HiGHS's model status and gap, or PuLP's
``sol_status`` for CBC (which reports no gap back: the gap is then unknown unless proven optimal).
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from dataclasses import dataclass

import highspy
import pulp

from .errors import InfeasibleError, SolverError
from .instance import Instance
from .model import PortfolioModel, build_model, decision
from .results import Result, SolveInfo
from .verify import verify

SOLVERS = ("highs", "cbc")


@contextlib.contextmanager
def _stdout_to_devnull():
    """Silence C-level writes to stdout (HiGHS prints a banner even with output off)."""
    try:
        fd = os.dup(1)
    except OSError:  # no usable stdout: nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(fd, 1)
        os.close(fd)


with _stdout_to_devnull():  # the banner is printed once per process, at the first Highs()
    HIGHS_VERSION = highspy.Highs().version()


@dataclass(frozen=True)
class RawSolve:
    """What one solver run gave: the status, the gap, and whether a plan exists."""

    status: str  # optimal | feasible | infeasible | no_solution
    mip_gap: float | None
    best_bound: float | None
    seconds: float
    solver: str


def solver_name(solver: str) -> str:
    if solver == "highs":
        return f"HiGHS {HIGHS_VERSION} via PuLP {pulp.__version__}"
    return f"CBC (bundled with PuLP {pulp.__version__})"


def run_solver(m: PortfolioModel, solver: str, time_limit_s: float, mip_gap: float,
               threads: int = 1, relaxed: bool = False) -> RawSolve:
    """Solve ``m.prob`` in place. ``threads=1`` keeps HiGHS deterministic across machines.

    ``relaxed`` solves the LP relaxation (binaries taken as 0..1): a quick bound.
    """
    if solver not in SOLVERS:
        raise SolverError(f"unknown solver {solver!r}: use one of {', '.join(SOLVERS)}")
    gap_abs = 0.0 if mip_gap == 0 else None
    t0 = time.perf_counter()
    if solver == "highs":
        cmd = pulp.HiGHS(mip=not relaxed, msg=False, timeLimit=time_limit_s, gapRel=mip_gap, gapAbs=gap_abs,
                         threads=threads, random_seed=0)
        with _stdout_to_devnull():
            m.prob.solve(cmd)
        seconds = time.perf_counter() - t0
        return _highs_status(m, seconds)
    with warnings.catch_warnings():  # PuLP 3.x announces the bundled CBC's removal in PuLP 4
        warnings.simplefilter("ignore", DeprecationWarning)
        cmd = pulp.PULP_CBC_CMD(mip=not relaxed, msg=False, timeLimit=time_limit_s, gapRel=mip_gap,
                                gapAbs=gap_abs, threads=threads)
        m.prob.solve(cmd)
    seconds = time.perf_counter() - t0
    return _cbc_status(m, seconds)


def _highs_status(m: PortfolioModel, seconds: float) -> RawSolve:
    h = m.prob.solverModel
    status = h.getModelStatus()
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    sign = -1.0 if m.prob.sense == pulp.LpMaximize else 1.0  # PuLP hands HiGHS -objective
    bound = sign * info.mip_dual_bound if has_solution else None
    name = solver_name("highs")
    if status == highspy.HighsModelStatus.kOptimal:
        return RawSolve("optimal", max(float(info.mip_gap), 0.0), bound, seconds, name)
    if status in (highspy.HighsModelStatus.kInfeasible,
                  highspy.HighsModelStatus.kUnboundedOrInfeasible):
        return RawSolve("infeasible", None, None, seconds, name)
    if has_solution:
        return RawSolve("feasible", float(info.mip_gap), bound, seconds, name)
    return RawSolve("no_solution", None, None, seconds, name)


def _cbc_status(m: PortfolioModel, seconds: float) -> RawSolve:
    name = solver_name("cbc")
    if m.prob.status == pulp.LpStatusInfeasible:
        return RawSolve("infeasible", None, None, seconds, name)
    if m.prob.sol_status == pulp.LpSolutionOptimal:
        return RawSolve("optimal", None, None, seconds, name)
    if m.prob.sol_status == pulp.LpSolutionIntegerFeasible:
        return RawSolve("feasible", None, None, seconds, name)
    return RawSolve("no_solution", None, None, seconds, name)


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
    workbook's by default): the verifier recomputes that value from the decision.
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
    if raw.status == "no_solution":
        raise SolverError(f"{raw.solver} found no plan within the time limit of {time_limit_s:g} s; "
                          "raise time_limit_s (Settings sheet or --time-limit)")
    starts = decision(m)
    model_objective = float(pulp.value(m.objective_expr) or 0.0)
    evaluation = verify(instance, starts, model_objective, objective=objective)
    info = SolveInfo(
        status=raw.status, solver=raw.solver,
        mip_gap=raw.mip_gap, best_bound=raw.best_bound,
        solve_seconds=raw.seconds, build_seconds=build_seconds,
        model_objective=model_objective,
        n_variables=m.prob.numVariables(), n_constraints=m.prob.numConstraints(),
    )
    return Result(instance=instance, starts=starts, evaluation=evaluation, info=info)
