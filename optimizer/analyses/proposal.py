"""The committee's own plan (the Projects column ``proposed_start``), scored without optimizing.

The proposal is evaluated by the same independent code as every plan (:func:`optimizer.evaluate.
evaluate` and :func:`optimizer.families.violations`): each broken rule is a violation in words with
its amounts, never an input error. It is scored by the workbook's objective (expected figures under
``risk_adjusted``). Against the recommended plan: the regret (the plan's objective minus the
proposal's, for a proposal that keeps every rule; it can be negative only when the plan is not
proven optimal, and the text then says so), the change in each China share, and the projects in one
and not the other. Under the risk model: the chance that every China-share target holds in the
target year (the same simulation as the plan's).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from ..evaluate import Evaluation, evaluate
from ..families import violations
from ..instance import Instance
from ..results import Result, SolveInfo
from .simulate import simulate

DRAWS = 2_000  # draws for the proposal's chance of meeting the targets


def proposed_starts(instance: Instance) -> dict[str, int]:
    """project_id -> proposed start year, for the projects the committee proposes."""
    return {pid: p.proposed_start for pid, p in instance.projects.items()
            if p.proposed_start is not None}


@dataclass(frozen=True)
class Proposal:
    """The proposal's score and its comparison with the recommended plan (when there is one)."""

    starts: Mapping[str, int]
    feasible: bool
    violations: tuple[str, ...]
    objective: str
    objective_value: float
    npv_musd: float
    total_capex_musd: float
    china_share: Mapping[str, float]  # mineral -> share in the report year
    report_year: int
    p_targets_met: float | None
    regret: float | None = None
    regret_note: str = ""
    plan_objective_value: float | None = None
    plan_china_share: Mapping[str, float] | None = None
    only_in_proposal: tuple[str, ...] = ()
    only_in_plan: tuple[str, ...] = ()
    start_differs: tuple[str, ...] = ()

    def tables(self) -> dict[str, Any]:
        summary = {
            "feasible": self.feasible, "violations": list(self.violations),
            "objective": self.objective, "objective_value": self.objective_value,
            "npv_musd": self.npv_musd, "total_capex_musd": self.total_capex_musd,
            "regret": self.regret, "regret_note": self.regret_note,
            "plan_objective_value": self.plan_objective_value,
            "p_targets_met": self.p_targets_met, "report_year": self.report_year,
            "china_share": dict(self.china_share),
            "plan_china_share": dict(self.plan_china_share or {}),
            "only_in_proposal": list(self.only_in_proposal),
            "only_in_plan": list(self.only_in_plan),
            "proposed_starts": dict(self.starts),
        }
        return {"proposal": summary, "proposal_summary": self.summary_rows(),
                "proposal_projects": self.project_rows()}

    def summary_rows(self) -> list[dict[str, Any]]:
        """The proposal beside the recommended plan, one measure a row (for the workbook)."""
        rows = [{"measure": f"objective ({self.objective})", "proposal": self.objective_value,
                 "recommended_plan": self.plan_objective_value},
                {"measure": "regret (plan minus proposal)", "proposal": self.regret,
                 "recommended_plan": None},
                {"measure": "NPV $M", "proposal": self.npv_musd, "recommended_plan": None},
                {"measure": "capex $M", "proposal": self.total_capex_musd,
                 "recommended_plan": None},
                {"measure": "keeps every rule", "proposal": self.feasible,
                 "recommended_plan": True}]
        for m, share in self.china_share.items():
            rows.append({"measure": f"China share {m} {self.report_year}", "proposal": share,
                         "recommended_plan": (self.plan_china_share or {}).get(m)})
        if self.p_targets_met is not None:
            rows.append({"measure": "chance every target holds", "proposal": self.p_targets_met,
                         "recommended_plan": None})
        return rows

    def project_rows(self) -> list[dict[str, Any]]:
        return [{"project_id": pid, "proposed_start": self.starts.get(pid), "in": where}
                for pid, where in ([(p, "proposal only") for p in self.only_in_proposal]
                                   + [(p, "plan only") for p in self.only_in_plan]
                                   + [(p, "both, another start year")
                                      for p in self.start_differs])]


def score(instance: Instance, starts: Mapping[str, int], simulate_draws: int = DRAWS) -> Proposal:
    """The proposal funding ``starts`` scored alone (no comparison)."""
    s = instance.settings
    ev = evaluate(instance, starts)
    broken = tuple(violations(instance, ev))
    year = s.target_year if s.target_year is not None else s.last_year
    return Proposal(
        starts=dict(starts), feasible=not broken, violations=broken, objective=s.objective,
        objective_value=ev.objective_value(s.objective), npv_musd=ev.npv_musd,
        total_capex_musd=ev.total_capex,
        china_share={m: ev.share_after[m][year] for m in instance.minerals}, report_year=year,
        p_targets_met=_p_targets_met(instance, starts, ev, simulate_draws))


def compare(proposal: Proposal, plan: Result) -> Proposal:
    """The proposal set beside the recommended plan."""
    regret, note = None, ""
    if proposal.feasible:
        regret = plan.objective_value - proposal.objective_value
        if regret < -1e-9 * max(1.0, abs(plan.objective_value)):
            note = ("The proposal scores higher than the recommended plan, which the solver did "
                    "not prove optimal: its search stopped at the time limit.")
    else:
        note = "No regret is given: the proposal breaks a rule."
    year = proposal.report_year
    both = set(proposal.starts) & set(plan.starts)
    return replace(
        proposal, regret=regret, regret_note=note, plan_objective_value=plan.objective_value,
        plan_china_share={m: plan.evaluation.share_after[m][year]
                          for m in plan.instance.minerals},
        only_in_proposal=tuple(sorted(set(proposal.starts) - set(plan.starts))),
        only_in_plan=tuple(sorted(set(plan.starts) - set(proposal.starts))),
        start_differs=tuple(sorted(p for p in both if proposal.starts[p] != plan.starts[p])))


def compare_proposal(result: Result, simulate_draws: int = DRAWS) -> Proposal | None:
    """The workbook's proposal against the recommended plan; None when nothing is proposed."""
    starts = proposed_starts(result.instance)
    if not starts:
        return None
    return compare(score(result.instance, starts, simulate_draws), result)


def _p_targets_met(instance: Instance, starts: Mapping[str, int], ev: Evaluation,
                   draws: int) -> float | None:
    """The chance every target holds in the target year, under the risk model; None without
    targets or when a start falls outside the horizon (nothing to simulate)."""
    s = instance.settings
    if s.target_year is None or not draws:
        return None
    if any(start not in s.years for start in starts.values()) or \
            any(pid not in instance.projects for pid in starts):
        return None
    info = SolveInfo(status="proposal", solver="none (not optimized)", mip_gap=None,
                     best_bound=None, solve_seconds=0.0, build_seconds=0.0, model_objective=None)
    return simulate(Result(instance, dict(starts), ev, info), draws).p_all_targets_met


def from_tables(doc: Mapping[str, Any]) -> Proposal | None:
    """A Proposal read back from its results.json entry."""
    d = doc.get("proposal")
    if not isinstance(d, Mapping):
        return None
    split = {"proposal only": [], "plan only": [], "both, another start year": []}
    for row in doc.get("proposal_projects") or ():
        split.setdefault(str(row.get("in")), []).append(row.get("project_id"))
    return Proposal(
        starts={k: int(v) for k, v in (d.get("proposed_starts") or {}).items()},
        feasible=bool(d.get("feasible")), violations=tuple(d.get("violations") or ()),
        objective=str(d.get("objective")), objective_value=float(d.get("objective_value") or 0),
        npv_musd=float(d.get("npv_musd") or 0), total_capex_musd=float(d.get("total_capex_musd")
                                                                      or 0),
        china_share=dict(d.get("china_share") or {}), report_year=int(d.get("report_year") or 0),
        p_targets_met=d.get("p_targets_met"), regret=d.get("regret"),
        regret_note=str(d.get("regret_note") or ""),
        plan_objective_value=d.get("plan_objective_value"),
        plan_china_share=dict(d.get("plan_china_share") or {}),
        only_in_proposal=tuple(split["proposal only"]), only_in_plan=tuple(split["plan only"]),
        start_differs=tuple(split["both, another start year"]))


def report_lines(p: Proposal, unit: str) -> list[str]:
    """The proposal's score in plain lines, as the evaluate command prints it."""
    lines = [f"Proposal: {len(p.starts)} project{'s' if len(p.starts) != 1 else ''} "
             f"({', '.join(f'{pid} in {y}' for pid, y in p.starts.items())})."]
    if p.feasible:
        lines.append("It keeps every rule.")
    else:
        lines.append(f"It breaks {len(p.violations)} rule{'s' if len(p.violations) != 1 else ''}:")
        lines += [f"  - {v}" for v in p.violations]
    lines.append(f"Objective ({p.objective}): {p.objective_value:,.3f} {unit}; NPV "
                 f"{p.npv_musd:,.1f} $M; capital {p.total_capex_musd:,.1f} $M.")
    shares = "; ".join(f"{m} {v:.1%}" for m, v in p.china_share.items())
    lines.append(f"China share in {p.report_year}: {shares}.")
    if p.p_targets_met is not None:
        lines.append(f"Chance that every China-share target holds in {p.report_year} under the "
                     f"risk model: {p.p_targets_met:.1%}.")
    return lines
