"""Near-optimal alternatives: further portfolios almost as good as the optimum.

Each alternative maximizes the workbook's objective with (a) a no-good cut for every funded set
found before (so each differs from all earlier ones in at least one funded project; start years
alone do not make a new portfolio) and (b) a floor: objective >= optimum - within x |optimum|
(``alternatives_within``, default 5%). The search stops at K alternatives or when the floor can no
longer be met. Each alternative is a verified plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..model import add_floor, add_no_good_cut, build_model, objective_terms
from ..resolve import SolveOptions, resolve_model
from ..results import Result


@dataclass(frozen=True)
class Alternatives:
    """One row per near-optimal alternative, against the optimum; ``note`` says why the search
    stopped early when a re-solve gave no plan within its time limit."""

    rows: tuple[Mapping[str, Any], ...]
    note: str = ""

    def tables(self) -> dict[str, Any]:
        out: dict[str, Any] = {"alternatives": [dict(r) for r in self.rows]}
        if self.note:
            out["alternatives_note"] = self.note
        return out


def near_optimal(result: Result, k: int, options: SolveOptions = SolveOptions(), *,
                 within: float | None = None) -> Alternatives:
    """Up to ``k`` alternatives (see :func:`find_alternatives`) as a table against the optimum."""
    found, note = find_alternatives(result, k, options, within=within)
    return Alternatives(tuple(alternatives_table(result, found)), note)


def find_alternatives(result: Result, k: int, options: SolveOptions = SolveOptions(), *,
                      within: float | None = None) -> tuple[list[Result], str]:
    """Up to ``k`` distinct portfolios within ``within`` of ``result``'s objective, best first,
    and a note when the search stopped because a re-solve gave no plan in its time limit."""
    inst = result.instance
    within = inst.settings.alternatives_within if within is None else within
    best = result.objective_value
    floor = best - within * abs(best)
    seen = [set(result.starts)]
    found: list[Result] = []
    for _ in range(k):
        m = build_model(inst)
        for funded in seen:
            add_no_good_cut(m, funded)
        add_floor(m, objective_terms(m), floor - 1e-9 * max(1.0, abs(floor)), "near_optimal")
        outcome = resolve_model(m, options)
        if outcome.result is None:
            note = "" if outcome.status == "infeasible" else (
                f"The search stopped after {len(found)} alternatives: {outcome.message}")
            return found, note
        found.append(outcome.result)
        seen.append(set(outcome.result.starts))
    return found, ""


def compare(base: Result, alt: Result) -> dict:
    """What an alternative gains and gives up against the optimum."""
    b, a = base.evaluation, alt.evaluation
    added = sorted(set(alt.starts) - set(base.starts))
    dropped = sorted(set(base.starts) - set(alt.starts))
    gap = base.objective_value - alt.objective_value
    return {
        "objective_value": alt.objective_value,
        "objective_below_optimum": gap,
        "objective_below_optimum_pct": gap / abs(base.objective_value) if base.objective_value else 0.0,
        "npv_musd": a.npv_musd, "npv_change_musd": a.npv_musd - b.npv_musd,
        "security_share_years": a.security, "security_change": a.security - b.security,
        "total_capex_musd": a.total_capex, "capex_change_musd": a.total_capex - b.total_capex,
        "adds": ", ".join(added), "drops": ", ".join(dropped),
        "funded": ", ".join(alt.funded_ids), "status": alt.info.status,
    }


def alternatives_table(base: Result, alts: list[Result]) -> list[dict]:
    return [{"alternative": i + 1, **compare(base, alt)} for i, alt in enumerate(alts)]
