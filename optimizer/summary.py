"""Short plain-text summaries printed by the command line."""

from __future__ import annotations

from collections import Counter

from .instance import Instance
from .results import Result

PRIORITY_NAMED = 10  # projects of the funding order the summary names


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def instance_summary(instance: Instance) -> str:
    s = instance.settings
    kinds = Counter(p.kind for p in instance.projects.values())
    countries = Counter(p.country for p in instance.projects.values())
    total_budget = sum(instance.budget.values())
    lines = [
        f"Workbook {instance.name}: {len(instance.projects)} projects "
        f"({_count(kinds.get('plant', 0), 'plant')}, {_count(kinds.get('offtake', 0), 'offtake')}) "
        f"in {len(countries)} countries, {len(instance.minerals)} minerals.",
        f"Horizon {s.first_year}-{s.last_year}, objective {s.objective}, capex basis {s.capex_basis}, "
        f"yearly budgets {total_budget:,.0f} $M in all"
        + (f", total cap {s.total_budget_musd:,.0f} $M" if s.total_budget_musd is not None else "")
        + (", with carry-over" if s.budget_carryover else "") + ".",
    ]
    if instance.budget_levels:
        lines.append("Budget levels: " + ", ".join(
            f"{lv.level} x {lv.budget_multiplier:g} ({lv.probability:.0%})"
            for lv in instance.budget_levels) + ".")
    rows = [[m.mineral, f"{m.us_demand_t:,.0f}", f"{m.china_share:.1%}",
             "-" if m.target_china_share is None else f"{m.target_china_share:.1%}"]
            for m in instance.minerals.values()]
    lines += ["", _table(["mineral", "US demand (t)", "China share", "target"], rows)]
    return "\n".join(lines)


def result_summary(result: Result) -> str:
    inst, ev, info = result.instance, result.evaluation, result.info
    s = inst.settings
    unit = "share-years" if s.objective == "security" else "$M"
    gap = "unknown" if info.mip_gap is None else f"{info.mip_gap:.4%}"
    lines = [
        f"Status: {info.status_words} ({info.solver}, {info.solve_seconds:.2f} s, gap {gap}).",
        f"Objective ({s.objective}): {result.objective_value:,.3f} {unit}; NPV {ev.npv_musd:,.1f} $M; "
        f"capital {ev.total_capex:,.1f} $M; {len(result.starts)} of {len(inst.projects)} funded.",
        *([result.objective_note] if result.objective_note else []),
        "",
    ]
    rows = []
    for pid in result.funded_ids:
        p = inst.projects[pid]
        rows.append([pid, p.kind, p.mineral, p.country, str(result.starts[pid]), str(ev.online[pid]),
                     f"{ev.capex[pid]:,.1f}", f"{p.npv_musd:,.1f}"])
    if rows:
        lines.append(_table(["project", "kind", "mineral", "country", "start", "online",
                             "capex $M", "NPV $M"], rows))
    year = s.target_year or s.last_year
    lines += ["", f"China share of US demand, {s.first_year} -> {year} with the plan:"]
    for name in inst.minerals:
        lines.append(f"  {name}: {ev.share_before[name][s.first_year]:.1%} -> "
                     f"{ev.share_after[name][year]:.1%}")
    plan = result.analyses.priority
    if plan is not None and plan.expected_objective is not None:
        first = [e.project_id for e in plan.order[:PRIORITY_NAMED]]
        more = " ..." if len(plan.order) > PRIORITY_NAMED else ""
        proven = ("proven optimal" if plan.status == "optimal"
                  else "not proven optimal: the time limit stopped the solver")
        lines += ["", f"Funding priority over {len(plan.levels)} budget levels: expected "
                      f"objective {plan.expected_objective:,.3f} {unit} ({proven}); funding "
                      f"order {', '.join(first)}{more}."]
    return "\n".join(lines)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
