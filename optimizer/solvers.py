"""The solver adapters: HiGHS (through highspy) and CBC (the binary bundled with PuLP).

One run of either gives a :class:`RawSolve` that tells the truth about what was proven. PuLP's
``prob.status`` reads "Optimal" whenever a solution exists, also when a time limit stopped the
search, so the status comes from the solver itself: HiGHS's model status and gap, or PuLP's
``sol_status`` for CBC (which reports no gap back: the gap is then unknown unless proven optimal).

Failures are reported as what they are: a time limit without a plan leaves status
``no_solution``; any other failure (a numerical or model error inside HiGHS, an unexpected
exception inside PuLP's interface) raises :class:`~optimizer.errors.SolverError` naming the solver
and the cause. Ctrl-C (and SIGTERM, which the command line turns into a KeyboardInterrupt) stops a
running solve within a fraction of a second and is raised again as that same exception; see
``docs/interrupts.md``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator, Mapping

import highspy
import numpy as np
import pulp
from pulp.apis import coin_api

from .errors import SolverError

if TYPE_CHECKING:
    from .model import PortfolioModel

SOLVERS = ("highs", "cbc")
# HiGHS's sub-MIP heuristics RINS and RENS off: on the example's solves (a few hundred binaries,
# 1e-4 gap) they took about a third of the CPU time and the proofs came as fast without them
# (bench/demo_bench.py; docs/decisions.md). Every other setting is HiGHS's default.
HIGHS_MIP_OPTIONS = {"mip_heuristic_run_rins": False, "mip_heuristic_run_rens": False}
POLL_S = 0.1  # how often a thread waiting for a solve looks for an interrupt (seconds)
CANCEL_WAIT_S = 30.0  # longest wait for a cancelled solve to stop before giving up on it (seconds)
CBC_STOP_WAIT_S = 2.0  # grace between SIGTERM and SIGKILL for an abandoned cbc process (seconds)
SOLUTION_FEASIBLE = 2  # HiGHS kSolutionStatusFeasible
NUMBERS_HINT = ("the workbook's numbers may be too large or too small for the solver; check "
                "capex, NPV, capacity, demand and budgets for values far outside their usual "
                "ranges")
HIGHS_LIMITS = ("HiGHS takes constraint coefficients of 1e15 and above, and objective "
                "coefficients and bounds of 1e20 and above, as infinite")


@contextlib.contextmanager
def stdout_to_devnull() -> Iterator[None]:
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


with stdout_to_devnull():  # the banner is printed once per process, at the first Highs()
    HIGHS_VERSION = highspy.Highs().version()


@dataclass(frozen=True)
class RawSolve:
    """What one solver run gave: the status, the gap, and whether a plan exists."""

    status: str  # optimal | feasible | infeasible | no_solution (the time limit came first)
    mip_gap: float | None
    best_bound: float | None
    seconds: float
    solver: str


def solver_name(solver: str) -> str:
    if solver == "highs":
        return f"HiGHS {HIGHS_VERSION} via PuLP {pulp.__version__}"
    return f"CBC (bundled with PuLP {pulp.__version__})"


# ---------------------------------------------------------------------------------------------
# HiGHS


def run_cancellable(h: highspy.Highs) -> None:
    """``h.run()`` in a worker thread; this thread waits in steps of POLL_S seconds.

    Any exception raised in the waiting thread meanwhile (KeyboardInterrupt on Ctrl-C, the
    command line's exception for SIGTERM) asks HiGHS to stop (``cancelSolve``, which HiGHS's
    interrupt callbacks see within milliseconds), waits for the worker to end, and is raised
    again unchanged. In a thread that receives no signals this is simply a solve.
    """
    h.HandleUserInterrupt = True  # the interrupt callbacks that read cancelSolve's flag
    done = threading.Event()
    failure: list[BaseException] = []

    def work() -> None:
        try:
            h.run()
        except BaseException as exc:  # handed to the waiting thread
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=work, name="HiGHS solve", daemon=True).start()
    try:
        while not done.wait(POLL_S):  # Event.wait, not Thread.join: an interrupted join can
            pass                      # mark a running thread as finished (CPython 3.11)
    except BaseException:
        h.cancelSolve()
        _wait_quietly(done, CANCEL_WAIT_S)
        raise
    if failure:
        raise failure[0]


def _wait_quietly(done: threading.Event, seconds: float) -> None:
    """Wait up to ``seconds`` for ``done``; a second Ctrl-C meanwhile does not cut the wait."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if done.wait(POLL_S):
                return
        except BaseException:  # already on the way out with the first interrupt
            continue


_S = highspy.HighsModelStatus
LIMIT_STOPS = frozenset({_S.kTimeLimit, _S.kIterationLimit, _S.kSolutionLimit,
                         _S.kObjectiveBound, _S.kObjectiveTarget, _S.kMemoryLimit})
PULP_UNKNOWN = frozenset({_S.kSolutionLimit, _S.kMemoryLimit})  # stops PuLP 3.3 cannot read


class CancellableHiGHS(pulp.HiGHS):
    """``pulp.HiGHS`` whose solve stops promptly on Ctrl-C (see :func:`run_cancellable`).

    It also refuses a model HiGHS did not load whole (PuLP ignores the status of ``addRow``:
    HiGHS drops a row with a coefficient of 1e15 or more and would solve the rest), and never
    reads a solution that HiGHS does not have. ``before_solve(highs)``, when given, is called with
    the loaded ``highspy.Highs`` just before the solve: the place for ``highs.setSolution(...)``
    (a starting plan; PuLP's ``warmStart`` does not reach the highspy interface).
    """

    def __init__(self, *args, before_solve: Callable[[highspy.Highs], None] | None = None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.before_solve = before_solve

    def buildSolverModel(self, lp) -> None:
        super().buildSolverModel(lp)
        h = lp.solverModel
        columns, rows = len(lp.variables()), lp.numConstraints()  # what PuLP handed over
        if h.getNumCol() != columns or h.getNumRow() != rows:
            raise SolverError(
                f"{solver_name('highs')} could not load the model: it accepted "
                f"{h.getNumCol()} of {columns} variables and {h.getNumRow()} of {rows} "
                f"constraints ({HIGHS_LIMITS}); {NUMBERS_HINT}")

    def callSolver(self, lp) -> None:
        if self.before_solve is not None:
            self.before_solve(lp.solverModel)
        run_cancellable(lp.solverModel)

    def findSolutionValues(self, lp):
        """PuLP's reading, only when HiGHS holds a plan (its arrays may be empty otherwise). A
        stop PuLP does not know (a solution or node limit) is read here: the values, with
        "integer feasible"; the true status is read from HiGHS afterwards
        (:func:`_highs_status`)."""
        h = lp.solverModel
        if h.getInfo().primal_solution_status != SOLUTION_FEASIBLE:
            return pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound
        if h.getModelStatus() in PULP_UNKNOWN:
            values = h.getSolution().col_value
            for var in lp.variables():
                var.varValue = values[var.index]
            return pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible
        return super().findSolutionValues(lp)




def _highs_status(m: PortfolioModel, seconds: float) -> RawSolve:
    """The truth about a finished HiGHS run; SolverError for anything but a plan, a proof of
    infeasibility, or a time limit reached before any plan was found."""
    h = m.prob.solverModel
    status = h.getModelStatus()
    info = h.getInfo()
    has_solution = info.primal_solution_status == SOLUTION_FEASIBLE
    sign = -1.0 if m.prob.sense == pulp.LpMaximize else 1.0  # PuLP hands HiGHS -objective
    bound = sign * info.mip_dual_bound if has_solution else None
    name = solver_name("highs")
    if status == _S.kInterrupt:  # cancelled: never a plan, whatever HiGHS had found
        raise KeyboardInterrupt(f"{name} was interrupted")
    if status == _S.kOptimal and has_solution:
        return RawSolve("optimal", max(float(info.mip_gap), 0.0), bound, seconds, name)
    if status in (_S.kInfeasible, _S.kUnboundedOrInfeasible):
        return RawSolve("infeasible", None, None, seconds, name)
    if status in LIMIT_STOPS and has_solution:
        return RawSolve("feasible", float(info.mip_gap), bound, seconds, name)
    if status == _S.kTimeLimit:
        return RawSolve("no_solution", None, None, seconds, name)
    words = h.modelStatusToString(status)
    if status in LIMIT_STOPS:
        raise SolverError(f"{name} stopped with status '{words}' after {seconds:.1f} s before it "
                          "found a plan")
    raise SolverError(f"{name} stopped with status '{words}' after {seconds:.1f} s without a "
                      f"plan; {NUMBERS_HINT} ({HIGHS_LIMITS})")


# ---------------------------------------------------------------------------------------------
# CBC


class _RecordingSubprocess:
    """Stands in for the ``subprocess`` module inside PuLP's CBC interface so that the cbc
    processes a thread starts are known to it. Everything but ``Popen`` is the real module."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __getattr__(self, name: str):
        return getattr(subprocess, name)

    def Popen(self, *args, **kwargs) -> subprocess.Popen:  # noqa: N802 (the module's name)
        process = subprocess.Popen(*args, **kwargs)
        started = getattr(self._local, "started", None)
        if started is not None:
            started.append(process)
        return process

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[subprocess.Popen]]:
        """The processes PuLP starts in this thread while inside."""
        self._local.started = started = []
        try:
            yield started
        finally:
            self._local.started = None


if not isinstance(coin_api.subprocess, _RecordingSubprocess):
    coin_api.subprocess = _RecordingSubprocess()  # PuLP gives no other handle on its cbc child
_CBC_PROCESSES: _RecordingSubprocess = coin_api.subprocess


class StoppableCBC(pulp.PULP_CBC_CMD):
    """``pulp.PULP_CBC_CMD`` that stops its cbc process when the solve is abandoned.

    Ctrl-C at a terminal reaches cbc too (it stops at once); SIGTERM sent to this process alone
    does not, and PuLP would leave cbc running to its time limit. Here any exception raised while
    PuLP waits for cbc ends the process (SIGTERM, then SIGKILL after CBC_STOP_WAIT_S) and removes
    PuLP's temporary model and solution files, then is raised again.
    """

    def actualSolve(self, lp, **kwargs):
        with _CBC_PROCESSES.recording() as started:
            try:
                return super().actualSolve(lp, **kwargs)
            except BaseException:
                for process in started:
                    _stop_process(process)
                raise


def _stop_process(process: subprocess.Popen) -> None:
    """End ``process`` (SIGTERM, then SIGKILL) and remove the ``*-pulp.*`` files it was given."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(CBC_STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for arg in process.args if isinstance(process.args, list) else []:
        if "-pulp." in os.path.basename(arg) and os.path.isfile(arg):
            with contextlib.suppress(OSError):
                os.remove(arg)


def _cbc_status(m: PortfolioModel, seconds: float) -> RawSolve:
    name = solver_name("cbc")
    if m.prob.status == pulp.LpStatusInfeasible:
        return RawSolve("infeasible", None, None, seconds, name)
    if m.prob.sol_status == pulp.LpSolutionOptimal:
        return RawSolve("optimal", None, None, seconds, name)
    if m.prob.sol_status == pulp.LpSolutionIntegerFeasible:
        return RawSolve("feasible", None, None, seconds, name)
    if m.prob.status == pulp.LpStatusNotSolved:  # cbc "Stopped": its time limit
        return RawSolve("no_solution", None, None, seconds, name)
    words = pulp.LpStatus.get(m.prob.status, str(m.prob.status))
    raise SolverError(f"{name} stopped with status '{words}' after {seconds:.1f} s without a "
                      f"plan; {NUMBERS_HINT}")


# ---------------------------------------------------------------------------------------------


def run_solver(m: PortfolioModel, solver: str, time_limit_s: float, mip_gap: float,
               threads: int = 1, relaxed: bool = False,
               start: Mapping[str, int] | None = None,
               before_solve: Callable[[highspy.Highs], None] | None = None) -> RawSolve:
    """Solve ``m.prob`` in place. ``threads=1`` keeps HiGHS deterministic across machines.

    ``relaxed`` solves the LP relaxation (binaries taken as 0..1): a quick bound. ``start``
    (project -> start year, a plan that keeps the model's rows) is handed to the solver as its
    first incumbent (:func:`start_values`); the solver checks it and ignores it if it does not
    fit. ``before_solve(highs)`` (HiGHS only) is called with the loaded model just before the
    solve, after the start is set (:class:`optimizer.warmstart.Polisher` subscribes there).
    Raises SolverError when the solver fails for any reason but infeasibility or its time
    limit, and lets KeyboardInterrupt (and its kinds) through once the solve has stopped.
    """
    if solver not in SOLVERS:
        raise SolverError(f"unknown solver {solver!r}: use one of {', '.join(SOLVERS)}")
    values = None if relaxed or start is None else start_values(m, start)
    t0 = time.perf_counter()
    try:
        if solver == "highs":
            _solve_highs(m, time_limit_s, mip_gap, threads, relaxed, values, before_solve)
            if (values or before_solve) and not relaxed and misled(m.prob.solverModel):
                # HiGHS took a handed-over plan at a value it does not have: from nothing again
                _solve_highs(m, time_limit_s, mip_gap, threads, relaxed)
        else:
            _solve_cbc(m, time_limit_s, mip_gap, threads, relaxed, values)
    except SolverError:
        raise
    except Exception as exc:  # inside PuLP or highspy: say which solver, and what
        raise SolverError(f"{solver_name(solver)} failed after {time.perf_counter() - t0:.1f} s "
                          f"with {type(exc).__name__}: {exc}") from exc
    seconds = time.perf_counter() - t0
    if solver == "highs":
        return _highs_status(m, seconds)
    return _cbc_status(m, seconds)


def misled(h: highspy.Highs) -> bool:
    """Whether HiGHS reports an objective its own plan does not have.

    Seen with HiGHS 1.16 (this project's tests, hypothesis): a starting plan mapped into the
    presolved problem at a wrong value, after which HiGHS stopped at that plan as "optimal"
    with its reported objective (and bound) far from the plan's. The plan's value is
    recomputed here from HiGHS's own columns and costs."""
    info = h.getInfo()
    if info.primal_solution_status != SOLUTION_FEASIBLE:
        return False
    lp = h.getLp()
    plan = np.asarray(h.getSolution().col_value)
    value = lp.offset_ + float(np.dot(np.asarray(lp.col_cost_), plan))
    reported = info.objective_function_value
    return abs(value - reported) > 1e-6 * max(1.0, abs(value))


def start_values(m: PortfolioModel,
                 start: Mapping[str, int]) -> list[tuple[pulp.LpVariable, float]]:
    """The value of every integer start variable in the plan ``start``: ``h[p, s]`` (started
    by s) 1 from its start year on, 0 before; ``x[p, s]`` of a project with one allowed start
    (binary: no ``h``) 1 when funded. The solver completes every continuous variable itself
    (HiGHS solves the LP with the integers fixed; CBC reads a MIP start).

    HiGHS 1.16 sometimes maps a start wrongly into its presolved problem and then stops at it
    as "optimal" (found by tests/test_warmstart.py); :func:`run_solver` notices (:func:`misled`)
    and solves again from nothing."""
    started = {pid for pid, _ in m.h}
    values = [(var, 1.0 if start.get(pid) == s else 0.0) for (pid, s), var in m.x.items()
              if pid not in started]
    values += [(var, 1.0 if pid in start and start[pid] <= s else 0.0)
               for (pid, s), var in m.h.items()]
    return values


def _set_highs_start(
        values: list[tuple[pulp.LpVariable, float]]) -> Callable[[highspy.Highs], None]:
    """A ``before_solve`` hook handing HiGHS the values (sparse ``setSolution``: the columns PuLP
    numbered when it loaded the model)."""
    def hand_over(h: highspy.Highs) -> None:
        index = np.array([var.index for var, _ in values], dtype=np.int32)
        value = np.array([v for _, v in values], dtype=np.float64)
        status = h.setSolution(len(index), index, value)
        if status == highspy.HighsStatus.kError:  # a start is a hint: the solve goes on without
            warnings.warn("HiGHS refused the starting plan", RuntimeWarning, stacklevel=1)
    return hand_over


def _solve_highs(m: PortfolioModel, time_limit_s: float, mip_gap: float, threads: int,
                 relaxed: bool, start: list | None = None,
                 before_solve: Callable[[highspy.Highs], None] | None = None) -> None:
    hooks = ([_set_highs_start(start)] if start else []) + ([before_solve] if before_solve else [])
    cmd = CancellableHiGHS(mip=not relaxed, msg=False, timeLimit=time_limit_s, gapRel=mip_gap,
                           gapAbs=0.0 if mip_gap == 0 else None, threads=threads, random_seed=0,
                           before_solve=(lambda h: [hook(h) for hook in hooks]) if hooks else None,
                           **({} if relaxed else HIGHS_MIP_OPTIONS))
    with stdout_to_devnull():
        m.prob.solve(cmd)


def _solve_cbc(m: PortfolioModel, time_limit_s: float, mip_gap: float, threads: int,
               relaxed: bool, start: list | None = None) -> None:
    for var, value in start or ():  # PuLP writes the initial values as CBC's MIP start
        var.setInitialValue(value)
    with warnings.catch_warnings():  # PuLP 3.x announces the bundled CBC's removal in PuLP 4
        warnings.simplefilter("ignore", DeprecationWarning)
        cmd = StoppableCBC(mip=not relaxed, msg=False, timeLimit=time_limit_s, gapRel=mip_gap,
                           gapAbs=0.0 if mip_gap == 0 else None, threads=threads,
                           warmStart=bool(start))
        m.prob.solve(cmd)
