"""How long writing the reports of a large portfolio takes, beside the time of solving it.

Builds a seeded portfolio of ``--projects`` projects (default 5,000) the way
``synthetic_bench.py`` does (5 minerals, 70% plants and 30% offtakes, budgets that cover about a
third of all capex with carry-over, a few dependencies and exclusive pairs), but with one allowed
start year per project, as in the OR-Library knapsacks, so the solve takes seconds. It solves the
portfolio (``optimizer.solve.solve``, mip_gap ``--mip-gap``), attaches the cheap analyses
(``optimizer.pipeline.analyse(..., sensitivity=False)``), then times each writer on its own:
results.json, results.xlsx, every memo chart, and memo.html, memo.docx and memo.md from one
document model. It prints the seconds and the size of every file, and the solve time beside the
total report time. A print, not a timed test: the figures depend on the machine.

Run: ``.venv/bin/python bench/report_bench.py [--projects 5000] [--mip-gap 0.001]
[--time-limit 120] [--out DIR]``
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # synthetic_bench beside this file

from synthetic_bench import synthetic_instance  # noqa: E402

from optimizer import charts  # noqa: E402
from optimizer.instance import Instance  # noqa: E402
from optimizer.memo import CORE_CHARTS, build_document  # noqa: E402
from optimizer.memo.content import CHART_FILES  # noqa: E402
from optimizer.memo.docx import write_docx  # noqa: E402
from optimizer.memo.html import write_html  # noqa: E402
from optimizer.memo.markdown import write_markdown  # noqa: E402
from optimizer.outputs import write_json  # noqa: E402
from optimizer.pipeline import analyse  # noqa: E402
from optimizer.report_xlsx import write_results_xlsx  # noqa: E402
from optimizer.results import Result  # noqa: E402
from optimizer.solve import solve  # noqa: E402


def single_start_instance(n_projects: int) -> Instance:
    """The synthetic portfolio of ``n_projects`` with every start window cut to its first year."""
    inst = synthetic_instance(n_projects)
    projects = {pid: replace(p, latest_start=p.earliest_start)
                for pid, p in inst.projects.items()}
    return replace(inst, projects=projects, name=f"report_bench_{n_projects}")


def timed(label: str, action, path: Path | None, lines: list[tuple[str, float, int | None]]):
    """Run ``action()``, record (label, seconds, bytes of ``path``) and return its value."""
    start = time.perf_counter()
    value = action()
    seconds = time.perf_counter() - start
    lines.append((label, seconds, path.stat().st_size if path is not None else None))
    return value


def write_reports(result: Result, folder: Path) -> list[tuple[str, float, int | None]]:
    """Write every output of a run into ``folder``, timing each writer separately."""
    lines: list[tuple[str, float, int | None]] = []
    run_time = datetime.now(timezone.utc)
    timed("results.json", lambda: write_json(result, folder / "results.json"),
          folder / "results.json", lines)
    timed("results.xlsx", lambda: write_results_xlsx(result, folder / "results.xlsx",
                                                     run_time=run_time),
          folder / "results.xlsx", lines)
    pngs: dict[str, Path] = {}
    for key, draw in CORE_CHARTS.items():
        if key == "timeline" and not result.starts:
            continue
        path = folder / CHART_FILES[key]
        pngs[key] = timed(path.name, lambda d=draw, p=path: charts.save_png(d(result), p), path,
                          lines)
    doc = timed("memo document model", lambda: build_document(result, pngs, run_time), None,
                lines)
    for name, writer in (("memo.html", write_html), ("memo.docx", write_docx),
                         ("memo.md", write_markdown)):
        path = folder / name
        timed(name, lambda w=writer, p=path: w(doc, p), path, lines)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=5000)
    parser.add_argument("--mip-gap", type=float, default=0.001, dest="mip_gap")
    parser.add_argument("--time-limit", type=float, default=120.0, dest="time_limit")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder to keep the files in (default: a temporary folder)")
    args = parser.parse_args(argv)
    instance = single_start_instance(args.projects)
    start = time.perf_counter()
    result = solve(instance, time_limit_s=args.time_limit, mip_gap=args.mip_gap)
    result = analyse(result, sensitivity=False, progress=False)
    solve_s = time.perf_counter() - start
    print(f"{args.projects:,} projects, {len(result.starts):,} funded, "
          f"{len(result.rejected_ids):,} rejected; {platform.machine()}, {os.cpu_count()} cores")
    print(f"solve (build, solve, verify, analyse): {solve_s:.2f} s "
          f"(status {result.info.status})")
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.out or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        lines = write_reports(result, folder)
    print(f"{'output':<22} {'seconds':>8} {'size KB':>9}")
    for label, seconds, size in lines:
        size_text = f"{size / 1024:>9,.0f}" if size is not None else f"{'-':>9}"
        print(f"{label:<22} {seconds:>8.2f} {size_text}")
    report_s = sum(seconds for _label, seconds, _size in lines)
    verdict = "less" if report_s < solve_s else "MORE"
    print(f"reports: {report_s:.2f} s against solve: {solve_s:.2f} s "
          f"(writing takes {verdict} time than solving)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
