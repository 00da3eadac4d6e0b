"""Errors the command line turns into exit statuses (2: bad input, 3: infeasible)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One finding about the workbook: where, what was found, what would be accepted."""

    where: str  # "Projects!F12", "Projects row 12", "Settings", "file"
    message: str  # the whole sentence, naming the value found and what is accepted
    severity: str = "error"  # error | warning

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class InputError(Exception):
    """The workbook is invalid: every problem found, reported together (exit status 2)."""

    def __init__(self, problems: list[Problem], warnings: list[Problem] | None = None):
        self.problems = [p for p in problems if p.severity == "error"]
        self.warnings = list(warnings or []) + [p for p in problems if p.severity != "error"]
        super().__init__(self.report())

    def report(self) -> str:
        n = len(self.problems)
        lines = [f"The workbook has {n} problem{'s' if n != 1 else ''}:"]
        lines += [f"  - {p}" for p in self.problems]
        if self.warnings:
            lines.append("Warnings:")
            lines += [f"  - {p}" for p in self.warnings]
        return "\n".join(lines)


class InfeasibleError(Exception):
    """No plan satisfies the constraints (exit status 3). ``reasons`` are plain sentences."""

    def __init__(self, reasons: list[str]):
        self.reasons = list(reasons)
        super().__init__("No plan satisfies the constraints:\n" + "\n".join(f"  - {r}" for r in reasons))


class VerificationError(Exception):
    """The independent verifier disagrees with the solver's plan (exit status 1: a bug, loudly)."""


class SolverError(Exception):
    """The solver could not give a plan for a reason other than infeasibility (exit status 1)."""
