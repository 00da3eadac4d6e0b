"""The main job: solve a valid instance, run the analyses, write every output file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .instance import Instance
from .analyses import Analyses
from .outputs import carry_over, write_json, write_run
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


def analyse(result: Result, options: SolveOptions = SolveOptions(),
            parallel: Parallel = Parallel(), *, sensitivity: bool = True,
            frontier_points: int = 0, alternatives: int = 0, simulate_draws: int = 0) -> Result:
    """The result with its analyses attached.

    Always: the stress test (each country with a funded project lost), the price of robustness
    (when robust_gamma > 0), the price of a risk-aware plan (when the workbook asks for one) and
    the scenarios (when the workbook has any). ``sensitivity``: why-not and budget-sensitivity re-solves. ``frontier_points``: the
    NPV / China-reliance frontier and the budget ladder. ``alternatives``: up to that many
    near-optimal portfolios. ``simulate_draws``: Monte Carlo draws of capex and delays.
    """
    from .analyses import scenarios
    from .analyses.proposal import compare_proposal
    from .analyses.riskprice import risk_price
    from .analyses.stress import stress_test

    found = {"stress": stress_test(result),
             "proposal": compare_proposal(result),
             "robust": scenarios.robust_price(result, options),
             "risk_price": risk_price(result, options),
             "scenarios": scenarios.compare_scenarios(result, options, parallel)}
    if sensitivity:
        from .analyses.sensitivity import budget_sensitivity
        from .analyses.whynot import explain_rejections

        found["why_not"] = explain_rejections(result, options, parallel)
        found["sensitivity"] = budget_sensitivity(result, options, parallel)
    else:
        found["sensitivity_skipped"] = True
    if frontier_points:
        from .analyses.frontier import budget_ladder, trace_frontier

        found["frontier"] = trace_frontier(result.instance, frontier_points, options, parallel)
        found["budget_ladder"] = budget_ladder(result.instance, None, options, parallel)
    if alternatives:
        from .analyses.alternatives import near_optimal

        found["alternatives"] = near_optimal(result, alternatives, options)
    if simulate_draws:
        found["simulation"] = simulation_tables(result, simulate_draws, parallel.progress)
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
              simulate_draws: int = 0, protect: tuple = (),
              carry: Analyses | None = None) -> tuple[Result, Path]:
    """Solve, verify, analyse and write. Returns the result and the folder written.

    ``protect`` lists paths (the input workbook) the destination may never hold. ``carry``: the
    analyses of an earlier run of the same workbook, kept where this run does not redo them."""
    result = solve(instance, **options.kwargs())
    result = analyse(result, options, parallel, sensitivity=sensitivity,
                     frontier_points=frontier_points, alternatives=alternatives,
                     simulate_draws=simulate_draws)
    if carry is not None:
        result = replace(result, analyses=carry_over(result.analyses, carry))
    written = write_run(result, out_dir, writers(), force=force, protect=protect)
    return result, written
