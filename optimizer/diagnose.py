"""Explain an infeasible workbook in plain words, by relaxing constraint families one at a time.

For each constraint family present (must-fund, budgets, total budget, dependencies, exclusive groups,
targets, NPV floor) the model is rebuilt with only that family elastic and the scaled slack is
minimized. The families whose relaxation alone makes a plan possible are the ones in conflict; the
rows that needed slack, with the amounts, say where. When no single family suffices, all families
are relaxed together and every row that needed slack is reported.
"""

from __future__ import annotations

from .evaluate import allowed_starts
from .instance import Instance
from .model import FAMILIES, PortfolioModel, build_model

FAMILY_WORDS = {
    "must_fund": "the must-fund projects",
    "budget": "the yearly budgets",
    "total_budget": "the total budget",
    "dependency": "the dependencies (requires)",
    "exclusive": "the exclusive groups",
    "target": "the China-share targets",
    "min_npv": "the minimum NPV",
    "risk": "the project risk limit",
}
SLACK_TOL = 1e-6


def explain_infeasibility(instance: Instance, solver: str = "highs",
                          time_limit_s: float = 60.0) -> list[str]:
    """Plain sentences naming the constraints that conflict, with amounts."""
    from .solve import run_solver  # solve imports this module lazily; avoid a cycle

    reasons = _static_reasons(instance)
    rows = build_model(instance).rows
    present = [f for f in FAMILIES if rows.get(f)]
    fixes: dict[str, list[str]] = {}
    limit = min(time_limit_s, 30.0)
    for family in present:
        m = build_model(instance, elastic=[family])
        raw = run_solver(m, solver, limit, 1e-6)
        if raw.status in ("optimal", "feasible"):
            fixes[family] = describe_slacks(m)
    if fixes:
        names = [FAMILY_WORDS[f] for f in fixes]
        reasons.append("These constraints conflict: " + _join(names) + ". Relaxing any one of "
                       "them alone makes a plan possible:")
        for family, rows in fixes.items():
            reasons.append(f"relaxing {FAMILY_WORDS[family]}: " + "; ".join(rows))
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
    """One phrase per row that needed slack, with the amount in the row's unit."""
    inst = m.instance
    s = inst.settings
    out = []
    dependency_pairs: set[tuple[str, str]] = set()
    shortfall: dict[str, list[tuple[int, float]]] = {}
    for family, rows in m.slacks.items():
        for key, (var, _scale) in rows.items():
            amount = var.varValue or 0.0
            if amount <= SLACK_TOL:
                continue
            if family == "budget":
                what = "cumulative budget to" if s.budget_carryover else "budget of"
                out.append(f"the {what} {key} would need {amount:,.1f} $M more")
            elif family == "total_budget":
                out.append(f"the total budget ({s.total_budget_musd:,.1f} $M) would need "
                           f"{amount:,.1f} $M more")
            elif family == "must_fund":
                out.append(f"must-fund project {key} could not be funded")
            elif family == "dependency":
                pid, q, _start = key
                if (pid, q) not in dependency_pairs:
                    dependency_pairs.add((pid, q))
                    out.append(f"{pid} requires {q} to be funded and online no later than {pid}, "
                               "which cannot be met within the horizon and budgets")
            elif family == "exclusive":
                members = [p for p, pr in inst.projects.items() if pr.exclusive_group == key]
                out.append(f"exclusive group {key!r} would need {1 + amount:.0f} funded projects "
                           f"({', '.join(members)})")
            elif family == "target":
                mineral, year = key
                shortfall.setdefault(mineral, []).append((year, amount))
            elif family == "risk":
                out.append(f"{key} (risk {inst.projects[key].risk:g}) would have to be funded "
                           f"despite the limit {s.max_project_risk:g}")
            elif family == "min_npv":
                out.append(f"the NPV would fall {amount:,.1f} $M short of the minimum "
                           f"{s.min_npv_musd:,.1f} $M")
    for mineral, rows in shortfall.items():
        years = sorted(y for y, _ in rows)
        worst = max(a for _, a in rows)
        span = str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"
        target = inst.minerals[mineral].target_china_share
        out.append(f"{mineral}: the China-share target of {target:.1%} is out of reach in {span} "
                   f"({len(years)} year{'s' if len(years) > 1 else ''}), by up to {worst:,.0f} t a "
                   "year of displaced supply")
    return out


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
