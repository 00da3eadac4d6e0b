"""Explain an infeasible workbook in plain words, by relaxing constraint families one at a time.

For each constraint family present (must-fund, budgets, total budget, dependencies, exclusive groups,
targets, target protection, NPV floor, risk limit; declared in ``optimizer.families``) the model is
rebuilt with only that family elastic and the scaled slack is minimized. The families whose
relaxation alone makes a plan possible are the ones in conflict; the rows that needed slack, with
the amounts, say where. When no single family suffices, all families are relaxed together and
every row that needed slack is reported.
"""

from __future__ import annotations

from .evaluate import allowed_starts
from .instance import Instance
from .families import BY_NAME, FAMILIES
from .model import PortfolioModel, build_model

SLACK_TOL = 1e-6


def explain_infeasibility(instance: Instance, solver: str = "highs",
                          time_limit_s: float = 60.0) -> list[str]:
    """Plain sentences naming the constraints that conflict, with amounts."""
    from .solvers import run_solver  # not from .solve, which imports this module: no cycle

    reasons = _static_reasons(instance)
    rows = build_model(instance).rows
    present = [f.name for f in FAMILIES if rows.get(f.name)]
    fixes: dict[str, list[str]] = {}
    limit = min(time_limit_s, 30.0)
    for family in present:
        m = build_model(instance, elastic=[family])
        raw = run_solver(m, solver, limit, 1e-6)
        if raw.status in ("optimal", "feasible"):
            fixes[family] = describe_slacks(m)
    if fixes:
        names = [BY_NAME[f].words for f in fixes]
        reasons.append("These constraints conflict: " + _join(names) + ". Relaxing any one of "
                       "them alone makes a plan possible:")
        for family, rows in fixes.items():
            reasons.append(f"relaxing {BY_NAME[family].words}: " + "; ".join(rows))
        return reasons
    m = build_model(instance, elastic=present)
    raw = run_solver(m, solver, limit, 1e-6)
    if raw.status in ("optimal", "feasible"):
        reasons.append("No single family of constraints explains it; together these rows conflict: "
                       + "; ".join(describe_slacks(m)))
    elif not reasons:
        reasons.append("the solver proved that no plan satisfies all constraints")
    return reasons


def _static_reasons(instance: Instance) -> list[str]:
    """Conflicts visible without a solver: a must-fund project with no allowed start year."""
    s = instance.settings
    out = []
    for pid, p in instance.projects.items():
        if p.must_fund and not allowed_starts(instance, pid):
            out.append(f"must-fund project {pid} cannot start between {p.earliest_start} and "
                       f"{p.latest_start} with all of its spending ({len(p.spend_shares)} years) "
                       f"inside the horizon, which ends in {s.last_year}")
    return out


def describe_slacks(m: PortfolioModel) -> list[str]:
    """One phrase per row that needed slack (by family, as each family describes its rows)."""
    out = []
    for family in FAMILIES:
        needed = [(key, var.varValue or 0.0) for key, (var, _scale) in
                  m.slacks.get(family.name, {}).items()]
        needed = [(key, amount) for key, amount in needed if amount > SLACK_TOL]
        if needed:
            out += family.describe(m.instance, needed)
    return out


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
