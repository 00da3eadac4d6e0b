"""Time the Monte Carlo of a 40-project funded portfolio over a 25-year horizon.

A synthetic, seeded portfolio (5 minerals with China-share targets, plants and offtakes, capex
ranges, build times 0..5 years, some contract terms, budgets a few per cent over the plan) is
funded at random allowed start years, and simulate() is timed for 10,000 draws (best of 5) and
100,000 draws (best of 3). A print, not a test: ``.venv/bin/python bench/simulate_bench.py``.
"""

from __future__ import annotations

import platform
import time

import numpy as np

from optimizer.evaluate import allowed_starts, evaluate
from optimizer.instance import Instance, Mineral, Project, Settings
from optimizer.results import Result, SolveInfo
from optimizer.analyses.simulate import simulate

FIRST, HORIZON, N_PROJECTS = 2026, 25, 40


def portfolio(seed: int = 2025) -> Result:
    rng = np.random.default_rng(seed)
    settings = Settings(first_year=FIRST, horizon_years=HORIZON, target_year=FIRST + 10,
                        budget_carryover=True)
    minerals = {
        f"M{i}": Mineral(f"M{i}", us_demand_t=float(rng.uniform(1e3, 1e5)),
                         china_share=float(rng.uniform(0.4, 0.9)),
                         demand_growth=float(rng.uniform(0.0, 0.05)),
                         target_china_share=float(rng.uniform(0.2, 0.5)))
        for i in range(5)
    }
    projects = {}
    for j in range(N_PROJECTS):
        mineral = minerals[f"M{j % 5}"]
        offtake = j % 4 == 3
        low = 0.0 if offtake else float(rng.uniform(50, 600))
        high = low if offtake or j % 7 == 0 else low * float(rng.uniform(1.1, 1.8))
        build = 0 if offtake else int(rng.integers(1, 6))
        pid = f"P{j:02d}"
        projects[pid] = Project(
            pid, pid, "offtake" if offtake else "plant", mineral.mineral, "USA",
            capex_low_musd=low, capex_high_musd=high, build_years=build,
            earliest_start=FIRST, latest_start=FIRST + 12,
            capacity_tpa=float(rng.uniform(0.02, 0.15)) * mineral.us_demand_t,
            npv_musd=float(rng.uniform(-50, 400)),
            operating_years=int(rng.integers(5, 15)) if offtake else None,
        )
    inst = Instance(settings=settings, minerals=minerals, projects=projects,
                    budget={t: 0.0 for t in settings.years}, name="simulate_bench")
    starts = {pid: int(rng.choice(allowed_starts(inst, pid))) for pid in projects}
    # Budgets with a little headroom over the plan at the capex basis: 4% a year (cumulative,
    # with carry-over) and 1.5% in total, so that the overrun probabilities are informative.
    planned = evaluate(inst, starts)
    inst = inst.with_budget({t: 1.04 * v for t, v in planned.spend.items()}).with_settings(
        total_budget_musd=1.015 * planned.total_capex)
    info = SolveInfo(status="optimal", solver="bench", mip_gap=0.0, best_bound=None,
                     solve_seconds=0.0, build_seconds=0.0, model_objective=None)
    return Result(inst, starts, evaluate(inst, starts), info)


def best_of(repeats: int, func) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    result = portfolio()
    simulate(result, 1000)  # warm-up (imports, first allocations)
    t10k = best_of(5, lambda: simulate(result, 10_000))
    t100k = best_of(3, lambda: simulate(result, 100_000))
    sim = simulate(result, 10_000)
    print(f"simulate() on {len(result.starts)} funded projects, {HORIZON}-year horizon "
          f"(Python {platform.python_version()}, numpy {np.__version__}):")
    print(f"  10,000 draws  (best of 5): {t10k * 1000:8.1f} ms")
    print(f"  100,000 draws (best of 3): {t100k * 1000:8.1f} ms")
    print(f"  total capex $M P10/P50/P90: {sim.capex_summary.p10:,.0f} / "
          f"{sim.capex_summary.p50:,.0f} / {sim.capex_summary.p90:,.0f} "
          f"(plan {sim.planned_total_capex:,.0f})")
    print(f"  NPV $M P10/P50/P90: {sim.npv_summary.p10:,.0f} / {sim.npv_summary.p50:,.0f} / "
          f"{sim.npv_summary.p90:,.0f} (plan {sim.planned_npv:,.0f})")
    print(f"  P(any cumulative budget row exceeded) = {sim.p_any_year_exceeded:.3f}; "
          f"P(total budget exceeded) = {sim.p_total_budget_exceeded:.3f}")


if __name__ == "__main__":
    main()
