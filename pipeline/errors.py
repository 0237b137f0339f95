"""Problems found in input data, reported to the clerk as ``FILE:LINE: message`` (a text file's
line) or ``FILE 考评表 C16 单元格：message`` (a workbook's cell, as a clerk names it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    """A cell of a workbook: said “考评表 C16 单元格”, not in Excel's notation (考评表!C16)."""
    sheet: str
    ref: str  # A1 notation

    def __str__(self) -> str:
        return f"{self.sheet} {self.ref} 单元格"


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | str | Cell | None  # a line number, a cell, or a place such as 第 1.1 项
    message: str

    def sort_key(self) -> tuple:
        return (self.file, self.line if isinstance(self.line, int) else 0, str(self.line), self.message)

    def __str__(self) -> str:
        if isinstance(self.line, Cell):
            return f"{self.file} {self.line}：{self.message}"
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
