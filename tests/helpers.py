"""Small hand-built fixtures shared by the tests.

Units as everywhere in the optimizer: money $M, tonnes t, shares fractions, calendar years.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import itertools
from pathlib import Path
from typing import Iterator, Mapping

import openpyxl
import pytest

from optimizer.analyses import Analyses
from optimizer.errors import InputError
from optimizer.resolve import Parallel
from optimizer.evaluate import allowed_starts, evaluate
from optimizer.instance import Instance, Mineral, Project, Scenario, Settings
from optimizer.results import Result, SolveInfo
from optimizer.validate import load_instance

# The fixed plan of make_result(): project_id -> start year.
RESULT_STARTS = {"GA-PLANT": 2027, "GR-OFFTAKE": 2026}
SERIAL = Parallel(workers=1, progress=False)  # re-solves in this process, no progress bar


def _result_instance(**setting_overrides) -> Instance:
    """Four projects, two minerals, 2026..2031; two project names that look like markup."""
    values = dict(first_year=2026, horizon_years=6, discount_rate=0.08, objective="weighted",
                  capex_basis="mid", target_year=2030)
    settings = Settings(**{**values, **setting_overrides})
    minerals = {
        "gallium": Mineral("gallium", us_demand_t=20.0, china_share=0.9, target_china_share=0.5,
                           security_premium_usd_per_t=1_000_000.0),
        "graphite": Mineral("graphite", us_demand_t=1000.0, china_share=0.6, demand_growth=0.05,
                            weight=0.5, security_premium_usd_per_t=2_000.0),
    }
    projects = {
        "GA-PLANT": Project(
            "GA-PLANT", "=1+1", "plant", "gallium", "USA", capex_low_musd=100.0,
            capex_high_musd=140.0, build_years=2, earliest_start=2026, latest_start=2028,
            capacity_tpa=10.0, npv_musd=50.0, risk=0.2,
        ),
        "GR-OFFTAKE": Project(
            "GR-OFFTAKE", "<script>alert(1)</script>", "offtake", "graphite", "Canada",
            capex_low_musd=0.0, capex_high_musd=0.0, build_years=0, earliest_start=2026,
            latest_start=2030, capacity_tpa=200.0, npv_musd=-5.0, operating_years=4, risk=0.1,
        ),
        "GR-PLANT": Project(
            "GR-PLANT", '=HYPERLINK("http://x")', "plant", "graphite", "Australia",
            capex_low_musd=80.0, capex_high_musd=80.0, build_years=3, earliest_start=2026,
            latest_start=2028, capacity_tpa=300.0, npv_musd=30.0, risk=0.3,
        ),
        "GA-ALT": Project(
            "GA-ALT", "Gallium recovery (alternative)", "plant", "gallium", "Japan",
            capex_low_musd=40.0, capex_high_musd=60.0, build_years=1, earliest_start=2027,
            latest_start=2029, capacity_tpa=4.0, npv_musd=8.0, exclusive_group="gallium",
        ),
    }
    budget = {2026: 50.0, 2027: 60.0, 2028: 60.0, 2029: 20.0, 2030: 20.0, 2031: 20.0}
    return Instance(
        settings=settings, minerals=minerals, projects=projects, budget=budget,
        name="example", source_path="inputs/example.xlsx", input_sha256="ab" * 32,
    )


def make_result(**setting_overrides) -> Result:
    """A verified-looking Result of a fixed plan (GA-PLANT from 2027, GR-OFFTAKE from 2026).

    ``setting_overrides`` change :class:`~optimizer.instance.Settings` fields (e.g.
    ``objective="npv"``, ``budget_carryover=True``); the decision stays the same.
    """
    instance = _result_instance(**setting_overrides)
    evaluation = evaluate(instance, RESULT_STARTS)
    value = evaluation.objective_value(instance.settings.objective)
    info = SolveInfo(
        status="optimal", solver="HiGHS test", mip_gap=0.0, best_bound=value,
        solve_seconds=0.1, build_seconds=0.01, model_objective=value,
        n_variables=20, n_constraints=30,
    )
    return Result(instance=instance, starts=dict(RESULT_STARTS), evaluation=evaluation, info=info)


# ---------------------------------------------------------------------------------------------
# Trade-off analyses computed for real (frontier, budget ladder, robust, scenarios, alternatives,
# Monte Carlo) on a small solvable instance.

TRADEOFF_SCENARIOS = (
    Scenario("costly", capex_multiplier=1.2),
    Scenario("late", delay_years=1),
    Scenario("demand up", demand_multiplier=1.5),
    Scenario("npv down", npv_multiplier=0.5),
    Scenario("very costly", capex_multiplier=3.0),  # no plan: shows an infeasible row
)
TRADEOFF_DRAWS = 2_000


def tradeoff_instance(**setting_overrides) -> Instance:
    """The instance of make_result() with budgets 1.5 times as large, robust_gamma 1, 30% room
    for alternatives and five scenarios (one of them infeasible)."""
    values = dict(robust_gamma=1, alternatives_within=0.3)
    inst = _result_instance(**{**values, **setting_overrides})
    inst = inst.with_budget({t: 1.5 * b for t, b in inst.budget.items()})
    return dataclasses.replace(inst, scenarios=TRADEOFF_SCENARIOS)


def make_tradeoff_analyses(result: Result, *, frontier_points: int = 5, alternatives: int = 2,
                           draws: int = TRADEOFF_DRAWS) -> Analyses:
    """The analyses the pipeline attaches to ``result`` with --frontier, --alternatives and
    --simulate (and --no-sensitivity), computed for real by ``optimizer.pipeline.analyse`` in
    this process (workers=1, no progress bar): frontier, budget_ladder, robust (when
    robust_gamma > 0), scenarios and scenario_projects (when the instance has scenarios),
    alternatives and the simulation_* tables."""
    from optimizer.pipeline import analyse

    done = analyse(result, parallel=SERIAL, sensitivity=False,
                   frontier_points=frontier_points, alternatives=alternatives,
                   simulate_draws=draws)
    return done.analyses


@functools.lru_cache(maxsize=None)
def _tradeoff_result(overrides: tuple) -> Result:
    from optimizer.solve import solve

    result = solve(tradeoff_instance(**dict(overrides)))
    return dataclasses.replace(result, analyses=make_tradeoff_analyses(result))


def make_tradeoff_result(**setting_overrides) -> Result:
    """The solved plan of tradeoff_instance() with every trade-off analysis attached (computed
    once per set of overrides, then copied)."""
    cached = _tradeoff_result(tuple(sorted(setting_overrides.items())))
    return dataclasses.replace(cached, analyses=copy.deepcopy(cached.analyses))


def edited_copy(source: Path, tmp_path: Path, edits: Mapping[str, object],
                name: str = "case.xlsx") -> Path:
    """A copy of the workbook ``source`` saved as ``tmp_path / name``, with cells changed:
    {"Projects!F4": value}."""
    wb = openpyxl.load_workbook(source)
    for where, value in edits.items():
        sheet, ref = where.split("!")
        wb[sheet][ref] = value
    path = tmp_path / name
    wb.save(path)
    return path


def errors_of(path: Path) -> list[str]:
    """The error lines of the InputError that loading ``path`` must raise."""
    with pytest.raises(InputError) as info:
        load_instance(path)
    return [str(p) for p in info.value.problems]


def assert_reported(problems: list[str], *fragments: str) -> None:
    """Some single problem contains every fragment."""
    assert any(all(f in p for f in fragments) for p in problems), (
        f"no problem contains all of {fragments}:\n" + "\n".join(problems))


def all_plans(instance: Instance) -> Iterator[dict[str, int]]:
    """Every plan, {project_id: start}: each project unfunded or at one of its allowed starts,
    in the order of itertools.product over the projects in workbook order (brute force)."""
    ids = list(instance.projects)
    for combo in itertools.product(*[[None] + allowed_starts(instance, pid) for pid in ids]):
        yield {pid: s for pid, s in zip(ids, combo) if s is not None}
