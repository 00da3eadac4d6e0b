"""All 55 OR-Library multidimensional knapsacks (mknap1: 7, mknap2: 48) through the workbook path.

Each problem is mapped onto a portfolio (``optimizer.orlib.knapsack_instance``), written as an
input workbook (``template.write_workbook``), read back and validated (``validate.load_instance``)
and solved with mip_gap 0 (``solve.solve``). Prints one line per problem (items n, constraints m,
published optimum, objective found, whether it was reached, status, solve seconds) and a summary.

Run: ``.venv/bin/python bench/orlib_bench.py [--solver highs|cbc] [--time-limit 60]``
Exit status 0 when every published optimum is reached, 1 otherwise.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from optimizer.errors import InfeasibleError, SolverError, VerificationError
from optimizer.orlib import Knapsack, knapsack_instance, parse_mknap1, parse_mknap2
from optimizer.solve import solve
from optimizer.template import write_workbook
from optimizer.validate import load_instance

ROOT = Path(__file__).resolve().parents[1]
MKNAP1 = ROOT / "tests" / "data" / "mknap1.txt"
MKNAP2 = ROOT / "bench" / "data" / "mknap2.txt"
OPTIMA = ROOT / "bench" / "data" / "optima.csv"
ABS_TOL = 1e-6


@dataclass(frozen=True)
class Row:
    """One problem's outcome."""

    name: str
    n: int
    m: int
    published: float
    found: float | None
    status: str
    seconds: float  # solver seconds (build, read and write excluded)

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


def run_one(k: Knapsack, published: float, folder: Path, solver: str,
            time_limit_s: float) -> Row:
    """Write the problem's workbook, read it back, solve it; the outcome as a Row."""
    instance = knapsack_instance(k, time_limit_s=time_limit_s)
    path = write_workbook(instance, folder / f"{k.name}.xlsx")
    instance = load_instance(path)  # the workbook as the command line would read it
    try:
        result = solve(instance, solver=solver, time_limit_s=time_limit_s, mip_gap=0.0)
    except InfeasibleError:
        return Row(k.name, k.n, k.m, published, None, "infeasible", float("nan"))
    except SolverError:
        return Row(k.name, k.n, k.m, published, None, "no plan", time_limit_s)
    except VerificationError:  # the independent check rejected the solver's plan: a bug
        return Row(k.name, k.n, k.m, published, None, "REJECTED", float("nan"))
    return Row(k.name, k.n, k.m, published, result.objective_value, result.info.status,
               result.info.solve_seconds)


def format_row(r: Row) -> str:
    found = "-" if r.found is None else f"{r.found:.10g}"
    return (f"{r.name:<10} {r.n:>4} {r.m:>3} {r.published:>12.10g} {found:>12} "
            f"{'yes' if r.reached else 'NO':>7}  {r.status:<10} {r.seconds:>8.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solver", choices=("highs", "cbc"), default="highs")
    parser.add_argument("--time-limit", type=float, default=60.0, dest="time_limit",
                        help="seconds per problem (default 60)")
    args = parser.parse_args(argv)
    optima = published_optima()
    print(f"OR-Library mknap1 + mknap2 through write_workbook -> load_instance -> solve "
          f"({args.solver}, mip_gap 0, time limit {args.time_limit:g} s)")
    print(f"{'instance':<10} {'n':>4} {'m':>3} {'published':>12} {'found':>12} {'reached':>7}  "
          f"{'status':<10} {'seconds':>8}")
    rows = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for k in all_knapsacks():
            row = run_one(k, optima[k.name], Path(tmp), args.solver, args.time_limit)
            rows.append(row)
            print(format_row(row), flush=True)
    wall = time.perf_counter() - t0
    reached = sum(r.reached for r in rows)
    solve_total = sum(r.seconds for r in rows if r.seconds == r.seconds)
    print(f"reached {reached}/{len(rows)} published optima; solver {solve_total:.2f} s in total; "
          f"wall {wall:.1f} s including workbook write and read")
    return 0 if reached == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
