"""Explain an infeasible workbook in plain words, by relaxing constraint families one at a time.

For each constraint family present (must-fund, budgets, total budget, dependencies, exclusive
groups, targets, target protection, NPV floor, risk limit, country limits; declared in
``optimizer.families``) the model is rebuilt with only that family *elastic*: each of its rows gets
a slack, scaled by the row's size. The families whose relaxation alone makes a plan possible are
the ones in conflict. When no single family suffices, all families are relaxed together.

Which rows are named (``docs/decisions.md``, "What would raise the chance, and why no plan").
The rows are taken in groups, as a reader names them (:func:`group_of`: a budget year, a
dependency pair with all its start years, a mineral's target years, an exclusive group ...). A
relaxation that makes a plan possible is not unique, so a group that got slack in one is not
necessarily a cause. A group is named as a cause only when it is *needed*: with its slack forbidden, and the rest of the relaxed
family (or families) still free, no plan exists (when all families are relaxed together: no
relaxation as small as the smallest one). Groups that got slack without being needed are given
as one choice among several ("for instance ..."). The amounts are those of the smallest
relaxation: the scaled slack minimized.

How it stays cheap (every solver run has a time limit, and a run that does not finish is said so):

1. Whether relaxing a family alone makes a plan possible is a feasibility question, asked with no
   objective after the LP relaxation (an LP without a plan proves there is none): HiGHS then
   proves infeasibility, or finds a plan, far sooner than while minimizing.
2. The rows of whole-project families (must-fund, dependencies, exclusive groups, risk limit) hold
   whole numbers, so a violated group is violated by at least 1 (:data:`WHOLE_FAMILIES`). A plan
   whose violated groups are all needed, each by exactly 1, is therefore already a smallest
   relaxation: it is taken without a minimization.
3. Otherwise the scaled slack is minimized, and each group that got slack is checked (a
   feasibility question again, with that group's slack fixed at 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import pulp

from .evaluate import allowed_starts
from .families import BY_NAME, FAMILIES
from .instance import Instance
from .model import PortfolioModel, build_model

SLACK_TOL = 1e-6  # a row's slack (in its own unit) above this counts as needed
GAP = 1e-6  # relative gap of a minimization of the scaled slack
CHECK_LIMIT_S = 10.0  # seconds for one feasibility question (at most the workbook's time limit)
REPAIR_LIMIT_S = 20.0  # seconds for one minimization of the scaled slack (likewise)
# Families whose rows count whole projects (binary sums against whole numbers, scale 1): a
# violated row is violated by at least 1, and exactly 1 is the least.
WHOLE_FAMILIES = frozenset({"must_fund", "dependency", "exclusive", "risk"})

Rows = list[tuple[object, float]]  # (row key, slack in the row's unit)


def group_of(family: str, key: object) -> object:
    """The group a row belongs to, as the diagnosis names it: a dependency pair (every start year
    of the dependent project), a mineral's target or protection rows (every year); otherwise the
    row itself (a budget year, an exclusive group, a project, a country)."""
    if family == "dependency":
        return key[:2]  # (project, required project), from (project, required, start)
    if family in ("target", "protection"):
        return key[0]  # mineral, from (mineral, year)
    return key


@dataclass(frozen=True)
class Relaxation:
    """One solve of an elastic model. ``status``: ``plan`` (a relaxation that makes a plan
    possible), ``none`` (proven: no plan even so) or ``unsettled`` (the time limit came first).
    ``rows``: family -> the rows that needed slack, with the amount (the row's violation by the
    plan, so a slack larger than needed never counts); ``total``: the scaled total; ``least``:
    proven to be the smallest relaxation."""

    status: str
    rows: dict[str, Rows]
    total: float = 0.0
    least: bool = False

    def groups(self) -> dict[tuple[str, object], float]:
        """(family, group) -> the slack of its rows, summed (in the rows' unit)."""
        out: dict[tuple[str, object], float] = {}
        for family, rows in self.rows.items():
            for key, amount in rows:
                g = (family, group_of(family, key))
                out[g] = out.get(g, 0.0) + amount
        return out


class Elastic:
    """A model with some families elastic, and the questions asked of it.

    The model is built once; each question sets the objective and the upper bounds of some
    slacks, solves, reads the answer and restores them (PuLP hands the whole model to the solver
    at every solve)."""

    def __init__(self, instance: Instance, families: Iterable[str], solver: str,
                 time_limit_s: float):
        self.families = tuple(families)
        self.m: PortfolioModel = build_model(instance, elastic=self.families)
        self.solver = solver
        self.time_limit_s = time_limit_s
        self.scaled = self.m.prob.objective  # sum of slack / scale, minimized
        # A feasibility question's objective: 0, written with a variable so that PuLP adds no
        # dummy variable of its own (which would stay in the problem and break CBC's next read).
        anything = [var for var in (*self.scaled, *self.m.x.values())][:1]
        self.nothing = pulp.LpAffineExpression([(var, 0.0) for var in anything])

    def slacks_of(self, family: str, group: object) -> list[pulp.LpVariable]:
        return [var for key, (var, _scale) in self.m.slacks.get(family, {}).items()
                if group_of(family, key) == group]

    def cap(self, total: float) -> None:
        """From now on, relaxations of a scaled total of at most ``total`` only."""
        self.m.prob.addConstraint(pulp.LpConstraint(self.scaled, pulp.LpConstraintLE, rhs=total),
                                  self.m.name("slack_cap"))

    def ask(self, *, minimize: bool, forbid: Iterable[tuple[str, object]] = ()) -> Relaxation:
        """A relaxation with the slack of the ``forbid`` groups fixed at 0: the smallest
        (``minimize``) or any (a feasibility question)."""
        from .solvers import run_solver  # not at import: solve imports this module

        prob = self.m.prob
        fixed = [v for family, group in forbid for v in self.slacks_of(family, group)]
        for var in fixed:
            var.upBound = 0.0
        prob.setObjective(self.scaled if minimize else self.nothing)
        limit = min(self.time_limit_s, REPAIR_LIMIT_S if minimize else CHECK_LIMIT_S)
        try:
            raw = None
            if not minimize:  # an LP relaxation without a plan proves there is none
                raw = run_solver(self.m, self.solver, limit, GAP, relaxed=True)
            if raw is None or raw.status != "infeasible":
                raw = run_solver(self.m, self.solver, limit, GAP)
        finally:
            for var in fixed:
                var.upBound = None
            prob.setObjective(self.scaled)
        if raw.status == "infeasible":
            return Relaxation("none", {})
        if raw.status == "no_solution":
            return Relaxation("unsettled", {})
        rows = self.violations()
        total = sum(amount / self.m.slacks[f][key][1] for f, found in rows.items()
                    for key, amount in found)
        return Relaxation("plan", rows, total, least=minimize and raw.status == "optimal")

    def violations(self) -> dict[str, Rows]:
        """Per elastic family, the rows the solved plan breaks and by how much (the slack it
        needs, whatever slack the solver left on the row)."""
        out: dict[str, Rows] = {}
        for family in FAMILIES:
            found = []
            for key, (var, _scale) in self.m.slacks.get(family.name, {}).items():
                con = self.m.rows[family.name][key]
                slack = var.varValue or 0.0
                rest = (con.value() or 0.0) + (slack if con.sense == pulp.LpConstraintLE
                                               else -slack)  # the row's value without its slack
                needs = max(rest, 0.0) if con.sense == pulp.LpConstraintLE else max(-rest, 0.0)
                if needs > SLACK_TOL:
                    found.append((key, needs))
            if found:
                out[family.name] = found
        return out


@dataclass(frozen=True)
class Finding:
    """What relaxing ``families`` gave: ``status`` as :class:`Relaxation`; the rows of the
    smallest relaxation found, split into the groups that are ``needed`` (causes) and the rest
    (``optional``: one choice among several, or not settled in time); ``least``: proven the
    smallest relaxation."""

    families: tuple[str, ...]
    status: str
    rows: dict[str, Rows]
    needed: frozenset[tuple[str, object]] = frozenset()
    least: bool = True
    unsettled_groups: bool = False

    def split(self, family: str) -> tuple[Rows, Rows]:
        """(rows of needed groups, the other rows) of ``family``."""
        rows = self.rows.get(family, [])
        needed = [(k, a) for k, a in rows if (family, group_of(family, k)) in self.needed]
        return needed, [(k, a) for k, a in rows if (family, group_of(family, k)) not in self.needed]


def relax_one(instance: Instance, family: str, solver: str, time_limit_s: float) -> Finding:
    """Whether relaxing ``family`` alone makes a plan possible, and with which rows (see the
    module docstring)."""
    model = Elastic(instance, [family], solver, time_limit_s)
    first = model.ask(minimize=False)
    if first.status != "plan":
        return Finding((family,), first.status, {})
    n_groups = len({group_of(family, k) for k in model.m.slacks.get(family, {})})
    verdicts: dict[tuple[str, object], bool | None] = {}
    if family in WHOLE_FAMILIES:
        # Every needed group is broken by every plan, so all of them are among the first plan's.
        # A plan (the first, or one a check found) that breaks needed groups only, each by 1, is
        # a smallest relaxation: each needed group costs at least 1.
        plans = [first]
        for g in first.groups():
            verdicts[g], found = _needed(model, g, n_groups)
            plans.append(found)
        for plan in plans:
            groups = plan.groups()
            if (plan.status == "plan" and all(verdicts.get(g) for g in groups)
                    and all(a <= 1.0 + SLACK_TOL for a in groups.values())):
                return Finding((family,), "plan", plan.rows, frozenset(groups), least=True)
    least = model.ask(minimize=True)
    if least.status != "plan":  # the time limit came before a plan: keep the first one
        least = first
    for g in least.groups():
        if g not in verdicts:
            verdicts[g] = _needed(model, g, n_groups)[0]
    verdicts = {g: verdicts[g] for g in least.groups()}
    return Finding((family,), "plan", least.rows,
                   frozenset(g for g, v in verdicts.items() if v),
                   least=least.least, unsettled_groups=any(v is None for v in verdicts.values()))


def relax_all(instance: Instance, families: list[str], solver: str,
              time_limit_s: float) -> Finding:
    """Every family relaxed together: the smallest relaxation, and the groups every relaxation as
    small needs (forbidding the group's slack makes the smallest relaxation larger)."""
    model = Elastic(instance, families, solver, time_limit_s)
    least = model.ask(minimize=True)
    if least.status != "plan":
        return Finding(tuple(families), least.status, {})
    model.cap(least.total * (1.0 + GAP) + SLACK_TOL)
    verdicts = {}
    for g in least.groups():
        found = model.ask(minimize=False, forbid=[g]).status
        verdicts[g] = {"none": True, "plan": False}.get(found)
    return Finding(tuple(families), "plan", least.rows,
                   frozenset(g for g, v in verdicts.items() if v), least=least.least,
                   unsettled_groups=any(v is None for v in verdicts.values()))


def _needed(model: Elastic, group: tuple[str, object],
            n_groups: int) -> tuple[bool | None, Relaxation]:
    """Whether no plan exists with ``group``'s slack forbidden (the rest of the family still
    relaxed), None when the solver could not tell within its time limit; and what the check
    found. A family with one group needs it: forbidding it is the model as given, which has no
    plan."""
    if n_groups == 1:
        return True, Relaxation("none", {})
    found = model.ask(minimize=False, forbid=[group])
    return {"none": True, "plan": False}.get(found.status), found


@dataclass(frozen=True)
class Diagnosis:
    """The sentences, and what they were made from: one :class:`Finding` per family present
    (relaxed alone)."""

    reasons: tuple[str, ...]
    findings: tuple[Finding, ...]

    def fixes(self) -> list[str]:
        """The families whose relaxation alone makes a plan possible."""
        return [f.families[0] for f in self.findings if f.status == "plan"]


def diagnose(instance: Instance, solver: str = "highs", time_limit_s: float = 60.0) -> Diagnosis:
    """Why ``instance`` has no plan: each family relaxed alone, then all together when no single
    one suffices (see the module docstring)."""
    reasons = static_reasons(instance)
    rows = build_model(instance).rows
    present = [f.name for f in FAMILIES if rows.get(f.name)]
    findings = tuple(relax_one(instance, family, solver, time_limit_s) for family in present)
    fixes = [f for f in findings if f.status == "plan"]
    unsettled = [f.families[0] for f in findings if f.status == "unsettled"]
    if fixes:
        names = [BY_NAME[f.families[0]].words for f in fixes]
        reasons.append("These constraints conflict: " + _join(names) + ". Relaxing any one of "
                       "them alone makes a plan possible:")
        for finding in fixes:
            family = finding.families[0]
            reasons.append(f"relaxing {BY_NAME[family].words}: "
                           + _phrases(instance, finding, [family], time_limit_s))
    if unsettled:
        reasons.append("Whether relaxing " + _join([BY_NAME[f].words for f in unsettled])
                       + " alone would make a plan possible was not settled within "
                       f"{min(time_limit_s, CHECK_LIMIT_S):g} s each.")
    if not fixes and not unsettled and present:
        together = relax_all(instance, present, solver, time_limit_s)
        if together.status == "plan":
            reasons.append("No single family of constraints explains it; together these rows "
                           "conflict: " + _phrases(instance, together, present, time_limit_s))
        elif together.status == "unsettled":
            reasons.append("No single family of constraints explains it, and relaxing all of "
                           "them together gave no plan within "
                           f"{min(time_limit_s, REPAIR_LIMIT_S):g} s.")
    if not reasons:
        reasons.append("the solver proved that no plan satisfies all constraints")
    return Diagnosis(tuple(reasons), findings)


def explain_infeasibility(instance: Instance, solver: str = "highs",
                          time_limit_s: float = 60.0) -> list[str]:
    """Plain sentences naming the constraints that conflict, with amounts."""
    return list(diagnose(instance, solver, time_limit_s).reasons)


def _phrases(instance: Instance, finding: Finding, families: list[str],
             time_limit_s: float) -> str:
    """The needed rows described by their families, then the others as one choice among
    several, then a note when the relaxation is not proven the smallest."""
    needed: list[str] = []
    others: list[str] = []
    for family in families:
        must, may = finding.split(family)
        if must:
            needed += BY_NAME[family].describe(instance, must)
        if may:
            others += BY_NAME[family].describe(instance, may)
    text = "; ".join(needed)
    if others:
        choice = ("one of several choices would do, for instance " if not finding.unsettled_groups
                  else "one of several choices may do, for instance ")
        if needed:
            text += "; and " + choice + "; ".join(others)
        else:
            text = "no one of these rows is needed on its own: " + choice + "; ".join(others)
    if not finding.least:
        text += (f" (the smallest relaxation found within "
                 f"{min(time_limit_s, REPAIR_LIMIT_S):g} s; a smaller one may exist)")
    return text


def static_reasons(instance: Instance) -> list[str]:
    """Conflicts visible without a solver: a must-fund project with no allowed start year."""
    s = instance.settings
    out = []
    for pid, p in instance.projects.items():
        if p.must_fund and not allowed_starts(instance, pid):
            out.append(f"must-fund project {pid} cannot start between {p.earliest_start} and "
                       f"{p.latest_start} with all of its spending ({len(p.spend_shares)} years) "
                       f"inside the horizon, which ends in {s.last_year}")
    return out


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
