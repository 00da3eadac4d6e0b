"""The funding priority list on the bundled example: seconds of the separate level solves and of
the nested model, with the workbook's BudgetLevels or a given set of levels.

Run: .venv/bin/python bench/priority_bench.py [--workbook PATH] [--levels 0.7:0.25 1:0.5 1.2:0.25]
     [--time-limit 120] [--solver highs|cbc]
Prints the base solve, each level solved alone (multiplier, seconds, status, objective), the nested
model's size, build and solver seconds, its status and gap, the expected objective, and the whole
analysis's wall time (levels solved one after another in this process, as with --workers 1; the
level of multiplier 1 reuses the base plan).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

from optimizer.analyses import priority
from optimizer.instance import BudgetLevel
from optimizer.resolve import Parallel, SolveOptions, resolve, resolve_parts
from optimizer.solve import solve
from optimizer.validate import load_instance

EXAMPLE = Path(__file__).resolve().parent.parent / "inputs" / "central_asia_refining.xlsx"
DEFAULT_LEVELS = ("0.7:0.25", "1:0.5", "1.2:0.25")


def parse_levels(texts: list[str]) -> tuple[BudgetLevel, ...]:
    out = []
    for text in texts:
        multiplier, probability = (float(v) for v in text.split(":"))
        out.append(BudgetLevel(f"x{multiplier:g}", multiplier, probability))
    return tuple(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workbook", default=str(EXAMPLE))
    parser.add_argument("--levels", nargs="*", default=None,
                        help="multiplier:probability pairs (default: the workbook's BudgetLevels, "
                             f"else {' '.join(DEFAULT_LEVELS)})")
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--solver", choices=["highs", "cbc"], default=None)
    args = parser.parse_args()
    instance = load_instance(args.workbook)
    if args.levels is not None or not instance.budget_levels:
        instance = replace(instance, budget_levels=parse_levels(args.levels or
                                                                list(DEFAULT_LEVELS)))
    options = SolveOptions(solver=args.solver, time_limit_s=args.time_limit)
    print(f"{instance.name}: {len(instance.projects)} projects, "
          f"{instance.settings.horizon_years} years, levels "
          + ", ".join(f"{lv.level} ({lv.probability:g})" for lv in instance.budget_levels))

    t0 = time.perf_counter()
    base = solve(instance, diagnose=False, **options.kwargs())
    print(f"base solve          {time.perf_counter() - t0:7.2f} s  {base.info.status:<9} "
          f"{base.objective_value:12,.2f}")
    levels = sorted(instance.budget_levels, key=lambda lv: lv.budget_multiplier)
    variants = [priority.at_level(instance, lv.budget_multiplier) for lv in levels]
    for lv, variant in zip(levels, variants):
        t0 = time.perf_counter()
        outcome = resolve(variant, options)
        value = "" if outcome.objective_value is None else f"{outcome.objective_value:12,.2f}"
        print(f"level x{lv.budget_multiplier:<5g} alone {time.perf_counter() - t0:7.2f} s  "
              f"{outcome.status:<9} {value}")
    weights = [lv.probability for lv in levels]
    t0 = time.perf_counter()
    joint, parts = priority.build_nested(variants, weights)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    outcomes = resolve_parts(joint, parts, weights, options)
    solve_s = time.perf_counter() - t0
    info = outcomes[0].result.info if outcomes[0].result is not None else None
    print(f"nested model: {joint.prob.numVariables()} variables, {joint.prob.numConstraints()} "
          f"rows; build {build:.2f} s, solve and verify {solve_s:.2f} s; "
          f"status {outcomes[0].status}"
          + (f", gap {info.mip_gap:.4%}" if info is not None and info.mip_gap is not None else ""))
    t0 = time.perf_counter()
    plan = priority.funding_priority(base, options, Parallel(workers=1, progress=False))
    print(f"whole analysis (separate solves, nested solve, order, check): "
          f"{time.perf_counter() - t0:.2f} s; expected objective {plan.expected_objective:,.2f}")
    for lp in plan.levels:
        given_up = "" if lp.given_up is None else f", gives up {lp.given_up:,.2f}"
        print(f"  {lp.level:<12} x{lp.budget_multiplier:<5g} {lp.status:<9} "
              f"{len(lp.starts):>3} projects, objective {lp.objective_value or 0:,.2f}"
              f"{given_up}")


if __name__ == "__main__":
    main()
