"""The checks of a scenario's `calibration:` section that need no simulation: each free key
exists and holds a number, its label is not a column the results already have, and both ends of
its range make a valid scenario. `caravan check` runs them; the calibration's planner
(`sim.calibrate.plan`) runs them with the rest. Kept apart from the planner so that checking a
scenario imports neither the model nor SciPy.
"""

from __future__ import annotations

import math
from typing import Any

from sim.calibrate.readings import produced_outcomes
from sim.errors import Problem, ScenarioError
from sim.scenario import Scenario, derive, key_path
from sim.scenario.calibration import FreeParameter
from sim.schema import EVERY_KEY
from sim.sweep.columns import ID_COLUMNS
from sim.yamlio import Document

PARAMETERS = ("calibration", "parameters")

# Columns of the simulations table that a parameter label may not take.
_RESERVED_COLUMNS = frozenset(
    {*ID_COLUMNS, "generation", "index", "phase", "distance", "elapsed_s"}
)
_DERIVED_PREFIXES = ("target.", "discrepancy.")


def section_problems(scenario: Scenario, doc: Document) -> list[Problem]:
    """What is wrong with the scenario's calibration section, beyond its schema: each free key
    must exist and hold a number, and each end of its range must make a valid scenario."""
    if scenario.calibration is None:
        return []
    produced = produced_outcomes(scenario)
    data = every_key(scenario)
    return [
        p
        for key, parameter in scenario.calibration.parameters.items()
        for p in parameter_problems(scenario, doc, key, parameter, produced, data)
    ]


def every_key(scenario: Scenario) -> dict[str, Any]:
    """The scenario dumped with every key, those at their defaults too (a key at its default
    can be fitted): what `parameter_problems` looks each free key up in."""
    data: dict[str, Any] = scenario.model_dump(context={EVERY_KEY: True})
    return data


def parameter_problems(
    scenario: Scenario,
    doc: Document,
    key: str,
    parameter: FreeParameter,
    produced: set[str],
    data: dict[str, Any],
) -> list[Problem]:
    """Each key the parameter sets exists in `scenario` outside lists and holds a number, and
    both ends of its range make a valid scenario; problems are located at the parameter in
    `doc` (the document of the scenario that declares it). `data` is `every_key(scenario)`,
    dumped once for all the parameters a caller checks."""
    at = (*PARAMETERS, key)
    label = parameter.label or key
    if label in _RESERVED_COLUMNS or label in produced or label.startswith(_DERIVED_PREFIXES):
        return [doc.problem(at, f"label '{label}' is a column the results already have")]
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
    current = lookup(data, path)
    if path[0] == "calibration":
        return f"'{set_key}' is part of the calibration section itself"
    if current is MISSING:
        return f"'{set_key}' is not a key of the scenario"
    if any(isinstance(part, int) for part in path):
        # a calibrated scenario sets keys through `extends:`, which replaces lists whole
        return f"'{set_key}' lies inside a list; it cannot be fitted"
    if isinstance(current, bool) or not isinstance(current, int | float):
        return f"'{set_key}' holds {type(current).__name__}, not a number: it cannot be fitted"
    if isinstance(current, int) and not integer:
        return f"'{set_key}' is a whole number: add 'integer: true' to its prior"
    return None


MISSING = object()
"""What `lookup` returns for a key the data lacks."""


def lookup(data: Any, path: tuple[str | int, ...]) -> Any:
    """The value at `path` in dumped scenario data, or `MISSING`."""
    for part in path:
        in_dict = isinstance(data, dict) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and part < len(data)
        if not (in_dict or in_list):
            return MISSING
        data = data[part]
    return data
