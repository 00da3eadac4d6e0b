"""The constraint families, declared once: name, words, how a slack reads, the verifier's check.

A family is a group of rows of the MILP that express one rule of the contract (the yearly
budgets, the dependencies ...). Each one is declared here with

- ``words``: how the infeasibility diagnosis names it ("the yearly budgets");
- ``describe``: the phrases for its rows that needed slack in the diagnosis, with amounts;
- ``check``: the verifier's check of that rule, from the decision's
  :class:`~optimizer.evaluate.Evaluation` alone (no model).

The model function that adds its rows is registered in :data:`optimizer.model.CONSTRAINTS`, and
``docs/formulation.md`` documents it as "family `name`"; a test holds the three together. So adding
a family is one declaration here, one model function and one check.

This module knows nothing of the MILP: it imports only the evaluation and the instance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .evaluate import TOL, Evaluation, allowed_starts
from .instance import Instance

Slacks = list[tuple[object, float]]  # (row key, slack amount in the row's unit)
TARGET_TOL = 1e-7  # China shares: the tolerance of a target


@dataclass(frozen=True)
class Family:
    """One constraint family of the model and the rule of the contract it expresses."""

    name: str
    words: str
    describe: Callable[[Instance, Slacks], list[str]]
    check: Callable[[Instance, Evaluation], list[str]]


def amount(value: float, decimals: int = 1) -> str:
    """A shortfall as a reader needs it: thousands separators and ``decimals`` places, but never
    rounded to nothing (0.004 stays 0.004, three significant digits, rather than "0.0")."""
    text = f"{value:,.{decimals}f}"
    if value and float(text.replace(",", "")) == 0.0:
        return f"{value:.3g}"
    return text


def _over(value: float, limit: float) -> bool:
    return value > limit + TOL * max(1.0, abs(limit))


# --- must_fund ------------------------------------------------------------------------------

def check_must_fund(instance: Instance, ev: Evaluation) -> list[str]:
    return [f"must-fund project {pid} is not funded"
            for pid, p in instance.projects.items() if p.must_fund and pid not in ev.starts]


def describe_must_fund(instance: Instance, slacks: Slacks) -> list[str]:
    return [f"must-fund project {pid} could not be funded" for pid, _ in slacks]


# --- budget ---------------------------------------------------------------------------------

def check_budget(instance: Instance, ev: Evaluation) -> list[str]:
    s = instance.settings
    what = "cumulative spend to" if s.budget_carryover else "spend in"
    robust = f" (with the {s.robust_gamma} largest overruns)" if s.robust_gamma else ""
    out = []
    for t in s.years:
        used, limit = ev.row_spend[t], ev.row_budget[t]
        if _over(used, limit):
            out.append(f"{what} {t}{robust} is {used:.6f} $M, over the budget {limit:.6f} $M")
    return out


def describe_budget(instance: Instance, slacks: Slacks) -> list[str]:
    what = "cumulative budget to" if instance.settings.budget_carryover else "budget of"
    return [f"the {what} {year} would need {amount(a)} $M more" for year, a in slacks]


# --- total_budget ---------------------------------------------------------------------------

def check_total_budget(instance: Instance, ev: Evaluation) -> list[str]:
    total = instance.settings.total_budget_musd
    if total is None or not _over(ev.total_capex, total):
        return []
    return [f"total capex {ev.total_capex:.6f} $M is over the total budget {total:.6f} $M"]


def describe_total_budget(instance: Instance, slacks: Slacks) -> list[str]:
    total = instance.settings.total_budget_musd
    return [f"the total budget ({total:,.1f} $M) would need {amount(a)} $M more"
            for _, a in slacks]


# --- dependency -----------------------------------------------------------------------------

def check_dependency(instance: Instance, ev: Evaluation) -> list[str]:
    out = []
    for pid, p in instance.projects.items():
        if pid not in ev.starts:
            continue
        for q in p.requires:
            if q not in ev.starts:
                out.append(f"{pid} requires {q}, which is not funded")
            elif ev.online[q] > ev.online[pid]:
                out.append(f"{pid} (online {ev.online[pid]}) requires {q}, online only "
                           f"{ev.online[q]}")
    return out


def describe_dependency(instance: Instance, slacks: Slacks) -> list[str]:
    """What relaxing a pair means; whether it is a cause is for the diagnosis to say (a pair may
    be met within the horizon and budgets, and only not together with the other rules)."""
    pairs = list(dict.fromkeys((pid, q) for (pid, q, _start), _ in slacks))
    return [f"{pid} would have to go ahead without {q} funded and online no later than {pid} "
            f"({pid} requires {q})" for pid, q in pairs]


# --- exclusive ------------------------------------------------------------------------------

def check_exclusive(instance: Instance, ev: Evaluation) -> list[str]:
    groups: dict[str, list[str]] = {}
    for pid in ev.starts:
        group = instance.projects[pid].exclusive_group if pid in instance.projects else None
        if group:
            groups.setdefault(group, []).append(pid)
    return [f"exclusive group {g!r} has {len(members)} funded: {', '.join(members)}"
            for g, members in groups.items() if len(members) > 1]


def describe_exclusive(instance: Instance, slacks: Slacks) -> list[str]:
    out = []
    for group, amount in slacks:
        members = [p for p, pr in instance.projects.items() if pr.exclusive_group == group]
        out.append(f"exclusive group {group!r} would need {1 + amount:.0f} funded projects "
                   f"({', '.join(members)})")
    return out


# --- target ---------------------------------------------------------------------------------

def target_years(instance: Instance):
    """(mineral name, mineral, year) for every mineral with a target and every year from
    target_year on: the rows the target families hold."""
    s = instance.settings
    if s.target_year is None:
        return
    for name, m in instance.minerals.items():
        if m.target_china_share is not None:
            for t in s.years:
                if t >= s.target_year:
                    yield name, m, t


def check_target(instance: Instance, ev: Evaluation) -> list[str]:
    out = []
    for name, m, t in target_years(instance):
        share = ev.share_after[name][t]
        if share > m.target_china_share + TARGET_TOL:
            out.append(f"{name}: China share {share:.6f} in {t} is above the target "
                       f"{m.target_china_share:.6f}")
    return out


def shortfalls(slacks: Slacks) -> list[tuple[str, str, int, float]]:
    """Per mineral of (mineral, year) slacks: (mineral, span of years, count of years, worst)."""
    by_mineral: dict[str, list[tuple[int, float]]] = {}
    for (mineral, year), amount in slacks:
        by_mineral.setdefault(mineral, []).append((year, amount))
    out = []
    for mineral, rows in by_mineral.items():
        years = sorted(set(y for y, _ in rows))
        out.append((mineral, year_runs(years), len(years), max(a for _, a in rows)))
    return out


def year_runs(years: list[int]) -> str:
    """Sorted distinct years as runs: [2031, 2047, 2048, 2049, 2050] -> "2031 and 2047-2050"."""
    runs: list[list[int]] = []
    for y in years:
        if runs and y == runs[-1][-1] + 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    parts = [str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def describe_target(instance: Instance, slacks: Slacks) -> list[str]:
    """One phrase per mineral: the years out of reach, the lowest China share reachable there
    (the target plus the shortfall over that year's demand, at the worst year, in the elastic
    solution that minimizes the relative shortfall) and the worst shortfall in tonnes."""
    first = instance.settings.first_year
    out = []
    for mineral, span, n, worst in shortfalls(slacks):
        m = instance.minerals[mineral]
        reach = max(m.target_china_share + a / m.demand(year, first)
                    for (name, year), a in slacks if name == mineral)
        out.append(f"{mineral}: the China-share target of {m.target_china_share:.1%} is out of "
                   f"reach in {span} ({n} year{'s' if n > 1 else ''}); the lowest China share "
                   f"reachable there is {reach:.1%}, a shortfall of up to {amount(worst, 0)} t a "
                   "year of displaced supply")
    return out


# --- protection -----------------------------------------------------------------------------

def protected_supply(instance: Instance, ev: Evaluation, mineral: str, year: int) -> float:
    """Tonnes of ``mineral`` the plan delivers in ``year`` (as counted) when its
    ``target_protection`` funded projects with the largest deliveries that year deliver nothing."""
    k = instance.settings.target_protection
    amounts = sorted((ev.project_deliveries[pid].get(year, 0.0) for pid in ev.starts
                      if instance.projects[pid].mineral == mineral), reverse=True)
    return sum(amounts[k:])


def check_protection(instance: Instance, ev: Evaluation) -> list[str]:
    """Each target, from target_year on, with the k largest suppliers of the year lost."""
    s = instance.settings
    k = s.target_protection
    if k <= 0:
        return []
    out = []
    for name, m, t in target_years(instance):
        demand = ev.demand[name][t]
        exposed = m.china_share * demand
        share = (exposed - min(protected_supply(instance, ev, name, t), exposed)) / demand
        if share > m.target_china_share + TARGET_TOL:
            out.append(f"{name}: with its {k} largest supplier(s) of {t} delivering nothing, "
                       f"the China share in {t} is {share:.6f}, above the target "
                       f"{m.target_china_share:.6f}")
    return out


def describe_protection(instance: Instance, slacks: Slacks) -> list[str]:
    """One phrase per mineral: the years the target cannot survive losing k suppliers, and the
    worst shortfall in tonnes."""
    k = instance.settings.target_protection
    return [f"{mineral}: the China-share target of "
            f"{instance.minerals[mineral].target_china_share:.1%} cannot be protected against "
            f"losing its {k} largest supplier{'s' if k > 1 else ''} in {span} "
            f"({n} year{'s' if n > 1 else ''}): the other funded projects fall short by up to "
            f"{amount(worst, 0)} t a year" for mineral, span, n, worst in shortfalls(slacks)]


# --- min_npv --------------------------------------------------------------------------------

def check_min_npv(instance: Instance, ev: Evaluation) -> list[str]:
    floor = instance.settings.min_npv_musd
    if floor is None or ev.npv_musd >= floor - TOL * max(1.0, abs(floor)):
        return []
    return [f"NPV {ev.npv_musd:.6f} $M is below the minimum {floor:.6f} $M"]


def describe_min_npv(instance: Instance, slacks: Slacks) -> list[str]:
    floor = instance.settings.min_npv_musd
    return [f"the NPV would fall {amount(a)} $M short of the minimum {floor:,.1f} $M"
            for _, a in slacks]


# --- risk -----------------------------------------------------------------------------------

def check_risk(instance: Instance, ev: Evaluation) -> list[str]:
    limit = instance.settings.max_project_risk
    if limit is None:
        return []
    return [f"{pid} has risk {p.risk:g}, above the limit {limit:g}"
            for pid, p in instance.projects.items() if pid in ev.starts and p.risk > limit]


def describe_risk(instance: Instance, slacks: Slacks) -> list[str]:
    limit = instance.settings.max_project_risk
    return [f"{pid} (risk {instance.projects[pid].risk:g}) would have to be funded despite the "
            f"limit {limit:g}" for pid, _ in slacks]


# --- country ---------------------------------------------------------------------------------

def country_capex(instance: Instance, ev: Evaluation) -> tuple[dict[str, float], float]:
    """The plan's capex by country and in all ($M, at the basis; projects with no capex count
    nothing)."""
    by_country: dict[str, float] = {}
    for pid in ev.starts:
        country = instance.projects[pid].country
        by_country[country] = by_country.get(country, 0.0) + ev.capex[pid]
    return by_country, sum(by_country.values())


def check_country(instance: Instance, ev: Evaluation) -> list[str]:
    by_country, total = country_capex(instance, ev)
    out = []
    for country, c in instance.countries.items():
        share = c.max_capex_share
        used = by_country.get(country, 0.0)
        if share is not None and used > share * total + TOL * max(1.0, total):
            out.append(f"{country} holds {used:.6f} $M of the plan's {total:.6f} $M of capex "
                       f"({used / total:.4%}), above its limit of {share:.4%}")
    return out


def describe_country(instance: Instance, slacks: Slacks) -> list[str]:
    return [f"{country}'s capex would exceed its limit of "
            f"{instance.countries[country].max_capex_share:.1%} of the plan's capex by "
            f"{amount(a)} $M" for country, a in slacks]


FAMILIES: tuple[Family, ...] = (
    Family("must_fund", "the must-fund projects", describe_must_fund, check_must_fund),
    Family("budget", "the yearly budgets", describe_budget, check_budget),
    Family("total_budget", "the total budget", describe_total_budget, check_total_budget),
    Family("dependency", "the dependencies (requires)", describe_dependency, check_dependency),
    Family("exclusive", "the exclusive groups", describe_exclusive, check_exclusive),
    Family("target", "the China-share targets", describe_target, check_target),
    Family("protection", "the target protection", describe_protection, check_protection),
    Family("min_npv", "the minimum NPV", describe_min_npv, check_min_npv),
    Family("risk", "the project risk limit", describe_risk, check_risk),
    Family("country", "the country capex limits", describe_country, check_country),
)
BY_NAME = {family.name: family for family in FAMILIES}


def structural_violations(instance: Instance, ev: Evaluation) -> list[str]:
    """What no family covers: unknown projects, start years outside a project's window, money
    spent outside the horizon."""
    out = []
    for pid, start in ev.starts.items():
        if pid not in instance.projects:
            out.append(f"unknown project {pid!r} funded")
        elif start not in allowed_starts(instance, pid):
            out.append(f"{pid} starts in {start}, outside its allowed start years")
    for t, amount in ev.spend.items():
        if t not in ev.budget and amount > TOL:
            out.append(f"{amount:.6f} $M spent in {t}, outside the horizon")
    return out


def violations(instance: Instance, ev: Evaluation) -> list[str]:
    """Every contract rule the plan breaks, in words. Empty means the plan is feasible."""
    out = structural_violations(instance, ev)
    if any(pid not in instance.projects for pid in ev.starts):
        return out  # the family checks read projects by id
    for family in FAMILIES:
        out += family.check(instance, ev)
    return out
