"""The greedy plan and the local search of optimizer.warmstart, against brute force.

- The search's arrays must count exactly what the verifier counts: on small random instances
  (hypothesis, the generators of test_bruteforce), every plan the search calls feasible has no
  violation, and its objective is the verifier's (``evaluate``), for every plan enumerated.
- ``start_plan`` returns only verified plans, never better than the brute-force optimum.
- Solving with the :class:`~optimizer.warmstart.Polisher` attached keeps the optimum (gap 0),
  and no exception is swallowed by its callbacks.
- A hand-checked case where only a pair move (drop one project, fund another) improves the
  greedy plan.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings

from optimizer.evaluate import evaluate
from optimizer.families import violations
from optimizer.instance import Instance, Mineral, Project, Settings
from optimizer.model import PortfolioModel, build_model, decision
from optimizer.solve import run_solver
from optimizer.warmstart import Polisher, _State, _Tables, greedy, improve, supported
from helpers import all_plans
from test_bruteforce import FIRST_YEAR, brute_force, describe, instances

EXAMPLES = 60
TOL = 1e-6
BENCH = Path(__file__).resolve().parents[1] / "bench" / "synthetic_bench.py"


@dataclass(frozen=True)
class StartPlan:
    """A verified plan: ``starts`` (project -> start year), its ``objective`` as the verifier
    recomputes it, the ``greedy`` objective before the local search, and the ``seconds`` spent."""

    starts: dict[str, int]
    objective: float
    greedy: float
    seconds: float


def start_plan(m: PortfolioModel, seconds: float) -> StartPlan | None:
    """The greedy plan improved by the local search within about ``seconds`` (as the Polisher
    runs them), verified by evaluate and violations; None when the model is not
    :func:`supported` or no feasible plan was found."""
    t0 = time.perf_counter()
    if not supported(m) or not m.x:
        return None
    deadline = t0 + max(seconds, 0.0)
    tab = _Tables(m)
    st = _State(tab)
    greedy(st, deadline)
    if not st.feasible():
        return None
    first = st.objective()
    improve(st, deadline)
    starts = {tab.pids[tab.project[o]]: tab.start[o] for o in st.choice
              if tab.start[o] is not None}
    ev = evaluate(m.instance, starts)
    if violations(m.instance, ev):
        return None
    return StartPlan(starts, ev.objective_value(m.instance.settings.objective), first,
                     time.perf_counter() - t0)


def synthetic(n_projects: int) -> Instance:
    """bench/synthetic_bench.py's seeded portfolio (10-year start windows, carry-over)."""
    spec = importlib.util.spec_from_file_location("synthetic_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module.synthetic_instance(n_projects)


def _state(tab: _Tables, starts: dict[str, int]) -> _State:
    choice = np.array(tab.first[:-1])
    for o in range(tab.n):
        pid = tab.pids[tab.project[o]]
        if tab.start[o] is not None and starts.get(pid) == tab.start[o]:
            choice[tab.project[o]] = o
    return _State(tab, choice)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(instances())
def test_search_counts_what_the_verifier_counts(instance: Instance) -> None:
    m = build_model(instance)
    if not supported(m):
        return
    tab = _Tables(m)
    objective = instance.settings.objective
    for starts in all_plans(instance):
        st = _state(tab, starts)
        ev = evaluate(instance, starts)
        context = f"\nplan {starts}\n{describe(instance)}"
        assert math.isclose(st.objective(), ev.objective_value(objective), rel_tol=1e-9,
                            abs_tol=1e-9), context
        if st.feasible():
            assert violations(instance, ev) == [], context


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(instances())
def test_start_plan_is_verified_and_never_above_the_optimum(instance: Instance) -> None:
    plan = start_plan(build_model(instance), seconds=5.0)
    if plan is None:
        return
    truth = brute_force(instance)
    ev = evaluate(instance, plan.starts)
    context = f"\nstart plan {plan}\nbrute force {truth}\n{describe(instance)}"
    assert violations(instance, ev) == [], context
    assert truth.best_value is not None, context
    assert plan.objective <= truth.best_value + TOL, context
    assert plan.objective >= plan.greedy - TOL, context  # the search never loses value


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(instances())
def test_solve_with_the_polisher_keeps_the_optimum(instance: Instance) -> None:
    truth = brute_force(instance)
    m = build_model(instance)
    polisher = Polisher(m, time_limit_s=10.0)
    raw = run_solver(m, "highs", 10.0, 0.0, before_solve=polisher.attach)
    context = f"\nbrute force {truth}\n{describe(instance)}"
    assert polisher.error is None, context
    if truth.best_value is None:
        assert raw.status == "infeasible", context
        return
    assert raw.status == "optimal", context
    starts = decision(m)
    ev = evaluate(instance, starts)
    assert violations(instance, ev) == [], context
    assert math.isclose(ev.objective_value(instance.settings.objective), truth.best_value,
                        rel_tol=TOL, abs_tol=TOL), context


def test_polisher_hands_plans_to_highs_on_a_hard_portfolio() -> None:
    """bench/synthetic_bench.py's 60-project portfolio, which HiGHS does not prove within the
    3 s given: the greedy plan is offered after HiGHS's set-up, HiGHS's plans are searched from
    and better ones handed back; the plan HiGHS returns passes the verifier and is worth at
    least the greedy plan."""
    instance = synthetic(60)
    m = build_model(instance)
    polisher = Polisher(m, time_limit_s=3.0)
    raw = run_solver(m, "highs", 3.0, 0.0, before_solve=polisher.attach)
    assert polisher.error is None
    assert raw.status in ("optimal", "feasible")
    assert polisher.calls >= 2 and polisher.handed >= 1
    ev = evaluate(instance, decision(m))
    assert violations(instance, ev) == []
    first = _State(_Tables(m))
    greedy(first, time.perf_counter() + 5)
    assert ev.objective_value(instance.settings.objective) >= first.objective() - TOL


def pair_case() -> Instance:
    """One year, budget 100 $M, objective npv, no discounting; both projects start in that year.

    A: capex 60, npv 10 (10/60 = 0.167 $ per $); B: capex 90, npv 14 (14/90 = 0.156).
    The greedy takes A first (best per dollar); B then needs 60 + 90 = 150 > 100: plan {A}, 10.
    No single change gains: dropping A gives 0, funding B breaks the budget. The pair "drop A,
    fund B" gains 14 - 10 = 4: plan {B}, 14, the optimum (A and B together do not fit).
    """
    s = Settings(first_year=FIRST_YEAR, horizon_years=1, discount_rate=0.0, objective="npv",
                 capex_basis="low", mip_gap=0.0)
    projects = {pid: Project(pid, pid, "plant", "m0", "X", capex_low_musd=cap,
                             capex_high_musd=cap, build_years=0, earliest_start=FIRST_YEAR,
                             latest_start=FIRST_YEAR, capacity_tpa=0.0, npv_musd=npv)
                for pid, cap, npv in (("A", 60.0, 10.0), ("B", 90.0, 14.0))}
    return Instance(settings=s, minerals={"m0": Mineral("m0", us_demand_t=10.0,
                                                        china_share=0.5)},
                    projects=projects, budget={FIRST_YEAR: 100.0})


def test_pair_move_by_hand() -> None:
    m = build_model(pair_case())
    st = _State(_Tables(m))
    greedy(st, time.perf_counter() + 5)
    assert st.objective() == 10.0
    assert np.all(st.deltas() <= 0)  # no single change gains
    assert improve(st, time.perf_counter() + 5) is True
    assert st.objective() == 14.0
    plan = start_plan(m, seconds=5.0)
    assert plan is not None and plan.starts == {"B": FIRST_YEAR} and plan.greedy == 10.0
    assert brute_force(pair_case()).best_value == 14.0


def test_models_the_search_does_not_represent_get_no_search() -> None:
    robust = pair_case().with_settings(robust_gamma=1)
    m = build_model(robust)
    assert not supported(m) and start_plan(m, 5.0) is None
    polisher = Polisher(m, time_limit_s=10.0)
    raw = run_solver(m, "highs", 10.0, 0.0, before_solve=polisher.attach)
    assert raw.status == "optimal" and polisher.tab is None and polisher.calls == 0
    assert not supported(build_model(pair_case(), elastic=["budget"]))
