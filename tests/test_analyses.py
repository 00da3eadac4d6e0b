"""Why-not reasons (one hand-made case per reason) and budget sensitivity, worked by hand."""

from __future__ import annotations

import pytest

from optimizer.pipeline import analyse
from optimizer.analyses.sensitivity import budget_sensitivity
from optimizer.analyses.whynot import explain_rejections
from optimizer.resolve import Parallel
from optimizer.solve import solve
from test_model_hand import instance, project


def why_instance():
    """Horizon 2026..2031, budget 50 a year, npv objective, discount 0.
    E1 (NPV 30) and E2 (NPV 20) share a site: E1 is funded, E2 is excluded.
    U (NPV -50) is needed by R (NPV 20): together -30, so neither; R -> requires, U -> forced cost 50
        (forcing U in, the best is U + R = -30: a loss of 30).
    N (a 4-year build that may only start in 2030) has no start with all spending in the horizon.
    L (capex all in its start year, build 8, NPV -1) cannot come online before 2034.
    F (NPV -10) costs 10 when forced in.   I (capex 1000 in one year) cannot fit any budget."""
    return instance([
        project("E1", npv=30, exclusive_group="site"),
        project("E2", npv=20, exclusive_group="site"),
        project("U", npv=-50),
        project("R", npv=20, requires=("U",)),
        project("N", capex=10, build=4, start=(2030, 2030), npv=5),
        project("L", capex=10, build=8, cap=100, npv=-1, capex_profile=(1.0,)),
        project("F", npv=-10),
        project("I", capex=1000, build=1, npv=100),
    ], budget=50)


@pytest.mark.parametrize("workers", [1, 2])
def test_each_why_not_reason(workers):
    result = solve(why_instance())
    assert set(result.starts) == {"E1"}
    why = explain_rejections(result, parallel=Parallel(workers=workers, progress=False))
    reasons, note = why.reasons, why.note
    kinds = {pid: r["kind"] for pid, r in reasons.items()}
    assert kinds == {"E2": "excluded", "U": "forced_cost", "R": "requires", "N": "no_start",
                     "L": "not_online", "F": "forced_cost", "I": "forced_infeasible"}
    assert "E1" in reasons["E2"]["reason"]
    assert "U" in reasons["R"]["reason"]
    assert reasons["F"]["objective_loss"] == pytest.approx(10)
    assert reasons["U"]["objective_loss"] == pytest.approx(30)
    assert "budget" in reasons["I"]["reason"]
    assert note == ""


def test_why_not_limits_resolves_to_the_closest():
    """Five rejected projects need re-solves; with limit 2 only the two closest (NPV -1, -2) are
    re-solved, the rest are marked not evaluated and the note says so."""
    inst = instance([project(f"P{k}", npv=-k) for k in range(1, 6)], budget=0)
    result = solve(inst)
    why = explain_rejections(result, parallel=Parallel(workers=1, progress=False), limit=2)
    reasons, note = why.reasons, why.note
    assert {p for p, r in reasons.items() if r["kind"] == "forced_cost"} == {"P1", "P2"}
    assert {p for p, r in reasons.items() if r["kind"] == "not_evaluated"} == {"P3", "P4", "P5"}
    assert "2 of 5" in note


def test_budget_sensitivity_by_hand():
    """Five projects each cost 10 in 2026 with NPV 10; only 2026 has a budget (30).
    -30%: 21 -> 2 funded (20); -20%: 24 -> 2; -10%: 27 -> 2; base 30 -> 3; +10/20/30% -> 3.
    Base capital 30 $M: -10% removes 3 $M and loses 10, i.e. 10 / 0.003 = 3333.3 per $1B."""
    inst = instance([project(f"P{k}", capex=10, build=1, npv=10) for k in range(5)],
                    budget={2026: 30})
    rows = budget_sensitivity(solve(inst), parallel=Parallel(workers=1, progress=False)).rows
    by_change = {round(r["budget_change"], 2): r for r in rows}
    assert [by_change[c]["objective_value"] for c in (-0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3)] == \
        pytest.approx([20, 20, 20, 30, 30, 30, 30])
    assert by_change[-0.1]["objective_per_extra_busd"] == pytest.approx(10 / 0.003)
    assert by_change[0.1]["objective_per_extra_busd"] == pytest.approx(0)
    assert by_change[0.0]["objective_per_extra_busd"] is None


def test_sensitivity_reports_infeasible_cuts():
    """A must-fund project costing 28 in 2026 with a budget of 30: cuts of 10% and more make it
    infeasible, and the row says so instead of failing."""
    inst = instance([project("M", capex=28, build=1, npv=1, must_fund=True)], budget={2026: 30})
    rows = {round(r["budget_change"], 2): r for r in budget_sensitivity(solve(inst), parallel=Parallel(workers=1, progress=False)).rows}
    assert rows[-0.1]["status"] == "infeasible" and rows[-0.1]["objective_value"] is None
    assert rows[0.1]["status"] == "optimal"


def test_no_sensitivity_marks_the_analyses_skipped():
    result = analyse(solve(why_instance()), sensitivity=False)
    tables = result.analyses.tables()
    assert "stress_test" in tables  # always computed: no re-solve
    assert {k: v for k, v in tables.items() if k != "stress_test"} == {"sensitivity_skipped": True}


def test_why_not_names_the_risk_limit():
    inst = instance([project("A", npv=10, risk=0.9), project("B", npv=5, risk=0.3)], budget=0,
                    max_project_risk=0.8)
    reasons = explain_rejections(solve(inst), parallel=Parallel(workers=1, progress=False)).reasons
    assert reasons["A"]["kind"] == "risk" and "0.90" in reasons["A"]["reason"]
