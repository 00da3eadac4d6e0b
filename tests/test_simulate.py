"""Monte Carlo risk (optimizer/simulate.py) checked against analytic truth.

Every sampled figure is compared with its exact value within 4 standard errors of 200,000 draws
(the seed is fixed, so each check passes or fails the same way every run). Hand cases use one or two
projects on a short horizon starting 2026; money $M, tonnes t, calendar years.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

import optimizer.analyses.simulate as simulate_module
from optimizer.cashflow import capital_pv_factor, cash_flows
from optimizer.evaluate import evaluate
from optimizer.families import violations
from optimizer.instance import Country, Instance, Mineral, Project, Scenario, Settings
from optimizer.outputs import read_analyses
from optimizer.results import Result, SolveInfo
from optimizer.risk import expected_npv_at_start, mean_capex, project_risk, spend_probability
from optimizer.analyses.scenarios import apply
from optimizer.analyses.simulate import (Simulation, SimulationTables, simulate,
                                         triangular_from_uniform)
from helpers import make_result

N = 200_000
Z = 4.0  # standard errors allowed
FIRST = 2026


# ---------------------------------------------------------------------------------------------
# Builders and analytic formulas


def project(pid="P", *, low=100.0, high=None, build=1, cap=0.0, npv=0.0, mineral="m",
            operating_years=None, capex_profile=(), country="USA", loss=0.0,
            delay_probability=None, max_delay_years=None) -> Project:
    return Project(pid, pid, "plant", mineral, country, capex_low_musd=low,
                   capex_high_musd=low if high is None else high, build_years=build,
                   earliest_start=FIRST, latest_start=FIRST + 9, capacity_tpa=cap, npv_musd=npv,
                   operating_years=operating_years, capex_profile=capex_profile,
                   loss_probability=loss, delay_probability=delay_probability,
                   max_delay_years=max_delay_years)


def make(projects, starts, *, budget=1e6, mineral=None, horizon=10, countries=(),
         **settings) -> Result:
    """A Result funding ``starts`` (project_id -> start year); ``budget`` a number for every year
    or a dict year -> $M (missing years 0); ``countries`` Country rows."""
    s = Settings(first_year=FIRST, horizon_years=horizon, **settings)
    mineral = mineral or Mineral("m", us_demand_t=1000.0, china_share=0.5)
    if isinstance(budget, dict):
        budget = {t: float(budget.get(t, 0.0)) for t in s.years}
    else:
        budget = {t: float(budget) for t in s.years}
    inst = Instance(settings=s, minerals={mineral.mineral: mineral},
                    projects={p.project_id: p for p in projects}, budget=budget,
                    countries={c.country: c for c in countries})
    info = SolveInfo(status="optimal", solver="test", mip_gap=0.0, best_bound=None,
                     solve_seconds=0.0, build_seconds=0.0, model_objective=None)
    return Result(inst, dict(starts), evaluate(inst, starts), info)


def tri_cdf(x, a, c, b):
    if x <= a:
        return 0.0
    if x >= b:
        return 1.0
    if x <= c:
        return (x - a) ** 2 / ((b - a) * (c - a))
    return 1.0 - (b - x) ** 2 / ((b - a) * (b - c))


def tri_quantile(q, a, c, b):
    fc = (c - a) / (b - a)
    if q < fc:
        return a + math.sqrt(q * (b - a) * (c - a))
    return b - math.sqrt((1.0 - q) * (b - a) * (b - c))


def tri_pdf(x, a, c, b):
    if x < c:
        return 2.0 * (x - a) / ((b - a) * (c - a))
    if x > c:
        return 2.0 * (b - x) / ((b - a) * (b - c))
    return 2.0 / (b - a)


def tri_mean_var(a, c, b):
    return (a + b + c) / 3.0, (a * a + b * b + c * c - a * b - a * c - b * c) / 18.0


def assert_prob(sampled, exact, n=N):
    se = math.sqrt(max(exact * (1.0 - exact), 1e-12) / n)
    assert abs(sampled - exact) <= Z * se, (sampled, exact, se)


def assert_mean(sampled, exact, var, n=N):
    se = math.sqrt(var / n)
    assert abs(sampled - exact) <= Z * se + 1e-12, (sampled, exact, se)


# ---------------------------------------------------------------------------------------------
# Capex: triangular over [low, high] with the mode at the capex basis


@pytest.mark.parametrize("basis, mode", [("low", 100.0), ("mid", 200.0), ("high", 300.0)])
def test_triangular_capex_mean_tail_and_quantiles(basis, mode):
    """One project, capex triangular(100, mode, 300), all spent in its start year against a budget
    of 220 that year and a total budget of 220."""
    a, b, c, limit = 100.0, 300.0, mode, 220.0
    res = make([project(low=a, high=b, build=1)], {"P": FIRST}, budget={FIRST: limit},
               capex_basis=basis, total_budget_musd=limit)
    sim = simulate(res, N)
    mean, var = tri_mean_var(a, c, b)
    assert_mean(sim.capex_summary.mean, mean, var)
    assert sim.total_capex.shape == (N,)
    assert a <= sim.total_capex.min() and sim.total_capex.max() <= b
    tail = 1.0 - tri_cdf(limit, a, c, b)
    assert_prob(sim.p_budget_exceeded[0], tail)
    assert sim.p_budget_exceeded[1:] == (0.0,) * 9
    assert sim.p_any_year_exceeded == sim.p_budget_exceeded[0]
    assert sim.p_total_budget_exceeded == sim.p_budget_exceeded[0]
    for q, got in ((0.1, sim.capex_summary.p10), (0.5, sim.capex_summary.p50),
                   (0.9, sim.capex_summary.p90)):
        x = tri_quantile(q, a, c, b)
        se = math.sqrt(q * (1 - q) / N) / tri_pdf(x, a, c, b)
        assert abs(got - x) <= Z * se, (q, got, x, se)
    assert sim.mean_spend[0] == pytest.approx(sim.capex_summary.mean, rel=1e-12)
    assert sim.planned_spend[0] == pytest.approx(res.evaluation.capex["P"])


def test_inverse_cdf_of_an_asymmetric_triangle():
    """triangular(100, 150, 300): the inverse CDF maps F(x) back to x, on both sides of the mode."""
    a, c, b = 100.0, 150.0, 300.0
    xs = np.linspace(a, b, 41)
    u = np.array([tri_cdf(x, a, c, b) for x in xs])
    got = triangular_from_uniform(u, np.full_like(u, a), np.full_like(u, c), np.full_like(u, b))
    np.testing.assert_allclose(got, xs, rtol=0, atol=1e-9)


def test_constant_capex_when_low_equals_high():
    res = make([project(low=80.0, high=80.0), project("Z", low=0.0, high=0.0)],
               {"P": FIRST, "Z": FIRST}, budget=80.0)
    sim = simulate(res, 1000)
    assert np.all(sim.total_capex == 80.0)
    assert sim.capex_summary.std == 0.0
    assert sim.p_any_year_exceeded == 0.0  # 80 against a budget of 80 is within the budget


# ---------------------------------------------------------------------------------------------
# Delay and online year


@pytest.mark.parametrize("p", [0.3, 0.5])
def test_delay_distribution(p):
    res = make([project(build=2)], {"P": FIRST + 1}, delay_probability=p, max_delay_years=3)
    sim = simulate(res, N)
    (row,) = sim.online
    assert row.planned_online == FIRST + 3
    assert_prob(row.p_on_time, 1.0 - p)
    assert len(row.delay_probs) == 4
    assert row.delay_probs[0] == row.p_on_time
    for k in (1, 2, 3):
        assert_prob(row.delay_probs[k], p / 3.0)
    # quantiles of the delay model: CDF 0.7/0.8/0.9/1 for p = 0.3, 0.5/0.667/0.833/1 for p = 0.5
    expected = {0.3: (0, 0, 2), 0.5: (0, 0, 3)}[p]
    assert (row.p10, row.p50, row.p90) == tuple(FIRST + 3 + k for k in expected)


@pytest.mark.parametrize("p, kmax, on_time", [(0.0, 3, 1.0), (1.0, 3, 0.0), (0.7, 0, 1.0)])
def test_delay_edge_cases(p, kmax, on_time):
    res = make([project(build=2)], {"P": FIRST}, delay_probability=p, max_delay_years=kmax)
    (row,) = simulate(res, 5000).online
    assert row.p_on_time == on_time
    if p == 1.0:
        assert sum(row.delay_probs[1:]) == 1.0
        assert row.p10 > row.planned_online


def test_npv_expectation_with_delay_only():
    """Capex fixed (low == high) at 50, spent in the start year (build 1): a delay of k moves the
    operating flows, worth npv + 50 at the start year, k years later and keeps the capital, so
    NPV_k = disc(start) x (-50 + (npv + 50) (1+r)^-k) and
    E[NPV] = disc(start) x (-50 + (npv + 50) ((1-p) + p/3 x sum_k (1+r)^-k))."""
    p, r, npv, start = 0.3, 0.08, 100.0, FIRST + 2
    res = make([project(low=50.0, high=50.0, npv=npv)], {"P": start}, delay_probability=p,
               max_delay_years=3, discount_rate=r)
    sim = simulate(res, N)
    disc = (1 + r) ** -(start - FIRST)
    values = np.array([disc * (-50.0 + (npv + 50.0) * (1 + r) ** -k) for k in range(4)])
    probs = np.array([1 - p, p / 3, p / 3, p / 3])
    mean = float(values @ probs)
    var = float((values - mean) ** 2 @ probs)
    assert mean == pytest.approx(disc * (-50.0 + (npv + 50.0) * (
        (1 - p) + p / 3 * sum((1 + r) ** -k for k in (1, 2, 3)))))
    assert_mean(sim.npv_summary.mean, mean, var)
    assert set(np.round(np.unique(sim.npv), 9)) <= set(np.round(values, 9))
    assert sim.planned_npv == pytest.approx(npv * disc)


def test_npv_expectation_with_overrun_and_delay():
    """Capex X ~ triangular(100, 100, 300) at basis low, spent in the start year: the overrun
    lowers NPV one for one (at the start year); the operating flows, worth npv + 100 at the start
    year, move k years later. X and k are independent, so with disc = (1+r)^-1
    E[NPV] = disc x (-E[X] + (npv + 100) E[(1+r)^-k]),
    Var[NPV] = disc^2 x (Var X + (npv + 100)^2 Var[(1+r)^-k])."""
    p, r, npv = 0.3, 0.05, 150.0
    res = make([project(low=100.0, high=300.0, npv=npv)], {"P": FIRST + 1}, delay_probability=p,
               max_delay_years=3, discount_rate=r, capex_basis="low")
    sim = simulate(res, N)
    cmean, cvar = tri_mean_var(100.0, 100.0, 300.0)
    factors = np.array([(1 + r) ** -k for k in range(4)])
    probs = np.array([1 - p, p / 3, p / 3, p / 3])
    y_mean, y_sq = float(factors @ probs), float(factors ** 2 @ probs)
    disc, ops = 1 / (1 + r), npv + 100.0
    mean = disc * (-cmean + ops * y_mean)
    var = disc ** 2 * (cvar + ops ** 2 * (y_sq - y_mean ** 2))
    assert_mean(sim.npv_summary.mean, mean, var)


# ---------------------------------------------------------------------------------------------
# China-share target


@pytest.mark.parametrize("operating_years, p_all", [(None, "1-p"), (1, 0.0)])
def test_target_met_only_without_delay(operating_years, p_all):
    """Demand 1000 t, 80% China-dependent, target 50% from 2029. An offtake delivering 400 t/y
    from 2029 (build 0) brings the share to 40%: met in 2029 only if it is not delayed. With a
    one-year term the later years miss the target whatever happens."""
    p = 0.3
    mineral = Mineral("m", us_demand_t=1000.0, china_share=0.8, target_china_share=0.5)
    off = project("OFF", low=0.0, build=0, cap=400.0, operating_years=operating_years)
    res = make([off], {"OFF": FIRST + 3}, mineral=mineral, target_year=FIRST + 3,
               delay_probability=p, max_delay_years=3)
    sim = simulate(res, N)
    (row,) = sim.targets
    assert (row.mineral, row.target_year, row.target_china_share) == ("m", FIRST + 3, 0.5)
    assert row.planned_china_share == pytest.approx(0.4)
    assert_prob(row.p_met, 1.0 - p)
    assert row.p_met == sim.online[0].p_on_time  # met exactly in the draws without a slip
    assert sim.p_all_targets_met == row.p_met
    if p_all == "1-p":
        assert row.p_met_all_years == row.p_met
    else:
        assert row.p_met_all_years == p_all
    table = sim.to_tables()["simulation_targets"]
    version_1 = ("mineral", "target_china_share", "target_year", "p_met", "planned_china_share",
                 "p_met_all_years")
    assert [{k: r[k] for k in version_1} for r in table] == [
        {"mineral": "m", "target_china_share": 0.5, "target_year": FIRST + 3,
         "p_met": row.p_met, "planned_china_share": row.planned_china_share,
         "p_met_all_years": row.p_met_all_years}]
    # the China share in 2029 is 40% in the 70% of draws without a slip, else 80%
    assert [(r["china_share_p10"], r["china_share_p50"], r["china_share_p90"])
            for r in table] == [(pytest.approx(0.4), pytest.approx(0.4), pytest.approx(0.8))]


def test_no_targets_without_target_year():
    res = make([project()], {"P": FIRST})
    sim = simulate(res, 100)
    assert sim.targets == () and sim.p_all_targets_met is None
    assert sim.to_tables()["simulation_targets"] == []


# ---------------------------------------------------------------------------------------------
# Budgets: per year and with carry-over


@pytest.mark.parametrize("carryover", [False, True])
def test_budget_rows_with_and_without_carryover(carryover):
    """Capex X ~ triangular(60, 100, 140) spent half in 2026, half in 2027; budgets 60 and 40.
    Per year: 2026 over when X/2 > 60 (X > 120), 2027 when X/2 > 40 (X > 80); any: X > 80.
    Cumulative: 2026 when X > 120, 2027 when X > 100 (60 + 40); any: X > 100."""
    a, c, b = 60.0, 100.0, 140.0
    res = make([project(low=a, high=b, build=2)], {"P": FIRST}, budget={FIRST: 60.0,
                                                                        FIRST + 1: 40.0},
               budget_carryover=carryover)
    sim = simulate(res, N)
    first, second = (120.0, 80.0) if not carryover else (120.0, 100.0)
    assert_prob(sim.p_budget_exceeded[0], 1 - tri_cdf(first, a, c, b))
    assert_prob(sim.p_budget_exceeded[1], 1 - tri_cdf(second, a, c, b))
    assert sim.p_any_year_exceeded == max(sim.p_budget_exceeded[:2])
    # later years have no budget and no spend: nothing per year, the 2027 test cumulatively
    later = sim.p_budget_exceeded[1] if carryover else 0.0
    assert sim.p_budget_exceeded[2:] == (later,) * 8
    rows = sim.to_tables()["simulation_budget"]
    assert [r["test"] for r in rows] == ["cumulative" if carryover else "year"] * 10
    assert rows[0]["planned_spend_musd"] == pytest.approx(50.0)


def test_carryover_later_years_are_cumulative():
    """With carry-over, 2028 (budget 0) is over when cumulative spend 0.5X + 0.5X = X > 100."""
    a, c, b = 60.0, 100.0, 140.0
    res = make([project(low=a, high=b, build=2)], {"P": FIRST}, budget={FIRST: 60.0,
                                                                        FIRST + 1: 40.0},
               budget_carryover=True)
    sim = simulate(res, N)
    exact = 1 - tri_cdf(100.0, a, c, b)
    assert all(v == sim.p_budget_exceeded[1] for v in sim.p_budget_exceeded[1:])
    assert_prob(sim.p_budget_exceeded[2], exact)


# ---------------------------------------------------------------------------------------------
# Without uncertainty the simulation is the deterministic evaluation


def test_degenerate_simulation_equals_evaluate():
    """No delays and fixed capex: every draw is the plan of evaluate.py, budget rows included
    (GA-PLANT spends exactly the budget of 60 in 2027 and 2028: within the budget)."""
    base = make_result(delay_probability=0.0)
    inst = base.instance
    fixed = {pid: dataclasses.replace(p, capex_high_musd=p.capex_low_musd)
             for pid, p in inst.projects.items()}
    inst = inst.with_projects(fixed)
    ev = evaluate(inst, base.starts)
    res = dataclasses.replace(base, instance=inst, evaluation=ev)
    sim = simulate(res, 2000)
    np.testing.assert_allclose(sim.npv, ev.npv_musd, rtol=1e-12)
    np.testing.assert_allclose(sim.total_capex, ev.total_capex, rtol=1e-12)
    assert sim.p_budget_exceeded == tuple(
        float(ev.row_spend[t] > ev.row_budget[t] + 1e-6 * max(1, ev.row_budget[t]))
        for t in inst.settings.years)
    assert violations(inst, ev) == [] and sim.p_any_year_exceeded == 0.0
    np.testing.assert_allclose(sim.mean_spend, sim.planned_spend, rtol=1e-12)
    for row in sim.targets:
        assert row.p_met == 1.0 and row.p_met_all_years == 1.0
    assert all(r.p_on_time == 1.0 and r.p90 == r.planned_online for r in sim.online)


# ---------------------------------------------------------------------------------------------
# Reproducibility, chunking, streams


def _same(a: Simulation, b: Simulation) -> bool:
    return (np.array_equal(a.total_capex, b.total_capex) and np.array_equal(a.npv, b.npv)
            and a == b and a.to_tables() == b.to_tables())


def test_same_seed_same_figures_and_other_seed_differs():
    res = make_result()
    one, two = simulate(res, 20_000, seed=7), simulate(res, 20_000, seed=7)
    assert _same(one, two)
    other = simulate(res, 20_000, seed=8)
    assert not np.array_equal(one.total_capex, other.total_capex)
    assert not np.array_equal(one.npv, other.npv)
    assert _same(simulate(res, 5000), simulate(res, 5000, seed=res.instance.settings.seed))
    assert simulate(res, 5000).seed == res.instance.settings.seed


def test_chunking_does_not_change_any_figure(monkeypatch):
    res = make_result(budget_carryover=True, total_budget_musd=130.0, min_npv_musd=35.0)
    whole = simulate(res, 3001, seed=3)
    monkeypatch.setattr(simulate_module, "CHUNK_ELEMENTS", 1)
    monkeypatch.setattr(simulate_module, "MIN_CHUNK_DRAWS", 97)  # 31 uneven chunks
    chunked = simulate(res, 3001, seed=3, progress=True)
    assert _same(whole, chunked)


def test_a_projects_draws_do_not_depend_on_the_rest_of_the_portfolio():
    """Common random numbers: adding a fixed-cost project B (listed first) leaves A's draws
    alone."""
    a = project("A", low=100.0, high=300.0, build=2)
    b = project("B", low=40.0, high=40.0, build=1)
    alone = simulate(make([a, b], {"A": FIRST + 1}), 5000)
    both = simulate(make([b, a], {"B": FIRST, "A": FIRST + 1}), 5000)
    np.testing.assert_allclose(both.total_capex - 40.0, alone.total_capex, rtol=0, atol=1e-9)
    assert [r for r in both.online if r.project_id == "A"] == list(alone.online)


# ---------------------------------------------------------------------------------------------
# Tables, histogram, inputs


def test_tables_and_histogram():
    res = make_result(total_budget_musd=130.0, min_npv_musd=35.0)
    sim = simulate(res, 4000)
    tables = sim.to_tables(histogram_bins=12)
    assert set(tables) == {"simulation_summary", "simulation_budget", "simulation_targets",
                           "simulation_online", "simulation_risks", "simulation_settings",
                           "simulation_histogram"}
    summary = {row["measure"]: row for row in tables["simulation_summary"]}
    assert summary["total capex $M"]["planned"] == res.evaluation.total_capex
    assert summary["NPV $M"]["p10"] <= summary["NPV $M"]["p50"] <= summary["NPV $M"]["p90"]
    assert [row["year"] for row in tables["simulation_budget"]] == list(res.instance.settings.years)
    assert [row["project_id"] for row in tables["simulation_online"]] == res.funded_ids
    events = [row["event"] for row in tables["simulation_risks"]]
    assert any("total budget" in e for e in events) and any("minimum NPV" in e for e in events)
    for measure in ("total_capex", "npv"):
        rows = sim.histogram(measure, bins=12)
        assert len(rows) == 12 and sum(r["count"] for r in rows) == 4000
        assert rows[0]["bin_low_musd"] == sim.values(measure).min()
        assert sum(r["share"] for r in rows) == pytest.approx(1.0)
    assert len(tables["simulation_histogram"]) == 24
    assert "simulation_histogram" not in sim.to_tables(histogram_bins=None)
    with pytest.raises(ValueError):
        sim.values("irr")
    with pytest.raises(ValueError):
        sim.total_capex[0] = 1.0  # read-only


def test_empty_portfolio():
    res = make([project()], {})
    sim = simulate(res, 50)
    assert np.all(sim.total_capex == 0.0) and np.all(sim.npv == 0.0)
    assert sim.online == () and sim.p_any_year_exceeded == 0.0


@pytest.mark.parametrize("kwargs", [{"draws": 0}, {"draws": 1.5}, {"draws": 10, "seed": -1}])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        simulate(make_result(), **kwargs)


# ---------------------------------------------------------------------------------------------
# The vectorized simulation against evaluate.py, one draw at a time


@pytest.mark.parametrize("carryover", [False, True])
def test_each_draw_matches_evaluate_of_that_draw(carryover):
    """Regenerate each project's uniforms, turn every draw into a deterministic instance (capex
    fixed at the drawn value along the planned profile, build time longer by the slip, npv_musd
    less the overrun and discounted by the slip) and let evaluate.py account for it: per-draw
    capex and NPV, budget rows, targets and slips must agree with the vectorized run.

    Money by the one rule of cashflow.py: the capital c is spent on the planned schedule (present
    value c x F at the start year, F = sum_o f[o] (1+r)^-o) and the operating flows, worth
    npv_musd + mode x F at the start year, move k years later: npv_musd of the draw is
    -c x F + (npv_musd + mode x F) (1+r)^-k."""
    base = make_result(delay_probability=0.5, budget_carryover=carryover,
                       total_budget_musd=200.0, min_npv_musd=62.0)
    inst = base.instance.with_minerals({
        **base.instance.minerals,
        "graphite": dataclasses.replace(base.instance.minerals["graphite"],
                                        target_china_share=0.45)})
    starts = {"GA-PLANT": 2027, "GR-OFFTAKE": 2026, "GR-PLANT": 2026}
    res = dataclasses.replace(base, instance=inst, starts=starts,
                              evaluation=evaluate(inst, starts))
    s = inst.settings
    n, seed = 400, 11
    sim = simulate(res, n, seed=seed)

    pids = res.funded_ids
    uniforms = {pid: simulate_module.project_stream(seed, pid).random((n, 3)) for pid in pids}
    totals, npvs, slips = np.empty(n), np.empty(n), {pid: np.empty(n, int) for pid in pids}
    over = np.zeros(len(s.years))
    any_over = total_over = below = 0
    met = {m: [0, 0] for m in ("gallium", "graphite")}
    for i in range(n):
        projects = dict(inst.projects)
        for pid in pids:
            p = inst.projects[pid]
            u_cap, u_slip, u_size = uniforms[pid][i]
            mode = p.capex(s.capex_basis)
            cap = float(triangular_from_uniform(np.array(u_cap), p.capex_low_musd, mode,
                                                p.capex_high_musd))
            k = 1 + min(int(u_size * 3), 2) if u_slip < s.delay_probability else 0
            slips[pid][i] = k
            projects[pid] = dataclasses.replace(
                p, capex_low_musd=cap, capex_high_musd=cap, build_years=p.build_years + k,
                capex_profile=p.spend_shares,
                npv_musd=-cap * capital_pv_factor(p, s.discount_rate)
                + (p.npv_musd + mode * capital_pv_factor(p, s.discount_rate))
                * (1 + s.discount_rate) ** -k)
        ev = evaluate(inst.with_projects(projects), starts)
        totals[i], npvs[i] = ev.total_capex, ev.npv_musd
        row_over = [ev.row_spend[t] > ev.row_budget[t] + 1e-6 * max(1.0, ev.row_budget[t])
                    for t in s.years]
        over += row_over
        any_over += any(row_over)
        total_over += ev.total_capex > s.total_budget_musd + 1e-6 * s.total_budget_musd
        below += ev.npv_musd < s.min_npv_musd - 1e-6 * s.min_npv_musd
        for m in met:
            target = inst.minerals[m].target_china_share
            ok = [ev.share_after[m][t] <= target + 1e-7 for t in s.years if t >= s.target_year]
            met[m][0] += ok[0]
            met[m][1] += all(ok)

    np.testing.assert_allclose(sim.total_capex, totals, rtol=1e-12)
    np.testing.assert_allclose(sim.npv, npvs, rtol=1e-12, atol=1e-12)
    assert sim.p_budget_exceeded == tuple(over / n)
    assert 0 < sim.p_any_year_exceeded == any_over / n
    assert sim.p_total_budget_exceeded == total_over / n
    assert 0 < sim.p_below_min_npv == below / n < 1
    for row in sim.targets:
        assert (row.p_met, row.p_met_all_years) == (met[row.mineral][0] / n,
                                                    met[row.mineral][1] / n)
    assert 0 < sim.targets[0].p_met < 1
    for row in sim.online:
        counts = np.bincount(slips[row.project_id], minlength=4) / n
        assert row.delay_probs == tuple(counts)


# ---------------------------------------------------------------------------------------------
# Losses by country and by project (contract: "Risk by country and project")


def peru_offtake(q_c=0.05, q_p=0.1, **settings) -> Result:
    """Demand 1000 t, 80% China-dependent, target 50% from 2029; an offtake in Peru (yearly event
    probability q_c) delivering 400 t/y from 2029 to 2035 (share 40%), its own yearly loss
    probability q_p, no delays: met in 2029 when neither loss has happened by 2029, i.e.
    (1 - q_c)^4 (Peru's event years 2026..2029) x (1 - q_p) (its own years from 2029)."""
    mineral = Mineral("m", us_demand_t=1000.0, china_share=0.8, target_china_share=0.5)
    off = project("OFF", low=0.0, build=0, cap=400.0, country="Peru", loss=q_p)
    return make([off], {"OFF": FIRST + 3}, mineral=mineral, target_year=FIRST + 3,
                delay_probability=0.0, countries=[Country("Peru", loss_probability=q_c)],
                **settings)


def test_losses_by_country_and_by_project_by_hand():
    q_c, q_p = 0.05, 0.1
    sim = simulate(peru_offtake(q_c, q_p), N)
    (row,) = sim.targets
    assert_prob(row.p_met, (1 - q_c) ** 4 * (1 - q_p))
    assert_prob(row.p_met_all_years, (1 - q_c) ** 10 * (1 - q_p) ** 7)  # up to 2035
    assert sim.p_all_targets_met == row.p_met
    assert (row.share_p10, row.share_p50, row.share_p90) == (pytest.approx(0.4),
                                                             pytest.approx(0.4),
                                                             pytest.approx(0.8))
    (country,) = sim.countries
    assert (country.country, country.loss_probability, country.funded_projects) == ("Peru",
                                                                                    q_c, 1)
    assert_prob(country.p_event, 1 - (1 - q_c) ** 10)
    lost_by_2035 = 1 - (1 - q_c) ** 10 * (1 - q_p) ** 7
    assert_prob(country.mean_projects_lost, lost_by_2035)
    assert sim.online[0].p_lost == country.mean_projects_lost == sim.p_any_project_lost


def test_expected_npv_spend_and_delay_follow_the_risk_model():
    """A plant in Chile (event 4%/y; delays from the Countries row: 50%, 1..2 years), its own loss
    6%/y, capex triangular(100, 200, 300) over 3 build years from 2027: the mean NPV is the risk
    model's expected NPV (optimizer.risk), each year's mean spend is mean capex / 3 x P(not lost
    before that year), and the online quantiles are those of the country's delay model."""
    r = 0.07
    plant = project("PL", low=100.0, high=300.0, build=3, npv=80.0, country="Chile", loss=0.06)
    start = FIRST + 1
    res = make([plant], {"PL": start}, discount_rate=r,
               countries=[Country("Chile", loss_probability=0.04, delay_probability=0.5,
                                  max_delay_years=2)])
    inst = res.instance
    sim = simulate(res, N)
    exact = expected_npv_at_start(inst, "PL", start) * (1 + r) ** -(start - FIRST)
    assert abs(sim.npv_summary.mean - exact) <= Z * sim.npv_summary.std / math.sqrt(N)
    risk = project_risk(inst, "PL")
    capex_rms = math.sqrt(tri_mean_var(100.0, 200.0, 300.0)[1] + 200.0 ** 2)
    for year in range(start, start + 3):
        expected = mean_capex(plant, "mid") / 3 * spend_probability(inst, risk, start, year)
        assert_mean(sim.mean_spend[year - FIRST], expected, (capex_rms / 3) ** 2)
    (online,) = sim.online
    assert_prob(online.p_on_time, 0.5)
    assert (online.p10, online.p50, online.p90) == (start + 3, start + 3, start + 5)


@pytest.mark.parametrize("force, spend, total", [
    ({"event_year": {"X": FIRST + 1}, "loss_offset": None}, (40.0, 30.0, 0.0, 0.0), 70.0),
    ({"event_year": None, "loss_offset": {"A": 1, "B": 0}}, (40.0, 30.0, 0.0, 40.0), 110.0),
])
def test_a_lost_project_spends_its_capex_of_that_year_and_nothing_after(force, spend, total):
    """A (capex 90 over 2026..2028, 600 t/y from 2029) and B (capex 40 in 2029) in country X, C
    (capex 10 in 2026) in Y. Forced: X's event in 2027 (A spends 30 + 30; B, starting after it,
    nothing), or A lost in its 2nd year (2027) and B in its 1st (2029, spending its 40). A never
    delivers, so the 50% target of 2029 is never met."""
    r = 0.1
    mineral = Mineral("m", us_demand_t=1000.0, china_share=0.8, target_china_share=0.5)
    projects = [project("A", low=90.0, build=3, cap=600.0, npv=50.0, country="X"),
                project("B", low=40.0, build=1, country="X"),
                project("C", low=10.0, build=1, country="Y")]
    res = make(projects, {"A": FIRST, "B": FIRST + 3, "C": FIRST}, mineral=mineral,
               target_year=FIRST + 3, delay_probability=0.0, discount_rate=r,
               countries=[Country("X", loss_probability=0.01), Country("Y")])
    sim = simulate(res, 50, force=force)
    assert sim.mean_spend[:4] == pytest.approx(spend, abs=1e-12)
    assert sim.planned_spend[:4] == pytest.approx((40.0, 30.0, 30.0, 40.0))
    np.testing.assert_allclose(sim.total_capex, total, rtol=1e-12)
    # C keeps its NPV of 0; A and B only spend
    npv = -sum(v * (1 + r) ** -i for i, v in enumerate(spend)) + 10.0
    np.testing.assert_allclose(sim.npv, npv, rtol=1e-12)
    assert sim.targets[0].p_met == 0.0 and sim.targets[0].share_p90 == pytest.approx(0.8)
    countries = {c.country: c for c in sim.countries}
    assert {c: (r.funded_projects, r.mean_projects_lost) for c, r in countries.items()} == {
        "X": (2, 2.0), "Y": (1, 0.0)}
    assert countries["X"].p_event == (1.0 if force["loss_offset"] is None else 0.0)
    assert countries["Y"].p_event == 0.0
    assert {r.project_id: r.p_lost for r in sim.online} == {"A": 1.0, "B": 1.0, "C": 0.0}


@pytest.mark.parametrize("multiplier, delay", [(1.25, 0), (1.0, 2)])
def test_a_forced_draw_gives_the_npv_of_cash_flows_and_of_evaluate(multiplier, delay):
    """Every capex drawn at 1.25 x the basis, or every project 2 years late: each draw's NPV is
    the one cashflow.cash_flows gives for that change, and the one evaluate gives for the
    scenario of that change (scenarios.apply: operating flows fixed by cashflow.operating_flows);
    spending too."""
    base = make_result(delay_probability=0.5)
    starts = {"GA-PLANT": 2027, "GR-OFFTAKE": 2026, "GR-PLANT": 2026}
    inst = base.instance
    res = dataclasses.replace(base, starts=starts, evaluation=evaluate(inst, starts))
    s = inst.settings
    sim = simulate(res, 30, force={"capex_multiplier": multiplier, "delay": delay})
    by_rule = sum(float(cash_flows(inst.projects[pid], s, start,
                                   capex=multiplier * inst.projects[pid].capex(s.capex_basis),
                                   delay=delay).npv(s.discount_rate, s.first_year)[0])
                  for pid, start in starts.items())
    np.testing.assert_allclose(sim.npv, by_rule, rtol=1e-12)
    scenario = Scenario("forced", capex_multiplier=multiplier, delay_years=delay)
    ev = evaluate(apply(inst, scenario), starts)
    np.testing.assert_allclose(sim.npv, ev.npv_musd, rtol=1e-12)
    np.testing.assert_allclose(sim.total_capex, ev.total_capex, rtol=1e-12)
    np.testing.assert_allclose(sim.mean_spend, [ev.spend[t] for t in s.years], rtol=1e-12,
                               atol=1e-12)
    assert all(r.delay_probs[delay] == 1.0 for r in sim.online)
    if delay == 0:  # without a delay the NPV is the planned one less the discounted overrun
        overrun = sum((multiplier - 1) * inst.projects[pid].capex(s.capex_basis)
                      * capital_pv_factor(inst.projects[pid], s.discount_rate)
                      * s.discount(start) for pid, start in starts.items())
        assert sim.npv[0] == pytest.approx(res.evaluation.npv_musd - overrun, rel=1e-12)


def test_doubling_every_loss_probability():
    """Same draws, every yearly loss probability doubled (capped at 1): the chance of meeting the
    target falls to (1 - 2 q_c)^4 (1 - 2 q_p), and never rises in any draw."""
    q_c, q_p = 0.05, 0.1
    res = peru_offtake(q_c, q_p)
    base, doubled = simulate(res, N), simulate(res, N, loss_multiplier=2.0)
    assert_prob(doubled.targets[0].p_met, (1 - 2 * q_c) ** 4 * (1 - 2 * q_p))
    assert doubled.targets[0].p_met < base.targets[0].p_met
    assert doubled.countries[0].loss_probability == pytest.approx(2 * q_c)
    assert {"setting": "loss_multiplier", "value": 2.0} in doubled.to_tables()[
        "simulation_settings"]
    rows = SimulationTables.of(base, None, scaled=doubled).by_key["simulation_loss_multiplier"]
    assert [(r["target"], r["loss_multiplier"], r["p_met"], r["p_met_scaled"]) for r in rows] == [
        ("m China share at most 0.5 in 2029", 2.0, base.targets[0].p_met,
         doubled.targets[0].p_met),
        ("every China-share target met in the target year", 2.0, base.p_all_targets_met,
         doubled.p_all_targets_met)]
    capped = simulate(res, 1000, loss_multiplier=25.0)  # 25 x 5% and 25 x 10%: certain loss
    assert capped.countries[0].loss_probability == 1.0
    assert capped.countries[0].p_event == 1.0 and capped.targets[0].p_met == 0.0


@pytest.mark.parametrize("multiplier", [-1.0, float("nan"), float("inf"), True, "2"])
def test_invalid_loss_multiplier(multiplier):
    with pytest.raises(ValueError, match="loss_multiplier"):
        simulate(peru_offtake(), 10, loss_multiplier=multiplier)


def _lossy_result(**settings) -> Result:
    """make_result's plan with countries that lose projects and a project with its own loss."""
    base = make_result(**settings)
    inst = base.instance
    projects = dict(inst.projects)
    projects["GA-PLANT"] = dataclasses.replace(projects["GA-PLANT"], loss_probability=0.05)
    inst = dataclasses.replace(inst.with_projects(projects), countries={
        "USA": Country("USA", loss_probability=0.03, delay_probability=0.6, max_delay_years=2),
        "Canada": Country("Canada", loss_probability=0.08)})
    return dataclasses.replace(base, instance=inst, evaluation=evaluate(inst, base.starts))


def test_chunking_and_seed_with_losses(monkeypatch):
    res = _lossy_result(budget_carryover=True, total_budget_musd=130.0, min_npv_musd=35.0)
    whole = simulate(res, 3001, seed=3)
    assert _same(whole, simulate(res, 3001, seed=3))
    assert 0 < whole.p_any_project_lost < 1
    monkeypatch.setattr(simulate_module, "CHUNK_ELEMENTS", 1)
    monkeypatch.setattr(simulate_module, "MIN_CHUNK_DRAWS", 97)  # 31 uneven chunks
    assert _same(whole, simulate(res, 3001, seed=3))


def test_common_random_numbers_per_project_and_country():
    """A in X and B in Z, both with losses: simulated together (B listed first), each draw's NPV
    is the sum of the NPVs of A alone and B alone, and A's loss rate is unchanged."""
    a = project("A", low=100.0, high=300.0, build=2, npv=60.0, country="X", loss=0.05)
    b = project("B", low=40.0, high=80.0, build=1, npv=20.0, country="Z", loss=0.02)
    countries = [Country("X", loss_probability=0.04), Country("Z", loss_probability=0.1)]
    alone_a = simulate(make([a], {"A": FIRST + 1}, countries=countries), 5000)
    alone_b = simulate(make([b], {"B": FIRST}, countries=countries), 5000)
    both = simulate(make([b, a], {"B": FIRST, "A": FIRST + 1}, countries=countries), 5000)
    np.testing.assert_allclose(both.npv, alone_a.npv + alone_b.npv, rtol=0, atol=1e-9)
    np.testing.assert_allclose(both.total_capex, alone_a.total_capex + alone_b.total_capex,
                               rtol=0, atol=1e-9)
    assert [r for r in both.online if r.project_id == "A"] == list(alone_a.online)
    assert [c for c in both.countries if c.country == "X"] == list(alone_a.countries)


def test_delay_parameters_project_then_country_then_settings():
    projects = [project("OWN", country="X", delay_probability=1.0, max_delay_years=1),
                project("CTRY", country="X"), project("SETT", country="Nowhere")]
    res = make(projects, {pid: FIRST for pid in ("OWN", "CTRY", "SETT")},
               countries=[Country("X", delay_probability=0.0)], delay_probability=0.3)
    own, country, settings = simulate(res, 20_000).online
    assert own.p_on_time == 0.0 and own.delay_probs == (0.0, 1.0)
    assert own.p10 == own.planned_online + 1
    assert country.p_on_time == 1.0 and country.p90 == country.planned_online
    assert_prob(settings.p_on_time, 0.7, n=20_000)


def test_tables_with_losses_and_their_round_trip():
    sim = simulate(_lossy_result(), 2000)
    tables = sim.to_tables()
    # countries in the order of the funded projects (GR-OFFTAKE from 2026, GA-PLANT from 2027)
    assert [(r["country"], r["funded_projects"]) for r in tables["simulation_countries"]] == [
        ("Canada", 1), ("USA", 1)]
    assert set(tables["simulation_countries"][0]) == {
        "country", "loss_probability", "funded_projects", "p_event_by_horizon_end",
        "mean_projects_lost"}
    assert all("p_lost" in r for r in tables["simulation_online"])
    assert tables["simulation_risks"][-1] == {
        "event": "at least one funded project lost by 2031", "probability": sim.p_any_project_lost}
    assert {"setting": "loss_multiplier", "value": 1.0} in tables["simulation_settings"]
    assert set(tables["simulation_targets"][0]) >= {"china_share_p10", "china_share_p50",
                                                    "china_share_p90"}
    stored = SimulationTables.of(sim, scaled=simulate(_lossy_result(), 2000,
                                                      loss_multiplier=2.0))
    back = read_analyses(json.loads(json.dumps(stored.tables()))).simulation
    assert back.by_key == json.loads(json.dumps(stored.by_key))
    assert {"simulation_countries", "simulation_loss_multiplier"} <= set(back.by_key)


def test_planned_figures_stay_planned_with_risk_adjusted_settings():
    """With risk_adjusted the plan counts expected figures; the simulation's 'planned' China share
    and NPV are still those of the plan without delay or loss."""
    res = peru_offtake(risk_adjusted=True)
    assert res.evaluation.share_after["m"][FIRST + 3] > 0.4 + 1e-3  # expected, not planned
    sim = simulate(res, 100)
    assert sim.targets[0].planned_china_share == pytest.approx(0.4)
    assert sim.planned_npv == pytest.approx(res.evaluation.planned_npv_musd, abs=1e-9)


def test_folding_the_delivery_tables_changes_no_figure(monkeypatch):
    """The first projects of a mineral folded into one table of every combination of their rows
    (FOLD_ROWS) add the same numbers in the same order as one project at a time (FOLD_ROWS 1),
    with and without losses: every figure is identical (shares, targets met, P10/P50/P90)."""
    mineral = Mineral("m", us_demand_t=1000.0, china_share=0.8, target_china_share=0.45)
    projects = [project(f"P{i}", low=50.0 + i, high=80.0 + i, build=1 + i % 3,
                        cap=60.0 + 25 * i, npv=10.0, country="X" if i % 2 else "Y",
                        loss=0.02 * (i % 3), operating_years=4 + i) for i in range(6)]
    starts = {f"P{i}": FIRST + i % 4 for i in range(6)}
    for countries in ((), (Country("X", loss_probability=0.05),)):
        res = make(projects, starts, mineral=mineral, countries=countries, target_year=FIRST + 5)
        folded = simulate(res, 2001, seed=5)
        monkeypatch.setattr(simulate_module, "FOLD_ROWS", 1)
        one_by_one = simulate(res, 2001, seed=5)
        monkeypatch.undo()
        assert _same(folded, one_by_one)
        assert 0 < folded.targets[0].p_met_all_years < folded.targets[0].p_met < 1
