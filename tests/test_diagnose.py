"""The infeasibility diagnosis: a row is named as a cause only when it is one.

Hand-checked instances (one or two years from 2026, no discounting; mineral Sb: demand 1000 t,
China share 0.8, so a target of 0.6 needs 200 t displaced and 0.7 needs 100 t), then random small
instances against brute force (hypothesis): each family's verdict ("relaxing it alone makes a
plan possible") and, for the whole-project families, the groups named as needed and the size of
the smallest relaxation, all recomputed by enumerating every plan with ``optimizer.evaluate``
alone.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings

import optimizer.solvers as solvers
from optimizer.diagnose import WHOLE_FAMILIES, diagnose, explain_infeasibility
from optimizer.errors import InfeasibleError
from optimizer.evaluate import evaluate
from optimizer.families import (FAMILIES, amount, describe_budget, describe_protection,
                                structural_violations)
from optimizer.instance import Mineral
from optimizer.solve import solve
from helpers import all_plans
from test_bruteforce import instances
from test_model_hand import instance, project

SOLVERS = ["highs", "cbc"]


def sb(target: float) -> dict[str, Mineral]:
    return {"Sb": Mineral("Sb", 1000.0, 0.8, target_china_share=target)}


def two_offtakes(target: float = 0.6):
    """Offtakes O1 and O2 (100 t each, no capex) require plants P1 and P2 (60 $M each, no
    output); the budget of 2026 is 100 $M. A target of 0.6 needs 200 t: both offtakes, hence
    both plants, 120 $M > 100: no plan. Relaxing the budget: 20 $M more. Relaxing the target:
    one pair, 100 t of 200, the China share 0.7. Relaxing the dependencies: P1 with O1 and O2
    (O2 goes ahead without P2), or P2 with both: either pair would do, so neither is needed."""
    projects = [project("P1", capex=60), project("P2", capex=60),
                project("O1", kind="offtake", cap=100, requires=("P1",)),
                project("O2", kind="offtake", cap=100, requires=("P2",))]
    return instance(projects, budget=100, horizon=1, minerals=sb(target), target_year=2026)


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_dependency_that_is_not_needed_is_not_named_a_cause(solver):
    """The trial's symptom: a target out of reach and a dependency that is not the cause. The
    diagnosis once said "O2 requires P2 ..., which cannot be met within the horizon and
    budgets", though with the target lowered to 0.7 the plan funds a plant and its offtake."""
    inst = two_offtakes()
    text = "\n".join(explain_infeasibility(inst, solver=solver))
    assert ("These constraints conflict: the yearly budgets, the dependencies (requires) and the "
            "China-share targets.") in text
    assert "relaxing the yearly budgets: the budget of 2026 would need 20.0 $M more" in text
    assert ("relaxing the dependencies (requires): no one of these rows is needed on its own: "
            "one of several choices would do, for instance O") in text
    assert "cannot be met" not in text
    assert ("relaxing the China-share targets: Sb: the China-share target of 60.0% is out of "
            "reach in 2026 (1 year); the lowest China share reachable there is 70.0%") in text
    lowered = solve(two_offtakes(target=0.7), solver=solver)
    assert set(lowered.starts) in ({"P1", "O1"}, {"P2", "O2"})


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_needed_dependency_is_named_without_claiming_it_cannot_be_met(solver):
    """Plant P (build 1 year, online 2027) and offtake O (200 t, start 2026 or 2027) that
    requires P, so O delivers from 2027 at the earliest; a target from 2026 needs 200 t in 2026:
    no plan. Relaxing the dependency alone (O in 2026 without P online) makes a plan possible,
    and no plan keeps it: a cause. But with the target year 2027 the plan funds both, so the
    pair can be met within the horizon and budgets: the words must not say otherwise."""
    projects = [project("P", build=1), project("O", kind="offtake", cap=200,
                                                start=(2026, 2027), requires=("P",))]
    inst = instance(projects, budget=0, horizon=2, minerals=sb(0.6), target_year=2026)
    with pytest.raises(InfeasibleError):
        solve(inst, solver=solver, diagnose=False)
    text = "\n".join(explain_infeasibility(inst, solver=solver))
    assert ("relaxing the dependencies (requires): O would have to go ahead without P funded and "
            "online no later than O (O requires P)") in text
    assert "no one of these rows is needed" not in text and "cannot be met" not in text
    later = solve(inst.with_settings(target_year=2027), solver=solver)
    assert later.starts == {"P": 2026, "O": 2027}


@pytest.mark.parametrize("solver", SOLVERS)
def test_when_no_family_suffices_the_needed_rows_come_first(solver):
    """X delivers 100 t of the 200 t a target of 0.6 needs: out of reach whatever else bends.
    M1 and M2 must be funded, 50 $M each, with a budget of 50 $M: one of them, or 50 $M of
    budget, has to give. No family alone suffices; relaxed together, the smallest relaxation
    costs 100/200 = 0.5 on the target and 1 elsewhere (one must-fund project, or 50/50 of the
    budget): the target is needed, the rest is one choice among three."""
    projects = [project("X", cap=100), project("M1", capex=50, must_fund=True),
                project("M2", capex=50, must_fund=True)]
    inst = instance(projects, budget=50, horizon=1, minerals=sb(0.6), target_year=2026)
    found = diagnose(inst, solver=solver)
    assert found.fixes() == []
    text = found.reasons[-1]
    assert text.startswith("No single family of constraints explains it; together these rows "
                           "conflict: Sb: the China-share target of 60.0% is out of reach in "
                           "2026 (1 year); the lowest China share reachable there is 70.0%")
    choice = text.split("; and one of several choices would do, for instance ")[1]
    assert choice in ("must-fund project M1 could not be funded",
                      "must-fund project M2 could not be funded",
                      "the budget of 2026 would need 50.0 $M more")


def test_a_check_that_does_not_finish_is_said_so(monkeypatch):
    """Every MILP stops at its time limit without a plan (the LP relaxations still run): no
    family is settled, and the diagnosis says so instead of naming a cause."""
    real = solvers.run_solver

    def no_plan(m, solver, time_limit_s, mip_gap, threads=1, relaxed=False, **extra):
        if relaxed:
            return real(m, solver, time_limit_s, mip_gap, threads, relaxed, **extra)
        return solvers.RawSolve("no_solution", None, None, time_limit_s, "HiGHS")

    monkeypatch.setattr(solvers, "run_solver", no_plan)
    text = "\n".join(explain_infeasibility(two_offtakes(), time_limit_s=3.0))
    assert ("Whether relaxing the yearly budgets, the dependencies (requires) and the "
            "China-share targets alone would make a plan possible was not settled within 3 s "
            "each.") in text
    assert "conflict" not in text


def test_small_shortfalls_keep_their_precision_in_every_phrase():
    """A budget 0.004 $M short and a protection 0.3 t short keep their digits ("0 t" would say
    nothing is missing); large ones keep thousands separators."""
    inst = instance([], budget=10, minerals=sb(0.6), target_year=2026, target_protection=1)
    assert describe_budget(inst, [(2026, 0.004)]) == ["the budget of 2026 would need 0.004 $M more"]
    assert "fall short by up to 0.3 t a year" in describe_protection(inst, [(("Sb", 2026), 0.3)])[0]
    assert amount(12345.6, 0) == "12,346"


# ---------------------------------------------------------------- against brute force

def broken_groups(inst, ev) -> dict[str, dict[object, float]]:
    """Per whole-project family, the groups the plan breaks and by how much (as the model's rows
    count it): a must-fund project not funded (1), a dependency pair (1), an exclusive group
    (funded members - 1), a project above the risk limit (1)."""
    out: dict[str, dict[object, float]] = {f: {} for f in WHOLE_FAMILIES}
    for pid, p in inst.projects.items():
        if p.must_fund and pid not in ev.starts:
            out["must_fund"][pid] = 1.0
        limit = inst.settings.max_project_risk
        if limit is not None and pid in ev.starts and p.risk > limit:
            out["risk"][pid] = 1.0
        if pid in ev.starts:
            for q in p.requires:
                if q not in ev.starts or ev.online[q] > ev.online[pid]:
                    out["dependency"][pid, q] = 1.0
    groups: dict[str, int] = {}
    for pid in ev.starts:
        g = inst.projects[pid].exclusive_group
        if g:
            groups[g] = groups.get(g, 0) + 1
    out["exclusive"] = {g: n - 1.0 for g, n in groups.items() if n > 1}
    return out


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(instances())
def test_the_diagnosis_agrees_with_brute_force(inst):
    """For each family present: it is a fix exactly when some plan keeps every other family; for
    a whole-project family that is a fix, the groups named as needed are exactly those every such
    plan breaks, and a relaxation proven the smallest breaks as few rows as the best such plan."""
    plans = []
    for starts in all_plans(inst):
        ev = evaluate(inst, starts)
        if structural_violations(inst, ev):
            continue
        broken = {f.name for f in FAMILIES if f.check(inst, ev)}
        plans.append((broken, ev))
    assume(all(broken for broken, _ in plans))  # no plan: something to diagnose
    found = diagnose(inst, "highs", 60.0)
    for finding in found.findings:
        family = finding.families[0]
        keeping = [ev for broken, ev in plans if broken <= {family}]
        assert finding.status == ("plan" if keeping else "none"), family
        if finding.status != "plan" or family not in WHOLE_FAMILIES:
            continue
        broken = [broken_groups(inst, ev)[family] for ev in keeping]
        always = set.intersection(*[set(b) for b in broken])
        assert {g for f, g in finding.needed if f == family} == always, family
        if finding.least:
            fewest = min(sum(b.values()) for b in broken)
            assert sum(a for _, a in finding.rows[family]) == pytest.approx(fewest), family
