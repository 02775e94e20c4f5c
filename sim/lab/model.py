"""The model behind `caravan lab`: a `CaravanModel` built from a shipped caravan and the policy
levers, and what the app shows beside it (the outcomes against the reported figures, and the
paired comparison with the calibrated scenario). No interface library is imported here.

"The calibrated scenario" of a caravan is the caravan as shipped, levers untouched: a 0.1
scenario (`january-2021`, `january-2021-official`) is itself calibrated, and a caravan context
(`caravans/...`) is run under the joint fit of the caravan library (`CALIBRATED_BEHAVIOUR`),
as the README's validation table does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

from sim import packaged
from sim.errors import ScenarioError
from sim.lab.levers import AS_SCENARIO, Levers, apply_levers
from sim.model import CaravanModel, run
from sim.results import MAIN_OUTCOMES, Results, outcomes_until
from sim.results_schema import outcome_label
from sim.scenario import Scenario, load
from sim.targets import Target, TargetSet, describe_target, load_compared_sets

DEFAULT_CARAVAN = "january-2021"
CALIBRATED_BEHAVIOUR = "caravans/fits/joint"
COMPARED_SEEDS = 5
"""Seeds per side of the comparison: enough for a 90% interval to mean something, few enough
to take a few seconds."""


def shipped_caravans() -> list[str]:
    """The names of the shipped scenarios and caravan contexts (`caravan scenarios`)."""
    return [f.name for f in packaged.shipped_files() if f.kind in packaged.SCENARIO_KINDS]


@cache  # reading and checking a scenario takes a while; the lab rebuilds models often
def calibrated_scenario(caravan: str) -> Scenario:
    """The caravan as shipped (a name or a path), under the joint fit if it is a caravan
    context."""
    path = packaged.resolve(caravan)
    context = {f.path for f in packaged.shipped_files() if f.kind == "caravan context"}
    behaviour: Path | None = None
    if path in context:
        behaviour = packaged.resolve(CALIBRATED_BEHAVIOUR, packaged.BEHAVIOUR_KINDS)
    return load(path, behaviour=behaviour)


def lab_scenario(caravan: str, levers: Levers) -> Scenario:
    """The calibrated scenario of `caravan` with the levers applied."""
    return apply_levers(calibrated_scenario(caravan), levers)


class LabModel(CaravanModel):
    """A `CaravanModel` that Mesa's SolaraViz can build again from keyword values alone (its
    Reset): the caravan, the seed and each lever of `Levers`. Levers the scenario's checks
    refuse leave the calibrated scenario in place, with the reason in `refused`.

    Mesa 3.5 reserves `scenario` for its own scenario objects, so no parameter has that name."""

    def __init__(
        self,
        caravan: str = DEFAULT_CARAVAN,
        seed: int = 0,
        blockade: bool = True,
        blockade_place: str = AS_SCENARIO,
        blockade_shift_h: int = 0,
        blockade_extra_h: int = 0,
        border_force_factor: float = 1.0,
        checkpoint_intercept_factor: float = 1.0,
        testing_factor: float = 1.0,
        return_transport: bool = True,
        road_give_up_factor: float = 1.0,
    ) -> None:
        self.caravan = caravan
        self.levers = Levers(
            blockade=blockade,
            blockade_place=blockade_place,
            blockade_shift_h=int(blockade_shift_h),
            blockade_extra_h=int(blockade_extra_h),
            border_force_factor=float(border_force_factor),
            checkpoint_intercept_factor=float(checkpoint_intercept_factor),
            testing_factor=float(testing_factor),
            return_transport=return_transport,
            road_give_up_factor=float(road_give_up_factor),
        )
        # Settings the scenario's checks refuse (a blockade where a border force already
        # holds people) leave the calibrated scenario running, and say why (the page shows it).
        self.refused: str | None = None
        try:
            scenario = lab_scenario(caravan, self.levers)
        except ScenarioError as error:
            self.refused = str(error)
            self.levers = Levers()
            scenario = calibrated_scenario(caravan)
        # One thread: the app steps one model at a time, and the machine may be shared.
        super().__init__(scenario, seed=int(seed), threads=False)

    def results_so_far(self) -> Results | None:
        """The results of the steps run so far; None before the first step."""
        if self.recorder.n_recorded == 0:
            return None
        return self.results()


@dataclass(frozen=True)
class OutcomeRow:
    """One reported figure beside the model: `outcome` is what it counts, in words; `model` is
    the value at the figure's date (or now, while the run has not got there, or for an undated
    figure; None if this run cannot count it, such as the peak at a blockade switched off), and
    `status` says "within" or "outside" its tolerance, "so far" while the run is short of its
    date or end, or "not in this run"."""

    target_set: str
    target_id: str
    outcome: str
    reported: str
    model: float | None
    status: str


def outcome_rows(
    results: Results, target_sets: list[TargetSet], finished: bool
) -> list[OutcomeRow]:
    """Every figure of `target_sets` beside the model's value in `results` (a run so far)."""
    now = results.outcomes
    rows = []
    for target_set in target_sets:
        values: dict[str, float] = {}
        final: dict[str, bool] = {}
        for target in target_set.targets:
            if all(key in now for key in target.outcome):
                values[target.id], final[target.id] = _value_at(results, now, target, finished)
        rows += [_row(target_set, target, values, final) for target in target_set.targets]
    return rows


def _row(
    target_set: TargetSet, target: Target, values: dict[str, float], final: dict[str, bool]
) -> OutcomeRow:
    value = values.get(target.id)
    status = "not in this run"
    if value is not None:
        status = "so far"
        if final[target.id]:
            status = "within" if _accepts(target_set, target, values) else "outside"
    return OutcomeRow(
        target_set.name,
        target.id,
        " + ".join(outcome_label(key) for key in target.outcome),
        describe_target(target),
        value,
        status,
    )


def _accepts(target_set: TargetSet, target: Target, values: dict[str, float]) -> bool:
    """Whether the model's value is within the figure's tolerance (a proportion: out of the
    model's count of its trials, as `TargetSet.discrepancies` compares it)."""
    trials = None
    counted = target_set.trials_of(target)
    if counted is not None:
        if counted.observed is None or counted.id not in values:
            return False
        trials = (counted.observed, values[counted.id])
    return target.accepts(target.discrepancy(values[target.id], trials))


def _value_at(
    results: Results, now: dict[str, int], target: Target, finished: bool
) -> tuple[float, bool]:
    """The model's value for `target` and whether it is final (the run is past its date, or
    over)."""
    if target.by is not None:
        by = _local(target.by, results.start)
        if by < results.times[-1]:
            return target.value_from(outcomes_until(results, results.step_at(by))), True
    return target.value_from(now), finished


def _local(when: datetime, start: datetime) -> datetime:
    """Targets give local wall-clock times; the run's times carry the scenario's offset."""
    if when.tzinfo is None and start.tzinfo is not None:
        return when.replace(tzinfo=start.tzinfo)
    return when


def target_sets_of(scenario: Scenario) -> list[TargetSet]:
    """The target sets the scenario compares with (`output.compare_with`)."""
    return load_compared_sets(scenario.output.compare_with)


@dataclass(frozen=True)
class Comparison:
    """The calibrated scenario and the current settings, run with the same seeds."""

    calibrated: list[Results]
    current: list[Results]
    outcomes: tuple[str, ...] = MAIN_OUTCOMES

    def variants(self) -> dict[str, list[Results]]:
        """As `sim.plots.paired_differences` takes them, the calibrated scenario first."""
        return {"calibrated": self.calibrated, "current settings": self.current}


def compare(
    caravan: str, levers: Levers, first_seed: int, n_seeds: int = COMPARED_SEEDS
) -> Comparison:
    """Run the calibrated scenario of `caravan` and the one under `levers` with seeds
    `first_seed .. first_seed + n_seeds - 1` (common random numbers: the differences are the
    levers', not the dice's)."""
    seeds = range(first_seed, first_seed + n_seeds)
    base = calibrated_scenario(caravan)
    current = lab_scenario(caravan, levers)
    return Comparison(
        calibrated=[run(base, seed=s, threads=False) for s in seeds],
        current=[run(current, seed=s, threads=False) for s in seeds],
    )


__all__ = [
    "CALIBRATED_BEHAVIOUR",
    "COMPARED_SEEDS",
    "DEFAULT_CARAVAN",
    "Comparison",
    "LabModel",
    "OutcomeRow",
    "calibrated_scenario",
    "compare",
    "describe_target",
    "lab_scenario",
    "outcome_rows",
    "shipped_caravans",
    "target_sets_of",
]
