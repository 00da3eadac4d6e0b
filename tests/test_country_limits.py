"""Countries.max_capex_share: a constraint family with its verifier check, diagnosis words and
why-not reason, checked by hand."""

from __future__ import annotations

import dataclasses

import pytest

from optimizer.analyses.whynot import rule_reason
from optimizer.errors import InfeasibleError
from optimizer.evaluate import evaluate
from optimizer.families import violations
from optimizer.instance import Country
from optimizer.solve import solve
from test_model_hand import instance, project

SOLVERS = ["highs", "cbc"]


def limited(share: float, **kw):
    """KZ: A (capex 60, NPV 30), B (capex 40, NPV 20); UA: U (capex 50, NPV 5). Budget 150.
    Without a limit all three are funded (capex 150, KZ holds 100/150 = 66.7%). With KZ limited
    to 60%: A+B+U breaks it (66.7%); A+U (60/110 = 54.5%, NPV 35) and B+U (40/90 = 44.4%, NPV 25)
    keep it; A+B alone is 100%: the best is A+U, NPV 35."""
    ps = [project("A", capex=60, npv=30), project("B", capex=40, npv=20),
          dataclasses.replace(project("U", capex=50, npv=5), country="UA")]
    inst = instance(ps, budget=150, **kw)
    return dataclasses.replace(inst, countries={"KZ": Country("KZ", max_capex_share=share)})


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_country_limit_changes_the_plan_by_hand(solver):
    result = solve(limited(0.6), solver=solver)
    assert set(result.starts) == {"A", "U"} and result.objective_value == pytest.approx(35)
    free = solve(dataclasses.replace(limited(0.6), countries={}), solver=solver)
    assert set(free.starts) == {"A", "B", "U"}


def test_the_verifier_names_a_country_above_its_limit():
    inst = limited(0.6)
    problems = violations(inst, evaluate(inst, {"A": 2026, "B": 2026, "U": 2026}))
    assert any("KZ holds 100.000000 $M" in p and "60.0000%" in p for p in problems)
    assert not violations(inst, evaluate(inst, {"A": 2026, "U": 2026}))


def test_the_diagnosis_names_the_country_limit():
    """B must be funded and KZ may hold at most 20%: B alone is 100% KZ, and with U it is
    40/90 = 44%: impossible."""
    inst = limited(0.2)
    inst = inst.with_projects({**inst.projects,
                               "B": dataclasses.replace(inst.projects["B"], must_fund=True)})
    with pytest.raises(InfeasibleError) as caught:
        solve(inst)
    text = str(caught.value)
    assert "the country capex limits" in text and "KZ's capex would exceed its limit of 20.0%" in text


def test_why_not_gives_the_country_limit_as_the_reason():
    result = solve(limited(0.6))
    reason = rule_reason(result, "B")
    assert reason["kind"] == "country" and "KZ would hold 66.7%" in reason["reason"]
