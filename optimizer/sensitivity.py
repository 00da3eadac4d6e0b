"""Budget sensitivity: re-solve with every budget scaled by -30% .. +30%.

Each yearly budget and the total budget (when set) are multiplied by ``1 + change``. The extra
budget of a row is ``change`` times the sum of the yearly budgets over the horizon (capped by the
total budget when that is smaller), and ``objective_per_extra_busd`` is the change in objective per
extra $1B against the base plan: what each extra $1B buys.
"""

from __future__ import annotations

from .instance import Instance
from .resolve import run_parallel, try_solve
from .results import Result

CHANGES = (-0.30, -0.20, -0.10, 0.0, 0.10, 0.20, 0.30)


def scaled_budget(instance: Instance, change: float) -> Instance:
    factor = 1.0 + change
    out = instance.with_budget({t: v * factor for t, v in instance.budget.items()})
    total = instance.settings.total_budget_musd
    if total is not None:
        out = out.with_settings(total_budget_musd=total * factor)
    return out


def budget_base(instance: Instance) -> float:
    """Capital the base budgets make available over the horizon ($M)."""
    yearly = sum(instance.budget.values())
    total = instance.settings.total_budget_musd
    return yearly if total is None else min(yearly, total)


def budget_sensitivity(result: Result, *, changes=CHANGES, workers: int | None = None,
                       solver: str | None = None, time_limit_s: float | None = None,
                       mip_gap: float | None = None, progress: bool = True) -> list[dict]:
    """One row per budget change (the base row, change 0, is the plan itself)."""
    inst = result.instance
    todo = [c for c in changes if c != 0.0]
    tasks = [(scaled_budget(inst, c), solver, time_limit_s, mip_gap, False) for c in todo]
    outcomes = dict(zip(todo, run_parallel(try_solve, tasks, workers=workers,
                                           label="budget re-solves", progress=progress)))
    outcomes[0.0] = result
    base_cap = budget_base(inst)
    rows = []
    for change in changes:
        outcome = outcomes[change]
        rows.append(_row(result, change, outcome, base_cap))
    return rows


def _row(base: Result, change: float, outcome, base_cap: float) -> dict:
    inst = base.instance
    s = inst.settings
    year = s.target_year or s.last_year
    extra = change * base_cap
    row = {"budget_change": change, "extra_budget_musd": extra}
    if isinstance(outcome, list):
        row.update({"status": "infeasible", "objective_value": None, "npv_musd": None,
                    "total_capex_musd": None, "funded_count": None,
                    "objective_per_extra_busd": None, "note": " ".join(outcome)})
        for m in inst.minerals:
            row[f"china_share:{m}"] = None
        return row
    ev = outcome.evaluation
    per_busd = None
    if change != 0.0 and abs(extra) > 1e-9:
        per_busd = (outcome.objective_value - base.objective_value) / (extra / 1000.0)
    row.update({"status": outcome.info.status, "objective_value": outcome.objective_value,
                "npv_musd": ev.npv_musd, "total_capex_musd": ev.total_capex,
                "funded_count": len(outcome.starts), "objective_per_extra_busd": per_busd,
                "note": ""})
    for m in inst.minerals:
        row[f"china_share:{m}"] = ev.share_after[m][year]
    return row
