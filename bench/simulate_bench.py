"""Time the Monte Carlo of a 40-project funded portfolio over a 25-year horizon, with losses.

A synthetic, seeded portfolio (5 minerals with China-share targets, plants and offtakes, capex
ranges, build times 0..5 years, some contract terms, budgets a few per cent over the plan) in 5
countries with yearly loss-event probabilities 0..3% (one with its own delay parameters), some
projects with their own yearly loss probability, is funded at random allowed start years, and
simulate() is timed for 10,000 draws (best of 5) and 100,000 draws (best of 3); then the same plan
without any loss (a version 1 workbook) and with every loss probability doubled. A print, not a
test: ``.venv/bin/python bench/simulate_bench.py``.

``--measure-v1 [COMMIT]`` (default f2f1feb, version 1) also times version 1's code on the same
plan, in a new process, just after the "without losses" line: ``git archive COMMIT`` into a
temporary folder, and that commit's own bench/simulate_bench.py builds the portfolio (the same
seeded plan, in version 1's fields). It prints both figures and the load average, so that the
two are compared on the same machine at the same time.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np

from optimizer.evaluate import allowed_starts, evaluate
from optimizer.instance import Country, Instance, Mineral, Project, Settings
from optimizer.results import Result, SolveInfo
from optimizer.analyses.simulate import simulate

FIRST, HORIZON, N_PROJECTS = 2026, 25, 40
COUNTRIES = (Country("Australia", loss_probability=0.0),
             Country("Canada", loss_probability=0.005),
             Country("Chile", loss_probability=0.01, delay_probability=0.5, max_delay_years=4),
             Country("Kazakhstan", loss_probability=0.02),
             Country("DR Congo", loss_probability=0.03))


def portfolio(seed: int = 2025, losses: bool = True) -> Result:
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
            pid, pid, "offtake" if offtake else "plant", mineral.mineral,
            COUNTRIES[j % len(COUNTRIES)].country if losses else "USA",
            capex_low_musd=low, capex_high_musd=high, build_years=build,
            earliest_start=FIRST, latest_start=FIRST + 12,
            capacity_tpa=float(rng.uniform(0.02, 0.15)) * mineral.us_demand_t,
            npv_musd=float(rng.uniform(-50, 400)),
            operating_years=int(rng.integers(5, 15)) if offtake else None,
            loss_probability=0.01 if losses and j % 3 == 0 else 0.0,
        )
    inst = Instance(settings=settings, minerals=minerals, projects=projects,
                    budget={t: 0.0 for t in settings.years}, name="simulate_bench",
                    countries={c.country: c for c in COUNTRIES} if losses else {})
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


REPO = Path(__file__).resolve().parent.parent
VERSION_1 = "f2f1feb"
# Run in the extracted commit: its own bench builds its portfolio, timed as this bench does.
V1_SCRIPT = """
import inspect, sys, time
sys.path.insert(0, sys.argv[1])
import optimizer
from bench.simulate_bench import portfolio
from optimizer.analyses.simulate import simulate
assert optimizer.__file__.startswith(sys.argv[1]), optimizer.__file__
plain = {"losses": False} if "losses" in inspect.signature(portfolio).parameters else {}
result = portfolio(**plain)  # version 1's bench has no losses
simulate(result, 1000)
best = float("inf")
for _ in range(5):
    t0 = time.perf_counter()
    simulate(result, 10_000)
    best = min(best, time.perf_counter() - t0)
print(best, sorted(result.starts.items()) == sorted(eval(sys.argv[2]).items()))
"""


def time_commit(commit: str, starts: dict[str, int]) -> tuple[float, bool]:
    """Best of 5 of simulate(10,000 draws) with ``commit``'s code on its own bench portfolio
    without losses, in a new process (seconds), and whether it has the same start years."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit], check=True,
                             capture_output=True).stdout
    with tempfile.TemporaryDirectory() as folder:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        out = subprocess.run([sys.executable, "-c", V1_SCRIPT, folder, repr(starts)], cwd=folder,
                             check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), out[1] == "True"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure-v1", nargs="?", const=VERSION_1, default=None,
                        metavar="COMMIT", help="also time this commit's code on the same plan "
                        f"(default {VERSION_1}, version 1)")
    args = parser.parse_args()
    result = portfolio()
    simulate(result, 1000)  # warm-up (imports, first allocations)
    t10k = best_of(5, lambda: simulate(result, 10_000))
    t100k = best_of(3, lambda: simulate(result, 100_000))
    plain = portfolio(losses=False)
    simulate(plain, 1000)
    t10k_v1 = best_of(5, lambda: simulate(plain, 10_000))
    old = time_commit(args.measure_v1, plain.starts) if args.measure_v1 else None
    sim = simulate(result, 10_000)
    doubled = simulate(result, 10_000, loss_multiplier=2.0)
    print(f"simulate() on {len(result.starts)} funded projects in {len(COUNTRIES)} countries, "
          f"{HORIZON}-year horizon (Python {platform.python_version()}, numpy {np.__version__}):")
    print(f"  10,000 draws  (best of 5): {t10k * 1000:8.1f} ms  with losses")
    print(f"  100,000 draws (best of 3): {t100k * 1000:8.1f} ms  with losses")
    print(f"  10,000 draws  (best of 5): {t10k_v1 * 1000:8.1f} ms  without losses (version 1)")
    if old is not None:
        seconds, same = old
        print(f"  10,000 draws  (best of 5): {seconds * 1000:8.1f} ms  without losses, commit "
              f"{args.measure_v1}'s code in a new process"
              + ("" if same else " (WARNING: its portfolio has other start years)"))
        print("  load average (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    print(f"  total capex $M P10/P50/P90: {sim.capex_summary.p10:,.0f} / "
          f"{sim.capex_summary.p50:,.0f} / {sim.capex_summary.p90:,.0f} "
          f"(plan {sim.planned_total_capex:,.0f})")
    print(f"  NPV $M P10/P50/P90: {sim.npv_summary.p10:,.0f} / {sim.npv_summary.p50:,.0f} / "
          f"{sim.npv_summary.p90:,.0f} (plan {sim.planned_npv:,.0f})")
    print(f"  P(any cumulative budget row exceeded) = {sim.p_any_year_exceeded:.3f}; "
          f"P(total budget exceeded) = {sim.p_total_budget_exceeded:.3f}")
    print(f"  P(every target met in {result.instance.settings.target_year}) = "
          f"{sim.p_all_targets_met:.3f}; with every loss probability doubled "
          f"{doubled.p_all_targets_met:.3f}")
    for c in sim.countries:
        print(f"  {c.country:<10} loss {c.loss_probability:.3f}/y: event by "
              f"{result.instance.settings.last_year} in {c.p_event:.3f} of draws, "
              f"{c.mean_projects_lost:.2f} of {c.funded_projects} funded projects lost on average")


if __name__ == "__main__":
    main()
