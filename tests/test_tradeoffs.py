"""Frontier, alternatives, scenarios and the price of robustness on hand-made instances."""

from __future__ import annotations

from dataclasses import replace

import pytest

from optimizer.analyses.alternatives import alternatives_table, find_alternatives
from optimizer.evaluate import evaluate
from optimizer.families import violations
from optimizer.analyses.frontier import (budget_ladder, first_stage, lexicographic,
                                         second_stage, trace_frontier)
from optimizer.instance import Mineral, Scenario
from optimizer.analyses.scenarios import compare_scenarios, robust_price
from optimizer.solve import solve

from helpers import SERIAL
from test_model_hand import instance, project


def pareto_instance(objective="npv"):
    """One year (2026), demand 1000 t all China-dependent, discount 0; each project costs 10 in
    2026 and the budget is 20, so at most two are funded.
        A: NPV 10, 0 t    B: NPV 5, 300 t    C: NPV 0, 600 t    D: NPV -5, 1000 t
    Pairs (NPV, security = displaced / demand, capped at 1):
        AB (15, 0.3)  AC (10, 0.6)  AD (5, 1.0)  BC (5, 0.9)  BD (0, 1.0)  CD (-5, 1.0)
    Non-dominated: AB, AC, AD (BC is dominated by AD; BD and CD by AD)."""
    minerals = {"Sb": Mineral("Sb", 1000.0, 1.0)}
    ps = [project("A", capex=10, npv=10), project("B", capex=10, cap=300, npv=5),
          project("C", capex=10, cap=600, npv=0), project("D", capex=10, cap=1000, npv=-5)]
    return instance(ps, budget={2026: 20}, horizon=1, minerals=minerals, objective=objective)


@pytest.mark.parametrize("floor", [None, 0.5])
def test_the_stages_solved_apart_give_the_lexicographic_answer(floor):
    """The frontier solves the top end's second stage apart from its first (beside the inner
    bounds). Highest security (1.0: AD, BD or CD), then highest NPV among them: AD (NPV 5), with
    or without the floor security >= 0.5; the first stage alone need not be AD."""
    inst = pareto_instance()
    whole = lexicographic(inst, "security", "npv", floor)
    first = first_stage(inst, "security", floor)
    apart = second_stage(inst, "security", "npv", floor, first)
    assert sorted(whole.result.starts) == sorted(apart.result.starts) == ["A", "D"]
    assert apart.result.evaluation.npv_musd == pytest.approx(5)
    assert first.result.evaluation.objective_value("security") == pytest.approx(1.0)


@pytest.mark.parametrize("points", [2, 5, 11])
def test_frontier_finds_exactly_the_pareto_points(points):
    inst = pareto_instance()
    front = trace_frontier(inst, points, parallel=SERIAL).points
    got = [(round(p["npv_musd"], 6), round(p["security_share_years"], 6), p["funded"]) for p in front]
    if points == 2:  # only the extremes
        assert got == [(15, 0.3, "A, B"), (5, 1.0, "A, D")]
    else:
        assert got == [(15, 0.3, "A, B"), (10, 0.6, "A, C"), (5, 1.0, "A, D")]
        assert front[1]["added"] == "C" and front[1]["dropped"] == "B"
    for p in front:
        starts = {pid: 2026 for pid in p["funded"].split(", ")}
        assert not violations(inst, evaluate(inst, starts))


def test_budget_ladder_by_hand():
    """Total budgets 10, 20, 30 with the yearly budget raised to 40: NPV objective funds A (10),
    then A+B (15), then A+B+C (15; C adds nothing, ties broken by the solver, so check values)."""
    inst = pareto_instance().with_budget({2026: 40.0})
    rows = budget_ladder(inst, [10, 20, 30], parallel=SERIAL).rows
    assert [r["objective_value"] for r in rows] == pytest.approx([10, 15, 15])
    assert rows[0]["funded"] == "A" and rows[1]["funded"] == "A, B"


def test_alternatives_are_distinct_feasible_and_within_the_bound():
    """Weighted objective = NPV here (no premium). Optimum AB = 15. Within 40% (>= 9): AC (10) only
    among the pairs; singles A (10) also qualifies. So up to 2 alternatives, values 10 and 10."""
    inst = pareto_instance()
    base = solve(inst)
    assert set(base.starts) == {"A", "B"}
    alts, _ = find_alternatives(base, 5, within=0.4)
    sets = [frozenset(a.starts) for a in alts]
    assert len(set(sets)) == len(sets) and frozenset(base.starts) not in sets
    assert sets and all(a.objective_value >= 15 * 0.6 - 1e-9 for a in alts)
    assert set(sets) == {frozenset({"A", "C"}), frozenset({"A"})}
    for a in alts:
        assert not violations(inst, evaluate(inst, a.starts))
    table = alternatives_table(base, alts)
    assert table[0]["objective_below_optimum"] == pytest.approx(5)


def test_scenarios_mark_robust_choices():
    """Base funds A and B (NPV 10 + 5). Money follows the one cash-flow rule (version 2): each
    project's operating flow is fitted once (build 0, one operating year, no discounting in year
    0: flow = npv + capex, so A 20, B 15, C 10, D 5).
    'costly' (capex x1.5: 15 each, budget 20): one project; NPV = flow - 15: A 5, B 0: A, 5.
    'npv_up' (operating flows x1.5): NPV = 1.5 flow - 10: A 20, B 12.5, C 5, D -2.5: A and B,
    32.5. A is funded in every scenario, B in some."""
    inst = pareto_instance()
    inst = replace(inst, scenarios=(Scenario("costly", capex_multiplier=1.5),
                                    Scenario("npv_up", npv_multiplier=1.5)))
    out = compare_scenarios(solve(inst), parallel=SERIAL).tables()
    rows = {r["scenario"]: r for r in out["scenarios"]}
    assert rows["base"]["objective_value"] == pytest.approx(15)
    assert rows["costly"]["objective_value"] == pytest.approx(5)
    assert rows["npv_up"]["objective_value"] == pytest.approx(32.5)
    verdict = {r["project_id"]: r["funded_in"] for r in out["scenario_projects"]}
    assert verdict == {"A": "every scenario", "B": "some scenarios"}


def test_a_lost_country_funds_nothing_there_and_releases_its_must_fund():
    """Country UA lost: B (UA, must-fund) and C (requires B) leave; A alone remains (NPV 10)."""
    ps = [project("A", capex=10, npv=10),
          replace(project("B", capex=10, npv=5, must_fund=True), country="UA"),
          project("C", capex=0, npv=3, requires=("B",))]
    inst = replace(instance(ps, budget={2026: 20}, horizon=1),
                   scenarios=(Scenario("Ukraine lost", lost_countries=("UA",)),))
    out = compare_scenarios(solve(inst), parallel=SERIAL).tables()
    lost = out["scenarios"][1]
    assert lost["objective_value"] == pytest.approx(10) and lost["funded_count"] == 1
    assert "UA" in lost["note"] and "Must-fund B released" in lost["note"]


def test_robust_price_at_the_gamma_where_the_answer_changes():
    """See test_model_hand.test_robust_gamma_protects_against_overruns: at gamma 2 only A (10)
    fits, against A+B (18) nominal: the price of robustness is 8."""
    ps = [project("A", capex=40, high=60, build=1, npv=10),
          project("B", capex=40, high=60, build=1, npv=8)]
    inst = instance(ps, budget={2026: 100}, robust_gamma=2)
    rows = robust_price(solve(inst)).rows
    assert rows[0]["objective_value"] == pytest.approx(18)
    assert rows[1]["objective_value"] == pytest.approx(10)
    assert rows[1]["price_of_robustness"] == pytest.approx(8)
