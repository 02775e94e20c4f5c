"""Every number a scenario gives is finite and within a limit that makes physical sense, and
every time is a real one: a bad value is refused at its own line and key, before anything runs.

The fixture is tests/test_scenario_errors.py's small valid scenario, with one line changed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_scenario_errors import at, error_of, line_of, write

from sim.errors import ScenarioError
from sim.population import empty
from sim.schema import BYTES_PER_PERSON, MAX_PEOPLE


def only_problem(path: Path, overrides: tuple[str, ...] = ()) -> str:
    error = error_of(path, overrides)
    assert len(error.problems) == 1, str(error)
    return str(error.problems[0])


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        (
            "walking_speed_kmh: 4.0",
            "walking_speed_kmh: .inf",
            "movement.walking_speed_kmh",
            "Input should be a finite number (got inf)",
        ),
        (
            "walking_speed_kmh: 4.0",
            "walking_speed_kmh: .nan",
            "movement.walking_speed_kmh",
            "Input should be a finite number (got nan)",
        ),
        (
            "walking_speed_kmh: 4.0",
            "walking_speed_kmh: 40.0",
            "movement.walking_speed_kmh",
            "Input should be less than or equal to 15 (got 40.0)",
        ),
        (
            "ride_speed_kmh: 45",
            "ride_speed_kmh: 1.0e+308",
            "movement.ride_speed_kmh",
            "Input should be less than or equal to 150 (got 1e+308)",
        ),
        (
            "    length_km: 30",
            "    length_km: 1.0e+30",
            "network.roads[1].length_km",
            "Input should be less than or equal to 5000 (got 1e+30)",
        ),
        (
            "  duration_h: 48",
            "  duration_h: 100000",
            "time.duration_h",
            "Input should be less than or equal to 8784 (got 100000)",
        ),
        (
            "  duration_h: 48\n  step_h: 1",
            "  duration_h: 8000\n  step_h: 0.05",
            "time",
            "160,000 steps of 0.05 h; at most 100,000 (the results keep a row per step): give a "
            "longer step_h or a shorter duration_h",
        ),
        (
            "    push_rate_per_h: 0.3",
            "    push_rate_per_h: 1.0e+12",
            "authorities.border_force.push_rate_per_h",
            "Input should be less than or equal to 1000000000 (got 1000000000000.0)",
        ),
        (
            "    force: 50",
            "    force: 1000000000000000000000000000000",
            "authorities.border_force.force",
            "Input should be less than or equal to 1000000 (got 1000000000000000000000000000000)",
        ),
        (
            "      shape: 1.5",
            "      shape: .inf",
            "authorities.border_force.give_up.shape",
            "Input should be a finite number (got inf)",
        ),
        (
            "  quarantine_days: 14",
            "  quarantine_days: 10000",
            "health.quarantine_days",
            "Input should be less than or equal to 366 (got 10000)",
        ),
        (
            "  max_detour_km: 250",
            "  max_detour_km: .inf",
            "route_choice.max_detour_km",
            "Input should be a finite number (got inf)",
        ),
        (
            "    sizes: [1, 2]",
            "    sizes: [1, 20000]",
            "population.group_size.sizes[1]",
            "Input should be less than or equal to 10000 (got 20000)",
        ),
    ],
)
def test_a_number_out_of_bounds_is_refused_at_its_line(
    tmp_path: Path, old: str, new: str, key: str, message: str
) -> None:
    path, text = write(tmp_path, (old, new))
    line = line_of(text, new.strip()) if key != "time" else line_of(text, "time:")
    assert only_problem(path) == f"{at(path, line, key)} {message}"


def test_a_population_that_would_not_fit_in_memory_says_how_much_a_person_takes(
    tmp_path: Path,
) -> None:
    path, text = write(tmp_path, ("  size: 100", "  size: 60000000"))
    assert only_problem(path) == (
        f"{at(path, line_of(text, 'size: 60000000'), 'population.size')} at most 50,000,000 "
        "people: their arrays take 24 bytes each (1.2 GB in all) (got 60000000)"
    )


def test_the_bytes_per_person_are_those_of_the_migrant_arrays() -> None:
    assert empty(1).nbytes == BYTES_PER_PERSON
    assert MAX_PEOPLE * BYTES_PER_PERSON <= 2 * 1024**3  # the arrays fit in 2 GiB


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ('"2021-02-30T04:00:00-06:00"', "not a real date and time: day is out of range for month"),
        ('"2021-01-14T04:00:00+25:00"', "UTC offset +25:00 is not a real one (-23:59 to +23:59)"),
        ('"0000-01-14T04:00:00-06:00"', "not a real date and time: year 0 is out of range"),
        ('"2021-01-14"', "give a time of day too, like 2021-01-14T06:00:00-06:00"),
        ("1610618400", "expected a date and time like 2021-01-14T06:00:00-06:00"),
    ],
)
def test_an_impossible_time_is_a_located_error(tmp_path: Path, written: str, message: str) -> None:
    path, text = write(tmp_path, ("      at: 2021-01-14T04:00:00-06:00", f"      at: {written}"))
    problem = only_problem(path)
    assert problem.startswith(
        f"{at(path, line_of(text, written), 'population.waves.main.at')} {message}"
    )


def test_a_time_given_as_text_means_what_the_timestamp_means(tmp_path: Path) -> None:
    plain, _ = write(tmp_path, name="plain.yaml")
    quoted, _ = write(
        tmp_path,
        ("      at: 2021-01-14T04:00:00-06:00", '      at: "2021-01-14T04:00:00-06:00"'),
        name="quoted.yaml",
    )
    assert error_free_waves(plain) == error_free_waves(quoted)


def error_free_waves(path: Path) -> object:
    from sim.scenario import load

    return load(path).population.waves


def test_check_refuses_an_infinite_speed_with_exit_2(tmp_path: Path) -> None:
    path, text = write(tmp_path, ("walking_speed_kmh: 4.0", "walking_speed_kmh: .inf"))
    done = subprocess.run(
        [sys.executable, "-m", "sim", "check", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    line = line_of(text, "walking_speed_kmh")
    assert f"{at(path, line, 'movement.walking_speed_kmh')} Input should be a finite" in (
        done.stderr + done.stdout
    )


def test_a_wave_leaving_more_than_a_year_after_the_start_is_refused(tmp_path: Path) -> None:
    path, text = write(
        tmp_path, ("      at: 2021-01-14T04:00:00-06:00", "      at: 2023-01-14T04:00:00-06:00")
    )
    assert only_problem(path) == (
        f"{at(path, line_of(text, 'at: 2023'), 'population.waves.main.at')} the wave's last "
        "groups leave 17530 h after the start; at most 8784 h (a year) after it"
    )


def test_a_step_shorter_than_the_shortest_is_refused(tmp_path: Path) -> None:
    path, text = write(tmp_path, ("  step_h: 1", "  step_h: 0.001"))
    assert only_problem(path) == (
        f"{at(path, line_of(text, 'step_h: 0.001'), 'time.step_h')} Input should be greater than "
        "or equal to 0.01 (got 0.001)"
    )


def test_an_infinite_sweep_range_is_refused_at_its_line(tmp_path: Path) -> None:
    from sim.sweep.plan import load_sweep_file

    write(tmp_path)
    sweep = tmp_path / "sweep.yaml"
    text = (
        "name: s\nbase: scenario.yaml\nparameters:\n"
        "  movement.walking_speed_kmh: {range: [2.0, .inf], steps: 3}\n"
    )
    sweep.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_sweep_file(sweep)
    assert str(info.value) == (
        f"{at(sweep, 4, 'parameters.movement.walking_speed_kmh.range[1]')} Input should be a "
        "finite number (got inf)"
    )


def test_a_non_finite_sweep_value_is_refused_at_its_line(tmp_path: Path) -> None:
    from sim.sweep.plan import load_sweep_file

    write(tmp_path)
    sweep = tmp_path / "sweep.yaml"
    text = (
        "name: s\nbase: scenario.yaml\nparameters:\n"
        "  movement.walking_speed_kmh: {values: [2.0, .nan]}\n"
    )
    sweep.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_sweep_file(sweep)
    assert str(info.value) == (
        f"{at(sweep, 4, 'parameters.movement.walking_speed_kmh')} each number must be finite "
        "and within ±2**63 (got nan)"
    )
