"""Risk-aware planning on the bundled example: solve times with and without risk_adjusted and with
target_protection.

Run: .venv/bin/python bench/risk_bench.py [--workbook PATH] [--solver highs|cbc] [--time-limit 120]
Prints, for each variant of the workbook's settings, the model size, the build and solver
seconds (one thread), the status, the objective of the verified plan and the funded count. For an
infeasible variant: the seconds to prove it, then the diagnosis with its seconds and reasons.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from optimizer.diagnose import explain_infeasibility
from optimizer.errors import InfeasibleError
from optimizer.solve import solve
from optimizer.validate import load_instance

EXAMPLE = Path(__file__).resolve().parent.parent / "inputs" / "central_asia_refining.xlsx"
VARIANTS = (
    ("as given", {}),
    ("risk_adjusted", {"risk_adjusted": True}),
    ("target_protection 1", {"target_protection": 1}),
    ("risk_adjusted + protection 1", {"risk_adjusted": True, "target_protection": 1}),
)


def run(instance, label: str, changes: dict, solver: str | None, time_limit: float) -> None:
    """Solve one variant and print its line; for an infeasible one, the seconds the solver took
    to prove it, then the diagnosis (its seconds and its reasons)."""
    variant = instance.with_settings(**changes)
    t0 = time.perf_counter()
    try:
        r = solve(variant, solver=solver, time_limit_s=time_limit, diagnose=False)
    except InfeasibleError:
        proved = time.perf_counter() - t0
        t0 = time.perf_counter()
        reasons = explain_infeasibility(variant, solver or variant.settings.solver, time_limit)
        print(f"{label:<30} infeasible, proved in {proved:.2f} s (build and solve); diagnosis "
              f"{time.perf_counter() - t0:.2f} s:")
        for reason in reasons:
            print(f"    {reason}")
        return
    info = r.info
    print(f"{label:<30} {info.n_variables:>6} {info.n_constraints:>6} {info.build_seconds:>8.2f} "
          f"{info.solve_seconds:>8.2f}  {info.status:<9} {r.objective_value:>12,.2f} "
          f"{len(r.starts):>6}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workbook", default=str(EXAMPLE))
    parser.add_argument("--solver", choices=["highs", "cbc"], default=None)
    parser.add_argument("--time-limit", type=float, default=120.0)
    args = parser.parse_args()
    instance = load_instance(args.workbook)
    s = instance.settings
    print(f"{instance.name}: {len(instance.projects)} projects, {s.horizon_years} years, "
          f"objective {s.objective}, {len(instance.countries)} Countries rows, Settings delays "
          f"{s.delay_probability:g} up to {s.max_delay_years} years")
    print(f"{'variant':<30} {'vars':>6} {'rows':>6} {'build s':>8} {'solve s':>8}  "
          f"{'status':<9} {'objective':>12} {'funded':>6}")
    for label, changes in VARIANTS:
        run(instance, label, changes, args.solver, args.time_limit)


if __name__ == "__main__":
    main()
