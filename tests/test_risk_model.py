"""Risk-aware planning in the MILP, checked by hand: ``risk_adjusted`` and ``target_protection``.

The instances are one year long (2026), so that every figure can be worked out on paper: each
project starts in 2026, builds in 0 years and operates 1 year, has no capex and a discount rate of
0, so its planned NPV is ``npv_musd`` and its operating flow in 2026 is ``npv_musd``. Delays are
off (``delay_probability`` 0) unless a test says otherwise. A project in country RISKY is lost in
2026 with probability 0.5, so its expected 2026 delivery and its expected NPV are half the planned
ones; SAFE has no loss. Mineral Sb: demand 1000 t, China share 0.8, target 0.6 in 2026, so a
target row needs (0.8 - 0.6) x 1000 = 200 t displaced.

Every solve is verified inside ``solve`` by the independent evaluation (a disagreement would raise
VerificationError).
"""

from __future__ import annotations

import pytest

from optimizer.diagnose import explain_infeasibility
from optimizer.errors import InfeasibleError
from optimizer.evaluate import evaluate
from optimizer.families import protected_supply, violations
from optimizer.instance import Country, Instance, Mineral, Project, Settings
from optimizer.model import build_model
from optimizer.solve import solve

SOLVERS = ["highs", "cbc"]
YEAR = 2026
COUNTRIES = {"RISKY": Country("RISKY", loss_probability=0.5), "SAFE": Country("SAFE")}


def project(pid: str, country: str, *, cap: float = 0.0, npv: float = 0.0, **kw) -> Project:
    """A project of Sb starting in 2026, no capex, no build time, operating one year (unless
    ``operating_years`` says otherwise)."""
    kw.setdefault("operating_years", 1)
    return Project(pid, f"Project {pid}", "plant", "Sb", country, 0.0, 0.0, 0, YEAR, YEAR, cap,
                   npv, **kw)


def instance(projects: list[Project], *, target: float | None = 0.6, horizon: int = 1,
             **settings) -> Instance:
    """One mineral (Sb, 1000 t, China 0.8), budget 100 $M a year, objective npv, no delays."""
    values = dict(first_year=YEAR, horizon_years=horizon, discount_rate=0.0, objective="npv",
                  capex_basis="low", mip_gap=0.0, delay_probability=0.0,
                  target_year=None if target is None else YEAR)
    s = Settings(**{**values, **settings})
    minerals = {"Sb": Mineral("Sb", 1000.0, 0.8, target_china_share=target)}
    return Instance(s, minerals, {p.project_id: p for p in projects},
                    {t: 100.0 for t in s.years}, countries=COUNTRIES)


# ------------------------------------------------------------------ target protection

def protection_case(**settings) -> Instance:
    """A (RISKY, 300 t, NPV 40), B (SAFE, 250 t, NPV 30), C (SAFE, 210 t, NPV -10); need 200 t."""
    return instance([project("A", "RISKY", cap=300, npv=40), project("B", "SAFE", cap=250, npv=30),
                     project("C", "SAFE", cap=210, npv=-10)], **settings)


@pytest.mark.parametrize("solver", SOLVERS)
def test_without_protection_one_supplier_meets_the_target(solver):
    """Planned figures, no protection: A alone delivers 300 >= 200 t; adding B raises the NPV
    (40 + 30 = 70), C lowers it. Optimum {A, B}, 70."""
    r = solve(protection_case(), solver=solver)
    assert set(r.starts) == {"A", "B"}
    assert r.objective_value == pytest.approx(70.0)


@pytest.mark.parametrize("solver", SOLVERS)
def test_protection_forces_a_second_supplier(solver):
    """Only A and B, k = 1, and B has a negative NPV: A alone meets the target (300 t) and would be
    the plan without protection (NPV 40), but losing A leaves nothing. {A, B}: losing the larger
    (A, 300 t) leaves B's 250 >= 200 t. Optimum {A, B}, 40 - 5 = 35."""
    projects = [project("A", "RISKY", cap=300, npv=40), project("B", "SAFE", cap=250, npv=-5)]
    assert set(solve(instance(projects), solver=solver).starts) == {"A"}
    r = solve(instance(projects, target_protection=1), solver=solver)
    assert set(r.starts) == {"A", "B"}
    assert r.objective_value == pytest.approx(35.0)


@pytest.mark.parametrize("solver", SOLVERS)
def test_protection_drops_the_largest_supplier_of_the_year(solver):
    """k = 1, planned deliveries. {A, C}: losing A (300) leaves 210 >= 200 t, NPV 30; {A, B}:
    losing A leaves 250, NPV 70; {B, C}: losing B leaves 210, NPV 20; {A, B, C} NPV 60.
    Optimum {A, B}, 70. With k = 2 only {A, B, C} keeps 210 t after losing A and B: NPV 60."""
    r = solve(protection_case(target_protection=1), solver=solver)
    assert set(r.starts) == {"A", "B"} and r.objective_value == pytest.approx(70.0)
    r = solve(protection_case(target_protection=2), solver=solver)
    assert set(r.starts) == {"A", "B", "C"} and r.objective_value == pytest.approx(60.0)


def test_the_verifier_checks_protection_from_the_decision_alone():
    """k = 1. {A}: 300 t meets the target, but losing A leaves 0 t: China share 0.8 > 0.6.
    {A, C}: losing A leaves 210 t: share (800 - 210) / 1000 = 0.59 <= 0.6, no violation.
    {B, C} with k = 2: nothing left, share 0.8."""
    inst = protection_case(target_protection=1)
    ev = evaluate(inst, {"A": YEAR})
    assert protected_supply(inst, ev, "Sb", YEAR) == 0.0
    problems = violations(inst, ev)
    assert len(problems) == 1
    assert "Sb: with its 1 largest supplier(s) of 2026 delivering nothing" in problems[0]
    assert "0.800000, above the target 0.600000" in problems[0]
    ev = evaluate(inst, {"A": YEAR, "C": YEAR})
    assert protected_supply(inst, ev, "Sb", YEAR) == 210.0 and violations(inst, ev) == []
    inst2 = protection_case(target_protection=2)
    assert len(violations(inst2, evaluate(inst2, {"B": YEAR, "C": YEAR}))) == 1


def test_protection_applies_only_from_the_target_year_and_with_k_above_zero():
    """Horizon 2026-2027, target year 2027: k = 1 and only A funded breaks the protection in 2027
    alone (one violation); with k = 0 there is no protection row and no violation."""
    inst = instance([project("A", "SAFE", cap=300, npv=40, operating_years=None)], horizon=2,
                    target_year=YEAR + 1, target_protection=1)
    problems = violations(inst, evaluate(inst, {"A": YEAR}))
    assert len(problems) == 1 and "of 2027" in problems[0]
    unprotected = inst.with_settings(target_protection=0)
    assert violations(unprotected, evaluate(unprotected, {"A": YEAR})) == []
    assert "protection" not in build_model(unprotected).rows
    assert list(build_model(inst).rows["protection"]) == [("Sb", YEAR + 1)]


@pytest.mark.parametrize("solver", SOLVERS)
def test_diagnosis_names_the_protection_with_the_shortfall(solver):
    """Two suppliers and k = 2: losing both leaves 0 t against a need of 200 t, so no plan exists.
    Relaxing the targets alone does not help (the protection row still needs 200 t); relaxing the
    protection alone does, with a shortfall of 200 t in 2026."""
    projects = [project("A", "RISKY", cap=300, npv=40), project("B", "SAFE", cap=250, npv=30)]
    inst = instance(projects, target_protection=2)
    with pytest.raises(InfeasibleError):
        solve(inst, solver=solver)
    reasons = explain_infeasibility(inst, solver=solver)
    text = "\n".join(reasons)
    assert "These constraints conflict: the target protection." in text
    assert ("relaxing the target protection: Sb: the China-share target of 60.0% cannot be "
            "protected against losing its 2 largest suppliers in 2026 (1 year): the other funded "
            "projects fall short by up to 200 t a year") in text
    assert "relaxing the China-share targets" not in text


# ------------------------------------------------------------------ risk-adjusted planning

@pytest.mark.parametrize("solver", SOLVERS)
def test_a_high_country_loss_changes_the_chosen_project(solver):
    """A (RISKY, NPV 100) and B (SAFE, NPV 60) are exclusive. Planned: A (100 > 60). Risk-adjusted:
    A is lost in 2026 with probability 0.5, so its expected NPV is 0.5 x 100 = 50 < 60: B."""
    projects = [project("A", "RISKY", npv=100, exclusive_group="g"),
                project("B", "SAFE", npv=60, exclusive_group="g")]
    r = solve(instance(projects, target=None), solver=solver)
    assert set(r.starts) == {"A"} and r.objective_value == pytest.approx(100.0)
    r = solve(instance(projects, target=None, risk_adjusted=True), solver=solver)
    assert set(r.starts) == {"B"} and r.objective_value == pytest.approx(60.0)
    ev = r.evaluation
    assert ev.risk_adjusted and ev.npv_musd == pytest.approx(60.0)


@pytest.mark.parametrize("solver", SOLVERS)
def test_targets_count_expected_deliveries(solver):
    """A (RISKY, 300 t, NPV 40) or B (SAFE, 210 t, NPV 10), exclusive; need 200 t. Planned: A
    (300 t, NPV 40). Risk-adjusted: A's expected delivery is 150 t < 200 t, so only B meets the
    target: B, NPV 10. The evaluation's share counts 210 t; A's would be (800 - 150)/1000."""
    projects = [project("A", "RISKY", cap=300, npv=40, exclusive_group="g"),
                project("B", "SAFE", cap=210, npv=10, exclusive_group="g")]
    r = solve(instance(projects), solver=solver)
    assert set(r.starts) == {"A"}
    inst = instance(projects, risk_adjusted=True)
    r = solve(inst, solver=solver)
    assert set(r.starts) == {"B"} and r.objective_value == pytest.approx(10.0)
    ev = evaluate(inst, {"A": YEAR})
    assert ev.deliveries["Sb"][YEAR] == pytest.approx(150.0)
    assert ev.share_after["Sb"][YEAR] == pytest.approx(0.65)
    assert ev.planned_deliveries["Sb"][YEAR] == 300.0
    assert ev.planned_share_after["Sb"][YEAR] == pytest.approx(0.5)
    assert any("above the target" in v for v in violations(inst, ev))


@pytest.mark.parametrize("solver", SOLVERS)
def test_risk_adjusted_protection_counts_expected_deliveries(solver):
    """k = 1 with expected figures: A 150 t (NPV 20), B 250 t (NPV 30), C 210 t (NPV -10).
    {A, B}: losing B (now the largest) leaves 150 < 200: out. {B, C}: losing B leaves 210, NPV
    20. {A, B, C}: losing B leaves 360, NPV 40. Optimum {A, B, C}, 40. Without protection the
    expected deliveries of {A, B} (400 t) meet the target: {A, B}, NPV 50."""
    r = solve(protection_case(risk_adjusted=True), solver=solver)
    assert set(r.starts) == {"A", "B"} and r.objective_value == pytest.approx(50.0)
    inst = protection_case(risk_adjusted=True, target_protection=1)
    r = solve(inst, solver=solver)
    assert set(r.starts) == {"A", "B", "C"} and r.objective_value == pytest.approx(40.0)
    assert violations(inst, evaluate(inst, {"A": YEAR, "B": YEAR}))


@pytest.mark.parametrize("solver", SOLVERS)
def test_min_npv_counts_expected_npv_and_the_diagnosis_says_by_how_much(solver):
    """Only A (RISKY, NPV 100), must be worth 60: planned 100 >= 60; expected 50, 10 $M short."""
    inst = instance([project("A", "RISKY", npv=100)], target=None, min_npv_musd=60.0)
    assert set(solve(inst, solver=solver).starts) == {"A"}
    risky = inst.with_settings(risk_adjusted=True)
    r = solve(risky.with_settings(min_npv_musd=50.0), solver=solver)
    assert r.evaluation.npv_musd == pytest.approx(50.0)
    with pytest.raises(InfeasibleError):
        solve(risky, solver=solver)
    text = "\n".join(explain_infeasibility(risky, solver=solver))
    assert "the NPV would fall 10.0 $M short of the minimum 60.0 $M" in text


@pytest.mark.parametrize("solver", SOLVERS)
def test_security_objective_counts_expected_displaced_tonnes(solver):
    """Objective security, weight 1: A (RISKY, 300 t) or B (SAFE, 200 t), exclusive, no target.
    Planned: A displaces 300 t, 0.3 share-years. Expected: A 150 t (0.15) < B 200 t (0.2): B."""
    projects = [project("A", "RISKY", cap=300, exclusive_group="g"),
                project("B", "SAFE", cap=200, exclusive_group="g")]
    r = solve(instance(projects, target=None, objective="security"), solver=solver)
    assert set(r.starts) == {"A"} and r.objective_value == pytest.approx(0.3)
    r = solve(instance(projects, target=None, objective="security", risk_adjusted=True),
              solver=solver)
    assert set(r.starts) == {"B"} and r.objective_value == pytest.approx(0.2)


def test_expected_figures_with_delays_and_own_loss():
    """Two years, delays on: P (SAFE, own loss 0.1 a year, delay 0.5 by 1 year, 100 t from 2026
    to the horizon end). Expected delivery 2026: 100 x 0.5 (on time) x 0.9 = 45 t; 2027:
    100 x 1 x 0.9^2 = 81 t. Planned: 100 t in both years."""
    p = Project("P", "P", "plant", "Sb", "SAFE", 0.0, 0.0, 0, YEAR, YEAR, 100.0, 0.0,
                loss_probability=0.1, delay_probability=0.5, max_delay_years=1)
    inst = instance([p], target=None, horizon=2, risk_adjusted=True)
    ev = evaluate(inst, {"P": YEAR})
    assert ev.deliveries["Sb"] == pytest.approx({YEAR: 45.0, YEAR + 1: 81.0})
    assert ev.project_deliveries["P"] == pytest.approx({YEAR: 45.0, YEAR + 1: 81.0})
    assert ev.planned_deliveries["Sb"] == {YEAR: 100.0, YEAR + 1: 100.0}


def test_without_risk_settings_planned_and_counted_figures_are_the_same():
    """risk_adjusted FALSE: every counted figure is the planned one, and the model has no
    protection rows."""
    inst = protection_case()
    ev = evaluate(inst, {"A": YEAR, "B": YEAR})
    assert not ev.risk_adjusted
    assert ev.deliveries == ev.planned_deliveries and ev.share_after == ev.planned_share_after
    assert ev.displaced == ev.planned_displaced
    assert ev.npv_discounted == ev.planned_npv_discounted and ev.npv_musd == ev.planned_npv_musd
    assert ev.npv_musd == 70.0 and ev.deliveries["Sb"][YEAR] == 550.0
