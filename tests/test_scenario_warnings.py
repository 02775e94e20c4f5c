"""Keys that are valid but wrong in a way the schema cannot see: a ride chance for a country the
network lacks and repeated list items are errors; a rule that changes nothing (outside the
run's time, or where no route goes) is a warning, printed by check and run and kept in the
run's summary.json.

The fixture is tests/test_scenario_errors.py's small valid scenario, with lines changed.
"""

from __future__ import annotations

import json
from pathlib import Path

from test_scenario_errors import VALID, at, caravan, error_of, line_of, write

from sim.scenario import load
from sim.targets import load_compared_sets

# A place off the line home - border - town - goal: a dead end from town that no route takes.
WITH_SPUR = VALID.replace(
    "  roads:\n",
    "    - id: spur\n      country: GT\n      lat: 14.6\n      lon: -89.6\n  roads:\n",
).replace(
    "    - between: [town, goal]\n      length_km: 250\n",
    "    - between: [town, goal]\n      length_km: 250\n"
    "    - between: [town, spur]\n      length_km: 20\n",
)


def problems_of(path: Path, overrides: tuple[str, ...] = ()) -> list[str]:
    return [str(p) for p in error_of(path, overrides).problems]


def test_a_ride_chance_for_a_country_the_network_lacks_is_refused(tmp_path: Path) -> None:
    path, text = write(tmp_path, ("    GT: 0.02", "    GTM: 0.9"))
    assert problems_of(path) == [
        f"{at(path, line_of(text, 'ride_chance_per_h:'), 'movement.ride_chance_per_h')} no ride "
        "chance for GT; expected one per country of the network (GT, HN, MX)",
        f"{at(path, line_of(text, 'GTM: 0.9'), 'movement.ride_chance_per_h.GTM')} no place of "
        "the network is in 'GTM' (did you mean 'GT'?); expected one of: GT, HN, MX",
    ]


def test_a_repeated_destination_is_refused(tmp_path: Path) -> None:
    path, text = write(tmp_path, ("  destinations: [goal]", "  destinations: [goal, goal]"))
    assert problems_of(path) == [
        f"{at(path, line_of(text, 'destinations:'), 'route_choice.destinations[1]')} goal is "
        "listed twice (first as route_choice.destinations[0])"
    ]


def test_a_place_repeated_in_one_rule_is_refused(tmp_path: Path) -> None:
    path, text = write(tmp_path, ("    places: [town]", "    places: [town, border, town]"))
    assert problems_of(path) == [
        f"{at(path, line_of(text, 'places: [town,'), 'authorities.roadblocks.places[2]')} town "
        "is listed twice (first as authorities.roadblocks.places[0])"
    ]


def test_a_repeated_group_size_is_refused(tmp_path: Path) -> None:
    path, text = write(tmp_path, ("    sizes: [1, 2]", "    sizes: [1, 1]"))
    assert problems_of(path) == [
        f"{at(path, line_of(text, 'sizes: [1, 1]'), 'population.group_size.sizes[1]')} 1 is "
        "listed twice (first as population.group_size.sizes[0])"
    ]


def test_a_road_repeated_in_a_closure_is_refused(tmp_path: Path) -> None:
    closure = (
        "  closed:\n    kind: road_closure\n    roads: [[border, town], [town, border]]\n"
        "    active:\n      start: 2021-01-14T00:00:00-06:00\n"
        "      end: 2021-01-14T06:00:00-06:00\nhealth:\n"
    )
    path, text = write(tmp_path, ("health:\n", closure))
    assert problems_of(path) == [
        f"{at(path, line_of(text, 'roads: [[border'), 'authorities.closed.roads[1]')} border "
        "and town is listed twice (first as authorities.closed.roads[0])"
    ]


def test_a_valid_scenario_has_no_warnings(tmp_path: Path) -> None:
    path, _ = write(tmp_path)
    assert load(path).warnings == ()


def test_a_rule_where_no_route_goes_is_a_warning(tmp_path: Path) -> None:
    path, text = write(tmp_path, ("    places: [town]", "    places: [spur]"), base=WITH_SPUR)
    assert [str(w) for w in load(path).warnings] == [
        f"{at(path, line_of(text, '  roadblocks:'), 'authorities.roadblocks')} no route reaches "
        "spur: the rule changes nothing"
    ]


def test_a_closure_of_a_road_no_route_travels_is_a_warning(tmp_path: Path) -> None:
    closure = (
        "  closed:\n    kind: road_closure\n    roads: [[town, spur]]\n"
        "    active:\n      start: 2021-01-14T00:00:00-06:00\n"
        "      end: 2021-01-14T06:00:00-06:00\nhealth:\n"
    )
    path, text = write(tmp_path, ("health:\n", closure), base=WITH_SPUR)
    assert [str(w) for w in load(path).warnings] == [
        f"{at(path, line_of(text, '  closed:'), 'authorities.closed')} no route travels spur - "
        "town: the rule changes nothing"
    ]


def test_a_rule_outside_the_run_is_a_warning(tmp_path: Path) -> None:
    path, text = write(
        tmp_path,
        ("      start: 2021-01-14T06:00:00-06:00", "      start: 2021-01-12T06:00:00-06:00"),
        ("      end: 2021-01-15T00:00:00-06:00", "      end: 2021-01-13T18:00:00-06:00"),
        ("      start: 2021-01-14T00:00:00-06:00", "      start: 2021-01-15T18:00:00-06:00"),
    )
    assert [str(w) for w in load(path).warnings] == [
        f"{at(path, line_of(text, '  border_force:'), 'authorities.border_force')} the rule ends "
        "(2021-01-13 18:00:00-06:00) by the time the scenario starts (2021-01-13 18:00:00-06:00): "
        "it changes nothing",
        f"{at(path, line_of(text, '  roadblocks:'), 'authorities.roadblocks')} the rule begins "
        "(2021-01-15 18:00:00-06:00) after the scenario ends (48 h after it starts): it changes "
        "nothing",
    ]


def test_check_and_run_print_the_warning_and_the_summary_keeps_it(tmp_path: Path) -> None:
    path, text = write(tmp_path, ("    places: [town]", "    places: [spur]"), base=WITH_SPUR)
    warning = (
        f"warning: {at(path, line_of(text, '  roadblocks:'), 'authorities.roadblocks')} no route "
        "reaches spur: the rule changes nothing"
    )
    checked = caravan("check", path, cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr.splitlines() == [warning]
    out = tmp_path / "out"
    ran = caravan("run", path, "--out", out, "--set", "output.plots=false", "--quiet", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert warning in ran.stderr.splitlines()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["warnings"] == [warning.removeprefix("warning: ")]


def test_a_ride_chance_for_a_country_no_road_leads_to_is_a_warning(tmp_path: Path) -> None:
    path, text = write(tmp_path, ("    MX: 0.02", "    MX: 0.02\n    CR: 0.1"))
    assert [str(w) for w in load(path).warnings] == [
        f"{at(path, line_of(text, 'CR: 0.1'), 'movement.ride_chance_per_h.CR')} no place of the "
        "network is in 'CR': this ride chance changes nothing"
    ]


def test_a_rule_whose_values_are_those_without_it_is_a_warning(tmp_path: Path) -> None:
    prevention = (
        "  calm:\n    kind: state_of_prevention\n    places: [border, town]\n"
        "    active:\n      start: 2021-01-14T00:00:00-06:00\n"
        "      end: 2021-01-15T00:00:00-06:00\n    give_up_per_h: 0\n    ride_factor: 1.0\n"
        "health:\n"
    )
    path, text = write(tmp_path, ("health:\n", prevention))
    assert [str(w) for w in load(path).warnings] == [
        f"{at(path, line_of(text, '  calm:'), 'authorities.calm')} every value of the rule is "
        "the one without it (a hazard of 0, a factor of 1): it changes nothing"
    ]
    helpful, _ = write(
        tmp_path, ("health:\n", prevention.replace("ride_factor: 1.0", "ride_factor: 0.5"))
    )
    assert load(helpful).warnings == ()


def test_a_wave_that_leaves_after_the_run_ends_is_a_warning(tmp_path: Path) -> None:
    # The run is 48 h from 2021-01-13 18:00; a second wave at 2021-01-15 18:00 is at hour 48.
    late = (
        "      share: 1.0\n",
        "      count: 60\n    late:\n      at: 2021-01-15T18:00:00-06:00\n      share: 1.0\n",
    )
    path, text = write(tmp_path, late)
    assert [str(w) for w in load(path).warnings] == [
        f"{at(path, line_of(text, 'at: 2021-01-15T18'), 'population.waves.late.at')} the wave "
        "leaves (2021-01-15 18:00:00-06:00) after the scenario ends (48 h after it starts): its "
        "people never leave"
    ]
    in_time, _ = write(tmp_path, (late[0], late[1].replace("15T18", "15T17")))
    assert load(in_time).warnings == ()


def test_a_target_set_named_twice_is_a_warning_and_shown_once(tmp_path: Path) -> None:
    named = "output:\n  compare_with: [official, seed-article, official]\n"
    path, text = write(tmp_path, ("health:\n", named + "health:\n"))
    scenario = load(path)
    assert [str(w) for w in scenario.warnings] == [
        f"{at(path, line_of(text, 'compare_with:'), 'output.compare_with[2]')} 'official' "
        "is named twice (first as output.compare_with[0]): the second changes nothing"
    ]
    shown = [target_set.name for target_set in load_compared_sets(scenario.output.compare_with)]
    assert shown == ["official", "seed-article"]
