"""One pass lists every problem of a file, each at its own line in the user's file: schema
errors, unknown places and the one rule for UTC offsets together; a --set is blamed for what
it broke; and the rule for UTC offsets is stated once.

The fixture is tests/test_scenario_errors.py's small valid scenario, with lines changed.
"""

from __future__ import annotations

from pathlib import Path

from test_scenario_errors import VALID, at, error_of, line_of, write

from sim.errors import Problem, ScenarioError
from sim.scenario import load

RULE = "every time in a scenario and the files it extends has a UTC offset, or none has"


def child_of_valid(tmp_path: Path, body: str) -> tuple[Path, Path, str]:
    """The valid scenario as base.yaml, and a child scenario extending it with `body`."""
    base, _ = write(tmp_path, name="base.yaml")
    text = f"# a child\nextends: base.yaml\n{body}"
    child = tmp_path / "child.yaml"
    child.write_text(text, encoding="utf-8")
    return base, child, text


def test_one_naive_time_in_a_child_file_is_one_problem_at_its_line(tmp_path: Path) -> None:
    base, child, text = child_of_valid(
        tmp_path,
        "authorities:\n  roadblocks:\n    active:\n      start: 2021-01-14T00:00:00\n",
    )
    base_line = line_of(VALID, "start: 2021-01-13T18:00:00-06:00")
    error = error_of(child)
    key = "authorities.roadblocks.active.start"
    assert [str(p) for p in error.problems] == [
        f"{at(child, line_of(text, 'start: 2021-01-14T00:00:00'), key)}"
        f" this time has no UTC offset, unlike 5 other times (the first: time.start, "
        f"{base}:{base_line}); {RULE}"
    ]


def test_following_the_advice_makes_the_file_valid(tmp_path: Path) -> None:
    _, child, _ = child_of_valid(
        tmp_path,
        "authorities:\n  roadblocks:\n    active:\n      start: 2021-01-14T00:00:00-06:00\n",
    )
    assert load(child).authorities["roadblocks"].active.start.utcoffset() is not None


def test_a_naive_start_in_a_child_file_is_one_problem_there_not_many_in_the_base(
    tmp_path: Path,
) -> None:
    base, child, text = child_of_valid(tmp_path, "time:\n  start: 2021-01-13T18:00:00\n")
    error = error_of(child)
    wave_line = line_of(VALID, "at: 2021-01-14T04:00:00-06:00")
    assert [str(p) for p in error.problems] == [
        f"{at(child, line_of(text, 'start:'), 'time.start')} this time has no UTC offset, "
        f"unlike 5 other times (the first: population.waves.main.at, {base}:{wave_line}); {RULE}"
    ]


def test_the_times_with_an_offset_are_the_odd_ones_when_fewer(tmp_path: Path) -> None:
    naive = VALID.replace("-06:00", "")
    path, text = write(
        tmp_path,
        ("      at: 2021-01-14T04:00:00", "      at: 2021-01-14T04:00:00Z"),
        base=naive,
    )
    error = error_of(path)
    assert [str(p) for p in error.problems] == [
        f"{at(path, line_of(text, 'at: 2021-01-14T04:00:00Z'), 'population.waves.main.at')} "
        f"this time has a UTC offset, unlike 5 other times (the first: time.start, "
        f"{path}:{line_of(text, 'start: 2021-01-13T18:00:00')}); {RULE}"
    ]


def test_every_problem_of_a_file_is_listed_in_one_pass(tmp_path: Path) -> None:
    path, text = write(
        tmp_path,
        ("  size: 100", "  sise: 100"),  # a typo
        ("      end: 2021-01-15T00:00:00-06:00", "      end: 2021-01-15T00:00:00"),  # naive
        ("    places: [town]", "    places: [twon]"),  # an unknown place
    )
    error = error_of(path)
    end_key = "authorities.border_force.active.end"
    assert [str(p) for p in error.problems] == [
        f"{at(path, line_of(text, 'sise:'), 'population.sise')} unknown key 'sise' "
        "(did you mean 'size'?); expected one of: group_size, origin, size, waves",
        f"{at(path, line_of(text, 'end: 2021-01-15T00:00:00'), end_key)}"
        f" this time has no UTC offset, unlike 5 other times (the first: time.start, "
        f"{path}:{line_of(text, 'start: 2021-01-13T18:00:00-06:00')}); {RULE}",
        f"{at(path, line_of(text, 'places: [twon]'), 'authorities.roadblocks.places[0]')} "
        "unknown place 'twon' (did you mean 'town'?)",
    ]


def test_an_unknown_place_in_a_broken_entry_is_listed_with_the_schema_error(
    tmp_path: Path,
) -> None:
    path, text = write(
        tmp_path,
        ("    place: border", "    place: bordre"),
        ("    force: 50", "    force: many"),
    )
    error = error_of(path)
    assert [str(p) for p in error.problems] == [
        f"{at(path, line_of(text, 'place: bordre'), 'authorities.border_force.place')} "
        "unknown place 'bordre' (did you mean 'border'?)",
        f"{at(path, line_of(text, 'force: many'), 'authorities.border_force.force')} "
        "Input should be a valid integer (got 'many')",
    ]


def test_a_check_across_a_section_blames_the_set_that_broke_it(tmp_path: Path) -> None:
    path, _ = write(tmp_path)
    error = error_of(path, ("movement.day_ends_h=3",))
    assert str(error) == (
        "--set movement.day_ends_h=3: movement: 'day_ends_h' must be later than 'day_starts_h' "
        "(local clock hours)"
    )


def test_a_naive_time_from_set_is_blamed_on_the_set(tmp_path: Path) -> None:
    path, text = write(tmp_path)
    error = error_of(path, ("time.start=2021-01-13T18:00:00",))
    wave_line = line_of(text, "at: 2021-01-14T04:00:00-06:00")
    assert str(error) == (
        "--set time.start=2021-01-13T18:00:00: time.start: this time has no UTC offset, unlike "
        f"5 other times (the first: population.waves.main.at, {path}:{wave_line}); {RULE}"
    )


def test_an_impossible_date_from_set_is_a_located_error(tmp_path: Path) -> None:
    path, _ = write(tmp_path)
    error = error_of(path, ("time.start=2021-02-30T18:00:00-06:00",))
    assert len(error.problems) == 1
    assert str(error).startswith(
        "--set time.start=2021-02-30T18:00:00-06:00: time.start: not a real date and time: "
    )


def test_a_number_in_e_notation_from_set_is_a_number(tmp_path: Path) -> None:
    path, _ = write(tmp_path)
    scenario = load(path, ["authorities.roadblocks.intercept_chance=5e-4"])
    assert scenario.authorities["roadblocks"].intercept_chance == 0.0005  # type: ignore[attr-defined]


def test_a_network_problem_is_listed_with_a_schema_error_elsewhere(tmp_path: Path) -> None:
    path, text = write(
        tmp_path,
        ("    - between: [town, goal]", "    - between: [town, border]"),
        ("  size: 100", "  size: many"),
    )
    error = error_of(path)
    assert [str(p) for p in error.problems] == [
        f"{at(path, line_of(text, '[town, border]'), 'network.roads[2].between')} second road "
        "between town and border",
        f"{at(path, line_of(text, 'size: many'), 'population.size')} Input should be a valid "
        "integer (got 'many')",
    ]


def test_problems_are_listed_in_reading_order() -> None:
    """By file in the order the files first come up, then by line, a problem without a line
    last in its file; problems at one line keep the order they were found in."""
    found = [
        Problem("child.yaml", 9, "b", "second at 9"),
        Problem("base.yaml", 3, "c", "base"),
        Problem("child.yaml", None, "d", "no line"),
        Problem("child.yaml", 2, "a", "first"),
        Problem("child.yaml", 9, "e", "third at 9"),
    ]
    assert [p.message for p in ScenarioError(found).problems] == [
        "first",
        "second at 9",
        "third at 9",
        "no line",
        "base",
    ]
