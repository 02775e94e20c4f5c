"""A sweep file read, checked and planned: its base scenario, design points and runs.

Every design point is built with `sim.scenario.derive` before anything runs, so a value that
makes an invalid scenario is reported against the sweep file's line, not discovered by a worker
an hour into the sweep. Replicate r runs with seed `seed + r` at every point (common random
numbers): differences between points are the parameters', not noise.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim import packaged
from sim import scenario as scenario_module
from sim.errors import Problem, ScenarioError
from sim.scenario import Scenario, derive
from sim.sweep.design import Axis, Design, make_design
from sim.sweep.spec import Grid, LatinHypercube, SweepFile
from sim.validation import validate_model
from sim.yamlio import Document, Where, load_yaml

MAX_RUNS = 10_000_000  # a typo in a grid (100 steps instead of 10) should not plan for a year
MAX_POINT_PROBLEMS = 5


@dataclass(frozen=True)
class RunSpec:
    """One simulation of a sweep: a design point and a replicate."""

    run_id: int
    point_id: int
    replicate: int
    seed: int
    values: dict[str, Any]  # scenario key -> value


@dataclass(frozen=True)
class Sweep:
    path: Path
    text: str  # the sweep file as written
    spec: SweepFile  # with --replicates applied
    base: Scenario  # the base scenario with the sweep's fixed `set:` values and --set
    design: Design  # only the first --limit points, if given
    points_in_file: int = 0  # the design's points before --limit
    command_line: tuple[str, ...] = ()  # what changed the file's plan: --set, --replicates...

    @property
    def limited(self) -> bool:
        """Whether --limit left out some of the design's points."""
        return self.design.n_points < self.points_in_file

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def replicates(self) -> int:
        return self.spec.replicates

    @property
    def n_runs(self) -> int:
        return self.design.n_points * self.replicates

    def run(self, point_id: int, replicate: int) -> RunSpec:
        return RunSpec(
            run_id=point_id * self.replicates + replicate,
            point_id=point_id,
            replicate=replicate,
            seed=self.spec.seed + replicate,
            values=self.design.scenario_values(point_id),
        )

    def runs(self) -> Iterator[RunSpec]:
        """Every run in run id order (a point's replicates together)."""
        for point_id in range(self.design.n_points):
            for replicate in range(self.replicates):
                yield self.run(point_id, replicate)

    def fingerprints(self) -> dict[str, str]:
        """Hashes of what determines the results; a sweep resumes only if all three match."""
        design = self.design.table().to_pydict()
        return {
            "sweep": _hash(self.spec.model_dump(mode="json")),
            "base_scenario": _hash(self.base.model_dump(mode="json", exclude={"source_file"})),
            "design": _hash(design),
        }


def _hash(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_sweep_file(
    path: str | Path,
    sets: tuple[str, ...] = (),
    replicates: int | None = None,
    limit: int | None = None,
) -> Sweep:
    """Read, validate and plan a sweep; raise one ScenarioError with every problem found.

    From the command line: `sets` ("key=value", as `caravan run --set`) are applied to the base
    scenario after the file's `set:` (a key in both takes the command line's value);
    `replicates` replaces the file's; `limit` keeps only the first `limit` design points.
    """
    path = Path(path)
    doc = load_yaml(path)
    spec: SweepFile = validate_model(SweepFile, doc.data, doc, ())
    if replicates is not None:
        spec = spec.model_copy(update={"replicates": replicates})
    base = _base_scenario(spec, doc, path, sets)
    axes = tuple(Axis(key, p.label or key, p) for key, p in spec.parameters.items())
    problems = _axis_problems(spec, doc, axes) + _set_problems(sets, axes)
    if problems:
        raise ScenarioError(problems)
    wheres = {a.key: doc.locate(("parameters", a.key)) for a in axes}
    problems = [p for a in axes for p in _value_problems(base, a, wheres[a.key])]
    if problems:
        raise ScenarioError(problems)
    design = make_design(axes, spec.design, spec.seed)
    points_in_file = design.n_points
    if limit is not None:
        design = design.first(limit)
    problems = _point_problems(base, design, wheres)
    if problems:
        raise ScenarioError(problems)
    command_line = tuple(f"--set {text}" for text in sets)
    command_line += () if replicates is None else (f"--replicates {replicates}",)
    command_line += () if limit is None else (f"--limit {limit}",)
    text = path.read_text(encoding="utf-8")
    return Sweep(path, text, spec, base, design, points_in_file, command_line)


def shipped_scenario(name: str) -> Path | None:
    """The file of the scenario the package ships under `name` (a shipped name, or a path
    whose file name is one: `../january-2021.yaml`), or None if it ships none by that name.
    A sweep's `base:` that is no file beside the sweep file is looked up here, so a sweep file
    copied elsewhere can still name a shipped scenario."""
    try:
        return packaged.resolve(Path(name).stem if name.endswith((".yaml", ".yml")) else name)
    except ScenarioError:
        return None


def _base_scenario(spec: SweepFile, doc: Document, path: Path, sets: tuple[str, ...]) -> Scenario:
    base_path = path.parent / spec.base
    if not base_path.is_file():
        shipped = shipped_scenario(spec.base)
        if shipped is None:
            raise ScenarioError([doc.problem(("base",), _base_not_found(spec.base, path))])
        base_path = shipped
    base = scenario_module.load(base_path, sets)
    cli_keys = {text.partition("=")[0].strip() for text in sets}
    fixed = {k: v for k, v in spec.set.items() if k not in cli_keys}  # --set wins
    return derive(base, fixed, {k: doc.locate(("set", k)) for k in fixed})


def _base_not_found(base: str, sweep_path: Path) -> str:
    looked = Path(os.path.abspath(sweep_path.parent / base))
    relative = "" if Path(base).is_absolute() else " (relative to the sweep file's directory)"
    return (
        f"base scenario not found: looked for {looked}{relative} and for a shipped scenario "
        f"named '{base}'; give the base scenario's path relative to the sweep file, or an "
        "absolute path"
    )


def _set_problems(sets: tuple[str, ...], axes: tuple[Axis, ...]) -> list[Problem]:
    varied = {a.key for a in axes}
    return [
        Problem(
            f"--set {text}",
            None,
            key,
            "is varied by the sweep's parameters; vary it or fix it, not both",
        )
        for text in sets
        if (key := text.partition("=")[0].strip()) in varied
    ]


def _axis_problems(spec: SweepFile, doc: Document, axes: tuple[Axis, ...]) -> list[Problem]:
    """What the schema cannot see: labels, the design's needs, and the size of the plan."""
    problems: list[Problem] = []
    grid = isinstance(spec.design, Grid)
    labels: dict[str, str] = {}
    for axis in axes:
        at = ("parameters", axis.key)
        if axis.key in spec.set:
            problems.append(doc.problem(at, "is also fixed in 'set'; vary it or fix it, not both"))
        if axis.label in labels:
            problems.append(
                doc.problem(at, f"label '{axis.label}' is already used by '{labels[axis.label]}'")
            )
        labels[axis.label] = axis.key
        p = axis.spec
        if grid and p.range is not None and p.steps is None:
            problems.append(
                doc.problem(at, "a range in a grid design needs 'steps' (how many values)")
            )
        if not grid and p.steps is not None:
            problems.append(
                doc.problem(
                    (*at, "steps"),
                    f"'steps' is for grid designs; a {spec.design.kind} design "
                    "draws values from the whole range",
                )
            )
        if grid and p.range is not None and p.steps is not None and p.integer:
            values = axis.grid_values()
            if len(set(values)) != len(values):
                problems.append(
                    doc.problem(
                        (*at, "steps"),
                        f"{p.steps} steps over [{p.range[0]:g}, {p.range[1]:g}] repeat whole "
                        f"numbers ({values}); use fewer steps",
                    )
                )
    if not problems:
        n_points = _n_points(spec, axes)
        if n_points * spec.replicates > MAX_RUNS:
            problems.append(
                doc.problem(
                    ("design",),
                    f"{n_points:,} points x {spec.replicates} replicates is more than "
                    f"{MAX_RUNS:,} runs; check the number of steps or points",
                )
            )
    return problems


def _n_points(spec: SweepFile, axes: tuple[Axis, ...]) -> int:
    design = spec.design
    if isinstance(design, Grid):
        return math.prod(len(a.grid_values()) for a in axes)
    if isinstance(design, LatinHypercube):
        return design.points
    per_base_point = 2 * len(axes) + 2 if design.second_order else len(axes) + 2
    return design.base_points * per_base_point


def _value_problems(base: Scenario, axis: Axis, where: Where) -> list[Problem]:
    """Each value the axis can take (a grid's values, a range's ends), set on its own."""
    spec = axis.spec
    if spec.values is not None:
        candidates = list(spec.values)
    elif spec.steps is not None:
        candidates = axis.grid_values()
    else:
        assert spec.range is not None
        candidates = [int(x) if spec.integer else float(x) for x in spec.range]
    for value in candidates:
        try:
            derive(base, {axis.key: axis.scenario_value(value)}, {axis.key: where})
        except ScenarioError as exc:
            return exc.problems  # one value is enough to show what is wrong
    return []


def _point_problems(base: Scenario, design: Design, wheres: Mapping[str, Where]) -> list[Problem]:
    """Every point, for checks that involve several keys at once (a window's start and end)."""
    problems: list[Problem] = []
    bad_points = 0
    for point_id in range(design.n_points):
        try:
            derive(base, design.scenario_values(point_id), wheres)
        except ScenarioError as exc:
            bad_points += 1
            if len(problems) < MAX_POINT_PROBLEMS:
                shown = ", ".join(f"{k}={v}" for k, v in design.point_columns(point_id).items())
                for p in exc.problems:
                    message = f"at design point {point_id} ({shown}): {p.message}"
                    problems.append(Problem(p.file, p.line, p.key, message))
    if bad_points > MAX_POINT_PROBLEMS:
        first = problems[0]
        problems.append(
            Problem(
                first.file,
                None,
                "",
                f"{bad_points} of {design.n_points} design points are invalid; "
                f"the first {MAX_POINT_PROBLEMS} are shown",
            )
        )
    return problems
