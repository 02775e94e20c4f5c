"""The local search for the calibrated point (`point_search`), on the small scenario whose
answer is known (`_calibration_helpers`): each point it tries runs with the candidates' seeds,
its objective is that of the replicates' medians, the best tried point is the one written and
checked, and an interrupted search resumes to the same result.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest
from _calibration_helpers import (
    SCENARIO,
    SHORT_GENERATIONS,
    SHORT_PARTICLES,
    Interrupt,
    Setup,
    assert_same,
    calibrate,
    comparable,
)
from conftest import ScenarioFactory

import sim
from sim.calibrate.plan import CalibrationPlan, plan_calibration
from sim.calibrate.results import phase_rows
from sim.calibrate.runner import (
    SEARCH_AIM,
    CalibrationOutcome,
    ChosenPoint,
    _search_point,
    point_objective,
)
from sim.errors import CaravanError, ScenarioError
from sim.sweep.store import load_sweep
from sim.targets import load_target_set

SEARCH_POINTS = 10
REPLICATES = 4  # the helpers' point_replicates


def test_the_objective_counts_only_what_misses_its_aim() -> None:
    """A range misses anywhere outside it (aim 0), a figure with a number beyond SEARCH_AIM of
    its tolerance; plus a hundredth of the mean squared discrepancy."""
    assert SEARCH_AIM == 0.7
    # excesses 0.5 and 0.2; mean square (0.25 + 0.81 + 0.04) / 3
    expected = 0.5**2 + 0.2**2 + 0.01 * (0.25 + 0.81 + 0.04) / 3
    assert point_objective([0.5, 0.9, 0.2], [0.0, 0.7, 0.7]) == pytest.approx(expected)
    assert point_objective([0.0, 0.0], [0.0, 0.7]) == 0.0
    assert point_objective([0.0, float("nan")], [0.0, 0.7]) == float("inf")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    return Setup(tmp_path_factory.mktemp("search"))


def searching(points: int) -> dict[str, Any]:
    """The helpers' scenario with `point_search: points`."""
    calibration = cast(dict[str, Any], SCENARIO["calibration"])
    return {**SCENARIO, "calibration": {**calibration, "point_search": points}}


def searching_plan(setup: Setup) -> CalibrationPlan:
    """The helpers' short calibration with a local search of SEARCH_POINTS points."""
    scenario = ScenarioFactory(setup.directory).write(searching(SEARCH_POINTS))
    return plan_calibration(
        scenario, setup.targets, seed=5, particles=SHORT_PARTICLES, generations=SHORT_GENERATIONS
    )


@pytest.fixture(scope="module")
def searched(setup: Setup) -> tuple[CalibrationOutcome, dict[str, Any]]:
    return calibrate(searching_plan(setup), setup.directory / "searched")


def recorded(setup: Setup, summary: dict[str, Any], phase: str) -> pd.DataFrame:
    """The searching calibration's simulations of `phase`, for its last generation."""
    sims = load_sweep(setup.directory / "searched")
    return phase_rows(sims, phase, summary["generations"][-1]["generation"])


def test_every_searched_point_ran_with_the_candidates_seeds(
    setup: Setup, searched: tuple[CalibrationOutcome, dict[str, Any]]
) -> None:
    _, summary = searched
    tried = recorded(setup, summary, "search")
    by_point = tried.groupby(tried["index"] // 1000)
    assert 2 < by_point.ngroups <= SEARCH_POINTS
    assert by_point["seed"].apply(sorted).tolist() == [list(range(REPLICATES))] * by_point.ngroups
    # no point was run twice
    assert not tried.groupby(["intercept", "prevalence", "seed"]).size().gt(1).any()
    assert summary["simulations"]["search"] == len(tried)
    assert summary["point"]["search"]["points"] == by_point.ngroups


def test_the_objectives_are_those_of_the_replicates_medians(
    setup: Setup, searched: tuple[CalibrationOutcome, dict[str, Any]]
) -> None:
    """Recomputed from the recorded rows: each point's medians over seeds 0-3, their
    discrepancies from the target set, and the aims (no range in this set: all SEARCH_AIM)."""
    outcome, summary = searched
    tried = recorded(setup, summary, "search")
    targets = load_target_set(setup.targets)
    objectives = []
    for _, rows in sorted(tried.groupby(tried["index"] // 1000), key=lambda g: g[0]):
        medians = {t.id: float(np.median(rows[f"target.{t.id}"])) for t in targets.targets}
        discrepancies = targets.discrepancies(medians)
        objectives.append(
            point_objective(list(discrepancies.values()), [SEARCH_AIM] * len(discrepancies))
        )
    assert objectives == pytest.approx(summary["point"]["search"]["objectives"], rel=1e-12)
    assert outcome.point.search_objectives == summary["point"]["search"]["objectives"]


def test_the_search_starts_at_the_chosen_candidate_and_keeps_its_best_point(
    setup: Setup, searched: tuple[CalibrationOutcome, dict[str, Any]]
) -> None:
    outcome, summary = searched
    tried = recorded(setup, summary, "search")
    candidates = recorded(setup, summary, "candidate")
    by_candidate = candidates.groupby(candidates["index"] // 1000)
    medians = by_candidate["distance"].median().tolist()
    start = by_candidate.get_group(medians.index(min(medians))).iloc[0]
    first = tried[tried["index"] // 1000 == 0].iloc[0]
    assert (first["intercept"], first["prevalence"]) == (start["intercept"], start["prevalence"])
    objectives = summary["point"]["search"]["objectives"]
    best = objectives.index(min(objectives))
    assert summary["point"]["search"]["best"] == best
    assert min(objectives) <= objectives[0]
    kept = tried[tried["index"] // 1000 == best].iloc[0]
    assert outcome.point.values == {
        "intercept": kept["intercept"],
        "prevalence": kept["prevalence"],
    }


def test_the_checks_and_the_calibrated_scenario_are_the_searched_point(
    setup: Setup, searched: tuple[CalibrationOutcome, dict[str, Any]]
) -> None:
    outcome, summary = searched
    out = setup.directory / "searched"
    check = recorded(setup, summary, "check")
    assert len(check) == 5
    assert set(zip(check["intercept"], check["prevalence"], strict=True)) == {
        (outcome.point.values["intercept"], outcome.point.values["prevalence"])
    }
    calibrated = sim.load(out / "calibrated.yaml")
    assert calibrated.health.prevalence == outcome.point.values["prevalence"]
    header = (out / "calibrated.yaml").read_text().split("\npopulation")[0]
    if outcome.point.searched_best:
        assert "points a local search tried from" in " ".join(header.split())
    assert "then the best of" in " ".join(header.split())


def test_an_interrupted_search_resumes_to_the_same_result(
    setup: Setup, tmp_path: Path, searched: tuple[CalibrationOutcome, dict[str, Any]]
) -> None:
    out = tmp_path / "out"
    plan = searching_plan(setup)
    # the posterior checks: 20 predictive draws, 6 candidates x 4 seeds, then the search
    with pytest.raises(KeyboardInterrupt):
        calibrate(plan, out, progress=Interrupt(after=20 + 24 + 3 * REPLICATES, bar="posterior"))
    recorded = load_sweep(out)
    assert (recorded["phase"] == "search").sum() >= 3 * REPLICATES
    assert "check" not in set(recorded["phase"])
    outcome, _ = calibrate(plan, out, resume=True)
    assert outcome.simulations_now == len(load_sweep(out)) - len(recorded)  # nothing run twice
    assert_same(comparable(out), comparable(setup.directory / "searched"))


def test_a_search_of_more_than_1000_points_is_refused_at_its_line(setup: Setup) -> None:
    scenario = ScenarioFactory(setup.directory).write(searching(1001))
    with pytest.raises(ScenarioError) as error:
        sim.load(scenario)
    line = next(
        i for i, text in enumerate(scenario.read_text().splitlines(), 1) if "point_search" in text
    )
    assert [str(p) for p in error.value.problems] == [
        f"{scenario}:{line}: calibration.point_search: "
        "Input should be less than or equal to 1000 (got 1001)"
    ]


BOTTOM = {"intercept": 0.2, "prevalence": 0.3}


class BowlSimulations:
    """Stands in for the calibration's simulations: a point's objective is a bowl with its
    bottom at BOTTOM, known by hand, so the search's path can be checked without running."""

    def __init__(self) -> None:
        self.values: dict[int, dict[str, float]] = {}
        self.points = 0

    def ensure(self, specs: list[Any], phase: str, generation: int, bar: Any) -> None:
        assert phase == "search"
        self.points += 1
        for spec in specs:
            self.values[spec.run_id] = {
                "intercept": spec.values["authorities.stops.intercept_chance"],
                "prevalence": spec.values["health.prevalence"],
            }

    def objective_of_medians(self, runs: list[int]) -> float:
        (point,) = {tuple(self.values[r].items()) for r in runs}  # one point's replicates
        return sum((value - BOTTOM[label]) ** 2 for label, value in point)


def test_the_search_restarts_until_it_finds_nothing_better_and_stops_by_itself(
    setup: Setup,
) -> None:
    """From a corner of the priors, the restarted Nelder-Mead reaches the bottom of the bowl to
    the 4 significant digits values are written with, then stops before its budget of 1,000
    points: each restart from the best point finds nothing better, and its step halves away."""
    plan = searching_plan(setup)
    plan = dataclasses.replace(
        plan, settings=plan.settings.model_copy(update={"point_search": 1000})
    )
    final = SimpleNamespace(index=3)
    start = ChosenPoint({"intercept": 0.55, "prevalence": 0.05}, 2, 7, [1.0, 0.5])
    sims = BowlSimulations()
    point = _search_point(plan, final, start, sims, bar=None)  # type: ignore[arg-type]
    assert point.values == pytest.approx(BOTTOM, abs=2e-4)
    assert point.search_objectives[0] == pytest.approx(0.35**2 + 0.25**2)
    assert min(point.search_objectives) == point.search_objectives[point.searched_best]
    assert sims.points == len(point.search_objectives) < 1000
    assert (point.candidate, point.run_id, point.median_distances) == (2, 7, [1.0, 0.5])


def test_the_search_may_start_from_a_files_values(setup: Setup, tmp_path: Path) -> None:
    """`--search-from FILE`: the first point the search tries is the file's values (merged
    over the scenario as --behaviour merges them), and the written point says so."""
    start = tmp_path / "start.yaml"
    start.write_text(
        "authorities:\n  stops:\n    intercept_chance: 0.3\nhealth:\n  prevalence: 0.5\n",
        encoding="utf-8",
    )
    scenario = ScenarioFactory(tmp_path).write(searching(SEARCH_POINTS))
    plan = plan_calibration(
        scenario,
        setup.targets,
        seed=5,
        particles=SHORT_PARTICLES,
        generations=SHORT_GENERATIONS,
        search_from=start,
    )
    assert plan.search_from is not None
    assert plan.search_from.values == {"intercept": 0.3, "prevalence": 0.5}
    outcome, summary = calibrate(plan, tmp_path / "out")
    tried = phase_rows(load_sweep(tmp_path / "out"), "search", outcome.generations[-1].index)
    first = tried[tried["index"] // 1000 == 0]
    assert set(zip(first["intercept"], first["prevalence"], strict=True)) == {(0.3, 0.5)}
    assert summary["point"]["search"]["from"] == str(start)
    assert f"a local search tried from the values of {start}" in summary["point"]["chosen"]
    check = phase_rows(load_sweep(tmp_path / "out"), "check", outcome.generations[-1].index)
    assert set(check["intercept"]) == {outcome.point.values["intercept"]}


def test_a_search_start_outside_the_priors_or_without_a_search_is_refused(
    setup: Setup, tmp_path: Path
) -> None:
    start = tmp_path / "start.yaml"
    start.write_text("health:\n  prevalence: 0.9\n", encoding="utf-8")
    scenario = ScenarioFactory(tmp_path).write(searching(SEARCH_POINTS))
    with pytest.raises(CaravanError) as caught:
        plan_calibration(scenario, setup.targets, search_from=start)
    assert str(caught.value) == (
        f"--search-from {start}: health.prevalence is 0.9, outside its prior's range [0.02, 0.8]"
    )
    without = ScenarioFactory(tmp_path).write(searching(0))
    with pytest.raises(CaravanError) as caught:
        plan_calibration(without, setup.targets, search_from=start)
    assert str(caught.value) == (
        f"--search-from {start}: the calibration searches no points; set "
        "calibration.point_search in the scenario"
    )
