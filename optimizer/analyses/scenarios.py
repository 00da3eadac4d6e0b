"""Named scenarios (optional Scenarios sheet): solve each, compare them side by side.

A scenario changes money by the one cash-flow rule (:mod:`optimizer.cashflow`), so that it agrees
with the Monte Carlo about the same money: ``capex_multiplier`` m makes every capex m x c (budgets
see it too); ``delay_years`` d delays every project by d years (its operating flows and deliveries
move d years later, its capital schedule stays); ``npv_multiplier`` k multiplies every operating
flow by k. Each project's operating flows are fitted once on the workbook as given
(:func:`optimizer.cashflow.operating_flows`) and its NPV is then recomputed from its flows.
``demand_multiplier`` multiplies every mineral's US demand. ``lost_countries``: no project there
may be funded (a must-fund one is released for the scenario, and the memo says so); a project
that requires one of them cannot be funded either. Budgets, targets and everything else stay.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from ..cashflow import npv_at_start, operating_flows
from ..instance import Instance, Project, Scenario
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
    """The instance as the scenario changes it (see the module docstring)."""
    s = instance.settings
    lost = set(sc.lost_countries)
    out = {}
    for pid, p in instance.projects.items():
        if p.country in lost:
            continue
        ops = tuple(sc.npv_multiplier * a for a in operating_flows(p, s))  # fitted as given
        changed = replace(
            p, capex_low_musd=p.capex_low_musd * sc.capex_multiplier,
            capex_high_musd=p.capex_high_musd * sc.capex_multiplier,
            build_years=p.build_years + sc.delay_years,
            capex_profile=p.spend_shares,  # keep the schedule when the build gets longer
            cash_flows=ops)
        npv = float(npv_at_start(changed, s, changed.earliest_start, operating=ops)[0])
        out[pid] = replace(changed, npv_musd=npv)
    out = _without_unreachable(out)
    minerals = {name: replace(m, us_demand_t=m.us_demand_t * sc.demand_multiplier)
                for name, m in instance.minerals.items()}
    return instance.with_projects(out).with_minerals(minerals)


def released(instance: Instance, changed: Instance) -> list[str]:
    """Must-fund projects of ``instance`` that its scenario version ``changed`` leaves out (lost
    countries, or requiring a project there)."""
    return [pid for pid, p in instance.projects.items()
            if p.must_fund and pid not in changed.projects]


def _without_unreachable(projects: dict[str, Project]) -> dict[str, Project]:
    """Drop, repeatedly, every project that requires a project no longer there."""
    while True:
        gone = [pid for pid, p in projects.items() if any(q not in projects for q in p.requires)]
        if not gone:
            return projects
        projects = {pid: p for pid, p in projects.items() if pid not in gone}


def compare_scenarios(result: Result, options: SolveOptions = SolveOptions(),
                      parallel: Parallel = Parallel()) -> ScenarioComparison | None:
    """Each scenario of the workbook solved and set beside the base plan (None without any)."""
    inst = result.instance
    if not inst.scenarios:
        return None
    changed = [apply(inst, sc) for sc in inst.scenarios]
    tasks = [(c, options, True) for c in changed]
    outcomes = run_parallel(resolve, tasks, parallel, label="scenarios")
    names = ["base"] + [sc.scenario for sc in inst.scenarios]
    rows, funded_by = [], {}
    notes = [""] + [_released_note(inst, sc, c) for sc, c in zip(inst.scenarios, changed)]
    for name, out, note in zip(names, [Outcome(result.info.status, result=result)] + outcomes,
                               notes):
        row = {"scenario": name, **summary_row(out)}
        row["note"] = " ".join(t for t in (note, row["note"]) if t)
        rows.append(row)
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


def _released_note(instance: Instance, sc: Scenario, changed: Instance) -> str:
    if not sc.lost_countries:
        return ""
    text = f"Projects in {', '.join(sc.lost_countries)} are lost in this scenario."
    freed = released(instance, changed)
    if freed:
        text += f" Must-fund {', '.join(freed)} released for it."
    return text


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
