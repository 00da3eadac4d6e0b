"""The main job: solve a valid instance, run the analyses, write every output file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .instance import Instance
from .outputs import write_json, write_run
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


def analyse(result: Result, *, sensitivity: bool = True, workers: int | None = None,
            solver: str | None = None, time_limit_s: float | None = None,
            mip_gap: float | None = None, progress: bool = True, frontier_points: int = 0,
            alternatives: int = 0, simulate_draws: int = 0) -> Result:
    """The result with its analyses attached.

    Always: the price of robustness (when robust_gamma > 0) and the scenarios (when the workbook
    has any). ``sensitivity``: why-not and budget-sensitivity re-solves. ``frontier_points``: the
    NPV / China-reliance frontier and the budget ladder. ``alternatives``: up to that many
    near-optimal portfolios. ``simulate_draws``: Monte Carlo draws of capex and delays.
    """
    analyses = dict(result.analyses)
    opts = dict(solver=solver, time_limit_s=time_limit_s, mip_gap=mip_gap)
    par = dict(opts, workers=workers, progress=progress)
    if result.instance.settings.robust_gamma > 0:
        from .scenarios import robust_price

        analyses["robust"] = robust_price(result, **opts)
    if result.instance.scenarios:
        from .scenarios import compare_scenarios

        analyses.update(compare_scenarios(result, **par))
    if sensitivity:
        from .sensitivity import budget_sensitivity
        from .whynot import explain_rejections

        why, note = explain_rejections(result, **par)
        analyses["why_not"] = why
        analyses["why_not_note"] = note
        analyses["sensitivity"] = budget_sensitivity(result, **par)
    else:
        analyses["sensitivity_skipped"] = True
    if frontier_points:
        from .frontier import budget_ladder, trace_frontier

        analyses["frontier"] = trace_frontier(result.instance, frontier_points, **par)
        analyses["budget_ladder"] = budget_ladder(result.instance, **par)
    if alternatives:
        from .alternatives import alternatives_table, find_alternatives

        analyses["alternatives"] = alternatives_table(
            result, find_alternatives(result, alternatives, **opts))
    if simulate_draws:
        analyses.update(simulation_tables(result, simulate_draws, progress))
    return replace(result, analyses=analyses)


def simulation_tables(result: Result, draws: int, progress: bool = True) -> dict:
    """Monte Carlo analyses of the funded portfolio, as tables (with a binned NPV histogram)."""
    from .simulate import simulate

    return simulate(result, draws, progress=progress).to_tables()


def run_solve(instance: Instance, out_dir: Path, *, solver: str | None = None,
              time_limit_s: float | None = None, mip_gap: float | None = None,
              force: bool = False, sensitivity: bool = True, workers: int | None = None,
              frontier_points: int = 0, alternatives: int = 0,
              simulate_draws: int = 0, protect: tuple = ()) -> tuple[Result, Path]:
    """Solve, verify, analyse and write. Returns the result and the folder written.

    ``protect`` lists paths (the input workbook) the destination may never hold."""
    result = solve(instance, solver=solver, time_limit_s=time_limit_s, mip_gap=mip_gap)
    result = analyse(result, sensitivity=sensitivity, workers=workers, solver=solver,
                     time_limit_s=time_limit_s, mip_gap=mip_gap, frontier_points=frontier_points,
                     alternatives=alternatives, simulate_draws=simulate_draws)
    written = write_run(result, out_dir, writers(), force=force, protect=protect)
    return result, written
