"""Errors a planner can act on: each names the file, the row and the column."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and which rule it breaks."""

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"


class CaseError(ValueError):
    """A case (or model spec) breaks the input rules; ``problems`` lists every one found."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem("case", None, None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        first = str(self.problems[0]) if self.problems else "invalid case"
        more = len(self.problems) - 1
        super().__init__(first + (f" (and {more} more problem(s))" if more > 0 else ""))


class InfeasibleError(RuntimeError):
    """The model has no feasible plan; ``explanation`` says why in the planner's terms."""

    def __init__(self, message: str, explanation: object = None):
        super().__init__(message)
        self.explanation = explanation


class SolverError(RuntimeError):
    """The solver failed, is missing, or returned no usable answer."""
