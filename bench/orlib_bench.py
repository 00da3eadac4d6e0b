"""All 55 OR-Library multidimensional knapsacks (mknap1: 7, mknap2: 48) through the workbook path,
timed against HiGHS alone on the same matrices and against version 1.

Each problem is mapped onto a portfolio (``optimizer.orlib.knapsack_instance``), written as an
input workbook (``template.write_workbook``), read back and validated (``validate.load_instance``)
and solved with mip_gap 0 (``solve.solve``, the command's own path). Prints one line per problem:
items n, constraints m, published optimum, objective found, whether it was reached, status, the
seconds of reading the workbook, of version 1's path (``build_model`` then ``solve_model``, no
search during the solve), of the pipeline (``solve``: build, solve, verify) and of HiGHS alone
on the model's matrix (an MPS file read and solved by highspy: gap 0, one thread). The
summary says where the pipeline's time goes beyond HiGHS alone (reading the workbook, building
the model, PuLP loading it into HiGHS, verifying the plan).

``--cli`` also times the command line on the first workbook (one process each): start-up
(``import optimizer.cli``), ``validate``, and ``solve --no-sensitivity`` with every report.

Run: ``.venv/bin/python bench/orlib_bench.py [--solver highs|cbc] [--time-limit 60] [--cli]``
Exit status 0 when every published optimum is reached, 1 otherwise.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import highspy

from optimizer.errors import InfeasibleError, SolverError, VerificationError
from optimizer.model import build_model
from optimizer.orlib import Knapsack, knapsack_instance, parse_mknap1, parse_mknap2
from optimizer.solve import solve, solve_model
from optimizer.solvers import stdout_to_devnull
from optimizer.template import write_workbook
from optimizer.validate import load_instance

ROOT = Path(__file__).resolve().parents[1]
MKNAP1 = ROOT / "tests" / "data" / "mknap1.txt"
MKNAP2 = ROOT / "bench" / "data" / "mknap2.txt"
OPTIMA = ROOT / "bench" / "data" / "optima.csv"
ABS_TOL = 1e-6


@dataclass(frozen=True)
class Row:
    """One problem's outcome and times (seconds)."""

    name: str
    n: int
    m: int
    published: float
    found: float | None
    status: str
    seconds: float  # solver seconds of the pipeline (build, read and write excluded)
    read_s: float = float("nan")  # load_instance: read and validate the workbook
    v1_s: float = float("nan")  # build_model + solve_model without search (version 1's path)
    v2_s: float = float("nan")  # solve: build, solve, verify
    build_s: float = float("nan")  # of the pipeline's model
    alone_s: float = float("nan")  # highspy: read the MPS file and solve

    @property
    def reached(self) -> bool:
        return self.found is not None and abs(self.found - self.published) <= ABS_TOL


def published_optima(path: Path = OPTIMA) -> dict[str, float]:
    """Instance name -> published optimum, from optima.csv."""
    with path.open(newline="") as f:
        return {r["instance"]: float(r["optimum"]) for r in csv.DictReader(f)}


def all_knapsacks() -> list[Knapsack]:
    """mknap1 (7) then mknap2 (48), in file order."""
    return parse_mknap1(MKNAP1.read_text()) + parse_mknap2(MKNAP2.read_text())


def highs_alone_seconds(instance, folder: Path, time_limit_s: float) -> float:
    """Seconds of highspy reading the model's MPS file and solving it with mip_gap 0, one
    thread (the pipeline's options)."""
    path = folder / f"{instance.name}.mps"
    build_model(instance).prob.writeMPS(str(path), with_objsense=True)
    t0 = time.perf_counter()
    with stdout_to_devnull():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(path))
    for option, value in (("time_limit", float(time_limit_s)), ("threads", 1),
                          ("mip_rel_gap", 0.0), ("mip_abs_gap", 0.0)):
        h.setOptionValue(option, value)
    h.run()
    return time.perf_counter() - t0


def run_one(k: Knapsack, published: float, folder: Path, solver: str,
            time_limit_s: float, index: int = 0) -> Row:
    """Write the problem's workbook, read it back, solve it (version 1's path and the
    pipeline's, in turn first by ``index``; then HiGHS alone); the outcome as a Row."""
    instance = knapsack_instance(k, time_limit_s=time_limit_s)
    path = write_workbook(instance, folder / f"{k.name}.xlsx")
    t0 = time.perf_counter()
    instance = load_instance(path)  # the workbook as the command line would read it
    read_s = time.perf_counter() - t0
    times = dict(read_s=read_s)
    result, failure = None, None
    order = ("v1", "v2") if index % 2 else ("v2", "v1")  # neither always runs first
    for which in order:
        t0 = time.perf_counter()
        if which == "v1":
            try:
                solve_model(build_model(instance), solver=solver, time_limit_s=time_limit_s,
                            mip_gap=0.0)
            except (InfeasibleError, SolverError, VerificationError):
                pass  # the pipeline's run says what happened
            times["v1_s"] = time.perf_counter() - t0
            continue
        try:
            result = solve(instance, solver=solver, time_limit_s=time_limit_s, mip_gap=0.0)
        except InfeasibleError:
            failure = Row(k.name, k.n, k.m, published, None, "infeasible", float("nan"))
        except SolverError:
            failure = Row(k.name, k.n, k.m, published, None, "no plan", time_limit_s)
        except VerificationError:  # the independent check rejected the solver's plan: a bug
            failure = Row(k.name, k.n, k.m, published, None, "REJECTED", float("nan"))
        times["v2_s"] = time.perf_counter() - t0
    if failure is not None:
        return replace(failure, **times)
    v2_s = times["v2_s"]
    alone_s = highs_alone_seconds(instance, folder, time_limit_s) if solver == "highs" \
        else float("nan")
    return Row(k.name, k.n, k.m, published, result.objective_value, result.info.status,
               result.info.solve_seconds, read_s, times["v1_s"], v2_s,
               result.info.build_seconds, alone_s)


def format_row(r: Row) -> str:
    found = "-" if r.found is None else f"{r.found:.10g}"
    return (f"{r.name:<10} {r.n:>4} {r.m:>3} {r.published:>12.10g} {found:>12} "
            f"{'yes' if r.reached else 'NO':>7}  {r.status:<10} {r.seconds:>8.3f} "
            f"{r.read_s:>7.3f} {r.v1_s:>7.3f} {r.v2_s:>7.3f} {r.alone_s:>7.3f}")


def summary(rows: list[Row], wall: float) -> list[str]:
    def total(field: str) -> float:
        return sum(v for r in rows if (v := getattr(r, field)) == v)
    reached = sum(r.reached for r in rows)
    v2, alone, read = total("v2_s"), total("alone_s"), total("read_s")
    build, solver = total("build_s"), total("seconds")
    return [
        f"reached {reached}/{len(rows)} published optima; wall {wall:.1f} s including workbook "
        "writing",
        f"pipeline {read + v2:.2f} s = read and validate the workbooks {read:.2f} s + build "
        f"{build:.2f} s + PuLP loading HiGHS and HiGHS solving {solver:.2f} s + verify "
        f"{v2 - build - solver:.2f} s; HiGHS alone (read MPS and solve) {alone:.2f} s; "
        f"version 1's build-and-solve {total('v1_s'):.2f} s against the pipeline's {v2:.2f} s",
    ]


def cli_lines(workbook: Path, folder: Path) -> list[str]:
    """Seconds of the command line on ``workbook``, one process each: start-up, validate,
    solve --no-sensitivity (every report written)."""
    python = sys.executable
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    commands = {
        "start-up (import optimizer.cli)": [python, "-c", "import optimizer.cli"],
        f"validate {workbook.name}": [python, "-m", "optimizer", "validate", str(workbook)],
        f"solve {workbook.name} --no-sensitivity (all reports)":
            [python, "-m", "optimizer", "solve", str(workbook), "--out",
             str(folder / "cli_out"), "--no-sensitivity", "--workers", "1"],
    }
    out = []
    for label, command in commands.items():
        t0 = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        status = "" if done.returncode == 0 else f" (exit {done.returncode})"
        out.append(f"command line: {label}: {seconds:.2f} s{status}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solver", choices=("highs", "cbc"), default="highs")
    parser.add_argument("--time-limit", type=float, default=60.0, dest="time_limit",
                        help="seconds per problem (default 60)")
    parser.add_argument("--cli", action="store_true",
                        help="also time the command line on the first workbook")
    args = parser.parse_args(argv)
    optima = published_optima()
    print(f"OR-Library mknap1 + mknap2 through write_workbook -> load_instance -> solve "
          f"({args.solver}, mip_gap 0, time limit {args.time_limit:g} s, 1 thread); seconds: "
          "solver, read (workbook), v1 (version 1's build and solve), v2 (the pipeline's build, "
          "solve and verify), alone (HiGHS on the MPS file)")
    print(f"{'instance':<10} {'n':>4} {'m':>3} {'published':>12} {'found':>12} {'reached':>7}  "
          f"{'status':<10} {'solver':>8} {'read':>7} {'v1':>7} {'v2':>7} {'alone':>7}")
    rows = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for index, k in enumerate(all_knapsacks()):
            row = run_one(k, optima[k.name], Path(tmp), args.solver, args.time_limit, index)
            rows.append(row)
            print(format_row(row), flush=True)
        wall = time.perf_counter() - t0
        print("\n".join(summary(rows, wall)))
        if args.cli:
            print("\n".join(cli_lines(Path(tmp) / f"{rows[1].name}.xlsx", Path(tmp))))
    return 0 if sum(r.reached for r in rows) == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
