"""Model-build and solve times on synthetic portfolios of 50, 100 and 300 projects.

Each portfolio (seeded, so every run sees the same instances) spans 25 years with 10-year start
windows: 5 minerals, about 70% plants (capex 50..800 $M with a high estimate 10..60% above, build
2..5 years, positive NPV) and 30% offtakes (capex 0..30 $M, 0..1 year to start, 5..12-year terms,
NPV mostly negative), a security premium per mineral (objective ``weighted``), yearly budgets that
cover about a third of all capex with carry-over on, a few dependencies (a plant that needs an
earlier plant of the same mineral) and exclusive pairs (alternative sites).

For every size and solver it prints the variables and rows of the model, the seconds of
``optimizer.model.build_model``, the solver seconds, the status, the gap (CBC reports none through
PuLP: "unknown" unless the status is proven optimal) and the objective of the verified plan.

Run: ``.venv/bin/python bench/synthetic_bench.py [--sizes 50 100 300] [--time-limit 60]
[--solvers highs cbc] [--mip-gap 0.0001]``
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import dataclass, replace

import numpy as np
import pulp

from optimizer.errors import VerificationError
from optimizer.instance import Instance, Mineral, Project, Settings
from optimizer.model import build_model, decision
from optimizer.solve import run_solver
from optimizer.verify import verify

FIRST, HORIZON, WINDOW, N_MINERALS = 2026, 25, 10, 5
SEED = 20250131


def synthetic_minerals(rng: np.random.Generator) -> dict[str, Mineral]:
    """Minerals with demand 1e3..1e5 t, China share 0.4..0.95 and a security premium."""
    return {
        f"M{i}": Mineral(
            f"M{i}", us_demand_t=float(rng.uniform(1e3, 1e5)),
            china_share=float(rng.uniform(0.4, 0.95)), demand_growth=float(rng.uniform(0, 0.04)),
            weight=float(rng.uniform(0.5, 2.0)),
            security_premium_usd_per_t=float(rng.uniform(200, 3000)),
        )
        for i in range(N_MINERALS)
    }


def synthetic_project(j: int, rng: np.random.Generator, minerals: dict[str, Mineral]) -> Project:
    """Project j: a plant (70%) or an offtake (30%) with a 10-year start window."""
    name = f"M{j % N_MINERALS}"
    demand = minerals[name].us_demand_t
    offtake = rng.random() < 0.3
    earliest = FIRST + int(rng.integers(0, HORIZON - WINDOW - 3))
    if offtake:
        low = float(rng.choice([0.0, rng.uniform(5, 30)]))
        high, build = low, int(rng.integers(0, 2))
        capacity = float(demand * rng.uniform(0.02, 0.10))
        npv, term = float(rng.uniform(-60, 10)), int(rng.integers(5, 13))
    else:
        low = float(rng.uniform(50, 800))
        high, build = low * float(rng.uniform(1.1, 1.6)), int(rng.integers(2, 6))
        capacity = float(demand * rng.uniform(0.03, 0.20))
        npv, term = float(low * rng.uniform(-0.1, 0.6)), None
    return Project(
        project_id=f"P{j:03d}", name=f"{'offtake' if offtake else 'plant'} {j}",
        kind="offtake" if offtake else "plant", mineral=name, country="synthetic",
        capex_low_musd=round(low, 3), capex_high_musd=round(high, 3), build_years=build,
        earliest_start=earliest, latest_start=earliest + WINDOW - 1, capacity_tpa=round(capacity),
        npv_musd=round(npv, 3), operating_years=term,
    )


def add_links(projects: list[Project], rng: np.random.Generator) -> list[Project]:
    """About 8% of plants require an earlier plant of the same mineral; about 15% of projects
    are paired with the next project of the same mineral as exclusive alternatives."""
    out = list(projects)
    plants = [i for i, p in enumerate(out) if p.kind == "plant"]
    for i in plants:
        earlier = [k for k in plants if k < i and out[k].mineral == out[i].mineral]
        if earlier and rng.random() < 0.08:
            out[i] = replace(out[i], requires=(out[int(rng.choice(earlier))].project_id,))
    for i in range(len(out) - N_MINERALS):
        k = i + N_MINERALS  # the next project of the same mineral
        if rng.random() < 0.08 and not out[i].exclusive_group and not out[k].exclusive_group:
            group = f"alt{i}"
            out[i] = replace(out[i], exclusive_group=group)
            out[k] = replace(out[k], exclusive_group=group)
    return out


def synthetic_instance(n_projects: int, seed: int = SEED) -> Instance:
    """The seeded portfolio of ``n_projects`` (see the module docstring)."""
    rng = np.random.default_rng(seed + n_projects)
    minerals = synthetic_minerals(rng)
    projects = add_links([synthetic_project(j, rng, minerals) for j in range(n_projects)], rng)
    mid_capex = sum(0.5 * (p.capex_low_musd + p.capex_high_musd) for p in projects)
    yearly = mid_capex / 3.0 / HORIZON  # about a third of all capex can be funded
    budget = {FIRST + t: round(yearly * float(rng.uniform(0.7, 1.3)), 1) for t in range(HORIZON)}
    settings = Settings(first_year=FIRST, horizon_years=HORIZON, discount_rate=0.08,
                        objective="weighted", capex_basis="mid", budget_carryover=True)
    return Instance(settings=settings, minerals=minerals,
                    projects={p.project_id: p for p in projects}, budget=budget,
                    name=f"synthetic_{n_projects}")


@dataclass(frozen=True)
class Measure:
    size: int
    solver: str
    variables: int
    rows: int
    build_s: float
    solve_s: float
    status: str
    gap: str
    objective: str


def measure(instance: Instance, solver: str, time_limit_s: float, mip_gap: float) -> Measure:
    """Build the model (timed), solve it (timed), verify the plan independently."""
    t0 = time.perf_counter()
    model = build_model(instance)
    build_s = time.perf_counter() - t0
    raw = run_solver(model, solver, time_limit_s, mip_gap)
    objective = "-"
    if raw.status in ("optimal", "feasible"):
        value = pulp.value(model.objective_expr)
        try:
            ev = verify(instance, decision(model), float(value), proven=raw.status == "optimal")
            objective = f"{ev.objective_value(instance.settings.objective):.2f}"
        except VerificationError as exc:
            objective = f"REJECTED ({exc})"
    if raw.mip_gap is not None:
        gap = f"{100 * raw.mip_gap:.3f}%"
    else:
        gap = f"<= {100 * mip_gap:g}% (proven)" if raw.status == "optimal" else "unknown"
    return Measure(len(instance.projects), solver, len(model.prob.variables()),
                   len(model.prob.constraints), build_s, raw.seconds, raw.status, gap, objective)


def format_measure(r: Measure) -> str:
    return (f"{r.size:>8} {r.solver:<6} {r.variables:>6} {r.rows:>6} {r.build_s:>8.2f} "
            f"{r.solve_s:>8.2f}  {r.status:<9} {r.gap:<18} {r.objective}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 300])
    parser.add_argument("--time-limit", type=float, default=60.0, dest="time_limit")
    parser.add_argument("--solvers", nargs="+", choices=("highs", "cbc"), default=["highs", "cbc"])
    parser.add_argument("--mip-gap", type=float, default=0.0001, dest="mip_gap")
    args = parser.parse_args(argv)
    print(f"Synthetic portfolios: {HORIZON} years, {WINDOW}-year start windows, {N_MINERALS} "
          f"minerals, carry-over, objective weighted; mip_gap {args.mip_gap:g}, time limit "
          f"{args.time_limit:g} s, 1 thread; seed {SEED}; {platform.machine()}, "
          f"{os.cpu_count()} cores")
    print(f"{'projects':>8} {'solver':<6} {'vars':>6} {'rows':>6} {'build s':>8} {'solve s':>8}  "
          f"{'status':<9} {'gap':<18} objective")
    for size in args.sizes:
        instance = synthetic_instance(size)
        for solver in args.solvers:
            print(format_measure(measure(instance, solver, args.time_limit, args.mip_gap)),
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
