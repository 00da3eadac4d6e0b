"""The rows written in the started-by binaries (``model.in_started_by``, ``model.started_by``)
against the start variables and against the verifier.

On every plan of small random instances (the brute-force tests' instances), each budget
(without the robust term), total budget and dependency row of the built model holds exactly when the verifier's own check of that
family (``optimizer.families``, which never sees the model) passes, and each delivery row's
tonnes are the evaluation's deliveries; for a hand-made project the h coefficients are worked out.
"""

from __future__ import annotations

import pulp
import pytest
from hypothesis import HealthCheck, given, settings

from optimizer.evaluate import evaluate
from optimizer.families import FAMILIES
from optimizer.model import build_model, in_started_by, started_by

from helpers import all_plans
from test_bruteforce import instances
from test_model_hand import instance, project

CHECKED = ("budget", "total_budget", "dependency")
TOL = 1e-6


def values_of(m, starts: dict[str, int]) -> dict[str, float]:
    """The start variables of a plan: x[p, s] = 1 at its start, h[p, s] = 1 from it on."""
    out = {var.name: float(starts.get(pid) == s) for (pid, s), var in m.x.items()}
    out.update({var.name: float(pid in starts and starts[pid] <= s)
                for (pid, s), var in m.h.items()})
    return out


def activity(terms, values: dict[str, float]) -> float:
    return sum(coef * values[var.name] for var, coef in terms)


def holds(con: pulp.LpConstraint, values: dict[str, float]) -> bool:
    """Whether a row with only start variables holds at ``values`` (scaled tolerance)."""
    lhs = activity(con.items(), values) + con.constant
    tol = TOL * max(1.0, abs(con.constant))
    if con.sense == pulp.LpConstraintLE:
        return lhs <= tol
    if con.sense == pulp.LpConstraintGE:
        return lhs >= -tol
    return abs(lhs) <= tol


def test_in_started_by_by_hand():
    """P may start 2026, 2027 or 2028; the row sum_s c_s x[P,s] with c = 5, 3, 0 is
    (5 - 3) h[P,2026] + (3 - 0) h[P,2027] + 0 h[P,2028]; Q has one start: x itself."""
    inst = instance([project("P", start=(2026, 2028)), project("Q", start=(2027, 2027))],
                    budget=10)
    m = build_model(inst)
    terms = in_started_by(m, "P", {2026: 5.0, 2027: 3.0, 2028: 0.0})
    assert [(var.name, c) for var, c in terms] == [(m.h["P", 2026].name, 2.0),
                                                    (m.h["P", 2027].name, 3.0)]
    assert in_started_by(m, "Q", {2027: 4.0}) == [(m.x["Q", 2027], 4.0)]
    assert started_by(m, "P", 2025) == [] and started_by(m, "Q", 2026) == []
    assert started_by(m, "P", 2030) == [(m.h["P", 2028], 1.0)]
    for plan in ({}, {"P": 2026}, {"P": 2027}, {"P": 2028}):
        values = values_of(m, plan)
        assert activity(terms, values) == {2026: 5.0, 2027: 3.0}.get(plan.get("P"), 0.0)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(instances())
def test_rows_hold_exactly_when_the_verifier_passes(inst):
    m = build_model(inst)
    families = {f.name: f for f in FAMILIES}
    deliveries = [(c, key) for key, c in zip(
        [(name, t) for name in inst.minerals for t in inst.settings.years],
        [c for c in m.prob.constraints() if c.name.startswith("deliver")])]
    for starts in all_plans(inst):
        values = values_of(m, starts)
        ev = evaluate(inst, starts)
        for family in CHECKED:
            if family == "budget" and inst.settings.robust_gamma > 0:
                continue  # its rows hold the robust duals too (tests/test_bruteforce.py)
            rows = m.rows.get(family, {}).values()
            assert all(holds(con, values) for con in rows) == (
                not families[family].check(inst, ev)), (family, starts)
        for con, (mineral, t) in deliveries:
            d = m.d[mineral, t]
            supply = activity([(v, c) for v, c in con.items() if v is not d], values)
            assert supply == pytest.approx(ev.deliveries[mineral][t], abs=1e-6)
