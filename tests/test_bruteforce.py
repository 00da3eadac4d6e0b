"""The MILP against brute force on random small instances (hypothesis).

Every project is either not funded or started in one of its allowed years; for up to 8 projects with
up to 3 allowed starts each, every combination is enumerated (itertools.product). A plan counts when
:func:`optimizer.evaluate.violations` lists nothing; the best ``objective_value`` among them is the
true optimum. The brute force uses only ``optimizer.evaluate`` (which imports neither PuLP nor the
model), so it is independent of the formulation it checks.

Asserted for each instance: no feasible plan <=> ``solve`` raises InfeasibleError; otherwise the
MILP's objective equals the brute-force optimum (rel 1e-6 + abs 1e-6), its status is ``optimal``,
and its plan has no violations. Runs for HiGHS (all examples) and CBC (fewer examples), once on
general instances and once on instances that stress the robust budget rows (robust_gamma > 0,
capex ranges, multi-year spending, mostly with carry-over). Half of the instances get budgets
derived from a reference plan so that they bind. ``robust_carryover_case`` pins the smallest
disagreement these tests found.

A third family of instances draws the risk model (``instances(risk=True)``): countries with loss
probabilities, projects' own losses, delays and cash flows, ``risk_adjusted`` (mostly TRUE, so the
objective, targets and NPV floor count expected figures) and ``target_protection`` 0..2, with
targets set from a drawn plan that keeps the other rules so that they can bind. Of the 100 HiGHS
examples (when written), 64 have a plan, the protection changes the optimum in 7 and leaves no
plan in 14, and risk_adjusted changes the optimal plan in 29.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.errors import InfeasibleError
from optimizer.evaluate import allowed_starts, evaluate
from optimizer.families import protected_supply, violations
from optimizer.instance import Country, Instance, Mineral, Project, Settings
from optimizer.solve import solve

from helpers import all_plans

FIRST_YEAR = 2030
MAX_PROJECTS = 8
RTOL = ABSTOL = 1e-6
HIGHS_EXAMPLES = 150
CBC_EXAMPLES = 40
ROBUST_HIGHS_EXAMPLES = 100
ROBUST_CBC_EXAMPLES = 40
MAX_RISK_PROJECTS = 6
RISK_HIGHS_EXAMPLES = 100
RISK_CBC_EXAMPLES = 30


# ---------------------------------------------------------------- random instances

money = st.sampled_from([40.0, 10.0, 25.0, 0.0, 60.0, 90.0, 130.0, 200.0])  # $M


@st.composite
def minerals_strategy(draw, risk: bool = False) -> dict[str, Mineral]:
    """1 or 2 minerals with random demand, China share, growth, targets and valuations.

    ``risk``: a China share above 0 and a modest target cut, mostly, so that the target
    protection rows exist and can be met.
    """
    out = {}
    cuts = [0.1, 0.05, 0.25, None] if risk else [None, None, None, 0.1, 0.25, 0.5]
    shares = [0.8, 0.55, 1.0, 0.3] if risk else [0.0, 0.3, 0.55, 0.8, 1.0]
    for i in range(draw(st.integers(1, 2))):
        name = f"m{i}"
        china = draw(st.sampled_from(shares))
        cut = draw(st.sampled_from(cuts))  # target below today
        target = None if cut is None else round(max(china - cut, 0.0), 2)
        out[name] = Mineral(
            name, us_demand_t=float(draw(st.integers(10, 500))), china_share=china,
            demand_growth=draw(st.sampled_from([0.0, 0.0, 0.05, -0.1])),
            target_china_share=target,
            weight=draw(st.sampled_from([1.0, 1.0, 0.5, 2.0, 0.0])),
            security_premium_usd_per_t=draw(st.sampled_from([0.0, 1e5, 5e5, 2e6])),
        )
    return out


@st.composite
def profile_strategy(draw, build_years: int) -> tuple[float, ...]:
    """Empty (even spend over the build years) or random shares, zeros allowed, summing to 1."""
    n = max(build_years, 1)
    if n == 1 or draw(st.booleans()):
        return ()
    parts = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n).filter(lambda v: sum(v) > 0))
    total = sum(parts)
    return tuple(v / total for v in parts)


@st.composite
def project_strategy(draw, index: int, minerals: list[str], horizon: int,
                     earlier: list[str], robust: bool = False, risk: bool = False) -> Project:
    """One project; ``requires`` only names earlier projects, so dependencies stay acyclic.

    ``robust``: always a capex range, and mostly spending over several years. ``risk``: a
    country among X, Y (both with a Countries row) and Z (none), its own loss probability, delay
    parameters of its own or inherited, and sometimes operating cash flows of its own.
    """
    pid = f"P{index}"
    build = min(draw(st.integers(1 if robust else 0, 1 if risk else 3)), horizon)
    low = draw(money)
    uplifts = [10.0, 50.0, 100.0] if robust else [0.0, 10.0, 50.0, 100.0]
    high = low + draw(st.sampled_from(uplifts))  # capex range
    last_fit = max(horizon - max(build, 1), 0)  # last start offset whose spending fits
    earliest = FIRST_YEAR + draw(st.integers(0, last_fit) | st.integers(0, horizon - 1))
    latest = earliest + draw(st.sampled_from([2, 1, 0, 2]))  # at most 3 allowed starts
    requires = tuple(draw(st.lists(st.sampled_from(earlier), max_size=2, unique=True))) \
        if earlier and draw(st.integers(0, 3)) == 0 else ()
    project = Project(
        project_id=pid, name=f"project {index}", kind=draw(st.sampled_from(["plant", "offtake"])),
        mineral=draw(st.sampled_from(minerals)), country="X",
        capex_low_musd=low, capex_high_musd=high, build_years=build,
        earliest_start=earliest, latest_start=latest,
        capacity_tpa=float(draw(st.sampled_from([60, 20, 150, 5, 400] if risk else
                                                [0, 5, 20, 60, 150, 400]))),
        npv_musd=draw(st.sampled_from([-40.0, -5.0, 0.0, 7.5, 20.0, 35.0, 60.0, 110.0])),
        operating_years=draw(st.sampled_from([None, None, 1, 2, 4])),
        requires=requires,
        exclusive_group=draw(st.sampled_from([None, None, None, "A", "B"])),
        must_fund=draw(st.sampled_from([False] * 24 + [True])),
        capex_profile=draw(profile_strategy(build)),
    )
    return replace(project, **draw(project_risk_strategy())) if risk else project


@st.composite
def project_risk_strategy(draw) -> dict:
    """The risk fields of a project (see project_strategy); never must-fund, so that most
    instances have a plan."""
    return dict(
        must_fund=False,
        country=draw(st.sampled_from(["X", "Y", "Z"])),
        loss_probability=draw(st.sampled_from([0.0, 0.0, 0.1, 0.3])),
        delay_probability=draw(st.sampled_from([None, None, 0.0, 0.5])),
        max_delay_years=draw(st.sampled_from([None, 1, 2])),
        cash_flows=draw(st.sampled_from([(), (), (), (10.0, 20.0), (-5.0, 30.0, 0.0, 30.0)])),
    )


COUNTRY_LOSS = st.sampled_from([0.0, 0.05, 0.3, 0.6])  # yearly loss probability of a country


@st.composite
def settings_strategy(draw, horizon: int, minerals: dict[str, Mineral],
                      robust: bool = False, risk: bool = False) -> Settings:
    """Random objective, basis, discount, carry-over, total budget, target, NPV floor, gamma.

    ``robust``: gamma is 1 or 2, the capex basis below high (so overruns exist), carry-over
    more often. ``risk``: a target year whenever there is a target; risk_adjusted mostly TRUE,
    target_protection 0, 1 or 2, and random Settings delays.
    """
    has_target = any(m.target_china_share is not None for m in minerals.values())
    target_year = None
    if has_target and (risk or draw(st.sampled_from([True, False, False]))):
        target_year = FIRST_YEAR + horizon - 1 - draw(st.integers(0, min(2, horizon - 1)))
    settings = Settings(
        first_year=FIRST_YEAR, horizon_years=horizon,
        discount_rate=draw(st.sampled_from([0.0, 0.05, 0.1])),
        objective=draw(st.sampled_from(["npv", "security", "weighted"])),
        capex_basis=draw(st.sampled_from(["low", "mid"] if robust else ["low", "mid", "high"])),
        total_budget_musd=draw(st.sampled_from([None, 150.0, None, 60.0, 300.0, 0.0, None])),
        budget_carryover=draw(st.sampled_from([True, False, True] if robust else [False, True])),
        target_year=target_year,
        min_npv_musd=draw(st.sampled_from([None, None, None, None, -30.0, 0.0, 20.0, 60.0])),
        robust_gamma=draw(st.sampled_from([1, 2] if robust else [0, 0, 1, 2])),
        mip_gap=0.0, time_limit_s=60.0,
    )
    return replace(settings, **draw(settings_risk_strategy())) if risk else settings


@st.composite
def settings_risk_strategy(draw) -> dict:
    """The risk settings (see settings_strategy), and a looser NPV floor and total budget so that
    most instances have a plan."""
    return dict(
        min_npv_musd=draw(st.sampled_from([None, None, -30.0, 20.0])),
        total_budget_musd=draw(st.sampled_from([None, 300.0, 150.0])),
        risk_adjusted=draw(st.sampled_from([True, True, False])),
        target_protection=draw(st.sampled_from([1, 0, 1, 2])),
        delay_probability=draw(st.sampled_from([0.3, 0.0, 0.6])),
        max_delay_years=draw(st.sampled_from([1, 3])),
    )


@st.composite
def level_budgets(draw, years: range) -> dict[int, float]:
    """Budgets from a few round levels, scaled: loose, tight or zero in some years."""
    scale = draw(st.sampled_from([0.5, 1.0, 2.0]))
    return {t: scale * draw(st.sampled_from([60.0, 30.0, 100.0, 0.0, 150.0, 250.0]))
            for t in years}


@st.composite
def reference_budgets(draw, instance: Instance) -> dict[int, float]:
    """Budgets that bind: a share of what funding every project would need.

    The reference plan starts every project that can start in one of its allowed years (drawn);
    the budgets are set so that each budget row (yearly, or cumulative with carry-over; with
    robust_gamma including the largest overruns) equals that plan's spend on the row times a
    factor of 0.5 to 1, so the optimizer must choose. Only ``evaluate`` is used, never the model.
    """
    plan = {}
    for pid in instance.projects:
        start = draw(st.sampled_from(allowed_starts(instance, pid) or [None]))
        if start is not None:
            plan[pid] = start
    rows = evaluate(instance, plan).row_spend  # cumulative, hence non-decreasing, with carry-over
    budget, before = {}, 0.0
    for t in instance.settings.years:
        amount = rows[t] - before if instance.settings.budget_carryover else rows[t]
        before = rows[t]
        budget[t] = round(max(amount, 0.0) * draw(st.sampled_from([1.0, 0.5, 0.7, 0.85])), 1)
    return budget


@st.composite
def instances(draw, robust: bool = False, risk: bool = False) -> Instance:
    """A small random Instance: <= 8 projects, <= 3 allowed starts each, <= 6-year horizon.

    ``robust=True`` stresses the robust budget rows (gamma > 0, capex ranges, multi-year spend).
    ``risk=True`` draws the risk model (countries X and Y with loss probabilities, projects' own
    losses and delays), ``risk_adjusted`` and ``target_protection``, with at most
    MAX_RISK_PROJECTS projects (the expected figures make each evaluation slower).
    """
    horizon = draw(st.integers(1, 6))  # shrinks towards short horizons
    minerals = draw(minerals_strategy(risk))
    n = draw(st.integers(3, MAX_RISK_PROJECTS) if risk else st.integers(1, MAX_PROJECTS))
    projects: dict[str, Project] = {}
    for i in range(n):
        p = draw(project_strategy(i, list(minerals), horizon, list(projects), robust, risk))
        projects[p.project_id] = p
    years = range(FIRST_YEAR, FIRST_YEAR + horizon)
    countries = {c: Country(c, loss_probability=draw(COUNTRY_LOSS),
                            delay_probability=draw(st.sampled_from([None, 0.2])))
                 for c in ("X", "Y")} if risk else {}
    instance = Instance(settings=draw(settings_strategy(horizon, minerals, robust, risk)),
                        minerals=minerals, projects=projects, budget=draw(level_budgets(years)),
                        name="random", countries=countries)
    if draw(st.booleans()):
        instance = instance.with_budget(draw(reference_budgets(instance)))
    if risk and instance.settings.target_year is not None:
        instance = instance.with_minerals(draw(reference_targets(instance)))
    return instance


@st.composite
def reference_targets(draw, instance: Instance) -> dict[str, Mineral]:
    """Targets that a drawn reference plan meets, or nearly.

    The reference plan is drawn among the plans that keep every rule but the targets (found by
    enumeration, with target_year blank). For each mineral with a target, the new target is the
    China share left when a factor of 0.5 to 1.1 of that plan's deliveries, as counted (expected
    ones under risk_adjusted) and less its target_protection largest suppliers, is displaced, in
    the worst year from target_year on (as a share of demand). Only ``evaluate`` and
    ``families`` are used. A target that plan cannot reach at all is mostly dropped.
    """
    free = instance.with_settings(target_year=None)
    plans = []
    for starts in all_plans(instance):
        if not violations(free, evaluate(free, starts)):
            plans.append(starts)
    if not plans:
        return dict(instance.minerals)
    ev = evaluate(instance, draw(st.sampled_from(plans)))
    s = instance.settings
    out = {}
    for name, m in instance.minerals.items():
        cover = min(protected_supply(instance, ev, name, t) / ev.demand[name][t]
                    for t in s.years if t >= s.target_year)  # share of demand, worst year
        if m.target_china_share is not None and cover > 0:
            factor = draw(st.sampled_from([0.9, 0.5, 1.0, 1.1]))
            m = replace(m, target_china_share=max(m.china_share - factor * cover, 0.0))
        elif m.target_china_share is not None and draw(st.sampled_from([True, True, False])):
            m = replace(m, target_china_share=None)  # out of reach: mostly dropped
        out[name] = m
    return out


# ---------------------------------------------------------------- brute force

@dataclass(frozen=True)
class BruteForce:
    best_value: float | None  # None: no plan is feasible
    best_starts: dict[str, int] | None
    plans: int  # plans enumerated
    feasible: int  # plans with no violation


def brute_force(instance: Instance) -> BruteForce:
    """The best feasible plan by enumeration: each project unfunded or at one allowed start."""
    objective = instance.settings.objective
    best_value, best_starts, plans, feasible = None, None, 0, 0
    for starts in all_plans(instance):
        plans += 1
        ev = evaluate(instance, starts)
        if violations(instance, ev):
            continue
        feasible += 1
        value = ev.objective_value(objective)
        if best_value is None or value > best_value:
            best_value, best_starts = value, starts
    return BruteForce(best_value, best_starts, plans, feasible)


def describe(instance: Instance) -> str:
    """The instance as constructor text, for a readable failure report."""
    lines = [repr(instance.settings)]
    lines += [repr(m) for m in instance.minerals.values()]
    lines += [repr(p) for p in instance.projects.values()]
    lines += [repr(c) for c in instance.countries.values()]
    lines.append(f"budget={dict(instance.budget)!r}")
    return "\n".join(lines)


def check_against_brute_force(instance: Instance, solver: str) -> None:
    """The assertion of this module, for one instance and one solver."""
    truth = brute_force(instance)
    if truth.best_value is None:
        with pytest.raises(InfeasibleError):
            solve(instance, solver=solver, mip_gap=0.0)
        return
    result = solve(instance, solver=solver, mip_gap=0.0)
    context = (f"\nsolver={solver} brute force {truth.best_value!r} at {truth.best_starts}; "
               f"MILP {result.objective_value!r} at {dict(result.starts)}\n{describe(instance)}")
    assert result.info.status == "optimal", context
    assert violations(instance, result.evaluation) == [], context
    assert math.isclose(result.objective_value, truth.best_value, rel_tol=RTOL,
                        abs_tol=ABSTOL), context


@settings(max_examples=HIGHS_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(instances())
def test_highs_matches_brute_force(instance: Instance) -> None:
    check_against_brute_force(instance, "highs")


@settings(max_examples=CBC_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(instances())
def test_cbc_matches_brute_force(instance: Instance) -> None:
    check_against_brute_force(instance, "cbc")


@settings(max_examples=ROBUST_HIGHS_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(instances(robust=True))
def test_highs_robust_budgets_match_brute_force(instance: Instance) -> None:
    check_against_brute_force(instance, "highs")


@settings(max_examples=ROBUST_CBC_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(instances(robust=True))
def test_cbc_robust_budgets_match_brute_force(instance: Instance) -> None:
    check_against_brute_force(instance, "cbc")


@settings(max_examples=RISK_HIGHS_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(instances(risk=True))
def test_highs_risk_adjusted_and_protection_match_brute_force(instance: Instance) -> None:
    check_against_brute_force(instance, "highs")


@settings(max_examples=RISK_CBC_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(instances(risk=True))
def test_cbc_risk_adjusted_and_protection_match_brute_force(instance: Instance) -> None:
    check_against_brute_force(instance, "cbc")


def robust_carryover_case() -> Instance:
    """Shrunk by hand from a case the CBC run found: with carry-over, the robust rows must count a
    project's overrun of every year so far (here 25 + 25 = 50 $M by 2031), not only the last.

    One project, capex 40 (low basis) .. 90 $M, spent evenly over 2030 and 2031 (20 + 20), so it
    may overrun by 25 + 25. Budgets 50 and 30 (cumulative 50, 80); gamma 1. Funding it needs
    cumulative 20 + 25 = 45 <= 50 in 2030 but 40 + 50 = 90 > 80 in 2031: the only plan is to
    fund nothing (objective 0).
    """
    s = Settings(first_year=FIRST_YEAR, horizon_years=2, discount_rate=0.0, objective="npv",
                 capex_basis="low", budget_carryover=True, robust_gamma=1, mip_gap=0.0)
    p = Project("P", "P", "plant", "m0", "X", capex_low_musd=40.0, capex_high_musd=90.0,
                build_years=2, earliest_start=FIRST_YEAR, latest_start=FIRST_YEAR,
                capacity_tpa=0.0, npv_musd=10.0)
    return Instance(settings=s, minerals={"m0": Mineral("m0", us_demand_t=10.0, china_share=0.5)},
                    projects={"P": p}, budget={FIRST_YEAR: 50.0, FIRST_YEAR + 1: 30.0})


def test_robust_carryover_case_by_hand() -> None:
    truth = brute_force(robust_carryover_case())
    assert truth.best_value == 0 and truth.best_starts == {}


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_robust_carryover_counts_every_overrun_year(solver: str) -> None:
    check_against_brute_force(robust_carryover_case(), solver)


# ---------------------------------------------------------------- the brute force itself

def _tiny(**setting_changes) -> Instance:
    """Two projects, one year: A (capex 60, npv 10) and B (capex 50, npv 8); budget 100."""
    minerals = {"m0": Mineral("m0", us_demand_t=100.0, china_share=0.5)}
    projects = {
        pid: Project(pid, pid, "plant", "m0", "X", capex_low_musd=cap, capex_high_musd=cap,
                     build_years=0, earliest_start=FIRST_YEAR, latest_start=FIRST_YEAR,
                     capacity_tpa=10.0, npv_musd=npv)
        for pid, cap, npv in (("A", 60.0, 10.0), ("B", 50.0, 8.0))
    }
    s = Settings(first_year=FIRST_YEAR, horizon_years=1, discount_rate=0.0, objective="npv",
                 mip_gap=0.0, **setting_changes)
    return Instance(settings=s, minerals=minerals, projects=projects, budget={FIRST_YEAR: 100.0})


def test_brute_force_picks_the_best_plan_that_fits() -> None:
    truth = brute_force(_tiny())
    assert truth.plans == 4 and truth.feasible == 3  # A+B costs 110 > 100
    assert truth.best_value == 10.0 and truth.best_starts == {"A": FIRST_YEAR}


def test_brute_force_reports_no_plan_when_none_fits() -> None:
    truth = brute_force(_tiny(min_npv_musd=19.0))  # only A+B reaches 18 < 19
    assert truth.best_value is None and truth.feasible == 0
    check_against_brute_force(_tiny(min_npv_musd=19.0), "highs")
