"""The frontier in the objective's terms: the recommended plan lies on it, for every objective.

Hand-checked instances (the arithmetic in each docstring) and random small instances against
brute force (hypothesis, the instances of test_bruteforce): every plan is enumerated with
``optimizer.evaluate`` alone, so the Pareto set is known without the model.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from helpers import SERIAL, all_plans
from test_bruteforce import instances
from test_model_hand import instance, project

from optimizer.analyses.frontier import (SECURITY_VALUE, SHARE_YEARS, dominates, measure_for,
                                         nondominated, trace_frontier)
from optimizer.evaluate import evaluate
from optimizer.families import violations
from optimizer.instance import Mineral
from optimizer.solve import solve

TOL = 1e-6


def premium_instance(objective: str = "weighted"):
    """One year (2026), discount 0, budget 10; each project costs 10, so one is funded.
    Minerals X and Y: demand 1000 t each, all China-dependent, weight 1; X carries a premium of
    $50,000/t, Y none.
        A (X, 100 t, NPV 0):   share-years 100/1000 = 0.1, security value 100 x 0.05 = $5M
        B (Y, 500 t, NPV 1):   share-years 0.5,            security value $0M
        C (X, 50 t, NPV 0.5):  share-years 0.05,           security value $2.5M
    Weighted (NPV + security value): A 5, B 1, C 3: A is recommended. In share-years B (1, 0.5)
    beats A (0, 0.1) on both counts, so a share-years frontier is B alone and shows A strictly
    inside it (the old frontier). In security value all three are non-dominated:
    B (1, 0), C (0.5, 2.5), A (0, 5)."""
    minerals = {"X": Mineral("X", 1000.0, 1.0, security_premium_usd_per_t=50_000.0),
                "Y": Mineral("Y", 1000.0, 1.0)}
    ps = [project("A", capex=10, cap=100, npv=0, mineral="X"),
          project("B", capex=10, cap=500, npv=1, mineral="Y"),
          project("C", capex=10, cap=50, npv=0.5, mineral="X")]
    return instance(ps, budget={2026: 10}, horizon=1, minerals=minerals, objective=objective)


def rec_row(front, result, measure):
    rows = [p for p in front.points if p["recommended"]]
    assert len(rows) == 1, front.points
    row = rows[0]
    assert row["npv_musd"] == pytest.approx(result.evaluation.npv_musd, abs=TOL)
    assert row[measure.key] == pytest.approx(result.evaluation.objective_value(measure.name),
                                             abs=TOL)
    return row


def test_weighted_frontier_is_in_security_value_and_holds_the_recommended_plan():
    """See premium_instance: the frontier is B, C, A in security value, A (recommended) last;
    no point has more of both than A. The old share-years frontier had B strictly beat A."""
    inst = premium_instance()
    result = solve(inst, tie_break=True)
    assert set(result.starts) == {"A"}
    front = trace_frontier(inst, 3, parallel=SERIAL, recommended=result)
    assert front.measure is SECURITY_VALUE
    got = [(p["funded"], round(p["npv_musd"], 6), round(p["security_premium_musd"], 6),
            p["recommended"]) for p in front.points]
    assert got == [("B", 1, 0, False), ("C", 0.5, 2.5, False), ("A", 0, 5, True)]
    row = rec_row(front, result, SECURITY_VALUE)
    assert not any(dominates(p, row, SECURITY_VALUE.key) for p in front.points)
    assert all(p["measure"] == SECURITY_VALUE.label for p in front.points)
    # the old criterion: B has more NPV and more share-years than the recommended plan
    b = next(p for p in front.points if p["funded"] == "B")
    assert b["npv_musd"] > row["npv_musd"] and b["security_share_years"] > \
        row["security_share_years"]


def test_weighted_recommended_plan_between_the_ends_takes_the_nearest_bound():
    """premium_instance with D (X, 80 t, NPV 0.5: $4M, weighted 4.5) and E (Y, 0 t, NPV 1.2):
    plans (NPV, security value): E (1.2, 0), B (1, 0), C (0.5, 2.5), D (0.5, 4), A (0, 5).
    Weighted: E 1.2, B 1, C 3, D 4.5, A 5: A still wins. Make A's NPV -1 (weighted 4): D wins
    (4.5) and sits between the ends E (1.2, 0) and A (-1, 5). With 3 points the one inner
    bound (2.5) is nearest D's 4 (the only bound): D takes its place, and no solve is made for
    it. Points: E (1.2, 0), D (0.5, 4), A (-1, 5); C (0.5, 2.5) is beaten by D."""
    inst = premium_instance()
    minerals = inst.minerals
    ps = [project("A", capex=10, cap=100, npv=-1, mineral="X"),
          project("B", capex=10, cap=500, npv=1, mineral="Y"),
          project("C", capex=10, cap=50, npv=0.5, mineral="X"),
          project("D", capex=10, cap=80, npv=0.5, mineral="X"),
          project("E", capex=10, cap=0, npv=1.2, mineral="Y")]
    inst = instance(ps, budget={2026: 10}, horizon=1, minerals=minerals, objective="weighted")
    result = solve(inst, tie_break=True)
    assert set(result.starts) == {"D"}
    front = trace_frontier(inst, 3, parallel=SERIAL, recommended=result)
    got = [(p["funded"], round(p["npv_musd"], 6), round(p["security_premium_musd"], 6),
            p["recommended"]) for p in front.points]
    assert got == [("E", 1.2, 0, False), ("D", 0.5, 4, True), ("A", -1, 5, False)]
    assert [what for what, _ in front.timings] == ["end of highest NPV",
                                                   "end of highest security value"]


def test_weighted_without_premiums_has_one_point_and_no_inner_solve():
    """premium_instance with no premium at all: the weighted objective is NPV alone, B (NPV 1)
    is recommended and every plan's security value is 0. Both ends are B (highest NPV; and
    among the plans of the most security value, 0, the highest NPV), so nothing lies between
    them: one point, the recommended plan, after the two end solves only."""
    inst = premium_instance()
    inst = inst.with_minerals({k: Mineral(m.mineral, m.us_demand_t, m.china_share)
                               for k, m in inst.minerals.items()})
    result = solve(inst, tie_break=True)
    front = trace_frontier(inst, 11, parallel=SERIAL, recommended=result)
    assert [(p["funded"], p["recommended"]) for p in front.points] == [("B", True)]
    assert len(front.timings) == 2


def tie_instance(objective: str):
    """One year, discount 0, budget 10, one project of capex 10 funded; demand 1000 t, all
    China-dependent (share-years = tonnes / 1000).
    npv:      A (NPV 10, 100 t), B (NPV 10, 300 t), C (NPV 5, 600 t). Highest NPV 10: A and B
              tie; B removes more (0.3 against 0.1), so B is recommended and is point 1;
              frontier B (10, 0.3), C (5, 0.6).
    security: A (NPV 10, 600 t), B (NPV 5, 600 t), C (NPV 20, 100 t). Most removed 0.6: A and B
              tie; A has more NPV, so A is recommended and is the last point;
              frontier C (20, 0.1), A (10, 0.6)."""
    minerals = {"Sb": Mineral("Sb", 1000.0, 1.0)}
    if objective == "npv":
        specs = [("A", 10, 100), ("B", 10, 300), ("C", 5, 600)]
    else:
        specs = [("A", 10, 600), ("B", 5, 600), ("C", 20, 100)]
    ps = [project(pid, capex=10, cap=cap, npv=npv) for pid, npv, cap in specs]
    return instance(ps, budget={2026: 10}, horizon=1, minerals=minerals, objective=objective)


@pytest.mark.parametrize("objective,chosen,expected", [
    ("npv", "B", [("B", 10, 0.3, True), ("C", 5, 0.6, False)]),
    ("security", "A", [("C", 20, 0.1, False), ("A", 10, 0.6, True)]),
])
def test_ties_are_broken_so_the_recommended_plan_is_an_end(objective, chosen, expected):
    """See tie_instance."""
    inst = tie_instance(objective)
    result = solve(inst, tie_break=True)
    assert set(result.starts) == {chosen}
    assert result.info.status == "optimal"
    front = trace_frontier(inst, 5, parallel=SERIAL, recommended=result)
    assert front.measure is SHARE_YEARS
    got = [(p["funded"], round(p["npv_musd"], 6), round(p["security_share_years"], 6),
            p["recommended"]) for p in front.points]
    assert got == expected
    # the recommended plan is one end, not solved again: only the other end was
    assert [what for what, _ in front.timings][0] == ("end of highest reliance removed"
                                                     if objective == "npv" else
                                                     "end of highest NPV")


def test_tie_break_keeps_the_objective_value():
    """The second stage may only choose among plans of the same objective value (within 1e-7):
    both tie_instance plans of the optimum have NPV 10."""
    inst = tie_instance("npv")
    plain, broken = solve(inst), solve(inst, tie_break=True)
    assert broken.objective_value == pytest.approx(plain.objective_value, rel=1e-7)
    assert broken.evaluation.security >= plain.evaluation.security - 1e-12


@pytest.mark.parametrize("points", [3, 5])
def test_second_stage_takes_the_most_security_among_plans_of_equal_npv(points):
    """One year, budget 10, one project of capex 10 funded; demand 1000 t, all China-dependent.
    R (NPV 10, 0 t), P (NPV 5, 500 t), Q (NPV 5, 700 t), T (NPV 0, 1000 t). The ends are R
    and T; at the bound 0.5 (3 points; 5 points: 0.25, 0.5, 0.75) both P and Q reach the best
    NPV, 5. Q removes more (0.7 against 0.5), so P, weakly dominated, is never a point (without
    the second stage HiGHS returns P here). Frontier: R (10, 0), Q (5, 0.7), T (0, 1)."""
    minerals = {"Sb": Mineral("Sb", 1000.0, 1.0)}
    specs = [("R", 10, 0), ("P", 5, 500), ("Q", 5, 700), ("T", 0, 1000)]
    ps = [project(pid, capex=10, cap=cap, npv=npv) for pid, npv, cap in specs]
    inst = instance(ps, budget={2026: 10}, horizon=1, minerals=minerals, objective="npv")
    front = trace_frontier(inst, points, parallel=SERIAL)
    assert [(p["funded"], round(p["npv_musd"], 6), round(p["security_share_years"], 6))
            for p in front.points] == [("R", 10, 0), ("Q", 5, 0.7), ("T", 0, 1)]


def test_nondominated_keeps_the_recommended_row_among_duplicates():
    a = {"npv_musd": 1.0, "security_share_years": 0.5, "recommended": False}
    b = {"npv_musd": 1.0 + 1e-9, "security_share_years": 0.5, "recommended": True}
    c = {"npv_musd": 0.5, "security_share_years": 0.4, "recommended": False}  # beaten by both
    assert nondominated([a, b, c]) == [b]


# ---------------------------------------------------------------- brute force


def pareto_truth(inst):
    """(npv, security share-years, security value, objective value) of every feasible plan."""
    plans = []
    for starts in all_plans(inst):
        ev = evaluate(inst, starts)
        if not violations(inst, ev):
            plans.append(ev)
    return plans


def beaten(npv: float, sec: float, plans, measure) -> bool:
    """Whether some plan has at least as much NPV and security and more of one (beyond TOL)."""
    def more(a, b):
        return a > b + TOL * max(1.0, abs(b))

    def at_least(a, b):
        return a >= b - TOL * max(1.0, abs(b))

    return any(at_least(ev.npv_musd, npv) and at_least(ev.objective_value(measure.name), sec)
               and (more(ev.npv_musd, npv) or more(ev.objective_value(measure.name), sec))
               for ev in plans)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(instances(), st.sampled_from(["npv", "security", "weighted"]))
def test_recommended_plan_lies_on_the_frontier_against_brute_force(inst, objective):
    """For each objective: every frontier point is Pareto-optimal among all plans (NPV against
    the objective's security measure); the recommended plan is one of the points and no plan at
    all beats it on both; the ends are the best NPV and the best security measure; with npv or
    security, no plan of the optimal value has more of the other criterion."""
    assume(len(inst.projects) <= 5)
    inst = inst.with_settings(objective=objective)
    plans = pareto_truth(inst)
    assume(plans)
    measure = measure_for(objective)
    result = solve(inst, tie_break=True)
    best = max(ev.objective_value(objective) for ev in plans)
    assert math.isclose(result.objective_value, best, rel_tol=1e-6, abs_tol=1e-6)
    if objective != "weighted":
        other = "security" if objective == "npv" else "npv"
        tied = [ev.objective_value(other) for ev in plans
                if ev.objective_value(objective) >= best - 1e-6 * max(1.0, abs(best))]
        most = max(tied)
        assert result.evaluation.objective_value(other) >= most - 1e-6 * max(1.0, abs(most))
    front = trace_frontier(inst, 4, parallel=SERIAL, recommended=result)
    assert front.points, front.note
    for p in front.points:
        assert not beaten(p["npv_musd"], p[measure.key], plans, measure), p
    row = rec_row(front, result, measure)
    assert not beaten(row["npv_musd"], row[measure.key], plans, measure)
    assert not any(dominates(p, row, measure.key) for p in front.points)
    top_npv = max(ev.npv_musd for ev in plans)
    top_sec = max(ev.objective_value(measure.name) for ev in plans)
    assert front.points[0]["npv_musd"] == pytest.approx(top_npv, rel=1e-6, abs=1e-6)
    assert front.points[-1][measure.key] == pytest.approx(top_sec, rel=1e-6, abs=1e-6)
