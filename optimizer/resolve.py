"""The one way to re-solve: options in, a typed outcome out, independent re-solves in parallel.

- :class:`SolveOptions` (solver, time limit, gap, threads) goes from the command line to every
  solve and re-solve; a field left None means "as the workbook's Settings say".
- :func:`resolve` (an instance) and :func:`resolve_model` (a model an analysis has changed: a
  floor, a cut, another objective) return an :class:`Outcome`: a verified plan, infeasible with
  its reasons, or a solver failure with its message. No analysis catches solver errors itself.
- :func:`resolve_parts` solves a joint model holding several plans (the nested priority plan)
  and returns one verified Outcome per plan.
- :func:`summary_row` is the status / objective / NPV / capex / funded-count row that the memo and
  the workbook show for any outcome.
- :func:`run_parallel` runs independent calls on an executor: a local process pool by default, or
  any ``concurrent.futures.Executor``-like object (a Dask client's ``get_executor()``), with a
  progress bar; an interrupt stops the local workers at once.

Each task is a picklable function call. Solves use one HiGHS thread by default, so each answer is
deterministic whatever runs it.
"""

from __future__ import annotations

import math
import os
import sys
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

from tqdm import tqdm

from .errors import InfeasibleError, SolverError
from .instance import Instance
from .interrupts import worker_pool
from .model import PortfolioModel
from .repair import ModelRows, repair
from .results import Result
from .solve import solve, solve_model, solve_parts


@dataclass(frozen=True)
class SolveOptions:
    """How to solve; None keeps the workbook's setting. ``threads=1`` keeps HiGHS deterministic.

    ``start`` is the base plan (project, start year) pairs, set by :meth:`with_start` once the
    base problem is solved: every re-solve then starts from it, repaired for its own rules
    (:func:`optimizer.repair.repair`). Only the base plan is ever used, so each re-solve stays
    independent of the others. ``warm_start=False`` turns this off (every solve starts from
    nothing, as in version 1); the answers are the same within the gap.
    """

    solver: str | None = None
    time_limit_s: float | None = None
    mip_gap: float | None = None
    threads: int = 1
    warm_start: bool = True
    start: tuple[tuple[str, int], ...] | None = None

    def kwargs(self) -> dict[str, Any]:
        """The solver settings :func:`optimizer.solve.solve` takes (not the start)."""
        return {"solver": self.solver, "time_limit_s": self.time_limit_s,
                "mip_gap": self.mip_gap, "threads": self.threads}

    def with_start(self, starts: Mapping[str, int]) -> "SolveOptions":
        """These options with ``starts`` (the base plan) as every re-solve's starting point;
        unchanged when ``warm_start`` is off."""
        if not self.warm_start:
            return self
        return replace(self, start=tuple(sorted(starts.items())))

    def base_plan(self) -> dict[str, int] | None:
        """The plan re-solves start from, or None."""
        return dict(self.start) if self.warm_start and self.start is not None else None

    def time_limit(self, instance: Instance) -> float:
        """The time limit in force for ``instance`` (seconds)."""
        s = instance.settings
        return s.time_limit_s if self.time_limit_s is None else self.time_limit_s


@dataclass(frozen=True)
class Outcome:
    """What a re-solve gave: ``status`` optimal or feasible with ``result`` (a verified plan);
    ``infeasible`` with ``reasons`` (sentences); or ``no_plan`` with the solver's message in
    ``reasons`` (a time limit reached before any plan, a solver error)."""

    status: str
    result: Result | None = None
    reasons: tuple[str, ...] = ()

    @property
    def has_plan(self) -> bool:
        return self.result is not None

    @property
    def message(self) -> str:
        return " ".join(self.reasons)

    @property
    def objective_value(self) -> float | None:
        return None if self.result is None else self.result.objective_value


def outcome_of(run: Callable[[], Result]) -> Outcome:
    """Run one solve and type what it gave."""
    try:
        result = run()
    except (InfeasibleError, SolverError) as exc:
        return failed(exc)
    return Outcome(result.info.status, result=result)


def failed(exc: InfeasibleError | SolverError) -> Outcome:
    """The Outcome of a solve that raised: infeasible with its reasons, or no plan with the
    solver's message."""
    if isinstance(exc, InfeasibleError):
        return Outcome("infeasible", reasons=tuple(exc.reasons))
    return Outcome("no_plan", reasons=(str(exc),))


def resolve(instance: Instance, options: SolveOptions = SolveOptions(),
            explain: bool = False) -> Outcome:
    """Build and solve ``instance``, starting from the options' base plan repaired for it.
    ``explain`` runs the infeasibility diagnosis (more solves) to say why no plan exists: ask for
    it only where the words are shown; otherwise the reason is short."""
    base = options.base_plan()
    start = None if base is None else repair(instance, base)
    return outcome_of(lambda: solve(instance, diagnose=explain, start=start,
                                    **options.kwargs()))


def resolve_model(m: PortfolioModel, options: SolveOptions = SolveOptions(), *,
                  objective: str | None = None) -> Outcome:
    """Solve a model an analysis has changed (a floor, a cut, another objective), starting
    from the options' base plan repaired for its rules and its extra rows; ``objective`` names
    what its objective counts."""
    base = options.base_plan()
    start = None if base is None else repair(m.instance, base, ModelRows(m))
    return outcome_of(lambda: solve_model(m, diagnose=False, objective=objective, start=start,
                                          **options.kwargs()))


def resolve_parts(m: PortfolioModel, parts: Sequence[PortfolioModel], weights: Sequence[float],
                  options: SolveOptions = SolveOptions()) -> list[Outcome]:
    """Solve a joint model holding one plan per model of ``parts`` (objective: ``weights`` times
    each part's objective; see :func:`optimizer.solve.solve_parts`): one Outcome per part, each
    plan verified on its own instance; all share the joint solve's status or failure."""
    try:
        results = solve_parts(m, parts, weights, **options.kwargs())
    except (InfeasibleError, SolverError) as exc:
        return [failed(exc) for _ in parts]
    return [Outcome(r.info.status, result=r) for r in results]


def summary_row(outcome: Outcome | Result) -> dict[str, Any]:
    """The row every analysis table shows for a re-solve: status, objective, NPV, capex, funded
    count and a note (the reasons when there is no plan; the gap when the re-solve stopped at
    its time limit with a plan not proven optimal)."""
    if isinstance(outcome, Result):
        outcome = Outcome(outcome.info.status, result=outcome)
    r = outcome.result
    if r is None:
        return {"status": outcome.status, "objective_value": None, "npv_musd": None,
                "total_capex_musd": None, "funded_count": None, "note": outcome.message}
    return {"status": outcome.status, "objective_value": r.objective_value,
            "npv_musd": r.evaluation.npv_musd, "total_capex_musd": r.evaluation.total_capex,
            "funded_count": len(r.starts), "note": time_limit_note(r)}


def time_limit_note(r: Result) -> str:
    """"" for a proven optimum; else that the re-solve stopped at its time limit, with its gap
    (unknown for CBC)."""
    if r.info.status == "optimal":
        return ""
    gap = r.info.mip_gap
    known = gap is not None and math.isfinite(gap)
    return ("the re-solve stopped at its time limit; "
            + (f"gap {gap:.2%}" if known else "gap unknown") + ": the figures may not be the best")


# ---------------------------------------------------------------------------------------------
# Independent re-solves on an executor.
# ---------------------------------------------------------------------------------------------

def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Parallel:
    """Where independent re-solves run. ``executor``: any object with ``submit`` returning
    ``concurrent.futures.Future``s (a Dask client's ``get_executor()``); None: a local process
    pool of ``workers`` processes (the machine's cores by default; 1 runs in this process)."""

    workers: int | None = None
    executor: Executor | None = None
    progress: bool = True

    @property
    def worker_count(self) -> int:
        """Local worker processes: ``workers``, or the machine's cores when None."""
        return default_workers() if self.workers is None else max(1, self.workers)


def run_parallel(func: Callable[..., Any], tasks: Sequence[tuple],
                 parallel: Parallel = Parallel(), label: str = "re-solves") -> list[Any]:
    """``[func(*task) for task in tasks]``, computed in parallel; results keep the task order."""
    bar = tqdm(total=len(tasks), desc=label, unit="solve", file=sys.stderr,
               disable=not parallel.progress or not tasks, leave=False)
    try:
        if parallel.executor is not None:
            return _collect(parallel.executor, func, tasks, bar)
        workers = parallel.worker_count
        if workers == 1 or len(tasks) <= 1:
            results = []
            for task in tasks:
                results.append(func(*task))
                bar.update()
            return results
        with worker_pool(min(workers, len(tasks))) as pool:
            return _collect(pool, func, tasks, bar)
    finally:
        bar.close()


def _collect(executor: Executor, func: Callable[..., Any], tasks: Sequence[tuple],
             bar: tqdm) -> list[Any]:
    futures = {executor.submit(func, *task): i for i, task in enumerate(tasks)}
    results: list[Any] = [None] * len(tasks)
    try:
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            bar.update()
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return results
