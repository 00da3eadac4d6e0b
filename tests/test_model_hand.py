"""Hand-checkable instances: each docstring works the optimum out; the solver must agree.

All instances start in 2026. Money in $M, tonnes in t. Every solve is also checked by the
independent verifier inside ``solve`` (a disagreement would raise VerificationError).
"""

from __future__ import annotations

import pytest

from optimizer.errors import InfeasibleError
from optimizer.evaluate import evaluate
from optimizer.families import violations
from optimizer.instance import Instance, Mineral, Project, Settings
from optimizer.solve import solve

SOLVERS = ["highs", "cbc"]


def project(pid, *, capex=0.0, high=None, build=0, start=(2026, 2026), cap=0.0, npv=0.0,
            mineral="Sb", **kw) -> Project:
    return Project(pid, f"Project {pid}", kw.pop("kind", "plant"), mineral, "KZ", capex,
                   capex if high is None else high, build, start[0], start[1], cap, npv, **kw)


def instance(projects, *, budget, horizon=6, minerals=None, **settings) -> Instance:
    s = Settings(first_year=2026, horizon_years=horizon, discount_rate=settings.pop("discount_rate", 0.0),
                 objective=settings.pop("objective", "npv"), capex_basis=settings.pop("capex_basis", "low"),
                 mip_gap=0.0, **settings)
    minerals = minerals or {"Sb": Mineral("Sb", 1000.0, 0.8)}
    if not isinstance(budget, dict):
        budget = {t: float(budget) for t in s.years}
    budget = {t: budget.get(t, 0.0) for t in s.years}
    return Instance(s, minerals, {p.project_id: p for p in projects}, budget)


@pytest.mark.parametrize("solver", SOLVERS)
def test_timing_choice_puts_the_better_project_first(solver):
    """A (NPV 100) and B (NPV 80) each spend 50 in their start year; the budget is 50 a year and
    both may start in 2026 or 2027; discount 10%.
    A first: 100 + 80/1.1 = 172.727; B first: 80 + 100/1.1 = 170.909. So A in 2026, B in 2027."""
    inst = instance([project("A", capex=50, build=1, start=(2026, 2027), npv=100),
                     project("B", capex=50, build=1, start=(2026, 2027), npv=80)],
                    budget=50, discount_rate=0.10)
    r = solve(inst, solver=solver)
    assert r.starts == {"A": 2026, "B": 2027}
    assert r.objective_value == pytest.approx(100 + 80 / 1.1)
    assert r.info.status == "optimal"


@pytest.mark.parametrize("solver", SOLVERS)
def test_carryover_lets_savings_fund_a_later_start(solver):
    """P spends 100 in its start year (2026..2028), NPV 50; budgets are 40 a year.
    Without carry-over no year has 100: nothing is funded (objective 0). With carry-over the
    cumulative budget is 40, 80, 120: the earliest start that fits is 2028 (objective 50)."""
    projects = [project("P", capex=100, build=1, start=(2026, 2028), npv=50)]
    r = solve(instance(projects, budget=40), solver=solver)
    assert r.starts == {} and r.objective_value == 0
    r = solve(instance(projects, budget=40, budget_carryover=True), solver=solver)
    assert r.starts == {"P": 2028}
    assert r.objective_value == pytest.approx(50)
    assert r.evaluation.row_spend[2028] == pytest.approx(100)
    assert r.evaluation.row_budget[2028] == pytest.approx(120)


@pytest.mark.parametrize("solver", SOLVERS)
def test_dependency_waits_until_the_required_plant_is_online(solver):
    """Plant P (build 3, start 2026..2030, NPV 10) must be online no later than offtake O
    (build 0, start 2026..2031, NPV 100) that requires it. Discount 10%: start both as early as
    possible. P in 2026 is online in 2029, so O starts in 2029: 10 + 100/1.1^3 = 85.131."""
    inst = instance([project("P", build=3, start=(2026, 2030), npv=10),
                     project("O", kind="offtake", start=(2026, 2031), npv=100, requires=("P",))],
                    budget=0, discount_rate=0.10, horizon=8)
    r = solve(inst, solver=solver)
    assert r.starts == {"P": 2026, "O": 2029}
    assert r.objective_value == pytest.approx(10 + 100 / 1.1**3)


@pytest.mark.parametrize("solver", SOLVERS)
def test_dependency_on_an_unfunded_project_keeps_the_dependent_out(solver):
    """O (NPV 100) requires P (NPV -200): funding both gives -100, less than funding nothing (0)."""
    inst = instance([project("P", npv=-200), project("O", npv=100, requires=("P",))], budget=0)
    r = solve(inst, solver=solver)
    assert r.starts == {} and r.objective_value == 0


@pytest.mark.parametrize("solver", SOLVERS)
def test_exclusive_group_funds_one_site(solver):
    """A (NPV 100, capex 60) and B (NPV 90, capex 30) are alternative sites; C (NPV 50, capex 30).
    Budget 90 in 2026 only. A+B would be 190 but is excluded; A+C = 150 beats B+C = 140."""
    inst = instance([project("A", capex=60, build=1, npv=100, exclusive_group="site"),
                     project("B", capex=30, build=1, npv=90, exclusive_group="site"),
                     project("C", capex=30, build=1, npv=50)], budget={2026: 90})
    r = solve(inst, solver=solver)
    assert set(r.starts) == {"A", "C"}
    assert r.objective_value == pytest.approx(150)


@pytest.mark.parametrize("solver", SOLVERS)
def test_target_forces_displacement(solver):
    """Demand 1000 t, China share 0.8, target 0.5 from 2028: at least 300 t displaced from 2028.
    Offtakes (build 0, start 2026..2028): X 200 t NPV +10, Y 150 t NPV -20, Z 400 t NPV -50.
    Without the target only X is funded (10). With it: X+Y (350 t) = -10 beats Z = -50 and
    X+Z = -40; X alone (200 t) falls short."""
    projects = [project("X", kind="offtake", start=(2026, 2028), cap=200, npv=10),
                project("Y", kind="offtake", start=(2026, 2028), cap=150, npv=-20),
                project("Z", kind="offtake", start=(2026, 2028), cap=400, npv=-50)]
    r = solve(instance(projects, budget=0), solver=solver)
    assert set(r.starts) == {"X"}
    minerals = {"Sb": Mineral("Sb", 1000.0, 0.8, target_china_share=0.5)}
    r = solve(instance(projects, budget=0, minerals=minerals, target_year=2028), solver=solver)
    assert set(r.starts) == {"X", "Y"}
    assert r.objective_value == pytest.approx(-10)
    for t in range(2028, 2032):
        assert r.evaluation.share_after["Sb"][t] == pytest.approx(0.45)
    assert r.target_met()["Sb"] <= 2028


def _objective_instance(objective: str) -> Instance:
    """Demand 1000 t, China share 0.5 (500 t exposed), horizon 3 years, discount 0, premium
    100,000 $/t (0.1 $M/t). Budget 10 in 2026 and each project costs 10: only one is funded.
    N: NPV 100, no tonnes.   S: NPV -50, 600 t (displaces 500 t/yr).   W: NPV 20, 300 t.
    npv:      N 100, S -50, W 20                       -> N
    security: N 0, S 3 x 500/1000 = 1.5, W 0.9         -> S
    weighted: N 100, S -50 + 1500 x 0.1 = 100, W 20 + 900 x 0.1 = 110 -> W"""
    minerals = {"Sb": Mineral("Sb", 1000.0, 0.5, security_premium_usd_per_t=100_000.0)}
    projects = [project("N", capex=10, build=1, npv=100),
                project("S", capex=10, build=1, cap=600, npv=-50),
                project("W", capex=10, build=1, cap=300, npv=20)]
    # build 1 would delay deliveries a year: use build 0 with the whole capex in the start year.
    projects = [Project(p.project_id, p.name, p.kind, p.mineral, p.country, 10, 10, 0, 2026, 2026,
                        p.capacity_tpa, p.npv_musd) for p in projects]
    return instance(projects, budget={2026: 10}, horizon=3, minerals=minerals, objective=objective)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("objective,chosen,value", [("npv", "N", 100.0), ("security", "S", 1.5),
                                                    ("weighted", "W", 110.0)])
def test_each_objective_picks_its_own_project(solver, objective, chosen, value):
    r = solve(_objective_instance(objective), solver=solver)
    assert set(r.starts) == {chosen}
    assert r.objective_value == pytest.approx(value)


def test_security_discounting_by_delivery_year():
    """One offtake displacing all 500 exposed tonnes of a 1000 t demand in 2026 and 2027, discount
    10%: security = 0.5 + 0.5/1.1 = 0.954545."""
    minerals = {"Sb": Mineral("Sb", 1000.0, 0.5)}
    inst = instance([project("O", kind="offtake", cap=800, npv=-1)], budget=0, horizon=2,
                    minerals=minerals, objective="security", discount_rate=0.10)
    r = solve(inst)
    assert r.starts == {"O": 2026}
    assert r.objective_value == pytest.approx(0.5 + 0.5 / 1.1)


def test_min_npv_keeps_a_security_plan_financially_sound():
    """Security objective prefers S (1.5) but S has NPV -50; with min_npv 0 only W (0.9) remains."""
    base = _objective_instance("security")
    r = solve(base.with_settings(min_npv_musd=0.0))
    assert set(r.starts) == {"W"} or set(r.starts) == {"N"}
    assert set(r.starts) == {"W"}


def test_must_fund_overrides_a_negative_npv():
    """M has NPV -30 but must be funded: the optimum funds it and nothing else (objective -30)."""
    inst = instance([project("M", npv=-30, must_fund=True)], budget=0)
    r = solve(inst)
    assert r.starts == {"M": 2026} and r.objective_value == pytest.approx(-30)


def test_must_fund_over_budget_is_infeasible_and_names_the_conflict():
    inst = instance([project("M", capex=100, build=1, npv=5, must_fund=True)], budget=40)
    with pytest.raises(InfeasibleError) as err:
        solve(inst)
    text = " ".join(err.value.reasons)
    assert "must-fund" in text and "budget" in text and "M" in text


def test_unreachable_target_is_infeasible_and_names_the_mineral():
    minerals = {"Sb": Mineral("Sb", 1000.0, 0.8, target_china_share=0.1)}
    inst = instance([project("X", kind="offtake", cap=100, npv=1)], budget=0, minerals=minerals,
                    target_year=2027)
    with pytest.raises(InfeasibleError) as err:
        solve(inst)
    text = " ".join(err.value.reasons)
    assert "target" in text and "Sb" in text


def test_spending_must_fall_inside_the_horizon():
    """A 4-year build allowed to start 2026..2030 in a 6-year horizon (2026..2031) can start at
    most in 2028, so that its last spending year (2031) is in the horizon."""
    inst = instance([project("P", capex=40, build=4, start=(2026, 2030), npv=10)], budget=100,
                    discount_rate=-0.0)
    from optimizer.evaluate import allowed_starts

    assert allowed_starts(inst, "P") == [2026, 2027, 2028]


def test_capex_basis_changes_budgets_not_npv():
    """P costs 80 (low) to 120 (high), spent in one year; budget 100. Low and mid (100) fit,
    high does not."""
    projects = [project("P", capex=80, high=120, build=1, npv=10)]
    for basis, funded in (("low", True), ("mid", True), ("high", False)):
        r = solve(instance(projects, budget={2026: 100}, capex_basis=basis))
        assert ("P" in r.starts) == funded, basis


def test_robust_gamma_protects_against_overruns():
    """A and B each cost 40 (basis low) to 60 (high) in 2026; budget 100. Nominal: both fit (80).
    gamma 1: 80 + 20 = 100 still fits. gamma 2: 80 + 40 = 120 does not: only the better (A) stays."""
    projects = [project("A", capex=40, high=60, build=1, npv=10),
                project("B", capex=40, high=60, build=1, npv=8)]
    for gamma, funded in ((0, {"A", "B"}), (1, {"A", "B"}), (2, {"A"})):
        r = solve(instance(projects, budget={2026: 100}, robust_gamma=gamma))
        assert set(r.starts) == funded, gamma


def test_same_workbook_same_answer():
    inst = _objective_instance("weighted")
    first = solve(inst)
    for _ in range(3):
        again = solve(inst)
        assert again.starts == first.starts
        assert again.objective_value == first.objective_value


def test_verifier_rejects_a_plan_over_budget():
    inst = instance([project("A", capex=60, build=1, npv=1)], budget=50)
    assert violations(inst, evaluate(inst, {"A": 2026}))
    assert not violations(inst, evaluate(inst, {}))


def test_risk_limit_keeps_risky_projects_out():
    """A (NPV 10, risk 0.9) and B (NPV 5, risk 0.3); no budget binds. Without a limit both are
    funded (15); with max_project_risk 0.8 only B (5); a must-fund A is then infeasible."""
    projects = [project("A", npv=10, risk=0.9), project("B", npv=5, risk=0.3)]
    assert set(solve(instance(projects, budget=0)).starts) == {"A", "B"}
    r = solve(instance(projects, budget=0, max_project_risk=0.8))
    assert set(r.starts) == {"B"} and r.objective_value == pytest.approx(5)
    forced = [project("A", npv=10, risk=0.9, must_fund=True), project("B", npv=5, risk=0.3)]
    with pytest.raises(InfeasibleError) as err:
        solve(instance(forced, budget=0, max_project_risk=0.8))
    assert "risk" in " ".join(err.value.reasons)
