"""Typed results of a solve: the verified plan, the truth about the solver, and later analyses.

A :class:`Result` holds the input instance, the decision (start year per funded project), the
independent :class:`~optimizer.evaluate.Evaluation` of that decision (every figure shown to a reader
comes from it, never from solver variables) and a :class:`SolveInfo`. ``to_json`` gives the
``results.json`` document of the contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Mapping

from . import __version__
from .analyses import Analyses
from .evaluate import Evaluation, target_met_year
from .instance import Instance
from .portfolio import PortfolioFinance, portfolio_finance


@dataclass(frozen=True)
class SolveInfo:
    """What the solver proved. ``status`` is ``optimal`` only when the solver proved it."""

    status: str  # optimal | feasible | infeasible
    solver: str  # name and version, e.g. "HiGHS 1.16.0"
    mip_gap: float | None  # relative gap achieved; None when the solver does not report it
    best_bound: float | None  # the solver's proven bound on the objective, when known
    solve_seconds: float
    build_seconds: float
    model_objective: float | None  # objective as the solver's model counted it
    n_variables: int = 0
    n_constraints: int = 0

    @property
    def status_words(self) -> str:
        """The status as a committee reads it."""
        if self.status == "optimal":
            return "proven optimal"
        if self.status == "feasible":
            if self.mip_gap is None:
                return "best plan found when the time limit stopped the solver; its distance " \
                       "from the best possible is unknown"
            return (f"best plan found; it is within {100 * self.mip_gap:.2f}% of the best "
                    "possible")
        return "no plan satisfies the constraints"


@dataclass(frozen=True)
class Result:
    instance: Instance
    starts: Mapping[str, int]  # funded project -> start year
    evaluation: Evaluation
    info: SolveInfo
    analyses: Analyses = field(default_factory=Analyses)  # why-not, sensitivity, frontier ...

    @property
    def objective_value(self) -> float:
        return self.evaluation.objective_value(self.instance.settings.objective)

    @cached_property
    def finance(self) -> PortfolioFinance:
        """Cash flows, IRR, payback, peak funding and country concentration of the plan."""
        return portfolio_finance(self.instance, self.starts)

    @property
    def objective_note(self) -> str:
        """Said when a plan that is not proven optimal was valued by the solver's model below its
        true worth (its displaced tonnes not pushed up to its deliveries when the time limit
        came): the plan is worth the value recomputed from the decision, which is the one
        reported. Empty otherwise."""
        model = self.info.model_objective
        if self.info.status == "optimal" or model is None:
            return ""
        value = self.objective_value
        if value - model <= 1e-6 * max(1.0, abs(value)):
            return ""
        return (f"The solver stopped at its time limit with its model counting {model:,.6g} for "
                f"this plan; recomputed from the decision the plan is worth {value:,.6g}, the "
                "value reported here.")

    @property
    def funded_ids(self) -> list[str]:
        """Funded projects in start-year order, then workbook order."""
        order = {pid: i for i, pid in enumerate(self.instance.projects)}
        return sorted(self.starts, key=lambda p: (self.starts[p], order[p]))

    @property
    def rejected_ids(self) -> list[str]:
        return [pid for pid in self.instance.projects if pid not in self.starts]

    def target_met(self) -> dict[str, int | None]:
        return {m: target_met_year(self.instance, self.evaluation, m) for m in self.instance.minerals}

    def to_json(self) -> dict[str, Any]:
        inst, ev, info = self.instance, self.evaluation, self.info
        s = inst.settings
        fin = self.finance
        funded = []
        for pid in self.funded_ids:
            p = inst.projects[pid]
            pf = fin.projects[pid]
            funded.append({
                "project_id": pid,
                "name": p.name,
                "kind": p.kind,
                "mineral": p.mineral,
                "country": p.country,
                "start_year": self.starts[pid],
                "online_year": ev.online[pid],
                "capex_musd": ev.capex[pid],
                "npv_musd": p.npv_musd,
                "npv_discounted_musd": ev.npv_discounted[pid],
                "risk": p.risk,
                "irr": pf.irr.value,
                "irr_note": pf.irr.reason,
                "payback_year": pf.payback_year,
            })
        doc: dict[str, Any] = {
            "status": info.status,
            "status_words": info.status_words,
            "objective": s.objective,
            "objective_value": self.objective_value,
            "model_objective": info.model_objective,
            "objective_note": self.objective_note,
            "npv_musd": ev.npv_musd,
            "security_share_years": ev.security,
            "security_premium_musd": ev.premium_musd,
            "total_capex_musd": ev.total_capex,
            "mip_gap": info.mip_gap,
            "best_bound": info.best_bound,
            "solver": info.solver,
            "solve_seconds": info.solve_seconds,
            "build_seconds": info.build_seconds,
            "funded": funded,
            "rejected": self.rejected_ids,
            "spend_by_year": {str(t): v for t, v in ev.spend.items()},
            "budget_by_year": {str(t): v for t, v in ev.budget.items()},
            "china_share": {
                m: {str(t): {"before": ev.share_before[m][t], "after": ev.share_after[m][t]}
                    for t in s.years}
                for m in inst.minerals
            },
            "displaced_t": {m: {str(t): v for t, v in ev.displaced[m].items()} for m in inst.minerals},
            "cash_flow_by_year": {str(t): v for t, v in fin.cash_flow_by_year.items()},
            "cumulative_cash_flow_by_year": {str(t): v for t, v in fin.cumulative_by_year.items()},
            "peak_funding_musd": fin.peak_funding_musd,
            "peak_funding_year": fin.peak_funding_year,
            "portfolio_irr": fin.irr.value,
            "portfolio_irr_note": fin.irr.reason,
            "portfolio_payback_year": fin.payback_year,
            "country_capex_share": dict(fin.country_capex_share),
            "capex_hhi": fin.capex_hhi,
            "target_met_year": self.target_met(),
            "input_file": inst.source_path,
            "input_sha256": inst.input_sha256,
            "tool_version": __version__,
            "settings": {k: getattr(s, k) for k in s.__dataclass_fields__},
        }
        tables = self.analyses.tables()
        doc.update(tables)
        doc["analyses"] = sorted(tables)
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any], instance: Instance) -> "Result":
        """Rebuild a Result from its results.json and the instance it was solved from.

        The figures are recomputed from the decision (``funded`` start years), never trusted from
        the file; the solver facts are taken as written. The analyses are read back by
        :func:`optimizer.outputs.load_result`, the one place that reads them.
        """
        from .verify import verify

        starts = {f["project_id"]: int(f["start_year"]) for f in doc["funded"]}
        info = SolveInfo(status=doc["status"], solver=doc["solver"], mip_gap=doc.get("mip_gap"),
                         best_bound=doc.get("best_bound"),
                         solve_seconds=float(doc.get("solve_seconds") or 0.0),
                         build_seconds=float(doc.get("build_seconds") or 0.0),
                         model_objective=doc.get("objective_value"))
        evaluation = verify(instance, starts, doc.get("objective_value"))
        return cls(instance=instance, starts=starts, evaluation=evaluation, info=info)
