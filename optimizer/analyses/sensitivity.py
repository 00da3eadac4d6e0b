"""Budget sensitivity: re-solve with every budget scaled by -30% .. +30%.

Each yearly budget and the total budget (when set) are multiplied by ``1 + change``. The extra
budget of a row is ``change`` times the sum of the yearly budgets over the horizon (capped by the
total budget when that is smaller), and ``objective_per_extra_busd`` is the change in objective per
extra $1B against the base plan: what each extra $1B buys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..instance import Instance
from ..resolve import Outcome, Parallel, SolveOptions, resolve, run_parallel, summary_row
from ..results import Result

CHANGES = (-0.30, -0.20, -0.10, 0.0, 0.10, 0.20, 0.30)


@dataclass(frozen=True)
class BudgetSensitivity:
    """One row per budget change, the base row (change 0) being the plan itself. ``plans``:
    budget change -> the plan re-solved (None: no plan), kept in memory for the analyses that
    simulate them (:mod:`.reach`); never written, so a result read back has none."""

    rows: tuple[Mapping[str, Any], ...]
    plans: Mapping[float, Result | None] = field(default_factory=dict, compare=False,
                                                 repr=False)

    def tables(self) -> dict[str, Any]:
        return {"sensitivity": [dict(r) for r in self.rows]}


def at_level(instance: Instance, multiplier: float) -> Instance:
    """The instance with every yearly budget and the total budget times ``multiplier``."""
    out = instance.with_budget({t: v * multiplier for t, v in instance.budget.items()})
    total = instance.settings.total_budget_musd
    return out if total is None else out.with_settings(total_budget_musd=total * multiplier)


def scaled_budget(instance: Instance, change: float) -> Instance:
    """The instance with every budget scaled by ``1 + change``."""
    return at_level(instance, 1.0 + change)


def budget_base(instance: Instance) -> float:
    """Capital the base budgets make available over the horizon ($M)."""
    yearly = sum(instance.budget.values())
    total = instance.settings.total_budget_musd
    return yearly if total is None else min(yearly, total)


def budget_sensitivity(result: Result, options: SolveOptions = SolveOptions(),
                       parallel: Parallel = Parallel(), *, changes=CHANGES) -> BudgetSensitivity:
    """Re-solve with every budget scaled by each change (the base row is the plan itself)."""
    inst = result.instance
    todo = [c for c in changes if c != 0.0]
    tasks = [(scaled_budget(inst, c), options, False) for c in todo]
    outcomes = dict(zip(todo, run_parallel(resolve, tasks, parallel, label="budget re-solves")))
    outcomes[0.0] = Outcome(result.info.status, result=result)
    base_cap = budget_base(inst)
    return BudgetSensitivity(tuple(_row(result, change, outcomes[change], base_cap)
                                   for change in changes),
                             {change: outcomes[change].result for change in changes})


def _row(base: Result, change: float, outcome: Outcome, base_cap: float) -> dict:
    inst = base.instance
    s = inst.settings
    year = s.target_year or s.last_year
    extra = change * base_cap
    summary = summary_row(outcome)
    note = summary.pop("note")
    row = {"budget_change": change, "extra_budget_musd": extra, **summary}
    per_busd = None
    if outcome.result is not None and change != 0.0 and abs(extra) > 1e-9:
        per_busd = (outcome.result.objective_value - base.objective_value) / (extra / 1000.0)
    row.update({"objective_per_extra_busd": per_busd, "note": note})
    for m in inst.minerals:
        row[f"china_share:{m}"] = (None if outcome.result is None
                                   else outcome.result.evaluation.share_after[m][year])
    return row
