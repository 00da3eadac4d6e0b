"""Named scenarios (optional Scenarios sheet): solve each, compare them side by side.

A scenario multiplies every project's capex (low and high) by ``capex_multiplier``, adds
``delay_years`` to every build time (the spending schedule is kept; deliveries start later),
multiplies every mineral's US demand by ``demand_multiplier`` and every project's NPV by
``npv_multiplier``. Budgets, targets and everything else stay as in the workbook.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from ..instance import Instance, Scenario
from ..resolve import (Outcome, Parallel, SolveOptions, resolve, run_parallel,
                       summary_row)
from ..results import Result


@dataclass(frozen=True)
class ScenarioComparison:
    """``rows``: one per scenario, the base first; ``projects``: one per project funded in any
    scenario with a plan, saying in which."""

    rows: tuple[Mapping[str, Any], ...]
    projects: tuple[Mapping[str, Any], ...]

    def tables(self) -> dict[str, Any]:
        return {"scenarios": [dict(r) for r in self.rows],
                "scenario_projects": [dict(r) for r in self.projects]}


@dataclass(frozen=True)
class RobustPrice:
    """The plan at robust_gamma = 0 against the workbook's gamma, with the price between them."""

    rows: tuple[Mapping[str, Any], ...]

    def tables(self) -> dict[str, Any]:
        return {"robust": [dict(r) for r in self.rows]}


def apply(instance: Instance, sc: Scenario) -> Instance:
    projects = {}
    for pid, p in instance.projects.items():
        projects[pid] = replace(
            p, capex_low_musd=p.capex_low_musd * sc.capex_multiplier,
            capex_high_musd=p.capex_high_musd * sc.capex_multiplier,
            build_years=p.build_years + sc.delay_years,
            capex_profile=p.spend_shares,  # keep the schedule when the build gets longer
            npv_musd=p.npv_musd * sc.npv_multiplier)
    minerals = {name: replace(m, us_demand_t=m.us_demand_t * sc.demand_multiplier)
                for name, m in instance.minerals.items()}
    return instance.with_projects(projects).with_minerals(minerals)


def compare_scenarios(result: Result, options: SolveOptions = SolveOptions(),
                      parallel: Parallel = Parallel()) -> ScenarioComparison | None:
    """Each scenario of the workbook solved and set beside the base plan (None without any)."""
    inst = result.instance
    if not inst.scenarios:
        return None
    tasks = [(apply(inst, sc), options, True) for sc in inst.scenarios]
    outcomes = run_parallel(resolve, tasks, parallel, label="scenarios")
    names = ["base"] + [sc.scenario for sc in inst.scenarios]
    rows, funded_by = [], {}
    for name, out in zip(names, [Outcome(result.info.status, result=result)] + outcomes):
        rows.append({"scenario": name, **summary_row(out)})
        if out.result is not None:
            funded_by[name] = set(out.result.starts)
    solved = list(funded_by)
    projects = []
    for pid in inst.projects:
        where = [n for n in solved if pid in funded_by[n]]
        if not where:
            continue
        verdict = "every scenario" if len(where) == len(solved) else "some scenarios"
        projects.append({"project_id": pid, "name": inst.projects[pid].name, "funded_in": verdict,
                         "scenarios": ", ".join(where)})
    projects.sort(key=lambda r: (r["funded_in"] != "every scenario", r["project_id"]))
    return ScenarioComparison(tuple(rows), tuple(projects))


def robust_price(result: Result, options: SolveOptions = SolveOptions()) -> RobustPrice | None:
    """The price of robustness: the objective at gamma = 0 against the workbook's gamma."""
    inst = result.instance
    gamma = inst.settings.robust_gamma
    if gamma <= 0:
        return None
    nominal = resolve(inst.with_settings(robust_gamma=0), options)
    rows = []
    for g, out in ((0, nominal), (gamma, Outcome(result.info.status, result=result))):
        row = {"robust_gamma": g, **summary_row(out)}
        row.pop("note")
        rows.append(row)
    if rows[0]["objective_value"] is not None:
        price = rows[0]["objective_value"] - rows[1]["objective_value"]
        for r in rows:
            r["price_of_robustness"] = price if r["robust_gamma"] == gamma else 0.0
    return RobustPrice(tuple(rows))
