"""The price of a risk-aware plan: the plan the workbook asks for (``risk_adjusted``,
``target_protection``) against the plain plan without either, each with its chance of meeting
every China-share target in the target year under the risk model (the same simulation, the same
seed, for both).

Run only when the workbook asks for a risk-aware plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..evaluate import evaluate
from ..resolve import Outcome, SolveOptions, resolve, summary_row
from ..results import Result
from .simulate import simulate

DRAWS = 2_000  # draws per plan for the chance of meeting the targets


@dataclass(frozen=True)
class RiskPrice:
    """Two rows, the plain plan then the risk-aware one: the summary row, the objective as the
    plain plan counts it (planned figures), and ``p_targets_met``."""

    rows: tuple[Mapping[str, Any], ...]

    def tables(self) -> dict[str, Any]:
        return {"risk_price": [dict(r) for r in self.rows]}


def asks_for_risk(result: Result) -> bool:
    s = result.instance.settings
    return bool(s.risk_adjusted or s.target_protection > 0)


def risk_price(result: Result, options: SolveOptions = SolveOptions(),
               draws: int = DRAWS) -> RiskPrice | None:
    """The plain plan re-solved and both plans simulated; None for a plain workbook."""
    if not asks_for_risk(result):
        return None
    plain_instance = result.instance.with_settings(risk_adjusted=False, target_protection=0)
    plain = resolve(plain_instance, options)
    rows = []
    for label, outcome in (("plain plan", plain),
                           ("risk-aware plan", Outcome(result.info.status, result=result))):
        row = {"plan": label, **summary_row(outcome)}
        r = outcome.result
        if r is not None:
            # Both plans valued by the plain plan's measure, so the price is in one unit.
            planned = evaluate(plain_instance, r.starts)
            row["planned_objective_value"] = planned.objective_value(
                plain_instance.settings.objective)
            sim = simulate(r, draws)
            row["p_targets_met"] = sim.p_all_targets_met
        else:
            row["planned_objective_value"] = None
            row["p_targets_met"] = None
        rows.append(row)
    if rows[0]["planned_objective_value"] is not None:
        price = rows[0]["planned_objective_value"] - rows[1]["planned_objective_value"]
        rows[0]["price"] = 0.0
        rows[1]["price"] = price
    return RiskPrice(tuple(rows))
