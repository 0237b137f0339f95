"""Problems found in input data, reported to the clerk as ``FILE:LINE: message``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | str | None  # a line number, or a cell such as 考评表!G5
    message: str

    def sort_key(self) -> tuple:
        return (self.file, self.line if isinstance(self.line, int) else 0, str(self.line), self.message)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class DataError(Exception):
    """Bad input: carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem] | Problem):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class RenderError(Exception):
    """A document could not be produced (missing font, missing system library)."""
