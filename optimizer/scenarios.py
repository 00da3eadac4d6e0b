"""Named scenarios (optional Scenarios sheet): solve each, compare them side by side.

A scenario multiplies every project's capex (low and high) by ``capex_multiplier``, adds
``delay_years`` to every build time (the spending schedule is kept; deliveries start later),
multiplies every mineral's US demand by ``demand_multiplier`` and every project's NPV by
``npv_multiplier``. Budgets, targets and everything else stay as in the workbook.
"""

from __future__ import annotations

from dataclasses import replace

from .instance import Instance, Scenario
from .resolve import run_parallel, try_solve
from .results import Result


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


def compare_scenarios(result: Result, *, solver: str | None = None,
                      time_limit_s: float | None = None, mip_gap: float | None = None,
                      workers: int | None = None, progress: bool = True) -> dict[str, list[dict]]:
    """``{"scenarios": one row per scenario (base first), "scenario_projects": one row per project
    funded in any scenario, saying in which}``."""
    inst = result.instance
    if not inst.scenarios:
        return {}
    tasks = [(apply(inst, sc), solver, time_limit_s, mip_gap, True) for sc in inst.scenarios]
    outcomes = run_parallel(try_solve, tasks, workers=workers, label="scenarios", progress=progress)
    names = ["base"] + [sc.scenario for sc in inst.scenarios]
    results = [result] + outcomes
    rows, funded_by = [], {}
    for name, out in zip(names, results):
        if isinstance(out, list):
            rows.append({"scenario": name, "status": "infeasible", "objective_value": None,
                         "npv_musd": None, "total_capex_musd": None, "funded_count": None,
                         "note": " ".join(out)})
            continue
        funded_by[name] = set(out.starts)
        rows.append({"scenario": name, "status": out.info.status,
                     "objective_value": out.objective_value, "npv_musd": out.evaluation.npv_musd,
                     "total_capex_musd": out.evaluation.total_capex,
                     "funded_count": len(out.starts), "note": ""})
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
    return {"scenarios": rows, "scenario_projects": projects}


def robust_price(result: Result, *, solver: str | None = None, time_limit_s: float | None = None,
                 mip_gap: float | None = None) -> list[dict]:
    """The price of robustness: the objective at gamma = 0 against the workbook's gamma."""
    inst = result.instance
    gamma = inst.settings.robust_gamma
    if gamma <= 0:
        return []
    nominal = try_solve(inst.with_settings(robust_gamma=0), solver, time_limit_s, mip_gap)
    rows = []
    for g, out in ((0, nominal), (gamma, result)):
        if isinstance(out, list):
            rows.append({"robust_gamma": g, "status": "infeasible", "objective_value": None,
                         "npv_musd": None, "total_capex_musd": None, "funded_count": None})
        else:
            rows.append({"robust_gamma": g, "status": out.info.status,
                         "objective_value": out.objective_value,
                         "npv_musd": out.evaluation.npv_musd,
                         "total_capex_musd": out.evaluation.total_capex,
                         "funded_count": len(out.starts)})
    if rows[0]["objective_value"] is not None:
        price = rows[0]["objective_value"] - rows[1]["objective_value"]
        for r in rows:
            r["price_of_robustness"] = price if r["robust_gamma"] == gamma else 0.0
    return rows
