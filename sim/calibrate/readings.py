"""Reading a target set's figures off runs of one scenario: which result columns give each
target's model value, and at which step a dated figure is read.

A figure dated with `by` is compared with the run as it stood at the end of the step that
contains `by` (the outcomes at that step, `sim.results.outcomes_until`; a worker reports them as
columns `<outcome>@<step>`). A figure without `by`, or dated in the run's last step, is compared
with the run's end. Calibration (`plan`) and validation (`validate`) read targets this way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sim.errors import Problem
from sim.results import DEPARTED_PREFIX, layout_of
from sim.scenario import Scenario
from sim.targets import Target, TargetSet
from sim.yamlio import Document

BEFORE_START = -1
"""`step_containing`: the time is at or before the run's start."""


@dataclass(frozen=True)
class TargetReading:
    """Where a target's model value comes from: the sum of these result columns."""

    target: Target
    columns: tuple[str, ...]
    step: int | None  # the step whose end the figure is compared with; None: the run's end

    def value(self, row: Mapping[str, Any]) -> float:
        """The model's value of the target in one simulation's result row."""
        return float(sum(row[c] for c in self.columns))


def at_steps(readings: Iterable[TargetReading]) -> tuple[int, ...]:
    """The steps at which workers must also report outcomes (targets dated mid-run)."""
    return tuple(sorted({r.step for r in readings if r.step is not None}))


def produced_outcomes(scenario: Scenario) -> set[str]:
    """The outcome keys every run of `scenario` reports."""
    return set(layout_of(scenario).outcome_keys())


def target_readings(
    scenario: Scenario, target_set: TargetSet, doc: Document, *, after_end_is_error: bool
) -> tuple[list[TargetReading], list[Problem]]:
    """Which result columns give each target's model value, and the targets that cannot be
    read off a run of this scenario (each a problem located in the target set's `doc`).

    A target dated after the run's end is a problem with `after_end_is_error`; otherwise it is
    compared with the run's end (as calibration always has)."""
    produced = produced_outcomes(scenario)
    readings: list[TargetReading] = []
    problems: list[Problem] = []
    for i, target in enumerate(target_set.targets):
        missing = [k for k in target.outcome if k not in produced]
        if missing:
            why = "it has no such crossing, border force or blockade"
            if all(k.startswith(DEPARTED_PREFIX) for k in missing):
                why = "departures by origin are reported where waves leave from several places"
            problems.append(
                doc.problem(
                    ("targets", i, "outcome"),
                    f"the scenario produces no outcome {', '.join(missing)} ({why})",
                )
            )
            continue
        if target.by is None:
            readings.append(TargetReading(target, tuple(target.outcome), None))
            continue
        at = ("targets", i, "by")
        if target.by.tzinfo is not None and scenario.time.start.tzinfo is None:
            problems.append(
                doc.problem(at, "has a UTC offset but the scenario's start has none; drop it")
            )
            continue
        step = step_containing(scenario, target.by)
        outside = _outside_message(scenario, target.by, step, after_end_is_error)
        if outside is not None:
            problems.append(doc.problem(at, outside))
            continue
        if step >= scenario.n_steps - 1:  # the last step, or later: the run's end
            readings.append(TargetReading(target, tuple(target.outcome), None))
            continue
        at_end_only = _counted_at_end_only(target.outcome)
        if at_end_only:
            problems.append(
                doc.problem(
                    at,
                    f"{at_end_only} are counted at the end of a run only; drop 'by' or "
                    "end the scenario at that time",
                )
            )
            continue
        columns = tuple(f"{k}@{step}" for k in target.outcome)
        readings.append(TargetReading(target, columns, step))
    return readings, problems


def _counted_at_end_only(keys: Iterable[str]) -> str | None:
    """What among the outcome `keys` a run counts at its end only, in words (None: none)."""
    if any(k.startswith(DEPARTED_PREFIX) for k in keys):
        return "departures by origin"
    return None


def _outside_message(
    scenario: Scenario, by: datetime, step: int, after_end_is_error: bool
) -> str | None:
    """Why a figure dated `by` (in step `step`) cannot be read off the run, or None."""
    if step == BEFORE_START:
        where = "at or before the run's start"
    elif step >= scenario.n_steps and after_end_is_error:
        where = "after the run's end"
    else:
        return None
    start = scenario.time.start
    end = start + timedelta(hours=scenario.n_steps * scenario.time.step_h)
    return (
        f"{by.isoformat()} is {where}; the run covers {start.isoformat()} to {end.isoformat()} "
        f"({scenario.n_steps} steps of {scenario.time.step_h:g} h)"
    )


def step_containing(scenario: Scenario, when: datetime) -> int:
    """The 0-based step whose hours contain `when` (a time at a step's end falls in that
    step): `BEFORE_START` (-1) at or before the start, `scenario.n_steps` or more after the
    run's end. A `when` without a UTC offset is the scenario's local clock."""
    start = scenario.time.start
    if when.tzinfo is None and start.tzinfo is not None:
        when = when.replace(tzinfo=start.tzinfo)
    hours = scenario.hours_since_start(when)
    if hours <= 0:
        return BEFORE_START
    return math.ceil(hours / scenario.time.step_h - 1e-9) - 1
