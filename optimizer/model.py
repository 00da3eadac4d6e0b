"""The portfolio MILP, built with PuLP: one function per constraint family.

Symbols follow ``docs/formulation.md``:

- ``x[p, s]``   project p starts in year s (s in the allowed starts S_p): binary, or with more
  than one allowed start ``h[p, s] - h[p, s']`` with ``h[p, s]`` binary, p started by year s
- ``d[m, t]``   continuous in 0..1, the share of the China-dependent volume of mineral m
  displaced in year t (``d_unit[m, t] x d[m, t]`` tonnes)
- ``z[t]``, ``q[p, t]``  continuous, Bertsimas-Sim duals of the robust budget row of year t
- ``w[m, t]``, ``u[p, m, t]``  continuous, the same duals for the target protection row of
  mineral m and year t

``build_model`` is a flat list of calls that can be audited against the written formulation.
Every row is added through :meth:`PortfolioModel.add_row`, which keeps it in ``rows[family][key]``
and, when the family is *elastic* (infeasibility diagnosis), gives it a non-negative slack.
The build is one pass over the (project, start) pairs: coefficients are appended to per-row lists
and each row is made once, so the build is linear in the number of non-zeros.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable

import pulp

from .evaluate import allowed_starts
from .families import FAMILIES
from .instance import Instance
from .risk import deliveries_by_year, expected_npv_at_start

def linear(terms: Iterable[tuple[pulp.LpVariable, float]]) -> pulp.LpAffineExpression:
    """sum(coefficient x variable), adding up repeated variables.

    ``pulp.LpAffineExpression(list)`` keeps only the LAST coefficient of a repeated variable, so
    every row and objective of this module is made through this function instead.
    """
    coefs: dict[pulp.LpVariable, float] = {}
    for var, coef in terms:
        coefs[var] = coefs.get(var, 0.0) + coef
    return pulp.LpAffineExpression(list(coefs.items()))


@dataclass
class PortfolioModel:
    """The PuLP problem and dictionaries from ids to its variables and rows."""

    instance: Instance
    prob: pulp.LpProblem
    elastic: frozenset[str] = frozenset()
    x: dict[tuple[str, int], pulp.LpVariable] = field(default_factory=dict)
    # (project, year) -> binary "started by that year" (projects with more than one start)
    h: dict[tuple[str, int], pulp.LpVariable] = field(default_factory=dict)
    d: dict[tuple[str, int], pulp.LpVariable] = field(default_factory=dict)
    # (mineral, year) -> tonnes per unit of d: the China-dependent volume (1 where it is 0)
    d_unit: dict[tuple[str, int], float] = field(default_factory=dict)
    # (mineral, year) -> project -> its delivery terms (x[p, s], tonnes) in that year
    supply: dict[tuple[str, int], dict[str, list]] = field(
        default_factory=lambda: defaultdict(dict))
    starts: dict[str, list[int]] = field(default_factory=dict)  # project -> its allowed starts
    rows: dict[str, dict[object, pulp.LpConstraint]] = field(default_factory=lambda: defaultdict(dict))
    slacks: dict[str, dict[object, tuple[pulp.LpVariable, float]]] = field(
        default_factory=lambda: defaultdict(dict))
    objective_expr: pulp.LpAffineExpression | None = None
    _n: int = 0

    def name(self, prefix: str) -> str:
        """A unique, solver-safe name. Names are for reading LP files only, never parsed back."""
        self._n += 1
        return f"{prefix}_{self._n}"

    def add_row(self, family: str, key: object, terms: Iterable[tuple[pulp.LpVariable, float]],
                sense: str, rhs: float, scale: float = 1.0) -> None:
        """Add ``sum(terms) sense rhs`` (sense "<=", ">=" or "=="), elastic when the family is.

        ``scale`` is the row's natural size (a budget, a tonnage), so that elastic slacks of
        different families are compared in relative terms.
        """
        expr = linear(list(terms))
        if family in self.elastic:
            slack = self.prob.add_variable(self.name(f"slack_{family}"), lowBound=0)
            self.slacks[family][key] = (slack, max(abs(scale), 1e-9))
            # ">=" and "==" rows relax downwards ("fund it" becomes "fund it or pay")
            expr = expr - slack if sense == "<=" else expr + slack
        if sense == "<=":
            con = expr <= rhs
        elif sense == ">=":
            con = expr >= rhs
        else:
            con = expr == rhs
        self.prob.addConstraint(con, self.name(family))
        self.rows[family][key] = con


def capex_coefficients(instance: Instance, pid: str) -> list[tuple[int, float]]:
    """(year offset, $M spent) pairs of a project at the capex basis."""
    p = instance.projects[pid]
    cap = p.capex(instance.settings.capex_basis)
    return [(o, cap * share) for o, share in enumerate(p.spend_shares) if share != 0]


def overrun_coefficients(instance: Instance, pid: str) -> list[tuple[int, float]]:
    """(year offset, $M) extra spend of a project if it runs to capex_high."""
    p = instance.projects[pid]
    extra = max(p.capex_high_musd - p.capex(instance.settings.capex_basis), 0.0)
    return [(o, extra * share) for o, share in enumerate(p.spend_shares) if share != 0]


def define_start_variables(m: PortfolioModel) -> None:
    """x[p, s] for every project and allowed start year (computed once, kept in m.starts).

    A project with one allowed start has x binary. With more, the binaries are h[p, s] = 1 when
    p has started by year s, h[p, s] = sum of x[p, s'] over its allowed s' <= s, and x is
    continuous in 0..1 (integral whenever h is): the same plans and the same LP relaxation, but
    the solver branches on "started by s", which cuts a start window in two, instead of on one
    start year (much smaller search trees; docs/formulation.md)."""
    for pid in m.instance.projects:
        starts = m.starts[pid] = allowed_starts(m.instance, pid)
        if len(starts) == 1:
            m.x[pid, starts[0]] = m.prob.add_variable(m.name("x"), cat=pulp.LpBinary)
            continue
        so_far: list[tuple[pulp.LpVariable, float]] = []
        for s in starts:
            x = m.x[pid, s] = m.prob.add_variable(m.name("x"), lowBound=0, upBound=1)
            h = m.h[pid, s] = m.prob.add_variable(m.name("h"), cat=pulp.LpBinary)
            so_far.append((x, -1.0))
            m.prob.addConstraint(linear([(h, 1.0)] + so_far) == 0, m.name("started"))


def starts_of(m: PortfolioModel, pid: str) -> list[int]:
    """The allowed start years of a project (those with an x variable)."""
    return m.starts[pid]


def in_started_by(m: PortfolioModel, pid: str,
                  coef: dict[int, float]) -> list[tuple[pulp.LpVariable, float]]:
    """``sum_s coef[s] x[p, s]`` written in the started-by binaries:
    ``sum_s (coef[s] - coef[s+]) h[p, s]`` (``s+`` the next allowed start; 0 after the last),
    equal to it under the rows ``started``; ``x`` itself for a project with one allowed start.

    The rows are the same on every plan and the LP relaxation is the same, but written over
    the binaries the solver branches on, rows whose coefficient falls with the start year
    (cumulative spend, deliveries, capex) become sparse knapsacks HiGHS derives strong cuts
    from: the example's re-solves take about half the HiGHS time (bench/formulation_bench.py,
    docs/decisions.md)."""
    starts = starts_of(m, pid)
    if len(starts) == 1:
        c = coef.get(starts[0], 0.0)
        return [(m.x[pid, starts[0]], c)] if c else []
    out = []
    for s, after in zip(starts, starts[1:] + [None]):
        c = coef.get(s, 0.0) - (coef.get(after, 0.0) if after is not None else 0.0)
        if c:
            out.append((m.h[pid, s], c))
    return out


def started_by(m: PortfolioModel, pid: str, year: int) -> list[tuple[pulp.LpVariable, float]]:
    """"p has started by ``year``" as terms: ``h[p, s]`` of its last allowed start ``s <= year``
    (``x`` of a project with one start); no term (0) before its first allowed start."""
    return in_started_by(m, pid, {s: 1.0 for s in starts_of(m, pid) if s <= year})


def add_one_start(m: PortfolioModel) -> None:
    """At most one start per project; exactly one for must_fund projects."""
    for pid, p in m.instance.projects.items():
        terms = [(m.x[pid, s], 1.0) for s in starts_of(m, pid)]
        if p.must_fund:
            m.add_row("must_fund", pid, terms, "==", 1.0)
        elif len(terms) > 1:
            m.prob.addConstraint(linear(terms) <= 1, m.name("one_start"))


def add_budgets(m: PortfolioModel) -> None:
    """Yearly budget rows, or cumulative rows with carry-over; robust when gamma > 0.

    With carry-over, the spend of first_year..t is ``sum_p sum_s C_p(t - s) x[p, s]`` with
    ``C_p(o)`` the capex p has spent by ``o`` years after its start; it falls with the start
    year, so the row is written in the started-by binaries (:func:`in_started_by`), where it is
    a knapsack with non-negative coefficients ``c_p f_p[t - s]``."""
    inst = m.instance
    s = inst.settings
    years = list(s.years)
    if not s.budget_carryover:
        spend: dict[int, list] = {t: [] for t in years}
        overrun: dict[int, dict[str, list]] = {t: defaultdict(list) for t in years}
        for pid in inst.projects:
            extra = overrun_coefficients(inst, pid) if s.robust_gamma > 0 else []
            for start in starts_of(m, pid):
                var = m.x[pid, start]
                for o, c in capex_coefficients(inst, pid):
                    spend[start + o].append((var, c))
                for o, c in extra:
                    if c > 0:
                        overrun[start + o][pid].append((var, c))
        for t in years:
            terms = spend[t] + _robust_terms(m, t, overrun[t])
            m.add_row("budget", t, terms, "<=", inst.budget[t], scale=inst.budget[t])
        return
    cost = {pid: capex_coefficients(inst, pid) for pid in inst.projects}
    extra = {pid: [(o, c) for o, c in overrun_coefficients(inst, pid) if c > 0]
             for pid in inst.projects} if s.robust_gamma > 0 else {}
    cum_budget = 0.0
    for t in years:
        cum_budget += inst.budget[t]
        terms = []
        for pid, offsets in cost.items():
            terms += in_started_by(m, pid, _spent_by(m, pid, offsets, t))
        cum_overrun = {pid: in_started_by(m, pid, _spent_by(m, pid, offsets, t))
                       for pid, offsets in extra.items()}
        terms += _robust_terms(m, t, {pid: e for pid, e in cum_overrun.items() if e})
        m.add_row("budget", t, terms, "<=", cum_budget, scale=cum_budget)


def _spent_by(m: PortfolioModel, pid: str, offsets: list[tuple[int, float]],
              t: int) -> dict[int, float]:
    """Start year -> what p started then has spent by the end of year t ($M), from its (year
    offset, $M) pairs."""
    out = {}
    for start in starts_of(m, pid):
        spent = sum(c for o, c in offsets if start + o <= t)
        if spent:
            out[start] = spent
    return out


def _robust_terms(m: PortfolioModel, t: int, overrun: dict[str, list]) -> list:
    """Bertsimas-Sim protection of one budget row, kept linear.

    The row must hold when any gamma projects run to capex_high: max over |S| <= gamma of
    sum_{p in S} e_p(x) equals, by LP duality, min gamma z + sum_p q_p with q_p >= e_p(x) - z,
    z, q >= 0. Returns the terms gamma z + sum q_p and adds the rows q_p >= e_p(x) - z.
    """
    gamma = m.instance.settings.robust_gamma
    if gamma <= 0 or not overrun:
        return []
    z = m.prob.add_variable(m.name("z"), lowBound=0)
    terms = [(z, float(gamma))]
    for pid, e_terms in overrun.items():
        q = m.prob.add_variable(m.name("q"), lowBound=0)
        m.prob.addConstraint(linear(e_terms + [(q, -1.0), (z, -1.0)]) <= 0,
                             m.name("robust"))
        terms.append((q, 1.0))
    return terms


def add_total_budget(m: PortfolioModel) -> None:
    """Sum of capex over the horizon within total_budget_musd."""
    total = m.instance.settings.total_budget_musd
    if total is None:
        return
    terms = []
    for pid, p in m.instance.projects.items():
        cap = p.capex(m.instance.settings.capex_basis)
        terms += in_started_by(m, pid, {s: cap for s in starts_of(m, pid)})
    m.add_row("total_budget", "total", terms, "<=", total, scale=total)


def add_dependencies(m: PortfolioModel) -> None:
    """For each start s of p and each q it requires: p started by s implies q started by
    s + build_p - build_q (q online no later than p), ``h[p,s] <= h[q, s + b_p - b_q]``.

    Tighter than ``x[p,s] <= sum of x[q,s'] over s' + b_q <= s + b_p`` (which it implies, as
    ``x[p,s] <= h[p,s]``), with the same plans: alone, it took a quarter off the example's
    re-solves (docs/decisions.md).
    When the family is elastic (the diagnosis counts broken rows), the per-start rows are kept,
    so that a plan breaking the rule for (p, q) breaks one row, at p's start, not one for each
    year until q catches up."""
    per_start = "dependency" in m.elastic
    for pid, p in m.instance.projects.items():
        for q in p.requires:
            build_q = m.instance.projects[q].build_years
            for s in starts_of(m, pid):
                online = s + p.build_years
                if per_start:
                    terms = [(m.x[pid, s], 1.0)]
                    terms += [(m.x[q, s2], -1.0) for s2 in starts_of(m, q)
                              if s2 + build_q <= online]
                else:
                    terms = started_by(m, pid, s)
                    terms += [(v, -c) for v, c in started_by(m, q, online - build_q)]
                m.add_row("dependency", (pid, q, s), terms, "<=", 0.0)


def add_exclusive_groups(m: PortfolioModel) -> None:
    """At most one funded project per exclusive group."""
    groups: dict[str, list] = defaultdict(list)
    for pid, p in m.instance.projects.items():
        if p.exclusive_group:
            groups[p.exclusive_group] += [(m.x[pid, s], 1.0) for s in starts_of(m, pid)]
    for g, terms in groups.items():
        m.add_row("exclusive", g, terms, "<=", 1.0)


def define_displacement(m: PortfolioModel) -> None:
    """Displaced tonnes ``d_unit x d[m,t]``, at most the China-dependent volume
    ``d_unit = china_share x demand`` (d <= 1) and at most the deliveries of funded projects.

    d is the displaced *share* of that volume so that HiGHS does not take it for an integer
    (in tonnes, with whole-tonne capacities, it did, and its reduced-cost fixing then kept up to
    1,024 bounds per column: about a third of every solve's time on the example; the same
    plans, see docs/formulation.md). Deliveries are planned, or expected ones with
    risk_adjusted (``risk.deliveries_by_year``); each project's terms are kept in ``m.supply``
    for the target protection rows.
    """
    inst = m.instance
    s = inst.settings
    tonnes_by_start: dict[tuple[str, int], dict[str, dict[int, float]]] = defaultdict(dict)
    for pid, p in inst.projects.items():
        for start in starts_of(m, pid):
            by_year = deliveries_by_year(inst, pid, start, expected=s.risk_adjusted)
            for t, tonnes in by_year.items():
                m.supply[p.mineral, t].setdefault(pid, []).append((m.x[pid, start], tonnes))
                tonnes_by_start[p.mineral, t].setdefault(pid, {})[start] = tonnes
    for name, mineral in inst.minerals.items():
        for t in s.years:
            cap = mineral.china_share * mineral.demand(t, s.first_year)
            unit = cap if cap > 0 else 1.0
            var = m.prob.add_variable(m.name("d"), lowBound=0, upBound=cap / unit)
            m.d[name, t] = var
            m.d_unit[name, t] = unit
            deliveries = [term for pid, tonnes in tonnes_by_start[name, t].items()
                          for term in in_started_by(m, pid, tonnes)]
            m.prob.addConstraint(linear(deliveries + [(var, -unit)]) >= 0, m.name("deliver"))


def target_needs(m: PortfolioModel) -> list[tuple[str, int, float]]:
    """(mineral, year, need) of every target row: from target_year on, for minerals with a
    target, need = (china_share - target) x demand > 0 (tonnes to displace)."""
    s = m.instance.settings
    if s.target_year is None:
        return []
    out = []
    for name, mineral in m.instance.minerals.items():
        if mineral.target_china_share is None:
            continue
        for t in s.years:
            demand = mineral.demand(t, s.first_year)
            need = (mineral.china_share - mineral.target_china_share) * demand
            if t >= s.target_year and need > 0:
                out.append((name, t, need))
    return out


def add_targets(m: PortfolioModel) -> None:
    """From target_year on: d[m,t] >= (china_share - target) x demand."""
    for name, t, need in target_needs(m):
        m.add_row("target", (name, t), [(m.d[name, t], m.d_unit[name, t])], ">=", need,
                  scale=need)


def add_protection(m: PortfolioModel) -> None:
    """N-k protection of each target row (k = target_protection > 0): the deliveries of the
    funded projects of the mineral, minus the k largest, still cover the need. With
    D_p = sum_s delivery(p, s, t) x[p, s], by LP duality (as in ``_robust_terms``):
    sum_p D_p - (k w + sum_p u_p) >= need, u_p >= D_p - w, w, u >= 0."""
    k = m.instance.settings.target_protection
    if k <= 0:
        return
    for name, t, need in target_needs(m):
        w = m.prob.add_variable(m.name("w"), lowBound=0)
        terms = [(w, -float(k))]
        for supply in m.supply[name, t].values():
            u = m.prob.add_variable(m.name("u"), lowBound=0)
            m.prob.addConstraint(linear(supply + [(u, -1.0), (w, -1.0)]) <= 0,
                                 m.name("protect"))
            terms += supply + [(u, -1.0)]
        m.add_row("protection", (name, t), terms, ">=", need, scale=need)


def add_risk_limit(m: PortfolioModel) -> None:
    """Projects whose risk is above max_project_risk are not funded: sum_s x[p,s] <= 0."""
    limit = m.instance.settings.max_project_risk
    if limit is None:
        return
    for pid, p in m.instance.projects.items():
        terms = [(m.x[pid, s], 1.0) for s in starts_of(m, pid)]
        if p.risk > limit and terms:
            m.add_row("risk", pid, terms, "<=", 0.0)


def add_country_limits(m: PortfolioModel) -> None:
    """A country's capex within its max_capex_share of the plan's capex (planned, at the basis;
    projects with no capex do not count): for each country c with a limit,
    sum_{p in c, s} c_p x[p,s] - share_c sum_{q, s} c_q x[q,s] <= 0."""
    inst = m.instance
    limits = {c: country.max_capex_share for c, country in inst.countries.items()
              if country.max_capex_share is not None}
    if not limits:
        return
    basis = inst.settings.capex_basis
    spend = {pid: [(m.x[pid, s], p.capex(basis)) for s in starts_of(m, pid)]
             for pid, p in inst.projects.items() if p.capex(basis) > 0}
    total = [term for terms in spend.values() for term in terms]
    scale = max((c for _, c in total), default=1.0)
    for country, share in limits.items():
        own = [term for pid, terms in spend.items() if inst.projects[pid].country == country
               for term in terms]
        if own:
            m.add_row("country", country, own + [(var, -share * c) for var, c in total], "<=",
                      0.0, scale=scale)


def npv_terms(m: PortfolioModel) -> list[tuple[pulp.LpVariable, float]]:
    """NPV = sum v_p delta_s x[p,s] ($M); with risk_adjusted, the expected NPV at the start
    (``risk.expected_npv_at_start``) instead of v_p."""
    s = m.instance.settings
    if s.risk_adjusted:
        return [(var, expected_npv_at_start(m.instance, pid, start) * s.discount(start))
                for (pid, start), var in m.x.items()]
    return [(var, m.instance.projects[pid].npv_musd * s.discount(start))
            for (pid, start), var in m.x.items()]


def add_min_npv(m: PortfolioModel) -> None:
    floor = m.instance.settings.min_npv_musd
    if floor is None:
        return
    m.add_row("min_npv", "npv", npv_terms(m), ">=", floor, scale=max(abs(floor), 1.0))


def security_terms(m: PortfolioModel) -> list[tuple[pulp.LpVariable, float]]:
    """China reliance removed: sum weight_m (displaced tonnes) / D_mt delta_t (share-years)."""
    s = m.instance.settings
    out = []
    for (name, t), var in m.d.items():
        mineral = m.instance.minerals[name]
        coef = (mineral.weight / mineral.demand(t, s.first_year) * s.discount(t)
                * m.d_unit[name, t])
        if coef:
            out.append((var, coef))
    return out


def premium_terms(m: PortfolioModel) -> list[tuple[pulp.LpVariable, float]]:
    """Security premium of displaced tonnes: sum premium_m / 1e6 (tonnes) delta_t ($M)."""
    s = m.instance.settings
    out = []
    for (name, t), var in m.d.items():
        coef = (m.instance.minerals[name].security_premium_usd_per_t / 1e6 * s.discount(t)
                * m.d_unit[name, t])
        if coef:
            out.append((var, coef))
    return out


def objective_terms(m: PortfolioModel, objective: str | None = None) -> list:
    """The objective: npv, security (share-years) or weighted ($M); the workbook's by default.
    ``premium`` (the security value alone, $M) is a criterion of the weighted frontier."""
    objective = objective or m.instance.settings.objective
    if objective == "npv":
        return npv_terms(m)
    if objective == "security":
        return security_terms(m)
    if objective == "premium":
        return premium_terms(m)
    return npv_terms(m) + premium_terms(m)


def funded_terms(m: PortfolioModel, pid: str) -> list[tuple[pulp.LpVariable, float]]:
    """sum_s x[p,s]: 1 when p is funded."""
    return [(m.x[pid, s], 1.0) for s in starts_of(m, pid)]


def add_floor(m: PortfolioModel, terms: list, floor: float, label: str) -> None:
    """A lower bound on an expression (epsilon-constraint, objective floor of alternatives)."""
    m.prob.addConstraint(linear(terms) >= floor, m.name(label))


def add_no_good_cut(m: PortfolioModel, funded: set[str]) -> None:
    """Exclude one funded set: sum_{p in F} funded_p - sum_{p not in F} funded_p <= |F| - 1."""
    terms = []
    for pid in m.instance.projects:
        sign = 1.0 if pid in funded else -1.0
        terms += [(v, sign) for v, _ in funded_terms(m, pid)]
    m.prob.addConstraint(linear(terms) <= len(funded) - 1, m.name("no_good"))


def set_objective_to(m: PortfolioModel, terms: list) -> None:
    """Replace the objective (maximized) by ``terms``; objective_expr follows."""
    m.objective_expr = linear(terms)
    m.prob.sense = pulp.LpMaximize
    m.prob.setObjective(m.objective_expr)


def set_objective(m: PortfolioModel) -> None:
    """Maximize the objective; in elastic mode, minimize the scaled slacks instead."""
    m.objective_expr = linear(objective_terms(m))
    if m.elastic:
        m.prob.sense = pulp.LpMinimize
        m.prob.setObjective(linear(
            [(v, 1.0 / scale) for fam in m.slacks.values() for v, scale in fam.values()]))
    else:
        m.prob.setObjective(m.objective_expr)


# The model function of each constraint family declared in optimizer.families, by family name.
CONSTRAINTS: dict[str, Callable[[PortfolioModel], None]] = {
    "must_fund": add_one_start,
    "budget": add_budgets,
    "total_budget": add_total_budget,
    "dependency": add_dependencies,
    "exclusive": add_exclusive_groups,
    "target": add_targets,
    "protection": add_protection,
    "min_npv": add_min_npv,
    "risk": add_risk_limit,
    "country": add_country_limits,
}


def add_plan(m: PortfolioModel) -> None:
    """One plan of ``m.instance`` in ``m.prob``: its variables and every constraint family. A
    joint model holding several plans (the nested priority plan) calls this once per plan."""
    define_start_variables(m)
    define_displacement(m)
    for family in FAMILIES:
        CONSTRAINTS[family.name](m)


def build_model(instance: Instance, elastic: Iterable[str] = ()) -> PortfolioModel:
    """The whole MILP. ``elastic`` names constraint families to relax (for diagnosis)."""
    m = PortfolioModel(instance, pulp.LpProblem("portfolio", pulp.LpMaximize), frozenset(elastic))
    add_plan(m)
    set_objective(m)
    return m


def decision(m: PortfolioModel) -> dict[str, int]:
    """The start year of every funded project, read from the solved x variables."""
    return {pid: s for (pid, s), var in m.x.items() if (var.varValue or 0.0) > 0.5}
