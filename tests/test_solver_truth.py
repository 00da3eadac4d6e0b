"""The status says "optimal" only when the solver proved it; otherwise the gap is reported."""

from __future__ import annotations

import random

import pytest

from optimizer.instance import Instance, Mineral, Project, Settings
from optimizer.solve import solve


def hard_knapsack(n: int = 250, m: int = 5, seed: int = 7) -> Instance:
    """A correlated multidimensional knapsack (the hard kind for branch and bound): n items, m
    budget years, tight capacities. No solver proves it optimal in a fraction of a second."""
    rng = random.Random(seed)
    s = Settings(first_year=2026, horizon_years=m, discount_rate=0.0, objective="npv",
                 capex_basis="low", mip_gap=0.0)
    projects = {}
    totals = [0.0] * m
    for i in range(n):
        w = [rng.randint(1, 1000) for _ in range(m)]
        for j in range(m):
            totals[j] += w[j]
        cost = float(sum(w))
        profile = tuple(x / cost for x in w)
        pid = f"P{i}"
        projects[pid] = Project(pid, pid, "plant", "X", "KZ", cost, cost, m, 2026, 2026, 0.0,
                                sum(w) / m + rng.randint(1, 500), capex_profile=profile)
    budget = {2026 + j: 0.25 * totals[j] for j in range(m)}
    return Instance(s, {"X": Mineral("X", 1.0, 0.0)}, projects, budget)


def test_time_limit_gives_feasible_with_a_gap_not_optimal():
    r = solve(hard_knapsack(), time_limit_s=0.5, mip_gap=0.0)
    assert r.info.status == "feasible"
    assert r.info.mip_gap is not None and r.info.mip_gap > 0
    assert "proven" not in r.info.status_words
    assert f"{100 * r.info.mip_gap:.2f}%" in r.info.status_words
    assert r.info.best_bound >= r.objective_value - 1e-6


def test_cbc_time_limit_reports_feasible_and_unknown_gap():
    r = solve(hard_knapsack(), solver="cbc", time_limit_s=1.0, mip_gap=0.0)
    assert r.info.status == "feasible"
    assert r.info.mip_gap is None
    assert "unknown" in r.info.status_words


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_proven_optimum_says_so(solver):
    r = solve(hard_knapsack(n=12, m=2), solver=solver, mip_gap=0.0)
    assert r.info.status == "optimal"
    assert r.info.status_words == "proven optimal"
