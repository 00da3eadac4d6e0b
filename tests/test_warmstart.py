"""Warm-started re-solves: the repaired base plan, its hand-over to the solver, and the answers.

- :func:`optimizer.repair.repair` keeps a plan that keeps the rules, drops what a re-solve
  excludes, adds a forced-in project and drops the least valuable project in its way (hand-checked
  cases), and never returns a plan that breaks a rule (random instances, hypothesis).
- The start reaches HiGHS and HiGHS takes it: its first incumbent is the start's value.
- The answers do not change: every analysis of a small workbook gives the same objective values
  within the gap with the speed-ups (warm starts, analyses at the same time on two processes) as
  without them (one process, every solve from nothing), and the same plans where the optimum is
  unique (checked by excluding the plan and solving again).
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pulp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer import solvers
from optimizer.analyses import scenarios
from optimizer.analyses.sensitivity import CHANGES, scaled_budget
from optimizer.analyses.whynot import forced, rule_reason
from optimizer.errors import InfeasibleError
from optimizer.evaluate import allowed_starts, evaluate
from optimizer.families import violations
from optimizer.instance import Mineral
from optimizer.model import add_floor, add_no_good_cut, build_model, linear, objective_terms
from optimizer.pipeline import analyse
from optimizer.repair import ModelRows, repair
from optimizer.resolve import Parallel, SolveOptions, resolve, resolve_model
from optimizer.solve import solve
from optimizer.validate import load_instance
from helpers import SERIAL
from test_bruteforce import instances
from test_model_hand import instance, project

GOOD = Path(__file__).parent / "data" / "good.xlsx"
OFF = SolveOptions(warm_start=False)
TWO = Parallel(workers=2, progress=False)


def value(inst, starts) -> float:
    return evaluate(inst, starts).objective_value(inst.settings.objective)


# ---------------------------------------------------------------------------------------------
# The repair, by hand


def three_projects(**kw):
    """Budget 100 in 2026 only; A (capex 50, NPV 10), B (capex 50, NPV 3), C (capex 50, NPV 1),
    each may start in 2026 only. The base plan is {A, B} (NPV 13, the optimum)."""
    return instance([project("A", capex=50, npv=10), project("B", capex=50, npv=3),
                     project("C", capex=50, npv=1, **kw)], budget={2026: 100.0})


def test_a_plan_that_keeps_the_rules_is_kept():
    inst = three_projects()
    assert repair(inst, {"A": 2026, "B": 2026}) == {"A": 2026, "B": 2026}


def test_a_forced_project_goes_in_and_the_least_valuable_rival_goes_out():
    """C forced in: {A, B, C} spends 150 > 100. Dropping A leaves NPV 3 + 1 = 4, dropping B
    leaves 10 + 1 = 11: B goes (the least valuable), and the plan is {A, C}."""
    inst = forced(three_projects(), "C")
    assert repair(inst, {"A": 2026, "B": 2026}) == {"A": 2026, "C": 2026}


def test_a_start_the_resolve_does_not_allow_is_dropped():
    """A may start only in 2027 in the re-solve: its 2026 start is dropped, B stays."""
    inst = three_projects()
    projects = dict(inst.projects)
    projects["A"] = replace(projects["A"], earliest_start=2027, latest_start=2027)
    inst = inst.with_projects(projects).with_budget({t: 100.0 for t in inst.settings.years})
    assert repair(inst, {"A": 2026, "B": 2026}) == {"B": 2026}


def test_a_budget_cut_drops_until_the_plan_fits():
    """Budget 60: one project of 50 fits. Dropping B keeps NPV 10, dropping A keeps 3: B goes."""
    inst = three_projects().with_budget({t: 0.0 for t in range(2026, 2032)} | {2026: 60.0})
    assert repair(inst, {"A": 2026, "B": 2026}) == {"A": 2026}


def test_dependents_go_with_what_they_require():
    """Offtake D (NPV 8, no capex) requires B. Budget 60 keeps one of A and B. Dropping A leaves
    {B, D}: 3 + 8 = 11; dropping B takes D with it and leaves {A}: 10. So A goes."""
    inst = instance([project("A", capex=50, npv=10), project("B", capex=50, npv=3),
                     project("D", kind="offtake", npv=8, requires=("B",))],
                    budget={2026: 60.0})
    assert repair(inst, {"A": 2026, "B": 2026, "D": 2026}) == {"B": 2026, "D": 2026}
    inst = inst.with_projects({**inst.projects, "D": replace(inst.projects["D"], npv_musd=6.0)})
    assert repair(inst, {"A": 2026, "B": 2026, "D": 2026}) == {"A": 2026}  # 10 > 3 + 6


def test_no_plan_when_dropping_cannot_help():
    """A China-share target that only funding more could meet: no start (None)."""
    minerals = {"Sb": Mineral("Sb", 1000.0, 0.8, target_china_share=0.1)}
    inst = instance([project("A", capex=50, cap=100, npv=10)], budget={2026: 100.0},
                    minerals=minerals, target_year=2026)
    assert repair(inst, {"A": 2026}) is None


def test_model_rows_a_no_good_cut_moves_the_start_off_the_base_plan():
    """The alternatives' model excludes {A, B}; with a floor of NPV 10, dropping B ({A}, 10)
    keeps the floor and dropping A ({B}, 3) does not: the start is {A}."""
    inst = three_projects()
    m = build_model(inst)
    add_no_good_cut(m, {"A", "B"})
    add_floor(m, objective_terms(m), 10.0 - 1e-9, "near_optimal")
    rows = ModelRows(m)
    assert rows.broken({"A": 2026, "B": 2026}, evaluate(inst, {"A": 2026, "B": 2026})) == 1
    assert rows.broken({"B": 2026}, evaluate(inst, {"B": 2026})) == 1  # the floor
    assert repair(inst, {"A": 2026, "B": 2026}, rows) == {"A": 2026}


# ---------------------------------------------------------------------------------------------
# The repair on random instances: never a plan that breaks a rule


@st.composite
def instance_and_plan(draw):
    inst = draw(instances())
    plan = {}
    for pid in inst.projects:
        options = [None] + allowed_starts(inst, pid) + [inst.settings.first_year - 1]
        start = draw(st.sampled_from(options))
        if start is not None:
            plan[pid] = start
    force = draw(st.sampled_from([None] + list(inst.projects)))
    return (inst if force is None else forced(inst, force)), plan


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance_and_plan())
def test_a_repaired_plan_keeps_every_rule(case):
    inst, plan = case
    out = repair(inst, plan)
    if out is not None:
        assert not violations(inst, evaluate(inst, out)), out
        assert all(inst.projects[pid].must_fund or pid in plan for pid in out)  # only forced adds
    if all(s in allowed_starts(inst, p) for p, s in plan.items()) and not violations(
            inst, evaluate(inst, plan)):
        assert out == plan  # a plan that keeps the rules is kept as it is


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance_and_plan())
def test_a_start_never_changes_the_optimum(case):
    """With gap 0, the solve with the repaired plan as its start and the solve from nothing
    reach the same objective (the instances of the brute-force test)."""
    inst, plan = case
    start = repair(inst, plan)
    try:
        cold = solve(inst, diagnose=False)
    except InfeasibleError:
        assert start is None  # a start would be a feasible plan
        return
    warm = solve(inst, diagnose=False, start=start)
    assert warm.objective_value == pytest.approx(cold.objective_value, rel=1e-6, abs=1e-6)
    if start is not None:
        assert warm.objective_value >= value(inst, start) - 1e-6


# ---------------------------------------------------------------------------------------------
# The start reaches HiGHS


@pytest.fixture
def first_incumbents(monkeypatch):
    """The objective of each improving plan HiGHS finds, in order (HiGHS's sign: it minimizes
    the negated objective)."""
    seen: list[float] = []
    real = solvers.CancellableHiGHS.callSolver

    def spy(self, lp):
        lp.solverModel.cbMipImprovingSolution.subscribe(
            lambda event: seen.append(event.data_out.objective_function_value))
        return real(self, lp)
    monkeypatch.setattr(solvers.CancellableHiGHS, "callSolver", spy)
    return seen


def poor_plan(inst):
    """A feasible plan of ``inst`` well below the optimum: the optimum less one project, the
    one whose removal loses most while the plan still keeps every rule."""
    best = solve(inst)
    options = [{q: s for q, s in best.starts.items() if q != pid} for pid in best.starts]
    options = [o for o in options if not violations(inst, evaluate(inst, o))]
    return best, min(options, key=lambda o: value(inst, o))


def test_highs_takes_the_start_as_its_first_incumbent(first_incumbents):
    inst = load_instance(GOOD)
    best, start = poor_plan(inst)
    assert value(inst, start) < best.objective_value - 1.0  # a start HiGHS would not find first
    first_incumbents.clear()  # poor_plan solved too
    out = run_and_first(inst, start, first_incumbents)
    assert out == pytest.approx(-value(inst, start), rel=1e-9)
    first_incumbents.clear()
    assert run_and_first(inst, None, first_incumbents) != pytest.approx(-value(inst, start))


def run_and_first(inst, start, seen) -> float:
    m = build_model(inst)
    raw = solvers.run_solver(m, "highs", 60.0, 1e-4, start=start)
    assert raw.status == "optimal"
    return seen[0]


def test_a_time_limited_solve_returns_at_least_the_start(monkeypatch):
    """HiGHS stopped as soon as its search begins (no node, no heuristic) still returns the
    start, at its value."""
    inst = load_instance(GOOD)
    _best, start = poor_plan(inst)
    real = solvers.CancellableHiGHS.callSolver

    def stop_at_once(self, lp):
        lp.solverModel.setOptionValue("mip_max_nodes", 0)
        lp.solverModel.setOptionValue("mip_heuristic_effort", 0.0)
        return real(self, lp)
    monkeypatch.setattr(solvers.CancellableHiGHS, "callSolver", stop_at_once)
    m = build_model(inst)
    raw = solvers.run_solver(m, "highs", 60.0, 1e-4, start=start)
    assert raw.status in ("feasible", "optimal")
    assert float(pulp.value(m.objective_expr)) >= value(inst, start) - 1e-6


def test_cbc_reads_the_start_and_reaches_the_same_optimum():
    inst = load_instance(GOOD)
    cold = solve(inst, solver="cbc")
    _best, start = poor_plan(inst)
    warm = solve(inst, solver="cbc", start=start)
    assert warm.objective_value == pytest.approx(cold.objective_value, rel=2e-4)


# ---------------------------------------------------------------------------------------------
# The same answers with and without the speed-ups


def close(a, b, gap=1e-4) -> bool:
    """Two objective values both proven within ``gap`` of the optimum (relative)."""
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=2 * gap, abs_tol=1e-6)


@pytest.fixture(scope="module")
def good_analysed():
    inst = load_instance(GOOD)
    base = solve(inst, tie_break=True)
    kwargs = dict(alternatives=2, simulate_draws=500)
    slow = analyse(base, OFF, SERIAL, **kwargs)
    fast = analyse(base, SolveOptions(), TWO, **kwargs)
    return base, slow.analyses, fast.analyses


def test_sensitivity_rows_agree(good_analysed):
    _base, slow, fast = good_analysed
    for a, b in zip(slow.sensitivity.rows, fast.sensitivity.rows, strict=True):
        assert a["status"] == b["status"] or {a["status"], b["status"]} <= {"optimal"}
        assert close(a["objective_value"], b["objective_value"]), (a, b)


def test_scenario_rows_agree(good_analysed):
    _base, slow, fast = good_analysed
    for a, b in zip(slow.scenarios.rows, fast.scenarios.rows, strict=True):
        assert a["scenario"] == b["scenario"] and a["status"] == b["status"]
        assert close(a["objective_value"], b["objective_value"]), (a, b)
        assert a["note"] == b["note"]  # the diagnosis's words, when there is no plan


def test_why_not_reasons_agree(good_analysed):
    base, slow, fast = good_analysed
    a, b = slow.why_not.reasons, fast.why_not.reasons
    assert list(a) == list(b)
    for pid in a:
        assert a[pid]["kind"] == b[pid]["kind"]
        loss_a, loss_b = a[pid]["objective_loss"], b[pid]["objective_loss"]
        if loss_a is not None:
            assert math.isclose(loss_a, loss_b, abs_tol=2e-4 * abs(base.objective_value) + 1e-6)


def test_alternatives_agree(good_analysed):
    _base, slow, fast = good_analysed
    assert len(slow.alternatives.rows) == len(fast.alternatives.rows)
    for a, b in zip(slow.alternatives.rows, fast.alternatives.rows):
        assert close(a["objective_value"], b["objective_value"]), (a, b)


def test_simulation_is_the_same(good_analysed):
    _base, slow, fast = good_analysed
    assert slow.simulation == fast.simulation


def test_reach_measures_the_same_levers(good_analysed):
    """"What raises the chance" runs beside the re-solves once the budget sensitivity is done,
    and measures the same budget plans as when it ran after everything."""
    _base, slow, fast = good_analysed
    budget = [r for r in fast.reach.rows if r["lever"] == "budget"]
    assert budget, "the budget sensitivity's plans did not reach 'what raises the chance'"
    assert [r["change"] for r in slow.reach.rows] == [r["change"] for r in fast.reach.rows]
    for a, b in zip(slow.reach.rows, fast.reach.rows, strict=True):
        assert (a["p_targets_met"] is None) == (b["p_targets_met"] is None), (a, b)
        if a["lever"] != "budget":  # a budget plan may differ within the gap: its own draws
            assert a["p_targets_met"] == b["p_targets_met"], (a, b)


def exact_no_good(m, starts) -> None:
    """Exclude exactly the plan ``starts`` (project -> year) from ``m``."""
    terms = [(var, 1.0 if starts.get(pid) == s else -1.0) for (pid, s), var in m.x.items()]
    m.prob.addConstraint(linear(terms) <= len(starts) - 1, m.name("exact_no_good"))


def unique(inst, plan, gap=1e-4) -> bool:
    """Whether every other plan is worse than ``plan`` by more than twice the gap."""
    m = build_model(inst)
    exact_no_good(m, plan)
    out = resolve_model(m, OFF)
    if out.result is None:
        return out.status == "infeasible"
    other, best = out.result.objective_value, value(inst, plan)
    return other < best - 2 * gap * max(1.0, abs(best))


def derived_instances(inst, base):
    """The re-solves of the analyses: every budget step, every scenario, every forced project."""
    out = [(f"budget {c:+.0%}", scaled_budget(inst, c)) for c in CHANGES if c]
    out += [(f"scenario {sc.scenario}", scenarios.apply(inst, sc)) for sc in inst.scenarios]
    out += [(f"forced {pid}", forced(inst, pid)) for pid in base.rejected_ids
            if rule_reason(base, pid) is None]
    return out


def test_each_resolve_gives_the_same_plan_where_the_optimum_is_unique():
    inst = load_instance(GOOD)
    base = solve(inst, tie_break=True)
    warm = SolveOptions().with_start(base.starts)
    checked = 0
    for name, derived in derived_instances(inst, base):
        a, b = resolve(derived, OFF), resolve(derived, warm)
        assert a.status == b.status, name
        if a.result is None:
            continue
        assert close(a.objective_value, b.objective_value), name
        if a.result.starts != b.result.starts:
            assert not unique(derived, a.result.starts), f"{name}: a unique optimum changed"
        else:
            checked += 1
    assert checked >= 5  # most of them have a plan, and it is the same


def test_a_start_highs_maps_wrongly_is_not_taken_for_the_optimum():
    """The smallest case hypothesis found (gap 0, NPV objective, carry-over): P2 (NPV 7.5) may
    start 2031..2033, P3 (NPV -40) only 2031, each spends 40 in its start year; cumulative
    budgets 20, 100, 140, ... The optimum funds P2 alone (7.5). Started from {P2, P3} (-32.5),
    HiGHS 1.16 valued that start at 7.5 in its presolved problem and stopped there, reporting
    "optimal"; the solve notices (the plan's value is not the one reported) and solves again
    from nothing."""
    def plant(pid, first, last, npv):
        return project(pid, capex=40, start=(first, last), npv=npv)
    inst = instance([plant("P0", 2026, 2028, -40), plant("P1", 2026, 2028, -40),
                     plant("P2", 2027, 2029, 7.5), plant("P3", 2027, 2027, -40)],
                    budget={2026: 20.0, 2027: 80.0, 2028: 40.0}, budget_carryover=True)
    start = {"P2": 2027, "P3": 2027}
    assert value(inst, start) == pytest.approx(-32.5) and repair(inst, start) == start
    m = build_model(inst)
    raw = solvers.run_solver(m, "highs", 60.0, 0.0, start=start)
    assert raw.status == "optimal" and not solvers.misled(m.prob.solverModel)
    assert float(pulp.value(m.objective_expr)) == pytest.approx(7.5)
    assert solve(inst, start=start).objective_value == pytest.approx(7.5)

