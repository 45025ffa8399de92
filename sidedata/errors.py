"""Error types for side-data import, plus a collector for row problems."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

MAX_LISTED_PROBLEMS = 20


class SideDataError(Exception):
    """Base class of every error raised by :mod:`sidedata`. ``code`` is the machine reason."""

    code = "invalid_side_data"


class EncodingError(SideDataError):
    """The file's bytes are not in any supported text encoding."""


class UnsupportedFormatError(SideDataError):
    """The file is not in a format this importer understands."""


@dataclass(frozen=True)
class ImportProblem:
    """One problem found in an imported file, located as precisely as known."""

    file: str
    line: int | None
    field: str | None
    problem: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.field:
            return f"{where}: {self.field}: {self.problem}"
        return f"{where}: {self.problem}"


def format_problems(problems: list[ImportProblem], limit: int = MAX_LISTED_PROBLEMS) -> str:
    """Render the first ``limit`` problems one per line, then a count of the rest."""
    lines = [str(p) for p in problems[:limit]]
    rest = len(problems) - limit
    if rest > 0:
        lines.append(f"… and {rest} more problem{'s' if rest != 1 else ''}")
    return "\n".join(lines)


class SideDataImportError(SideDataError):
    """An import failed; nothing was imported. ``problems`` lists every problem found."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        self.problems: list[ImportProblem] = list(problems)
        super().__init__(format_problems(self.problems))

    def __reduce__(self) -> tuple[type[SideDataImportError], tuple[list[ImportProblem]]]:
        """Pickle with the problem list (e.g. across worker processes)."""
        return (type(self), (self.problems,))


class ProblemCollector:
    """Accumulates :class:`ImportProblem` entries for one file (all-or-nothing imports)."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[ImportProblem] = []
        self._once: dict[str, tuple[int, int]] = {}  # key -> (index in problems, repeats)

    def add(self, line: int | None, field: str | None, problem: str) -> None:
        """Record one problem."""
        self.problems.append(ImportProblem(self.filename, line, field, problem))

    def add_once(self, key: str, line: int | None, field: str | None, problem: str) -> None:
        """Record a problem that applies to the whole file only the first time it occurs.

        Later occurrences are counted and summarised in the first entry when raising.
        """
        if key in self._once:
            index, repeats = self._once[key]
            self._once[key] = (index, repeats + 1)
            return
        self._once[key] = (len(self.problems), 0)
        self.add(line, field, problem)

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self) -> None:
        """Raise :class:`SideDataImportError` if any problem was recorded."""
        if not self.problems:
            return
        problems = list(self.problems)
        for index, repeats in self._once.values():
            if repeats:
                first = problems[index]
                note = f" ({repeats} more row{'s' if repeats != 1 else ''} affected)"
                problems[index] = dataclasses.replace(first, problem=first.problem + note)
        raise SideDataImportError(problems)
