"""Exception types. The CLI turns every `CaravanError` into one message and exit status 2."""

from __future__ import annotations

from dataclasses import dataclass


class CaravanError(Exception):
    """Base of every error caused by the user's input (files, options), not by a bug."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file: where it is, which key, what was expected."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


@dataclass(frozen=True)
class ScenarioWarning(Problem):
    """A located note on an input that is valid but says something that changes nothing (a
    rule at a place no route reaches, a window outside the run): not an exception; `caravan
    check` and `run` print it, and a run keeps it in summary.json under "warnings"."""


class ScenarioError(CaravanError):
    """A scenario, network or override is invalid; holds every problem found, not the first,
    in reading order: by file (in the order the files first come up), then by line (a problem
    without a line after those of its file that have one), problems at one line in the order
    they were found."""

    def __init__(self, problems: list[Problem]) -> None:
        if not problems:
            raise ValueError("ScenarioError needs at least one problem")
        self.problems = in_reading_order(problems)
        super().__init__(self._render())

    def _render(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = [f"{len(self.problems)} problems:"]
        lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


def in_reading_order(problems: list[Problem]) -> list[Problem]:
    """`problems` by file (first come, first shown), then line; a stable sort."""
    file_rank: dict[str, int] = {}
    for problem in problems:
        file_rank.setdefault(problem.file, len(file_rank))
    return sorted(
        problems,
        key=lambda p: (file_rank[p.file], p.line is None, p.line or 0),
    )


class OutputExistsError(CaravanError):
    """The output directory already holds results; we never overwrite them silently."""
