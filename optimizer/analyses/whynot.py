"""Why was a project not funded? A plain reason for every rejected project.

Rules first, in this order, because they need no solver:

- ``no_start``     no start year keeps all of its spending inside the horizon;
- ``not_online``   every allowed start comes online after the horizon ends;
- ``excluded``     a funded project of the same exclusive group takes its place;
- ``risk``         its risk score is above the max_project_risk setting;
- ``country``      funding it would put its country above its max_capex_share of the plan's capex;
- ``requires``     it requires a project the plan does not fund.

Every other rejected project is forced in (``must_fund``) and re-solved: the reason is what that
costs in objective (``forced_cost``), or why forcing it in is infeasible (``forced_infeasible``).
For long candidate lists the re-solves are limited to the ``limit`` projects that came closest, ranked
by the LP-relaxation bound on the forced objective; the others are ``not_evaluated``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from ..evaluate import allowed_starts
from ..families import country_capex
from ..instance import Instance
from ..model import build_model
from ..resolve import Outcome, Parallel, SolveOptions, resolve, run_parallel
from ..results import Result
from ..solvers import run_solver
from ..tables import objective_unit

RESOLVE_LIMIT = 15


@dataclass(frozen=True)
class WhyNot:
    """A reason for every rejected project: ``reasons`` maps project_id to ``{"reason",
    "kind", "objective_loss"}`` (in workbook order); ``note`` says when re-solves were limited."""

    reasons: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    note: str = ""

    def tables(self) -> dict[str, Any]:
        return {"why_not": dict(self.reasons), "why_not_note": self.note}

    @classmethod
    def from_tables(cls, doc: Mapping[str, Any]) -> "WhyNot":
        return cls(dict(doc.get("why_not") or {}), doc.get("why_not_note") or "")


def rule_reason(result: Result, pid: str) -> dict | None:
    """A reason that follows from the rules alone, or None when a re-solve is needed."""
    inst = result.instance
    p = inst.projects[pid]
    s = inst.settings
    starts = allowed_starts(inst, pid)
    if not starts:
        return {"kind": "no_start", "objective_loss": None,
                "reason": f"It cannot start between {p.earliest_start} and {p.latest_start} with all "
                          f"of its {len(p.spend_shares)} spending years inside the horizon "
                          f"(ends {s.last_year})."}
    if p.capacity_tpa > 0 and min(starts) + p.build_years > s.last_year and p.npv_musd <= 0:
        return {"kind": "not_online", "objective_loss": None,
                "reason": f"It cannot come online within the horizon: its earliest online year is "
                          f"{min(starts) + p.build_years}, after {s.last_year}, so it would deliver "
                          "nothing the plan counts."}
    if s.max_project_risk is not None and p.risk > s.max_project_risk:
        return {"kind": "risk", "objective_loss": None,
                "reason": f"Its risk score {p.risk:.2f} is above the limit {s.max_project_risk:.2f} "
                          "(Settings max_project_risk)."}
    country = inst.countries.get(p.country)
    basis = s.capex_basis
    if country is not None and country.max_capex_share is not None and p.capex(basis) > 0:
        by_country, total = country_capex(inst, result.evaluation)
        used = by_country.get(p.country, 0.0)
        with_it = (used + p.capex(basis)) / (total + p.capex(basis))
        if with_it > country.max_capex_share + 1e-9:
            return {"kind": "country", "objective_loss": None,
                    "reason": f"With it, {p.country} would hold {with_it:.1%} of the plan's capex, "
                              f"above its limit of {country.max_capex_share:.1%} (Countries "
                              "max_capex_share)."}
    if p.exclusive_group:
        rivals = [q for q in result.starts if inst.projects[q].exclusive_group == p.exclusive_group]
        if rivals:
            return {"kind": "excluded", "objective_loss": None,
                    "reason": f"Excluded by the funded alternative {rivals[0]} "
                              f"({inst.projects[rivals[0]].name}): exclusive group "
                              f"'{p.exclusive_group}' allows one."}
    missing = [q for q in p.requires if q not in result.starts]
    if missing:
        names = ", ".join(f"{q} ({inst.projects[q].name})" for q in missing)
        return {"kind": "requires", "objective_loss": None,
                "reason": f"It requires {names}, which the plan does not fund."}
    return None


def forced(instance: Instance, pid: str) -> Instance:
    """The instance with ``pid`` forced in."""
    projects = dict(instance.projects)
    projects[pid] = replace(projects[pid], must_fund=True)
    return instance.with_projects(projects)


def closeness(result: Result, candidates: list[str],
              options: SolveOptions = SolveOptions()) -> dict[str, float]:
    """LP-relaxation bound on the objective with each candidate forced in (higher is closer).

    An LP that is infeasible scores minus infinity: forcing that project in is certainly infeasible.
    The solver and time limit are the run's (``options``), the workbook's where not given.
    """
    s = result.instance.settings
    solver = options.solver or s.solver
    gap = s.mip_gap if options.mip_gap is None else options.mip_gap
    out = {}
    for pid in candidates:
        m = build_model(forced(result.instance, pid))
        raw = run_solver(m, solver, options.time_limit(result.instance), gap, options.threads,
                         relaxed=True)
        out[pid] = float(m.objective_expr.value() or 0.0) if raw.status == "optimal" else float("-inf")
    return out


def explain_rejections(result: Result, options: SolveOptions = SolveOptions(),
                       parallel: Parallel = Parallel(), *, limit: int = RESOLVE_LIMIT) -> WhyNot:
    """A reason for every rejected project (rules first, then forced re-solves)."""
    inst = result.instance
    s = inst.settings
    reasons: dict[str, dict] = {}
    to_solve = []
    for pid in result.rejected_ids:
        rule = rule_reason(result, pid)
        if rule is None:
            to_solve.append(pid)
        else:
            reasons[pid] = rule
    note = ""
    if len(to_solve) > limit:
        score = closeness(result, to_solve, options)
        order = {pid: i for i, pid in enumerate(inst.projects)}
        ranked = sorted(to_solve, key=lambda q: (-score[q], order[q]))
        skipped = ranked[limit:]
        to_solve = ranked[:limit]
        note = (f"Re-solves were limited to the {limit} of {len(to_solve) + len(skipped)} rejected "
                "projects that came closest (ranked by the LP-relaxation bound on the objective "
                "with each forced in); the others were not re-solved.")
        for pid in skipped:
            reasons[pid] = {"kind": "not_evaluated", "objective_loss": None,
                            "reason": "Not re-solved: it ranked outside the closest "
                                      f"{limit} (its LP bound with it forced in is "
                                      f"{_fmt(score[pid], s.objective)})."}
    tasks = [(forced(inst, pid), options, True) for pid in to_solve]
    outcomes = run_parallel(resolve, tasks, parallel, label="why-not re-solves")
    base = result.objective_value
    for pid, outcome in zip(to_solve, outcomes):
        reasons[pid] = _forced_reason(result, outcome, base)
    return WhyNot({pid: reasons[pid] for pid in result.rejected_ids}, note)


def _fmt(value: float, objective: str) -> str:
    if value == float("-inf"):
        return "infeasible"
    return f"{value:,.3f} share-years" if objective == "security" else f"{value:,.1f} $M"


def _forced_reason(result: Result, outcome: Outcome, base: float) -> dict:
    objective = result.instance.settings.objective
    if outcome.status == "infeasible":
        return {"kind": "forced_infeasible", "objective_loss": None,
                "reason": f"Forcing it in is infeasible: {outcome.message}"}
    if outcome.result is None:
        return {"kind": "forced_no_plan", "objective_loss": None,
                "reason": f"The re-solve with it forced in gave no plan: {outcome.message}"}
    outcome = outcome.result
    loss = base - outcome.objective_value
    approx = "" if outcome.info.status == "optimal" and result.info.status == "optimal" else \
        " (a re-solve stopped at its time limit: the figure is approximate)"
    unit = objective_unit(objective)
    pct = f" ({loss / abs(base):.1%} of the optimum)" if abs(base) > 1e-9 else ""
    if loss <= 1e-6 * max(1.0, abs(base)):
        text = (f"Forcing it in costs nothing measurable: an equally good plan exists with it "
                f"(objective {outcome.objective_value:,.3f} {unit}){approx}.")
    else:
        text = (f"Forcing it in would lower the objective by {loss:,.3f} {unit}{pct}, to "
                f"{outcome.objective_value:,.3f} {unit}{approx}.")
    return {"kind": "forced_cost", "objective_loss": loss, "reason": text}
