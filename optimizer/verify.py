"""Accept a solver's plan only when the independent recomputation agrees with it.

``verify`` recomputes the plan with :func:`optimizer.evaluate.evaluate` (plain arithmetic over the
inputs, no model), lists every broken rule with :func:`optimizer.evaluate.violations`, and compares
the objective value with the one the model counted. Any disagreement raises VerificationError: a
wrong plan is never reported as a result.
"""

from __future__ import annotations

from typing import Mapping

from .errors import VerificationError
from .evaluate import Evaluation, evaluate
from .families import violations
from .instance import Instance

OBJECTIVE_RTOL = 1e-6
OBJECTIVE_ATOL = 1e-6


def objective_mismatch(recomputed: float, model_value: float) -> bool:
    return abs(recomputed - model_value) > OBJECTIVE_ATOL + OBJECTIVE_RTOL * abs(recomputed)


def verify(instance: Instance, starts: Mapping[str, int], model_objective: float | None,
           objective: str | None = None) -> Evaluation:
    """The plan's Evaluation; raises VerificationError if any rule or the objective disagrees.

    ``objective`` names what ``model_objective`` counts (the workbook's objective by default).
    """
    ev = evaluate(instance, starts)
    problems = violations(instance, ev)
    if model_objective is not None:
        value = ev.objective_value(objective or instance.settings.objective)
        if objective_mismatch(value, model_objective):
            problems.append(f"objective recomputed from the decision is {value:.9g}, the model "
                            f"counted {model_objective:.9g}")
    if problems:
        raise VerificationError("The independent check rejected the solver's plan:\n"
                                + "\n".join(f"  - {p}" for p in problems))
    return ev
