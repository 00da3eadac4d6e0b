"""The main job: solve a valid instance, run the analyses, write every output file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from .instance import Instance
from .analyses import Analyses
from .outputs import carry_over, write_json, write_run
from .phases import Phases, Timings
from .resolve import Parallel, SolveOptions
from .results import Result
from .solve import solve


def _write_json(result: Result, folder: Path) -> None:
    write_json(result, folder / "results.json")


def _write_xlsx(result: Result, folder: Path) -> None:
    from .report_xlsx import write_results_xlsx

    write_results_xlsx(result, folder / "results.xlsx")


def _write_memo(result: Result, folder: Path) -> None:
    from .memo import write_memo

    write_memo(result, folder)


def writers() -> list:
    """Every output of a run, in the order they are written."""
    return [_write_json, _write_xlsx, _write_memo]


def load_writers() -> None:
    """Import the libraries the workbook and memo writers use (openpyxl's styles, matplotlib,
    python-docx, ReportLab: about a second), the memo last: a writer importing them meanwhile
    waits for this import and then finds them loaded."""
    from . import report_xlsx  # noqa: F401
    from . import memo  # noqa: F401


def analyse(result: Result, options: SolveOptions = SolveOptions(),
            parallel: Parallel = Parallel(), *, sensitivity: bool = True,
            frontier_points: int = 0, alternatives: int = 0, simulate_draws: int = 0,
            futures_draws: int = 0, ladder: bool = True, requested_only: bool = False,
            timings: Timings | None = None,
            meanwhile: Callable[[], Any] | None = None) -> Result:
    """The result with its analyses attached.

    Always: the stress test (each country with a funded project lost), the funding priority
    list (when the workbook has BudgetLevels), the price of robustness
    (when robust_gamma > 0), the price of a risk-aware plan (when the workbook asks for one) and
    the scenarios (when the workbook has any). ``sensitivity``: why-not and budget-sensitivity
    re-solves. ``frontier_points``: the NPV / security frontier in the objective's terms and,
    with ``ladder``, the budget ladder. ``alternatives``: up to that many near-optimal
    portfolios. ``simulate_draws``: Monte Carlo draws of capex and delays. ``futures_draws``:
    the plan re-optimized in that many sampled futures. ``requested_only`` (the frontier
    command): none of the "always" analyses and no sensitivity, only those asked for by the
    arguments after it.

    Every re-solve starts from ``result``'s plan, repaired for its own rules, unless
    ``options.warm_start`` is off (:meth:`SolveOptions.with_start`). The analyses run at the
    same time on one pool of solver processes (:class:`optimizer.phases.Phases`); ``timings``
    receives the seconds of each; ``meanwhile`` runs in a thread beside them (see Phases).
    """
    from .analyses import scenarios
    from .analyses.priority import funding_priority
    from .analyses.proposal import compare_proposal
    from .analyses.riskprice import risk_price
    from .analyses.stress import stress_test

    options = options.with_start(result.starts)
    found: dict = {}
    later: dict = {}
    with Phases(parallel, timings, meanwhile) as run:
        par = run.parallel
        # Long chains first, then the batches of re-solves, so that the pool stays busy.
        if alternatives:
            from .analyses.alternatives import near_optimal

            later["alternatives"] = run.chain("alternatives", near_optimal, result,
                                              alternatives, options)
        if sensitivity and not requested_only:
            from .analyses.sensitivity import budget_sensitivity
            from .analyses.whynot import explain_rejections

            later["sensitivity"] = run.fanout("budget sensitivity", budget_sensitivity, result,
                                              options, par)
            later["why_not"] = run.fanout("why not", explain_rejections, result, options, par)
        elif not requested_only:
            found["sensitivity_skipped"] = True
        if not requested_only:
            later["scenarios"] = run.fanout("scenarios", scenarios.compare_scenarios, result,
                                            options, par)
            later["robust"] = run.chain("price of robustness", scenarios.robust_price, result,
                                        options)
            later["risk_price"] = run.chain("price of a risk-aware plan", risk_price, result,
                                            options)
            found["stress"] = run.now("stress test", stress_test, result)
            found["proposal"] = run.now("proposal", compare_proposal, result)
            later["priority"] = run.fanout("funding priority", funding_priority, result,
                                           options, par)
        if simulate_draws:
            from .analyses.reach import budget_plans_of, what_raises_the_chance

            found["simulation"] = run.now("Monte Carlo", simulation_tables, result,
                                          simulate_draws, parallel.progress)
            sensitivity = later.get("sensitivity")

            def reach():  # as soon as the budget sensitivity's plans are known
                plans = None if sensitivity is None else budget_plans_of(run.get(sensitivity))
                return what_raises_the_chance(result, simulate_draws, options,
                                              budget_plans=plans)
            later["reach"] = run.fanout("what raises the chance", reach)
        if frontier_points:
            from .analyses.frontier import budget_ladder, trace_frontier

            later["frontier"] = run.fanout("frontier", trace_frontier, result.instance,
                                           frontier_points, options, par, recommended=result)
            if ladder:
                later["budget_ladder"] = run.fanout("budget ladder", budget_ladder,
                                                    result.instance, None, options, par)
        if futures_draws:
            from .analyses.futures import sample_futures

            later["futures"] = run.fanout("futures", sample_futures, result, futures_draws,
                                          options, par)
        for key, future in later.items():
            found[key] = run.get(future)
    return replace(result, analyses=replace(result.analyses, **found))


def simulation_tables(result: Result, draws: int, progress: bool = True):
    """Monte Carlo analyses of the funded portfolio, as tables (with a binned NPV histogram)."""
    from .analyses.simulate import SimulationTables, losses_modelled, simulate

    sim = simulate(result, draws, progress=progress)
    doubled = None
    if losses_modelled(result):  # how the chances move if every loss probability doubled
        doubled = simulate(result, draws, loss_multiplier=2.0, progress=progress)
    return SimulationTables.of(sim, scaled=doubled)


def run_solve(instance: Instance, out_dir: Path, options: SolveOptions = SolveOptions(),
              parallel: Parallel = Parallel(), *, force: bool = False, sensitivity: bool = True,
              frontier_points: int = 0, alternatives: int = 0,
              simulate_draws: int = 0, futures_draws: int = 0, protect: tuple = (),
              carry: Analyses | None = None, ladder: bool = True,
              requested_only: bool = False,
              timings: Timings | None = None) -> tuple[Result, Path]:
    """Solve, verify, analyse and write. Returns the result and the folder written.

    ``protect`` lists paths (the input workbook) the destination may never hold. ``carry``: the
    analyses of an earlier run of the same workbook, kept where this run does not redo them.
    ``ladder`` and ``requested_only``: see :func:`analyse`. The recommended plan's ties are
    broken on the other criterion (``solve(tie_break=True)``), so it lies on the frontier.
    ``timings`` receives the seconds of each phase (solve, each analysis, each writer)."""
    timings = timings if timings is not None else Timings()
    with timings.phase("base solve"):
        result = solve(instance, tie_break=True, **options.kwargs())
    result = analyse(result, options, parallel, sensitivity=sensitivity,
                     frontier_points=frontier_points, alternatives=alternatives,
                     simulate_draws=simulate_draws, futures_draws=futures_draws,
                     ladder=ladder, requested_only=requested_only, timings=timings,
                     meanwhile=load_writers)
    if carry is not None:
        result = replace(result, analyses=carry_over(result.analyses, carry))
    written = write_run(result, out_dir, [_timed_writer(w, timings) for w in writers()],
                        force=force, protect=protect)
    return result, written


def _timed_writer(writer, timings: Timings):
    """``writer`` recording its seconds in ``timings`` (as "write <name>")."""
    name = "write " + writer.__name__.removeprefix("_write_")

    def timed(result: Result, folder: Path) -> None:
        with timings.phase(name):
            writer(result, folder)
    timed.__name__ = writer.__name__
    return timed
