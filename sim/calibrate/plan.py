"""A calibration planned before anything runs: scenario, free parameters, targets and settings.

Everything a user can get wrong is checked here, with the file, line and key of the problem:
the scenario's `calibration:` section (each free key exists, holds a number, and every value of
its range makes a valid scenario), the target set, and whether each target can be read off a
run (its outcome keys exist; a target dated before the end of the run can be read at that time:
`sim.calibrate.readings`).

A joint calibration fits one parameter set to several (scenario, target set) pairs at once:
the first pair's scenario names the free parameters, and every other scenario must have each of
their keys (`--also SCENARIO=TARGETS`); each particle runs every scenario.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from sim import scenario as scenario_module
from sim.calibrate.priors import PriorSet
from sim.calibrate.readings import TargetReading, at_steps, produced_outcomes, target_readings
from sim.calibrate.sections import every_key, lookup, parameter_problems, section_problems
from sim.errors import CaravanError, Problem, ScenarioError
from sim.scenario import Scenario, key_path
from sim.scenario.calibration import CalibrationSection
from sim.schema import EVERY_KEY
from sim.targets import TargetSet, load_target_set, target_set_path
from sim.yamlio import Document, load_yaml

POST_FIT_SETTINGS = frozenset(
    {
        "predictive_draws",
        "point_candidates",
        "point_replicates",
        "point_search",
        "check_replicates",
    }
)
"""Settings of what is done with the posterior, which leave the fit itself alone."""


@dataclass(frozen=True)
class SearchStart:
    """A behaviour file whose values of the free parameters start the local search, in place of
    the chosen candidate (`--search-from`): a fit to one caravan, say, for a joint fit."""

    path: Path
    values: dict[str, float | int]  # by label, rounded as a calibrated file writes them


@dataclass(frozen=True)
class CalibrationPair:
    """One scenario and the target set its runs are compared with."""

    scenario_path: Path
    scenario: Scenario  # with --set overrides applied
    targets: TargetSet
    targets_name: str  # as given: a shipped set's name or a path
    targets_text: str  # the target set's file as written
    readings: tuple[TargetReading, ...]

    @property
    def at_steps(self) -> tuple[int, ...]:
        """The steps at which workers must also report outcomes (targets dated mid-run)."""
        return at_steps(self.readings)

    def target_values(self, row: Mapping[str, Any]) -> dict[str, float]:
        """The model's value of each target, by id, from one simulation's result row."""
        return {r.target.id: r.value(row) for r in self.readings}


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
    also: tuple[CalibrationPair, ...] = ()  # a joint calibration's other pairs
    search_from: SearchStart | None = None  # where the local search starts (--search-from)

    @property
    def at_steps(self) -> tuple[int, ...]:
        """The steps at which workers must also report outcomes (targets dated mid-run)."""
        return at_steps(self.readings)

    def target_values(self, row: Mapping[str, Any]) -> dict[str, float]:
        """The model's value of each target, by id, from one simulation's result row."""
        return {r.target.id: r.value(row) for r in self.readings}

    @property
    def pairs(self) -> tuple[CalibrationPair, ...]:
        """Every (scenario, target set) pair, the first scenario's first."""
        first = CalibrationPair(
            self.scenario_path,
            self.scenario,
            self.targets,
            self.targets_name,
            self.targets_text,
            self.readings,
        )
        return (first, *self.also)

    @property
    def joint(self) -> bool:
        return bool(self.also)

    @property
    def pair_labels(self) -> tuple[str, ...]:
        """A name per pair for reports: its scenario's name (with its position if two pairs
        share a scenario name)."""
        names = [p.scenario.name for p in self.pairs]
        return tuple(
            name if names.count(name) == 1 else f"{name}#{k}" for k, name in enumerate(names)
        )

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
        scenarios = [
            p.scenario.model_dump(mode="json", exclude={"source_file", "calibration"})
            for p in self.pairs
        ]
        target_sets = [p.targets.model_dump(mode="json") for p in self.pairs]
        if not self.joint:  # as a calibration of one pair always had them
            return {
                "scenario": _hash(scenarios[0]),
                "targets": _hash(target_sets[0]),
                "settings": _hash({**fit, "seed": self.seed}),
            }
        return {
            "scenario": _hash(scenarios),
            "targets": _hash(target_sets),
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
    also: Sequence[tuple[str | Path, str | Path]] = (),
    search_from: str | Path | None = None,
) -> CalibrationPlan:
    """Read and check everything a calibration needs; raise one ScenarioError listing every
    problem, each with its file, line and key.

    `also`: the other (scenario, target set) pairs of a joint calibration. The free parameters
    are the first scenario's; each other scenario must have every key they set (the `--set`
    overrides apply to every scenario), and each particle runs every scenario."""
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
    # a figure dated after the run's end is compared with the end, as it always was here
    readings, reading_problems = target_readings(
        scenario, target_set, targets_doc, after_end_is_error=False
    )
    problems += reading_problems
    others: list[CalibrationPair] = []
    for other_path, other_targets in also:
        pair, pair_problems = _other_pair(Path(other_path), other_targets, overrides, section, doc)
        problems += pair_problems
        if pair is not None:
            others.append(pair)
    if problems:
        raise ScenarioError(problems)
    changes = {"budget": budget, "particles": particles, "generations": generations}
    settings = CalibrationSection.model_validate(
        {**section.model_dump(), **{k: v for k, v in changes.items() if v is not None}}
    )
    priors = PriorSet.from_section(section.parameters)
    start = None
    if search_from is not None:
        start = _search_start(path, overrides, Path(search_from), priors, settings)
    return CalibrationPlan(
        scenario_path=path,
        scenario=scenario,
        overrides=tuple(overrides),
        targets=target_set,
        targets_name=str(targets),
        targets_text=targets_file.read_text(encoding="utf-8"),
        priors=priors,
        settings=settings,
        seed=seed,
        readings=tuple(readings),
        also=tuple(others),
        search_from=start,
    )


def _search_start(
    path: Path,
    overrides: Sequence[str],
    behaviour: Path,
    priors: PriorSet,
    settings: CalibrationSection,
) -> SearchStart:
    """The free parameters' values with `behaviour` merged over the scenario (as --behaviour
    merges it), each within its prior's range."""
    if settings.point_search == 0:
        raise CaravanError(
            f"--search-from {behaviour}: the calibration searches no points; set "
            "calibration.point_search in the scenario"
        )
    merged = scenario_module.load(path, list(overrides), behaviour)
    data = merged.model_dump(context={EVERY_KEY: True})
    values: dict[str, float | int] = {}
    for prior in priors.priors:
        value = lookup(data, key_path(prior.key))
        lo, hi = prior.spec.range
        if not lo <= value <= hi:
            raise CaravanError(
                f"--search-from {behaviour}: {prior.key} is {value:g}, outside its prior's "
                f"range [{lo:g}, {hi:g}]"
            )
        values[prior.label] = prior.value_rounded(value)
    return SearchStart(behaviour, values)


def _other_pair(
    path: Path,
    targets: str | Path,
    overrides: Sequence[str],
    section: CalibrationSection,
    first_doc: Document,
) -> tuple[CalibrationPair | None, list[Problem]]:
    """Another pair of a joint calibration, or the problems that keep it out: a free key the
    scenario lacks (or cannot take at an end of its range), located at the parameter in the
    first scenario and naming this one; a target its runs cannot produce."""
    scenario = scenario_module.load(path, list(overrides))
    produced = produced_outcomes(scenario)
    data = every_key(scenario)
    problems: list[Problem] = []
    for key, parameter in section.parameters.items():
        for problem in parameter_problems(scenario, first_doc, key, parameter, produced, data):
            problems.append(
                Problem(
                    problem.file,
                    problem.line,
                    problem.key,
                    f"in {path}, which is calibrated jointly (--also): {problem.message}",
                )
            )
    target_set = load_target_set(targets)
    targets_file = target_set_path(targets)
    readings, reading_problems = target_readings(
        scenario, target_set, load_yaml(targets_file), after_end_is_error=False
    )
    problems += reading_problems
    if problems:
        return None, problems
    pair = CalibrationPair(
        scenario_path=path,
        scenario=scenario,
        targets=target_set,
        targets_name=str(targets),
        targets_text=targets_file.read_text(encoding="utf-8"),
        readings=tuple(readings),
    )
    return pair, []
