"""A calibration planned before anything runs: scenario, free parameters, targets and settings.

Everything a user can get wrong is checked here, with the file, line and key of the problem:
the scenario's `calibration:` section (each free key exists, holds a number, and every value of
its range makes a valid scenario), the target set, and whether each target can be read off a
run (its outcome keys exist; a target dated before the end of the run can be read at that time).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from sim import scenario as scenario_module
from sim.calibrate.priors import PriorSet
from sim.errors import Problem, ScenarioError
from sim.results import DEPARTED_PREFIX, ENTRY_PREFIX, layout_of
from sim.scenario import Scenario, derive, key_path
from sim.scenario.calibration import CalibrationSection
from sim.sweep.worker import ID_COLUMNS
from sim.targets import Target, TargetSet, load_target_set, target_set_path
from sim.yamlio import Document, load_yaml

PARAMETERS = ("calibration", "parameters")

# Columns of the simulations table that a parameter label may not take.
_RESERVED_COLUMNS = frozenset(
    {*ID_COLUMNS, "generation", "index", "phase", "distance", "elapsed_s"}
)
_DERIVED_PREFIXES = ("target.", "discrepancy.")

POST_FIT_SETTINGS = frozenset(
    {"predictive_draws", "point_candidates", "point_replicates", "check_replicates"}
)
"""Settings of what is done with the posterior, which leave the fit itself alone."""


@dataclass(frozen=True)
class TargetReading:
    """Where a target's model value comes from: the sum of these result columns."""

    target: Target
    columns: tuple[str, ...]
    step: int | None  # the step whose end the figure is compared with; None: the run's end


@dataclass(frozen=True)
class CalibrationPlan:
    scenario_path: Path
    scenario: Scenario  # with --set overrides applied
    overrides: tuple[str, ...]
    targets: TargetSet
    targets_name: str  # as given: a shipped set's name or a path
    targets_text: str  # the target set's file as written
    priors: PriorSet
    settings: CalibrationSection  # the scenario's, with command-line overrides
    seed: int
    readings: tuple[TargetReading, ...]

    @property
    def at_steps(self) -> tuple[int, ...]:
        """The steps at which workers must also report outcomes (targets dated mid-run)."""
        return tuple(sorted({r.step for r in self.readings if r.step is not None}))

    def target_values(self, row: Mapping[str, Any]) -> dict[str, float]:
        """The model's value of each target, by id, from one simulation's result row."""
        return {r.target.id: float(sum(row[c] for c in r.columns)) for r in self.readings}

    def priors_table(self) -> pa.Table:
        """One row per free parameter: its label, keys and prior."""
        rows = [
            {
                "label": p.label,
                "keys": ", ".join(p.keys),
                "prior": p.spec.prior,
                "low": p.spec.range[0],
                "high": p.spec.range[1],
                "mean": p.spec.mean,
                "sd": p.spec.sd,
                "integer": p.spec.integer,
            }
            for p in self.priors.priors
        ]
        return pa.Table.from_pylist(rows)

    def fingerprints(self) -> dict[str, str]:
        """What determines the fit; a calibration resumes only if these match. Not among them:
        the budget (a stopped calibration may be resumed with a larger one) and the checks made
        after the fit (predictive draws, candidate points, replicates), whose simulations are
        each checked against what is recorded."""
        fit = self.settings.model_dump(mode="json", exclude={*POST_FIT_SETTINGS, "budget"})
        return {
            "scenario": _hash(
                self.scenario.model_dump(mode="json", exclude={"source_file", "calibration"})
            ),
            "targets": _hash(self.targets.model_dump(mode="json")),
            "settings": _hash({**fit, "seed": self.seed}),
        }


def _hash(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def plan_calibration(
    scenario_path: str | Path,
    targets: str | Path,
    overrides: tuple[str, ...] = (),
    seed: int = 0,
    budget: int | None = None,
    particles: int | None = None,
    generations: int | None = None,
) -> CalibrationPlan:
    """Read and check everything a calibration needs; raise one ScenarioError listing every
    problem, each with its file, line and key."""
    path = Path(scenario_path)
    scenario, doc = scenario_module.load_located(path, list(overrides))
    section = scenario.calibration
    if section is None:
        raise ScenarioError(
            [
                Problem(
                    str(path),
                    None,
                    "calibration",
                    "the scenario has no 'calibration:' section; add one naming the free "
                    "parameters and their priors (see the README, 'Calibration')",
                )
            ]
        )
    problems = section_problems(scenario, doc)
    target_set = load_target_set(targets)
    targets_file = target_set_path(targets)
    targets_doc = load_yaml(targets_file)
    readings, reading_problems = _readings(scenario, target_set, targets_doc)
    problems += reading_problems
    if problems:
        raise ScenarioError(problems)
    changes = {"budget": budget, "particles": particles, "generations": generations}
    settings = CalibrationSection.model_validate(
        {**section.model_dump(), **{k: v for k, v in changes.items() if v is not None}}
    )
    return CalibrationPlan(
        scenario_path=path,
        scenario=scenario,
        overrides=tuple(overrides),
        targets=target_set,
        targets_name=str(targets),
        targets_text=targets_file.read_text(encoding="utf-8"),
        priors=PriorSet.from_section(section.parameters),
        settings=settings,
        seed=seed,
        readings=tuple(readings),
    )


def section_problems(scenario: Scenario, doc: Document) -> list[Problem]:
    """What is wrong with the scenario's calibration section, beyond its schema: each free key
    must exist and hold a number, and each end of its range must make a valid scenario."""
    if scenario.calibration is None:
        return []
    produced = _produced_outcomes(scenario)
    return [
        p
        for key in scenario.calibration.parameters
        for p in _parameter_problems(scenario, doc, key, produced)
    ]


def _parameter_problems(
    scenario: Scenario, doc: Document, key: str, produced: set[str]
) -> list[Problem]:
    """Each key the parameter sets exists outside lists and holds a number, and both ends of
    its range make a valid scenario."""
    assert scenario.calibration is not None
    parameter = scenario.calibration.parameters[key]
    at = (*PARAMETERS, key)
    label = parameter.label or key
    if label in _RESERVED_COLUMNS or label in produced or label.startswith(_DERIVED_PREFIXES):
        return [doc.problem(at, f"label '{label}' is a column the results already have")]
    data = scenario.model_dump()
    for set_key in (key, *parameter.also):
        message = _set_key_problem(data, set_key, integer=parameter.integer)
        if message is not None:
            return [doc.problem(at, message)]
    lo, hi = parameter.range
    ends = [math.ceil(lo), math.floor(hi)] if parameter.integer else [lo, hi]
    where = doc.locate(at)
    for value in ends:
        try:
            derive(scenario, dict.fromkeys((key, *parameter.also), value), {key: where})
        except ScenarioError as exc:
            return [
                doc.problem(at, f"at {value:g}, the end of its range: {p.message}")
                for p in exc.problems
            ]
    return []


def _set_key_problem(data: dict[str, Any], set_key: str, *, integer: bool) -> str | None:
    """Why a parameter cannot set `set_key` of the scenario (dumped as `data`), or None."""
    path = key_path(set_key)
    current = _lookup(data, path)
    if path[0] == "calibration":
        return f"'{set_key}' is part of the calibration section itself"
    if current is _MISSING:
        return f"'{set_key}' is not a key of the scenario"
    if any(isinstance(part, int) for part in path):
        # a calibrated scenario sets keys through `extends:`, which replaces lists whole
        return f"'{set_key}' lies inside a list; it cannot be fitted"
    if isinstance(current, bool) or not isinstance(current, int | float):
        return f"'{set_key}' holds {type(current).__name__}, not a number: it cannot be fitted"
    if isinstance(current, int) and not integer:
        return f"'{set_key}' is a whole number: add 'integer: true' to its prior"
    return None


_MISSING = object()


def _lookup(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        in_dict = isinstance(data, dict) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and part < len(data)
        if not (in_dict or in_list):
            return _MISSING
        data = data[part]
    return data


def _readings(
    scenario: Scenario, target_set: TargetSet, doc: Document
) -> tuple[list[TargetReading], list[Problem]]:
    """Which result columns give each target's model value, and the targets that cannot be
    read off a run of this scenario."""
    produced = _produced_outcomes(scenario)
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
        step = _step_of(scenario, target.by)
        if step is None:
            readings.append(TargetReading(target, tuple(target.outcome), None))
            continue
        if step < 0:
            problems.append(doc.problem(("targets", i, "by"), "is before the scenario starts"))
            continue
        at_end_only = _counted_at_end_only(target.outcome)
        if at_end_only:
            problems.append(
                doc.problem(
                    ("targets", i, "by"),
                    f"{at_end_only} are counted at the end of a run only; drop 'by' or "
                    "end the scenario at that time",
                )
            )
            continue
        columns = tuple(f"{k}@{step}" for k in target.outcome)
        readings.append(TargetReading(target, columns, step))
    return readings, problems


def _counted_at_end_only(keys: list[str]) -> str | None:
    """What among the outcome `keys` a run counts at its end only, in words (None: none)."""
    if any(k.startswith(ENTRY_PREFIX) for k in keys):
        return "entries by crossing"
    if any(k.startswith(DEPARTED_PREFIX) for k in keys):
        return "departures by origin"
    return None


def _produced_outcomes(scenario: Scenario) -> set[str]:
    return set(layout_of(scenario).outcome_keys())


def _step_of(scenario: Scenario, by: datetime | None) -> int | None:
    """The step in which `by` falls, or None if it falls in the last step or later (the run's
    end, which the outcomes describe). A `by` without a UTC offset is the scenario's local
    clock."""
    if by is None:
        return None
    start = scenario.time.start
    if by.tzinfo is None and start.tzinfo is not None:
        by = by.replace(tzinfo=start.tzinfo)
    hours = scenario.hours_since_start(by)
    step = math.ceil(hours / scenario.time.step_h - 1e-9) - 1
    if hours <= 0:
        return -1
    return None if step >= scenario.n_steps - 1 else step
