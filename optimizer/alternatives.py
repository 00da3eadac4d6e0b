"""Near-optimal alternatives: further portfolios almost as good as the optimum.

Each alternative maximizes the workbook's objective with (a) a no-good cut for every funded set
found before (so each differs from all earlier ones in at least one funded project; start years
alone do not make a new portfolio) and (b) a floor: objective >= optimum - within x |optimum|
(``alternatives_within``, default 5%). The search stops at K alternatives or when the floor can no
longer be met. Each alternative is a verified plan.
"""

from __future__ import annotations

from .errors import InfeasibleError, SolverError
from .model import add_floor, add_no_good_cut, build_model, objective_terms
from .results import Result
from .solve import solve_model


def find_alternatives(result: Result, k: int, *, within: float | None = None,
                      solver: str | None = None, time_limit_s: float | None = None,
                      mip_gap: float | None = None) -> list[Result]:
    """Up to ``k`` distinct portfolios within ``within`` of ``result``'s objective, best first."""
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
        try:
            alt = solve_model(m, solver=solver, time_limit_s=time_limit_s, mip_gap=mip_gap,
                              diagnose=False)
        except (InfeasibleError, SolverError):
            break
        found.append(alt)
        seen.append(set(alt.starts))
    return found


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
