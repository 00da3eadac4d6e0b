"""The infeasibility diagnosis on the bundled example: its seconds and solver runs, case by case.

Run: .venv/bin/python bench/diagnose_bench.py [--workbook PATH] [--solver highs|cbc]
     [--time-limit 120] [--cases NAME ...] [--quiet]

Cases (each infeasible on the example): every budget cut by 30% (``budgets -30%``, as the budget
sensitivity makes it), the workbook's scenarios that have no plan (``Ukraine lost``, ``demand
+20%`` ...), and the plan that counts expected deliveries (``risk_adjusted``). For each case one
line: the seconds the plain solve took to prove there is no plan, the seconds of the diagnosis,
the solver runs it made (MILP and LP relaxations, counted by wrapping
``optimizer.solvers.run_solver``) and their seconds; then, unless ``--quiet``, the diagnosis's
sentences. The last line sums the diagnoses. Figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import optimizer.solvers as solvers
from optimizer.analyses.scenarios import apply
from optimizer.analyses.sensitivity import scaled_budget
from optimizer.diagnose import explain_infeasibility
from optimizer.errors import InfeasibleError
from optimizer.instance import Instance
from optimizer.solve import solve
from optimizer.validate import load_instance

EXAMPLE = Path(__file__).resolve().parent.parent / "inputs" / "central_asia_refining.xlsx"


class Counter:
    """Wraps ``optimizer.solvers.run_solver``: how many runs (MILP, LP) and their seconds."""

    def __init__(self) -> None:
        self.runs: list[tuple[bool, float, str]] = []
        self.original = solvers.run_solver

    def __enter__(self) -> "Counter":
        def counted(m, solver, time_limit_s, mip_gap, threads=1, relaxed=False, **extra):
            t0 = time.perf_counter()
            try:
                raw = self.original(m, solver, time_limit_s, mip_gap, threads, relaxed, **extra)
            except BaseException:
                self.runs.append((relaxed, time.perf_counter() - t0, "error"))
                raise
            self.runs.append((relaxed, time.perf_counter() - t0, raw.status))
            return raw

        solvers.run_solver = counted
        return self

    def __exit__(self, *exc) -> None:
        solvers.run_solver = self.original


def cases(instance: Instance) -> list[tuple[str, Instance]]:
    out = [("budgets -30%", scaled_budget(instance, -0.30))]
    out += [(sc.scenario, apply(instance, sc)) for sc in instance.scenarios]
    out.append(("risk_adjusted", instance.with_settings(risk_adjusted=True)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workbook", default=str(EXAMPLE))
    parser.add_argument("--solver", choices=["highs", "cbc"], default=None)
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--cases", nargs="*", default=None, help="case names to run (default all)")
    parser.add_argument("--quiet", action="store_true", help="figures only, no sentences")
    args = parser.parse_args()
    instance = load_instance(args.workbook)
    solver = args.solver or instance.settings.solver
    print(f"{instance.name}: {len(instance.projects)} projects; solver {solver}, "
          f"time limit {args.time_limit:g} s")
    print(f"{'case':<22} {'proof s':>8} {'diagnosis s':>12} {'MILP runs':>10} {'LP runs':>8} "
          f"{'solver s':>9}")
    total_s = total_milp = total_lp = 0
    for name, variant in cases(instance):
        if args.cases and name not in args.cases:
            continue
        t0 = time.perf_counter()
        try:
            solve(variant, solver=solver, time_limit_s=args.time_limit, diagnose=False)
        except InfeasibleError:
            proved = time.perf_counter() - t0
        else:
            print(f"{name:<22} has a plan: nothing to diagnose")
            continue
        with Counter() as counter:
            t0 = time.perf_counter()
            reasons = explain_infeasibility(variant, solver, args.time_limit)
            seconds = time.perf_counter() - t0
        milp = sum(1 for relaxed, _, _ in counter.runs if not relaxed)
        lp = len(counter.runs) - milp
        solver_s = sum(s for _, s, _ in counter.runs)
        total_s += seconds
        total_milp += milp
        total_lp += lp
        print(f"{name:<22} {proved:>8.2f} {seconds:>12.2f} {milp:>10} {lp:>8} {solver_s:>9.2f}")
        if not args.quiet:
            for reason in reasons:
                print(f"    {reason}")
    print(f"{'all diagnoses':<22} {'':>8} {total_s:>12.2f} {total_milp:>10} {total_lp:>8}")


if __name__ == "__main__":
    main()
