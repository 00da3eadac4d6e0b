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
            mip_gap: float | None = None, progress: bool = True) -> Result:
    """The result with its analyses attached (why-not and budget sensitivity re-solves)."""
    analyses = dict(result.analyses)
    if sensitivity:
        from .sensitivity import budget_sensitivity
        from .whynot import explain_rejections

        opts = dict(workers=workers, solver=solver, time_limit_s=time_limit_s, mip_gap=mip_gap,
                    progress=progress)
        why, note = explain_rejections(result, **opts)
        analyses["why_not"] = why
        analyses["why_not_note"] = note
        analyses["sensitivity"] = budget_sensitivity(result, **opts)
    else:
        analyses["sensitivity_skipped"] = True
    return replace(result, analyses=analyses)


def run_solve(instance: Instance, out_dir: Path, *, solver: str | None = None,
              time_limit_s: float | None = None, mip_gap: float | None = None,
              force: bool = False, sensitivity: bool = True,
              workers: int | None = None) -> tuple[Result, Path]:
    """Solve, verify, analyse and write. Returns the result and the folder written."""
    result = solve(instance, solver=solver, time_limit_s=time_limit_s, mip_gap=mip_gap)
    result = analyse(result, sensitivity=sensitivity, workers=workers, solver=solver,
                     time_limit_s=time_limit_s, mip_gap=mip_gap)
    written = write_run(result, out_dir, writers(), force=force)
    return result, written
