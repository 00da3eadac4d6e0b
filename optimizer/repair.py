"""A starting plan for a re-solve: the base plan, repaired where the re-solve's rules exclude it.

A re-solve (a scenario, a budget step, a forced-in project, a near-optimal alternative) differs
from the base problem in a few numbers or rows, so the base plan is usually close to its answer.
:func:`repair` turns it into a plan the re-solve accepts, greedily:

1. projects the re-solve does not have, or whose start year it does not allow, are dropped;
2. each must-fund project the plan lacks (a project forced in) is added at the allowed start
   that leaves the plan the fewest broken rules;
3. while rules are broken, the funded project (with the projects that require it) whose removal
   leaves the fewest broken rules, then the smallest shortfall (:func:`shortfall`), then the
   highest objective, is dropped; must-fund projects are never dropped.

It stops when the plan breaks nothing (checked by the verifier's own rules,
:func:`optimizer.families.violations`, and by the model's extra rows when a model is given:
:class:`ModelRows`) or when no drop improves it; it then returns None and the re-solve starts
from nothing. The start is only a hint: the solver checks it again and keeps it as its first
incumbent, and every plan a solve returns is verified as before.

Only the base plan is ever repaired, never another re-solve's answer: each re-solve stays
independent of the others and gives the same answer in any order, on any executor.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pulp

from .evaluate import Evaluation, allowed_starts, evaluate
from .families import country_capex, target_years, violations
from .instance import Instance
from .model import PortfolioModel

ROW_TOL = 1e-7  # absolute slack on a model row, scaled by max(1, |bound|) (HiGHS: 1e-7)


class ModelRows:
    """The rows of a built model that only involve the start variables ``x``, the started-by
    binaries ``h`` and the displaced shares ``d`` (with their bounds), as a dense matrix, so
    that a plan can be checked against rows an analysis added (a no-good cut, an objective
    floor).

    ``h[p, s]`` is 1 when the plan starts p in or before s; ``d`` is taken at the most a plan
    allows (``min(deliveries, cap)``: the evaluation's displaced tonnes, as a share of
    ``m.d_unit``); rows with any other variable (robust and protection duals) are left to the
    solver's own check of the start.
    """

    def __init__(self, m: PortfolioModel) -> None:
        columns: dict[str, int] = {}
        self._x = {key: len(columns) + i for i, key in enumerate(m.x)}
        columns.update({var.name: self._x[key] for key, var in m.x.items()})
        self._d = {}
        self._d_unit = dict(m.d_unit)
        for key, var in m.d.items():
            self._d[key] = columns[var.name] = len(columns)
        self._h = {}
        for key, var in m.h.items():
            self._h[key] = columns[var.name] = len(columns)
        rows, lower, upper = [], [], []
        for con in m.prob.constraints():  # PuLP 4 form: a list, in order
            names = [var.name for var in con.keys()]
            if not names or any(name not in columns for name in names):
                continue
            row = np.zeros(len(columns))
            for var, coef in con.items():
                row[columns[var.name]] += coef
            bound = -con.constant
            rows.append(row)
            lower.append(bound if con.sense in (pulp.LpConstraintGE, pulp.LpConstraintEQ)
                         else -np.inf)
            upper.append(bound if con.sense in (pulp.LpConstraintLE, pulp.LpConstraintEQ)
                         else np.inf)
        self.matrix = np.array(rows).reshape(len(rows), len(columns))
        self.lower = np.array(lower)
        self.upper = np.array(upper)
        self.size = len(columns)
        finite = np.maximum(np.abs(np.nan_to_num(self.lower, posinf=0, neginf=0)),
                            np.abs(np.nan_to_num(self.upper, posinf=0, neginf=0)))
        self.slack = ROW_TOL * np.maximum(1.0, finite)  # what a row may be off by

    def broken(self, starts: Mapping[str, int], ev: Evaluation) -> int:
        """How many of the rows the plan breaks (beyond :data:`ROW_TOL`)."""
        if not len(self.lower):
            return 0
        v = np.zeros(self.size)
        for pid, start in starts.items():
            col = self._x.get((pid, start))
            if col is None:  # a start the model has no variable for breaks its rows
                return len(self.lower)
            v[col] = 1.0
        for (mineral, t), col in self._d.items():
            v[col] = ev.displaced[mineral][t] / self._d_unit[mineral, t]
        for (pid, s), col in self._h.items():
            v[col] = 1.0 if starts.get(pid, s + 1) <= s else 0.0
        activity = self.matrix @ v
        return int(np.sum((activity < self.lower - self.slack)
                          | (activity > self.upper + self.slack)))


def shortfall(instance: Instance, ev: Evaluation) -> float:
    """How far the plan is from keeping the rules that have an amount (0 when it keeps them):
    the budget rows', the total budget's and the country limits' excess relative to the limit,
    the China-share targets' excess shares, the NPV floor's relative shortfall. A guide for the
    repair only; whether a plan keeps the rules is for :func:`optimizer.families.violations`."""
    s = instance.settings
    out = 0.0
    for t in s.years:
        limit = ev.row_budget[t]
        out += max(0.0, ev.row_spend[t] - limit) / max(1.0, abs(limit))
    if s.total_budget_musd is not None:
        out += max(0.0, ev.total_capex - s.total_budget_musd) / max(1.0, s.total_budget_musd)
    out += sum(max(0.0, ev.share_after[name][t] - mineral.target_china_share)
               for name, mineral, t in target_years(instance))
    by_country, total = country_capex(instance, ev)
    for country, c in instance.countries.items():
        if c.max_capex_share is not None:
            out += max(0.0, by_country.get(country, 0.0) - c.max_capex_share * total) / max(
                1.0, total)
    if s.min_npv_musd is not None:
        out += max(0.0, s.min_npv_musd - ev.npv_musd) / max(1.0, abs(s.min_npv_musd))
    return out


class _Judge:
    """Scores plans of one instance (and model rows): (broken rules, shortfall, -objective)."""

    def __init__(self, instance: Instance, rows: ModelRows | None) -> None:
        self.instance = instance
        self.rows = rows
        self.objective = instance.settings.objective

    def score(self, starts: Mapping[str, int]) -> tuple[int, float, float]:
        ev = evaluate(self.instance, starts)
        broken = len(violations(self.instance, ev))
        if self.rows is not None:
            broken += self.rows.broken(starts, ev)
        return broken, shortfall(self.instance, ev), -ev.objective_value(self.objective)


def _without(instance: Instance, starts: Mapping[str, int], pid: str) -> dict[str, int]:
    """``starts`` without ``pid`` and, repeatedly, every funded project that requires a dropped
    one."""
    out = {q: s for q, s in starts.items() if q != pid}
    gone = {pid}
    while True:
        more = [q for q in out if any(r in gone for r in instance.projects[q].requires)]
        if not more:
            return out
        for q in more:
            gone.add(q)
            del out[q]


def repair(instance: Instance, plan: Mapping[str, int],
           rows: ModelRows | None = None) -> dict[str, int] | None:
    """``plan`` made to keep every rule of ``instance`` (and ``rows``), or None (see the
    module docstring)."""
    judge = _Judge(instance, rows)
    starts = {pid: s for pid, s in plan.items()
              if pid in instance.projects and s in allowed_starts(instance, pid)}
    for pid in list(starts):
        if pid in starts and any(q not in starts for q in instance.projects[pid].requires):
            starts = _without(instance, starts, pid)
    must = {pid for pid, p in instance.projects.items() if p.must_fund}
    for pid in sorted(must - set(starts)):
        options = allowed_starts(instance, pid)
        if not options:
            return None
        starts = min(({**starts, pid: s} for s in options), key=judge.score)
    score = judge.score(starts)
    while score[0] > 0:
        candidates = [_without(instance, starts, pid) for pid in starts if pid not in must]
        candidates = [c for c in candidates if must <= set(c)]
        if not candidates:
            return None
        scored = [(judge.score(c), i) for i, c in enumerate(candidates)]
        best, i = min(scored)
        if best[:2] >= score[:2]:  # no drop brings the plan closer to the rules
            return None
        starts, score = candidates[i], best
    return starts
