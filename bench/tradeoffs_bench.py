"""Trade-off analyses on the bundled example: an 11-point frontier and 10,000 Monte Carlo draws.

Run: .venv/bin/python bench/tradeoffs_bench.py [--workbook PATH] [--points 11] [--draws 10000]
Prints seconds for the base solve (its ties broken, as the pipeline does), the frontier in the
objective's terms (with its verified points and each frontier solve's seconds) and the simulation.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from optimizer.analyses.frontier import trace_frontier
from optimizer.resolve import Parallel
from optimizer.analyses.simulate import simulate
from optimizer.solve import solve
from optimizer.validate import load_instance

EXAMPLE = Path(__file__).resolve().parent.parent / "inputs" / "central_asia_refining.xlsx"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workbook", default=str(EXAMPLE))
    parser.add_argument("--points", type=int, default=11)
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()

    instance = load_instance(args.workbook)
    t0 = time.perf_counter()
    result = solve(instance, tie_break=True)
    t_solve = time.perf_counter() - t0
    print(f"{instance.name}: {len(instance.projects)} projects, {instance.settings.horizon_years} "
          f"years; base solve {t_solve:.2f} s ({result.info.status_words}), "
          f"{len(result.starts)} funded")

    t0 = time.perf_counter()
    frontier = trace_frontier(instance, args.points,
                              parallel=Parallel(workers=args.workers, progress=False),
                              recommended=result)
    t_front = time.perf_counter() - t0
    print(f"frontier, {args.points} bounds: {t_front:.2f} s")
    for line in frontier.summary_lines():
        print(f"  {line}")

    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        sim = simulate(result, args.draws)
        best = min(best, time.perf_counter() - t0)
    tables = sim.to_tables()
    print(f"Monte Carlo, {args.draws:,} draws of {len(result.starts)} funded projects: "
          f"{best * 1000:.1f} ms (best of 5)")
    for row in tables["simulation_summary"]:
        print(f"  {row['measure']}: P10 {row['p10']:,.1f}  P50 {row['p50']:,.1f}  "
              f"P90 {row['p90']:,.1f}")


if __name__ == "__main__":
    main()
