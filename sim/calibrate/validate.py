"""Validation: a scenario run many times against a target set it need not have been fitted to.

- `plan_validation` reads and checks the scenario and the target set: every figure must be
  readable off a run (its outcomes exist; a dated figure falls within the run), else one
  ScenarioError names the target set's file, line and key.
- `run_validation` runs replicate r with seed `seed + r` (as `caravan run --replicates` and
  sweeps do) through the sweep executors, so the result is the same on any number of workers,
  and hands the replicates' values to `validation_of`.
- `validation_of` makes one `TargetCheck` per figure: the model's median and 90% interval
  (5th-95th percentile over replicates) of the figure's value, at the run's end or at the end
  of the step containing its date (`sim.calibrate.readings`); whether the figure is inside that
  interval (a range with no number: whether the interval overlaps the range); and whether the
  median is within the figure's tolerance (`Target.accepts`: inside a range, otherwise
  `Target.discrepancy` at most 1; a binomial count is taken out of the median of the model's
  trials). Two summaries: the mean relative difference
  |median - reported| / reported over the figures with a reported number (above 0), and the
  share of figures inside their 90% interval.
- `validate` is all of it from Python (`sim.validate`): plan, run on local workers, compare.
- `write_validation` writes `validation.json` and `validation.png` into a new directory;
  `load_validation` (`sim.calibrate.validation_record`, with the result's classes) reads the
  JSON back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sim import figures, package_version, plots
from sim import scenario as scenario_module
from sim.calibrate.readings import TargetReading, at_steps, target_readings
from sim.calibrate.report import describe_tolerance
from sim.calibrate.validation_record import (
    VALIDATION_JSON,
    VALIDATION_PNG,
    TargetCheck,
    Validation,
)
from sim.errors import ScenarioError
from sim.progress import ProgressReporter
from sim.results import interval, write_json
from sim.rundir import discard_on_failure, new_staging, swap_into_place
from sim.scenario import Scenario
from sim.sweep.executors import Executor, make_executor
from sim.sweep.plan import RunSpec
from sim.sweep.runner import execute_runs, library_versions, utc_now
from sim.targets import Target, TargetSet, load_target_set, target_set_path
from sim.yamlio import load_yaml

DEFAULT_REPLICATES = 50


@dataclass(frozen=True)
class ValidationPlan:
    """A validation checked before anything runs: scenario, target set and replicates."""

    scenario: Scenario  # with --set overrides applied
    overrides: tuple[str, ...]
    targets: TargetSet
    targets_name: str  # as given: a shipped set's name or a path
    targets_file: Path
    readings: tuple[TargetReading, ...]
    replicates: int
    seed: int
    behaviour: Path | None = None  # a behaviour file merged over the scenario (--behaviour)

    @property
    def seeds(self) -> tuple[int, ...]:
        """Replicate r's seed: seed + r."""
        return tuple(self.seed + r for r in range(self.replicates))


def plan_validation(
    scenario_path: str | Path,
    targets: str | Path,
    overrides: tuple[str, ...] = (),
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    behaviour: str | Path | None = None,
) -> ValidationPlan:
    """Read and check the scenario (with `behaviour` merged over it, if given: a calibrated
    behaviour file) and the target set; raise one ScenarioError listing every figure that
    cannot be read off a run, each with its file, line and key."""
    if replicates < 1 or seed < 0:
        raise ValueError(f"need replicates >= 1 and seed >= 0, not {replicates} and {seed}")
    scenario = scenario_module.load(Path(scenario_path), list(overrides), behaviour)
    target_set = load_target_set(targets)
    targets_file = target_set_path(targets)
    readings, problems = target_readings(
        scenario, target_set, load_yaml(targets_file), after_end_is_error=True
    )
    if problems:
        raise ScenarioError(problems)
    return ValidationPlan(
        scenario=scenario,
        overrides=tuple(overrides),
        targets=target_set,
        targets_name=str(targets),
        targets_file=targets_file,
        readings=tuple(readings),
        replicates=replicates,
        seed=seed,
        behaviour=None if behaviour is None else Path(behaviour),
    )


def run_validation(
    plan: ValidationPlan,
    executor: Executor,
    batch_size: int | None = None,
    progress: Callable[..., ProgressReporter] | None = None,
) -> Validation:
    """Run the plan's replicates on `executor` (as sweeps and calibration run theirs) and
    compare them with the figures. Each run is a pure function of its seed, and the rows are
    put back in seed order, so the result does not depend on where the runs ran."""
    specs = [RunSpec(r, 0, r, seed, {}) for r, seed in enumerate(plan.seeds)]
    rows: dict[int, dict[str, Any]] = {}
    make_progress = progress or ProgressReporter
    label = f"validate {plan.scenario.name} against {plan.targets.name}"
    with (
        make_progress(label, len(specs)) as bar,
        closing(
            execute_runs(
                plan.scenario, specs, executor, batch_size, at_steps=at_steps(plan.readings)
            )
        ) as results,
    ):
        for batch in results:
            for row in batch.runs.to_pylist():
                rows[int(row["run_id"])] = row
            bar.advance(batch.runs.num_rows)
    return validation_of(plan, [rows[spec.run_id] for spec in specs])


def validate(
    scenario: str | Path,
    targets: str | Path,
    *,
    behaviour: str | Path | None = None,
    overrides: Sequence[str] = (),
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    workers: int = 1,
    progress: Callable[..., ProgressReporter] | None = None,
) -> Validation:
    """`caravan validate` from Python: the scenario file (with the `behaviour` file merged over
    it and the `key=value` overrides applied) run `replicates` times, replicate r with seed
    `seed + r`, against the target set `targets` (a shipped set's name or a path).

    `workers`: 1 runs in this process, more in as many local worker processes; the result is
    the same either way. `progress` as for `run_validation`. Raises ScenarioError, naming the
    file, line and key, for a scenario or a figure that cannot be read off a run."""
    plan = plan_validation(
        scenario, targets, tuple(overrides), replicates=replicates, seed=seed, behaviour=behaviour
    )
    executor = make_executor(workers)
    try:
        return run_validation(plan, executor, progress=progress)
    finally:
        executor.close()


def validation_of(plan: ValidationPlan, rows: Sequence[Mapping[str, Any]]) -> Validation:
    """The checks of every figure, from one result row per replicate (in seed order): the
    outcomes at the end, and `<outcome>@<step>` at the steps the dated figures are read."""
    if len(rows) != plan.replicates:
        raise ValueError(f"{plan.replicates} replicates planned, {len(rows)} rows given")
    values = {r.target.id: tuple(r.value(row) for row in rows) for r in plan.readings}
    stats = {target_id: interval(v) for target_id, v in values.items()}
    discrepancies = plan.targets.discrepancies({k: s["median"] for k, s in stats.items()})
    checks = tuple(
        _check(
            reading.target,
            values[reading.target.id],
            stats[reading.target.id],
            discrepancies[reading.target.id],
            _read_at(plan.scenario, reading.step),
        )
        for reading in plan.readings
    )
    return Validation(
        scenario=plan.scenario.name,
        scenario_file=plan.scenario.source_file,
        overrides=plan.overrides,
        target_set=plan.targets.name,
        targets=plan.targets_name,
        seed=plan.seed,
        seeds=plan.seeds,
        checks=checks,
        version=package_version(),
        versions=library_versions(),
        created=utc_now(),
        behaviour=None if plan.behaviour is None else str(plan.behaviour),
    )


def _check(
    target: Target,
    values: tuple[float, ...],
    stats: Mapping[str, float],
    discrepancy: float,
    read_at: str,
) -> TargetCheck:
    return TargetCheck(
        id=target.id,
        outcome=tuple(target.outcome),
        reported=target.observed,
        band=target.band(),
        tolerance=describe_tolerance(target),
        by=None if target.by is None else target.by.isoformat(),
        read_at=read_at,
        values=values,
        median=stats["median"],
        p05=stats["p05"],
        p95=stats["p95"],
        discrepancy=discrepancy,
        inside=_inside(target, stats["p05"], stats["p95"]),
        within_tolerance=target.accepts(discrepancy),
    )


def _inside(target: Target, p05: float, p95: float) -> bool:
    """The figure lies within [p05, p95]; a range with no number overlaps it."""
    if target.observed is not None:
        return p05 <= target.observed <= p95
    assert target.tolerance.range is not None  # only a range may leave the figure out
    lo, hi = target.tolerance.range
    return p05 <= hi and lo <= p95


def _read_at(scenario: Scenario, step: int | None) -> str:
    """The end of `step` (None: of the run), on the scenario's clock, as ISO text."""
    steps = scenario.n_steps if step is None else step + 1
    return (scenario.time.start + timedelta(hours=steps * scenario.time.step_h)).isoformat()


def write_validation(validation: Validation, out_dir: Path, overwrite: bool = False) -> list[Path]:
    """Write `validation.json` and `validation.png` into `out_dir`, which must be new or empty
    unless `overwrite` (as for a run directory: written aside, then renamed into place)."""
    staging = new_staging(out_dir, overwrite)
    with discard_on_failure(staging):
        write_json(validation.to_json(), staging / VALIDATION_JSON)
        figures.save({VALIDATION_PNG: plots.validation_intervals(validation)}, staging)
        swap_into_place(staging, out_dir)
    return [out_dir / VALIDATION_JSON, out_dir / VALIDATION_PNG]
