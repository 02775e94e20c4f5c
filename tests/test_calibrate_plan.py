"""A calibration is checked before anything runs: every problem in the calibration section or
the target set is reported with its file, line and key, and the command exits with status 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import ScenarioFactory

import sim
from sim.calibrate.plan import plan_calibration
from sim.cli import main
from sim.errors import ScenarioError

PRIOR = {"prior": "uniform", "range": [0.0, 0.5]}

TARGETS = """\
name: micro-targets
description: figures for the micro scenario
targets:
  - id: remitted
    outcome: [remitted]
    observed: 40
    source: ap
    note: a test figure
    tolerance: {relative: 0.1}
"""


def with_calibration(
    make_scenario: ScenarioFactory, parameters: dict[str, Any], **changes: Any
) -> Path:
    crossing = changes.get("network", {}).get("places", [{}, {"id": "B"}])[1]["id"]
    data: dict[str, Any] = {
        "population": {"size": 200},
        "authorities": {
            "stops": {
                "kind": "checkpoints",
                "places": [crossing],
                "active": [0, 12],
                "intercept_chance": 0.2,
                "dispersed_intercept_factor": 0.5,
            }
        },
        "calibration": {"parameters": parameters},
        **changes,
    }
    return make_scenario.write(data)


def write_targets(tmp_path: Path, text: str = TARGETS) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(scenario: Path, targets: Path) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        plan_calibration(scenario, targets)
    return [str(p) for p in info.value.problems]


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_a_valid_plan(make_scenario: ScenarioFactory, tmp_path: Path) -> None:
    scenario = with_calibration(
        make_scenario,
        {
            "authorities.stops.intercept_chance": {**PRIOR, "label": "intercept"},
            "population.size": {"prior": "uniform", "range": [100, 300], "integer": True},
        },
    )
    plan = plan_calibration(scenario, write_targets(tmp_path), budget=500, particles=20)
    assert plan.priors.labels == ["intercept", "population.size"]
    assert (plan.settings.budget, plan.settings.particles) == (500, 20)
    assert plan.settings.generations == 8  # the default, not overridden
    assert plan.target_values({"remitted": 37}) == {"remitted": 37.0}


def test_a_misspelt_prior_key_is_located(make_scenario: ScenarioFactory, tmp_path: Path) -> None:
    scenario = with_calibration(
        make_scenario, {"authorities.stops.intercept_chance": {"prior": "uniform", "rnage": [0, 1]}}
    )
    got = problems(scenario, write_targets(tmp_path))
    line = line_of(scenario, "rnage")
    assert (
        f"{scenario}:{line}: calibration.parameters.authorities.stops.intercept_chance.rnage: "
        "unknown key 'rnage' (did you mean 'range'?)" in got[0]
    )


@pytest.mark.parametrize(
    ("key", "spec", "message"),
    [
        ("movement.walking_speed", PRIOR, "'movement.walking_speed' is not a key of the scenario"),
        ("route_choice.destinations", PRIOR, "holds list, not a number: it cannot be fitted"),
        ("population.size", {"prior": "uniform", "range": [100, 300]}, "is a whole number: add"),
        ("network.roads.0.length_km", {"prior": "uniform", "range": [5, 15]}, "lies inside a list"),
        (
            "authorities.stops.intercept_chance",
            {"prior": "uniform", "range": [0.1, 1.5]},
            "at 1.5, the end of its range: ",
        ),
    ],
)
def test_a_key_that_cannot_be_fitted_is_located(
    make_scenario: ScenarioFactory, tmp_path: Path, key: str, spec: dict[str, Any], message: str
) -> None:
    scenario = with_calibration(make_scenario, {key: spec})
    (got,) = problems(scenario, write_targets(tmp_path))
    assert got.startswith(f"{scenario}:{line_of(scenario, key)}: calibration.parameters.{key}: ")
    assert message in got


def test_every_problem_is_reported_at_once(make_scenario: ScenarioFactory, tmp_path: Path) -> None:
    scenario = with_calibration(
        make_scenario, {"nope.a": PRIOR, "nope.b": PRIOR, "health.prevalence": PRIOR}
    )
    got = problems(scenario, write_targets(tmp_path))
    assert len(got) == 2
    assert all("is not a key of the scenario" in p for p in got)


def test_a_scenario_without_a_calibration_section(
    make_scenario: ScenarioFactory, tmp_path: Path
) -> None:
    scenario = make_scenario.write()
    (got,) = problems(scenario, write_targets(tmp_path))
    assert got.startswith(f"{scenario}: calibration: the scenario has no 'calibration:' section")


def test_a_target_the_scenario_cannot_produce(
    make_scenario: ScenarioFactory, tmp_path: Path
) -> None:
    targets = write_targets(
        tmp_path, TARGETS.replace("outcome: [remitted]", "outcome: [held_at_vado_hondo_peak]")
    )
    scenario = with_calibration(make_scenario, {"health.prevalence": PRIOR})
    (got,) = problems(scenario, targets)
    assert got == (
        f"{targets}:5: targets[0].outcome: the scenario produces no outcome "
        "held_at_vado_hondo_peak (it has no such crossing, border force or blockade)"
    )


def test_a_target_dated_before_the_start(make_scenario: ScenarioFactory, tmp_path: Path) -> None:
    targets = write_targets(tmp_path, TARGETS + "    by: 2020-12-31T12:00\n")
    scenario = with_calibration(make_scenario, {"health.prevalence": PRIOR})
    (got,) = problems(scenario, targets)
    assert got == (
        f"{targets}:10: targets[0].by: 2020-12-31T12:00:00 is at or before the run's start; "
        "the run covers 2021-01-01T00:00:00 to 2021-01-01T12:00:00 (12 steps of 1 h)"
    )


def test_a_target_dated_after_the_end_is_read_at_the_end(
    make_scenario: ScenarioFactory, tmp_path: Path
) -> None:
    """Calibration compares a figure dated after the run with the run's end (validation
    refuses it: tests/test_validate.py)."""
    targets = write_targets(tmp_path, TARGETS + "    by: 2021-01-03T00:00\n")
    scenario = with_calibration(make_scenario, {"health.prevalence": PRIOR})
    (reading,) = plan_calibration(scenario, targets).readings
    assert (reading.step, reading.columns) == (None, ("remitted",))


def test_a_target_dated_mid_run_is_read_at_that_step(
    make_scenario: ScenarioFactory, tmp_path: Path
) -> None:
    """The micro scenario starts at 00:00 with hourly steps: 04:30 falls in step 4 (04:00-05:00),
    so the figure is compared with the run as it stood at 05:00."""
    targets = write_targets(tmp_path, TARGETS + "    by: 2021-01-01T04:30\n")
    scenario = with_calibration(make_scenario, {"health.prevalence": PRIOR})
    plan = plan_calibration(scenario, targets)
    (reading,) = plan.readings
    assert (reading.step, reading.columns) == (4, ("remitted@4",))
    assert plan.at_steps == (4,)


def test_entries_by_crossing_can_be_dated_mid_run(
    make_scenario: ScenarioFactory, tmp_path: Path
) -> None:
    # target sets name the real crossings: call the micro network's crossing "corinto_hn"
    network = make_scenario.data()["network"]
    network["places"][1]["id"] = "corinto_hn"
    network["roads"] = [
        {"between": ["A", "corinto_hn"], "length_km": 10},
        {"between": ["corinto_hn", "C"], "length_km": 20},
    ]
    scenario = with_calibration(make_scenario, {"health.prevalence": PRIOR}, network=network)
    changed = TARGETS.replace("[remitted]", "[entered_guatemala_via_corinto_hn]")
    targets = write_targets(tmp_path, changed + "    by: 2021-01-01T04:30\n")
    plan = plan_calibration(scenario, targets)
    (reading,) = plan.readings
    assert (reading.step, reading.columns) == (4, ("entered_guatemala_via_corinto_hn@4",))


def test_departures_by_origin_of_a_scenario_with_one_origin(
    make_scenario: ScenarioFactory, tmp_path: Path
) -> None:
    targets = write_targets(tmp_path, TARGETS.replace("[remitted]", "[departed_from_A]"))
    scenario = with_calibration(make_scenario, {"health.prevalence": PRIOR})
    (got,) = problems(scenario, targets)
    assert got == (
        f"{targets}:5: targets[0].outcome: the scenario produces no outcome departed_from_A "
        "(departures by origin are reported where waves leave from several places)"
    )


def test_departures_by_origin_cannot_be_dated_mid_run(
    make_scenario: ScenarioFactory, tmp_path: Path
) -> None:
    waves = {"only": {"at": 0, "share": 1.0}, "joining": {"at": 1, "count": 50, "origin": "B"}}
    scenario = with_calibration(
        make_scenario, {"health.prevalence": PRIOR}, population={"size": 200, "waves": waves}
    )
    changed = TARGETS.replace("[remitted]", "[departed_from_B]")
    plan_calibration(scenario, write_targets(tmp_path, changed))  # at the end: fine
    targets = write_targets(tmp_path, changed + "    by: 2021-01-01T04:30\n")
    (got,) = problems(scenario, targets)
    assert got == (
        f"{targets}:10: targets[0].by: departures by origin are counted at the end of a run "
        "only; drop 'by' or end the scenario at that time"
    )


def test_the_command_exits_2_naming_the_problem(
    make_scenario: ScenarioFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = with_calibration(make_scenario, {"movement.walking_speed": PRIOR})
    args = ["calibrate", str(scenario), "--targets", str(write_targets(tmp_path))]
    status = main([*args, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert "'movement.walking_speed' is not a key of the scenario" in err
    assert not (tmp_path / "out").exists()  # nothing was started


def test_check_reports_calibration_problems_too(
    make_scenario: ScenarioFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = with_calibration(make_scenario, {"movement.walking_speed": PRIOR})
    assert main(["check", str(scenario)]) == 2
    assert "is not a key of the scenario" in capsys.readouterr().err


def test_an_unknown_target_set(make_scenario: ScenarioFactory) -> None:
    scenario = with_calibration(make_scenario, {"health.prevalence": PRIOR})
    with pytest.raises(
        ScenarioError, match="oficial: unknown target set \\(did you mean 'official'\\?\\)"
    ):
        plan_calibration(scenario, "oficial")


def test_the_shipped_base_scenario_plans_against_both_sets() -> None:
    base = Path(__file__).resolve().parent.parent / "scenarios" / "january-2021-base.yaml"
    for name in ("seed-article", "official"):
        plan = plan_calibration(base, name)
        assert plan.priors.dim == 12
        by_id = {r.target.id: r for r in plan.readings}
        if name == "official":
            # dated 18 January 23:59: step 125 of the run that starts 13 January 18:00
            assert by_id["tested"].step == 125
            assert by_id["reached_mexican_border"].step is None  # the run's last step


def test_a_key_added_since_0_1_can_be_fitted_at_its_default(
    make_scenario: ScenarioFactory, tmp_path: Path
) -> None:
    """Keys added after 0.1 are not written out at their defaults, yet a calibration may fit
    one that a scenario leaves at its default."""
    force = {
        "kind": "border_control",
        "place": "B",
        "active": [0, 12],
        "force": 100,
        "push_rate_per_h": 0.2,
        "give_up": {"scale_h": 10.0, "shape": 1.0, "return_share": 1.0},
    }
    key = "authorities.force.force_share_after_breakthrough"
    prior = {"prior": "uniform", "range": [0.0, 1.0], "label": "force_left"}
    scenario = with_calibration(make_scenario, {key: prior}, authorities={"force": force})
    dumped = sim.load(scenario).model_dump()
    assert "force_share_after_breakthrough" not in dumped["authorities"]["force"]
    plan = plan_calibration(scenario, write_targets(tmp_path), budget=500, particles=20)
    assert plan.priors.labels == ["force_left"]
