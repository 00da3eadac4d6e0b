"""The funding priority list: "if we get less money, what goes first?"

The budget is not known yet. The optional BudgetLevels sheet gives levels ``l``, each a multiplier
``a_l`` of every yearly budget and of the total budget, with a probability ``pi_l`` (the
probabilities sum to 1). The priority plan has one portfolio per level, each keeping every rule at
its level's budgets, and the funded sets are nested: a project funded at a level is funded at every
level with a larger multiplier (its start year may differ). It maximizes the probability-weighted
objective ``sum_l pi_l objective_l`` (Koc, Morton et al., "Prioritizing project selection", The
Engineering Economist 54, 2009). The recommendation stays the best plan at the workbook's budget.

The model (``docs/formulation.md``, "The funding priority plan"): one copy ``x[p,s,l]`` of the
start variables (and of ``d``, ``y`` and the dual variables) per level, each copy built by
:func:`optimizer.model.add_plan`, so every constraint family of :mod:`optimizer.model` applies to it
unchanged, at the budgets ``a_l B_t`` and ``a_l total_budget_musd``; for consecutive levels
``l < l'`` (by multiplier) and every project ``p``: ``sum_s x[p,s,l] <= sum_s x[p,s,l']``.

Levels without a plan. A plan that keeps every rule at a multiplier keeps them at any larger one
(only the budget rows change, and they get looser). So each level is first solved alone, which also
gives its separate optimum (what the level could buy if nothing had to nest). The levels below the
lowest one with a plan have none (status ``infeasible``, or ``no_plan`` when the time limit came
first; the largest of the levels proven without one is solved again with the diagnosis, whose
reasons say which rules that budget cannot keep); the priority plan is made over the others, and
is then always feasible (the lowest level's plan is a nested plan of them all). Levels without a
plan count nothing in the expected objective; ``probability_with_plan`` says how much of the
probability the plan covers.

Funding order: projects by the lowest level that funds them; ties by the objective each adds there
(that level's objective less the objective of its plan without the project, recomputed from the
decision), larger first; then by project_id. The projects funded at a level are then exactly the
first ones of the order.

A hand case where the nested plan differs from the separate optima (``tests/test_priority.py``),
npv objective, no discounting, one year with budget 100, every project starts in that year:
A (capex 60, NPV 70), B (capex 50, NPV 50), C (capex 50, NPV 50); levels "cut" 0.6 (budget 60)
and "as planned" 1.0 (budget 100), each with probability 0.5. Alone, "cut" funds A (70; B or C
alone is 50) and "as planned" funds B and C (100; A and B cost 110). Nested, the candidates are
A then A (A and another cost 110 > 100): 0.5 x 70 + 0.5 x 70 = 70; or B then B and C:
0.5 x 50 + 0.5 x 100 = 75. The priority plan is the second: at "cut" it gives up 20 against the
best plan for that budget alone. Its order is B (at "cut", adds 50), then C (at "as planned").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pulp

from ..errors import VerificationError
from ..evaluate import evaluate
from ..families import violations
from ..instance import BudgetLevel, Instance
from ..model import (PortfolioModel, add_plan, funded_terms, linear, objective_terms,
                     set_objective_to)
from ..resolve import Outcome, Parallel, SolveOptions, resolve, resolve_parts, run_parallel
from ..results import Result
from ..verify import objective_mismatch
from .sensitivity import at_level

PLAN_STATUSES = ("optimal", "feasible")  # a level with one of these has a portfolio
TABLE_KEYS = ("priority", "priority_levels", "priority_order", "priority_starts")


# ---------------------------------------------------------------------------------------------
# Typed result


@dataclass(frozen=True)
class LevelPlan:
    """One budget level of the priority plan. Money $M; the objective in its own unit.

    ``status``: the joint solve's (``optimal`` or ``feasible``) for a level with a portfolio;
    ``infeasible`` or ``no_plan`` for one without. ``separate_objective_value``: the best plan at
    this level alone (None when its solve gave none). ``note``: why a level has no portfolio."""

    level: str
    budget_multiplier: float
    probability: float
    status: str
    starts: Mapping[str, int]
    objective_value: float | None
    npv_musd: float | None
    total_capex_musd: float | None
    separate_objective_value: float | None
    note: str = ""

    @property
    def has_plan(self) -> bool:
        return self.status in PLAN_STATUSES

    @property
    def given_up(self) -> float | None:
        """What nesting costs at this level: the separate optimum less the nested objective."""
        if self.objective_value is None or self.separate_objective_value is None:
            return None
        return self.separate_objective_value - self.objective_value


@dataclass(frozen=True)
class OrderEntry:
    """A project's place in the funding order: the lowest level that funds it, its start year
    there, and the objective it adds there."""

    rank: int
    project_id: str
    level: str
    budget_multiplier: float
    start_year: int
    objective_added: float


@dataclass(frozen=True)
class PriorityPlan:
    """The nested priority plan: levels by increasing multiplier, and the funding order."""

    objective: str
    status: str  # the joint solve's: optimal | feasible | infeasible | no_plan
    mip_gap: float | None
    expected_objective: float | None  # sum over levels with a portfolio of probability x objective
    probability_with_plan: float
    levels: tuple[LevelPlan, ...]
    order: tuple[OrderEntry, ...]
    note: str = ""

    @property
    def with_plan(self) -> list[LevelPlan]:
        return [lp for lp in self.levels if lp.has_plan]

    def funded(self, lp: LevelPlan) -> list[str]:
        """The projects funded at a level, in funding order."""
        return [e.project_id for e in self.order if e.project_id in lp.starts]

    def added(self, lp: LevelPlan) -> list[str]:
        """The projects funded at a level (one of ``levels``) and at no lower one, in funding
        order."""
        before: set[str] = set()
        for lower in self.levels:
            if lower is lp:
                break
            before.update(self.funded(lower))
        return [pid for pid in self.funded(lp) if pid not in before]

    def tables(self) -> dict[str, Any]:
        summary = {
            "objective": self.objective, "expected_objective": self.expected_objective,
            "probability_with_plan": self.probability_with_plan, "status": self.status,
            "mip_gap": self.mip_gap, "note": self.note,
            "order": [e.project_id for e in self.order],
            "levels": [{"level": lp.level, "budget_multiplier": lp.budget_multiplier,
                        "probability": lp.probability, "status": lp.status,
                        "objective_value": lp.objective_value, "funded": self.funded(lp),
                        "starts": dict(lp.starts), "npv_musd": lp.npv_musd,
                        "total_capex_musd": lp.total_capex_musd,
                        "separate_objective_value": lp.separate_objective_value,
                        "note": lp.note}
                       for lp in self.levels],
        }
        return {"priority": summary, "priority_levels": self.level_rows(),
                "priority_order": self.order_rows(), "priority_starts": self.start_rows()}

    def level_rows(self) -> list[dict[str, Any]]:
        """What each level buys (for the workbook)."""
        rows = []
        for lp in self.levels:
            funded = self.funded(lp)
            rows.append({"level": lp.level, "budget_multiplier": lp.budget_multiplier,
                         "probability": lp.probability, "status": lp.status,
                         "objective_value": lp.objective_value, "npv_musd": lp.npv_musd,
                         "total_capex_musd": lp.total_capex_musd,
                         "funded_count": len(funded) if lp.has_plan else None,
                         "added": ", ".join(self.added(lp)),
                         "separate_objective_value": lp.separate_objective_value,
                         "objective_given_up": lp.given_up, "note": lp.note})
        return rows

    def order_rows(self) -> list[dict[str, Any]]:
        return [{"rank": e.rank, "project_id": e.project_id, "level": e.level,
                 "budget_multiplier": e.budget_multiplier, "start_year": e.start_year,
                 "objective_added": e.objective_added} for e in self.order]

    def start_rows(self) -> list[dict[str, Any]]:
        """Each project of the order with its start year at every level with a portfolio
        (blank where that level does not fund it)."""
        levels = self.with_plan
        return [{"project_id": e.project_id,
                 **{f"start_year:{lp.level}": lp.starts.get(e.project_id) for lp in levels}}
                for e in self.order]


def from_tables(doc: Mapping[str, Any]) -> PriorityPlan | None:
    """A PriorityPlan read back from its results.json entries (``priority``, ``priority_order``)."""
    d = doc.get("priority")
    if not isinstance(d, Mapping):
        return None
    levels = tuple(
        LevelPlan(level=str(r.get("level")), budget_multiplier=float(r.get("budget_multiplier")),
                  probability=float(r.get("probability")), status=str(r.get("status")),
                  starts={str(k): int(v) for k, v in (r.get("starts") or {}).items()},
                  objective_value=r.get("objective_value"), npv_musd=r.get("npv_musd"),
                  total_capex_musd=r.get("total_capex_musd"),
                  separate_objective_value=r.get("separate_objective_value"),
                  note=str(r.get("note") or ""))
        for r in d.get("levels") or ())
    order = tuple(
        OrderEntry(rank=int(r["rank"]), project_id=str(r["project_id"]), level=str(r["level"]),
                   budget_multiplier=float(r["budget_multiplier"]),
                   start_year=int(r["start_year"]), objective_added=float(r["objective_added"]))
        for r in doc.get("priority_order") or ())
    return PriorityPlan(objective=str(d.get("objective")), status=str(d.get("status")),
                        mip_gap=d.get("mip_gap"), expected_objective=d.get("expected_objective"),
                        probability_with_plan=float(d.get("probability_with_plan") or 0.0),
                        levels=levels, order=order, note=str(d.get("note") or ""))


# ---------------------------------------------------------------------------------------------
# The model


@dataclass
class LevelModel(PortfolioModel):
    """One level's copy of the model inside the joint problem. Its row and variable names carry
    ``tag``, so that the copies never share a name (names are for reading LP files only)."""

    tag: str = ""

    def name(self, prefix: str) -> str:
        return f"{self.tag}{super().name(prefix)}"


def build_nested(instances: Sequence[Instance], weights: Sequence[float]
                 ) -> tuple[PortfolioModel, list[PortfolioModel]]:
    """The joint model over ``instances`` (one per level, by increasing multiplier): a copy of the
    plan per level, the nesting rows between consecutive levels, and the objective
    ``sum weights[l] x objective_l``. Returns the joint model and the copies."""
    prob = pulp.LpProblem("priority", pulp.LpMaximize)
    parts: list[PortfolioModel] = []
    for i, inst in enumerate(instances):
        part = LevelModel(inst, prob, tag=f"L{i}_")
        add_plan(part)
        part.objective_expr = linear(objective_terms(part))
        parts.append(part)
    joint = LevelModel(instances[-1], prob, tag="nest_")
    for lower, upper in zip(parts, parts[1:]):
        add_nesting(joint, lower, upper)
    set_objective_to(joint, [(var, weight * coef) for part, weight in zip(parts, weights)
                             for var, coef in part.objective_expr.items()])
    return joint, parts


def add_nesting(joint: PortfolioModel, lower: PortfolioModel, upper: PortfolioModel) -> None:
    """sum_s x[p,s,lower] <= sum_s x[p,s,upper] for every project with a start year."""
    for pid in lower.instance.projects:
        funded = funded_terms(lower, pid)
        if funded:
            terms = funded + [(var, -1.0) for var, _ in funded_terms(upper, pid)]
            joint.prob.addConstraint(linear(terms) <= 0, joint.name("nest"))


# ---------------------------------------------------------------------------------------------
# The analysis


def funding_priority(result: Result, options: SolveOptions = SolveOptions(),
                     parallel: Parallel = Parallel()) -> PriorityPlan | None:
    """The nested priority plan of the workbook's BudgetLevels (None without levels), verified
    by :func:`check_priority` (VerificationError on any disagreement)."""
    inst = result.instance
    if not inst.budget_levels:
        return None
    levels = sorted(inst.budget_levels, key=lambda lv: lv.budget_multiplier)
    variants = [at_level(inst, lv.budget_multiplier) for lv in levels]
    alone = separate_optima(result, levels, variants, options, parallel)
    first = next((i for i, o in enumerate(alone) if o.has_plan), None)
    nested: dict[int, Outcome] = {}
    if first is not None:
        included = range(first, len(levels))
        weights = [levels[i].probability for i in included]
        joint, parts = build_nested([variants[i] for i in included], weights)
        nested = dict(zip(included, resolve_parts(joint, parts, weights, options)))
    plan = assemble(inst, levels, variants, alone, nested)
    problems = check_priority(plan, inst)
    if problems:
        raise VerificationError("The independent check rejected the priority plan:\n"
                                + "\n".join(f"  - {p}" for p in problems))
    return plan


def separate_optima(result: Result, levels: Sequence[BudgetLevel], variants: Sequence[Instance],
                    options: SolveOptions, parallel: Parallel) -> list[Outcome]:
    """Each level solved alone; the plan itself stands for a level of multiplier 1. The largest
    level proven without a plan is solved again with the diagnosis, so that the reasons say
    which rules a budget that small cannot keep; smaller ones refer to it."""
    todo = [i for i, lv in enumerate(levels) if lv.budget_multiplier != 1.0]
    tasks = [(variants[i], options, False) for i in todo]
    found = dict(zip(todo, run_parallel(resolve, tasks, parallel, label="budget level re-solves")))
    outcomes = [found.get(i) or Outcome(result.info.status, result=result)
                for i in range(len(levels))]
    failed = [i for i, o in enumerate(outcomes) if o.status == "infeasible"]
    if failed:
        top = failed[-1]
        outcomes[top] = resolve(variants[top], options, explain=True)
        for i in failed[:-1]:
            outcomes[i] = Outcome("infeasible", reasons=(
                f"its budget is smaller than that of level \"{levels[top].level}\", which has "
                "no plan either",))
    return outcomes


def assemble(instance: Instance, levels: Sequence[BudgetLevel], variants: Sequence[Instance],
             alone: Sequence[Outcome], nested: Mapping[int, Outcome]) -> PriorityPlan:
    """The PriorityPlan from the separate and nested outcomes (figures from the verified plans)."""
    plans: list[LevelPlan] = []
    for i, lv in enumerate(levels):
        outcome = nested.get(i, alone[i])
        r = outcome.result if i in nested else None
        plans.append(LevelPlan(
            level=lv.level, budget_multiplier=lv.budget_multiplier, probability=lv.probability,
            status=outcome.status, starts=dict(r.starts) if r else {},
            objective_value=r.objective_value if r else None,
            npv_musd=r.evaluation.npv_musd if r else None,
            total_capex_musd=r.evaluation.total_capex if r else None,
            separate_objective_value=alone[i].objective_value,
            note="" if r else "; ".join(outcome.reasons)))
    objective = instance.settings.objective
    with_plan = [lp for lp in plans if lp.has_plan]
    # The joint solve's outcome (every nested outcome shares it); without one, no level has a
    # plan and the largest budget's own solve says why.
    joint = nested[min(nested)] if nested else alone[-1]
    if joint.result is not None:
        note = ""
    elif nested:
        note = f"The nested plan could not be made: {joint.message}"
    else:
        note = "No budget level has a plan: " + joint.message
    return PriorityPlan(
        objective=objective, status=joint.status,
        mip_gap=joint.result.info.mip_gap if joint.result is not None and nested else None,
        expected_objective=(math.fsum(lp.probability * lp.objective_value for lp in with_plan)
                            if with_plan else None),
        probability_with_plan=math.fsum(lp.probability for lp in with_plan),
        levels=tuple(plans), order=funding_order(plans, variants, objective), note=note)


def objective_added(instance: Instance, starts: Mapping[str, int], project_id: str,
                    objective: str, whole: float) -> float:
    """What a project adds to a level's plan: ``whole`` (the objective of the plan ``starts``)
    less the objective of the plan without the project."""
    without = {p: s for p, s in starts.items() if p != project_id}
    return whole - evaluate(instance, without).objective_value(objective)


def funding_order(levels: Sequence[LevelPlan], instances: Sequence[Instance],
                  objective: str) -> tuple[OrderEntry, ...]:
    """Projects by the lowest level that funds them (``levels`` by increasing multiplier), ties by
    the objective each adds there (larger first, compared to 9 significant digits so that
    rounding noise does not split a tie), then by project_id."""
    entries: list[OrderEntry] = []
    seen: set[str] = set()
    for lp, inst in zip(levels, instances):
        if not lp.has_plan:
            continue
        whole = evaluate(inst, lp.starts).objective_value(objective)
        new = [(objective_added(inst, lp.starts, pid, objective, whole), pid)
               for pid in lp.starts if pid not in seen]
        new.sort(key=lambda item: (-float(f"{item[0]:.9g}"), item[1]))
        for added, pid in new:
            entries.append(OrderEntry(len(entries) + 1, pid, lp.level, lp.budget_multiplier,
                                      lp.starts[pid], added))
        seen.update(lp.starts)
    return tuple(entries)


# ---------------------------------------------------------------------------------------------
# The verifier


def check_priority(plan: PriorityPlan, instance: Instance) -> list[str]:
    """Every disagreement of a priority plan with its workbook, from the decisions alone.

    Each level's portfolio keeps every rule at that level's budgets (:func:`optimizer.evaluate.
    evaluate` and :func:`optimizer.families.violations`) and is worth the objective it reports;
    the levels are the workbook's, by increasing multiplier; the funded sets are nested; the
    expected objective is the probability-weighted sum; the order ranks each project at the
    lowest level that funds it, and each level funds exactly the first projects of the order."""
    problems: list[str] = []
    objective = instance.settings.objective
    given = sorted((lv.budget_multiplier, lv.level, lv.probability)
                   for lv in instance.budget_levels)
    found = [(lp.budget_multiplier, lp.level, lp.probability) for lp in plan.levels]
    if found != given:
        problems.append(f"the plan's levels {found} are not the workbook's {given}")
    values = []
    for lp in plan.with_plan:
        inst = at_level(instance, lp.budget_multiplier)
        ev = evaluate(inst, lp.starts)
        problems += [f"level {lp.level}: {v}" for v in violations(inst, ev)]
        value = ev.objective_value(objective)
        values.append(lp.probability * value)
        if lp.objective_value is None or objective_mismatch(value, lp.objective_value):
            problems.append(f"level {lp.level}: objective recomputed from the decision is "
                            f"{value:.9g}, the plan reports {lp.objective_value}")
    for lower, upper in zip(plan.with_plan, plan.with_plan[1:]):
        dropped = sorted(set(lower.starts) - set(upper.starts))
        if dropped:
            problems.append(f"{', '.join(dropped)} funded at level {lower.level} but not at the "
                            f"larger level {upper.level}: the funded sets are not nested")
    if plan.with_plan:
        expected = math.fsum(values)
        if plan.expected_objective is None or objective_mismatch(expected, plan.expected_objective):
            problems.append(f"expected objective recomputed is {expected:.9g}, the plan reports "
                            f"{plan.expected_objective}")
    problems += _order_problems(plan)
    return problems


def _order_problems(plan: PriorityPlan) -> list[str]:
    problems = []
    ids = [e.project_id for e in plan.order]
    if len(set(ids)) != len(ids):
        problems.append("a project appears twice in the funding order")
    for lp in plan.with_plan:
        if set(ids[:len(lp.starts)]) != set(lp.starts):
            problems.append(f"level {lp.level} does not fund exactly the first {len(lp.starts)} "
                            "projects of the funding order")
    lowest = {}
    for lp in plan.with_plan:
        for pid in lp.starts:
            lowest.setdefault(pid, lp.level)
    for e in plan.order:
        if lowest.get(e.project_id) != e.level:
            problems.append(f"{e.project_id} is ranked at level {e.level}, but the lowest level "
                            f"funding it is {lowest.get(e.project_id)}")
    return problems
