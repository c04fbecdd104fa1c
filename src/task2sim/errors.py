"""One error type for problems a user can fix, so the CLI can print them without a traceback."""

from __future__ import annotations


class Task2SimError(Exception):
    """A problem with the user's input or environment: says what is wrong and how to fix it."""

    def __init__(self, problem: str, fix: str | None = None) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(problem if fix is None else f"{problem}\n  fix: {fix}")

    def one_line(self) -> str:
        """The problem and its fix on one line, as the command line prints them."""
        problem = "; ".join(part.strip() for part in self.problem.splitlines() if part.strip())
        problem = problem.replace(":;", ":")
        return problem if self.fix is None else f"{problem} (fix: {self.fix})"
