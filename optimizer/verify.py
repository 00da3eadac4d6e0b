"""Accept a solver's plan only when the independent recomputation agrees with it.

``verify`` recomputes the plan with :func:`optimizer.evaluate.evaluate` (plain arithmetic over the
inputs, no model), lists every broken rule with :func:`optimizer.families.violations`, and compares
the objective value with the one the model counted. Any disagreement raises VerificationError: a
wrong plan is never reported as a result. With Settings ``risk_adjusted`` the objective, the
targets, their protection and the NPV floor are checked on the expected figures the evaluation
counts (see :mod:`optimizer.evaluate`); budgets on planned capex.

One disagreement is not a bug: a plan that is not proven optimal (a time limit stopped the search)
may hold its displaced-tonnes variables below what the plan delivers (they are only bounded above
by the deliveries; the objective pushes them up only at optimality), so the model counts less than
the plan is worth. Such a plan is accepted at its recomputed worth, which is the value every report
shows. A model value above the recomputed one, or below it for a plan proven optimal, is refused.
"""

from __future__ import annotations

from typing import Mapping

from .errors import VerificationError
from .evaluate import Evaluation, evaluate
from .families import violations
from .instance import Instance

OBJECTIVE_RTOL = 1e-6
OBJECTIVE_ATOL = 1e-6


def objective_mismatch(recomputed: float, model_value: float, proven: bool = True) -> bool:
    """Whether the model's value disagrees with the recomputed one beyond the tolerances.

    Every objective is maximized: a model value above the recomputed one always disagrees; one
    below disagrees only when ``proven`` (the solver proved the plan optimal).
    """
    excess = model_value - recomputed
    if not proven:
        excess = max(excess, 0.0)
    return abs(excess) > OBJECTIVE_ATOL + OBJECTIVE_RTOL * abs(recomputed)


def verify(instance: Instance, starts: Mapping[str, int], model_objective: float | None,
           objective: str | None = None, proven: bool = True) -> Evaluation:
    """The plan's Evaluation; raises VerificationError if any rule or the objective disagrees.

    ``objective`` names what ``model_objective`` counts (the workbook's objective by default).
    ``proven``: the solver proved the plan optimal; when False a model value below the
    recomputed one is accepted (see the module docstring).
    """
    ev = evaluate(instance, starts)
    problems = violations(instance, ev)
    if model_objective is not None:
        value = ev.objective_value(objective or instance.settings.objective)
        if objective_mismatch(value, model_objective, proven):
            problems.append(f"objective recomputed from the decision is {value:.9g}, the model "
                            f"counted {model_objective:.9g}")
    if problems:
        raise VerificationError("The independent check rejected the solver's plan:\n"
                                + "\n".join(f"  - {p}" for p in problems))
    return ev
