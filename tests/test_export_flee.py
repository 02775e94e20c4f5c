"""`caravan export flee`: the Flee 3 files of a small scenario against hand-computed content,
what Flee cannot express reported, and the command's input errors and safe writing.

The scenario (hours from 2021-01-01 00:00, 60 h = 3 days):

    A (HN, origin) -10 km- B (HN-GT crossing) -20 km- C (GT) -30 km- D (GT-MX)
                                                        \\-40 km- E (GT-MX)

Walking 5 km/h from 06:00 to 18:00 (12 h); rides 40 km/h with chance 0.5 an hour on roads
into Honduras (HN, and the crossing B counts as HN), never in Guatemala. Ten people: 4 leave at
hour 0, 6 at hours 20-27 (spread 8 h). A border force at B for hours 30-50, a blockade at C for
hours 40-90, checkpoints at C and health posts at B.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import DROP

from sim.cli import main
from sim.export import flee
from sim.scenario import Scenario

NETWORK: dict[str, Any] = {
    "places": [
        {"id": "A", "country": "HN", "lat": 15.5, "lon": -88.0, "kind": ["origin"]},
        {"id": "B", "country": "HN-GT", "lat": 14.9, "lon": -89.1, "kind": ["border_crossing"]},
        {"id": "C", "name": "Town C", "country": "GT", "lat": 14.8, "lon": -90.0},
        {"id": "D", "country": "GT-MX", "lat": 14.7, "lon": -92.1, "kind": ["border_crossing"]},
        {"id": "E", "country": "GT-MX", "lat": 16.0, "lon": -91.5, "kind": ["border_crossing"]},
    ],
    "roads": [
        {"between": ["A", "B"], "length_km": 10},
        {"between": ["B", "C"], "length_km": 20},
        {"between": ["C", "D"], "length_km": 30},
        {"between": ["E", "C"], "length_km": 40.5},
    ],
}
GIVE_UP = {"scale_h": 10, "shape": 1.5, "return_share": 1.0}
CHANGES: dict[str, Any] = {
    "time": {"duration_h": 60},
    "network": NETWORK,
    "population": {
        "size": 10,
        "waves": {
            "only": DROP,
            "early": {"at": 0, "count": 4},
            "late": {"at": 20, "share": 1.0, "spread_h": 8},
        },
    },
    "movement": {
        "day_starts_h": 6,
        "day_ends_h": 18,
        "ride_chance_per_h": {"HN": 0.5, "GT": 0.0},
    },
    "route_choice": {"destinations": ["D", "E"], "max_detour_km": 100},
    "authorities": {
        "force": {
            "kind": "border_control",
            "place": "B",
            "active": [30, 50],
            "force": 100,
            "push_rate_per_h": 0.1,
            "give_up": GIVE_UP,
        },
        "roadblock": {
            "kind": "blockade",
            "place": "C",
            "active": [40, 90],
            "give_up": GIVE_UP,
            "slip_chance_per_h": 0.01,
            "clearance_return_share": 0.5,
        },
        "checks": {
            "kind": "checkpoints",
            "places": ["C"],
            "active": [0, 60],
            "intercept_chance": 0.1,
            "dispersed_intercept_factor": 0.5,
        },
        "tests": {
            "kind": "health_posts",
            "places": ["B"],
            "active": [0, 60],
            "test_chance_on_arrival": 0.1,
        },
    },
}


@pytest.fixture
def scenario(make_scenario: Any) -> Scenario:
    sc: Scenario = make_scenario(CHANGES)
    return sc


@pytest.fixture
def export(scenario: Scenario) -> flee.FleeExport:
    return flee.build(scenario)


def lines(export: flee.FleeExport, name: str) -> list[str]:
    return export.files[name].splitlines()


def test_locations_origin_first_destinations_are_camps(export: flee.FleeExport) -> None:
    assert lines(export, "input_csv/locations.csv") == [
        "#name,region,country,lat,lon,location_type,conflict_date,pop/cap",
        "A,A,HN,15.5,-88,conflict_zone,0,10",
        "B,B,HN,14.9,-89.1,town,,",
        "C,Town C,GT,14.8,-90,town,,",
        "D,D,GT,14.7,-92.1,camp,,",
        "E,E,GT,16,-91.5,camp,,",
    ]


def test_routes_keep_distances_and_the_expected_km_of_a_day(export: flee.FleeExport) -> None:
    # A-B leads to B (HN): p = 0.5 an hour over 12 h. A day without a ride: 0.5^12 = 1/4096.
    # Expected km of a day: 12 x (0.5 x 40 + 0.5 x 5) = 270; on foot 12 x 5 = 60; so a day with
    # a ride goes (270 - 60/4096) / (1 - 1/4096) = 270 + 210/4095 = 270.0513 km.
    # Roads toward C, D and E (GT): no rides, a day on foot for sure.
    assert lines(export, "input_csv/routes.csv") == [
        "#name1,name2,distance,forced_redirection,max_move_speed,walk_probability",
        "A,B,10,0,270.051,0.000244",
        "B,C,20,0,60.000,1.000000",
        "C,D,30,0,60.000,1.000000",
        "E,C,40.5,0,60.000,1.000000",
    ]


def test_closures_cover_the_days_of_the_hold_windows(export: flee.FleeExport) -> None:
    # Force at B: hours 30-50 -> first days starting at or after them: day 2 (48 h) to day 3.
    # Blockade at C: hours 40-90 -> day 2 to day 4 (after the 3 simulated days).
    assert lines(export, "input_csv/closures.csv") == [
        "#closure_type,name1,name2,closure_start,closure_end",
        "location,B,B,2,3",
        "location,C,C,2,4",
    ]
    assert export.closures == (("force", "B", 2, 3), ("roadblock", "C", 2, 4))


def test_departures_per_day_are_the_waves_expected_counts(export: flee.FleeExport) -> None:
    # early: 4 at hour 0 -> day 0. late: 6 over hours 20..27 (1/8 each); a group leaving at
    # 20-24 h goes on day 1 (it starts at 24 h), at 25-27 h on day 2: 6 x 5/8 = 3.75 and
    # 6 x 3/8 = 2.25, rounded to 4 and 2 (the larger remainder gets the spare person).
    assert export.departures_by_day == (4, 4, 2)
    assert lines(export, "source_data/departures.csv") == [
        "#Date,departed (cumulative)",
        "2021-01-01,4",
        "2021-01-02,8",
        "2021-01-03,10",
    ]
    assert lines(export, "source_data/data_layout.csv") == [
        "total,departures.csv",
        "D,D.csv",
        "E,E.csv",
    ]
    assert lines(export, "source_data/D.csv")[1:] == ["2021-01-01,0"]


def test_period_conflicts_and_settings(export: flee.FleeExport) -> None:
    period = ["StartDate,2021-01-01", "Length,3"]
    assert lines(export, "input_csv/conflict_period.csv") == period
    assert lines(export, "input_csv/sim_period.csv") == period
    assert lines(export, "input_csv/conflicts.csv") == ["#Day,A", "0,1", "1,1", "2,1"]
    settings = yaml.safe_load(export.files["simsetting.yml"])
    assert settings["move_rules"]["max_walk_speed"] == 60.0
    assert settings["move_rules"]["max_move_speed"] == 270.051  # the fastest road
    assert settings["move_rules"]["camp_movechance"] == 0.0
    assert settings["move_rules"]["default_movechance"] == 1.0
    assert settings["spawn_rules"]["insert_day0"] is False


def test_what_flee_cannot_express_is_reported(export: flee.FleeExport) -> None:
    notes = {n.feature: n for n in export.notes}
    assert notes["authorities.checks"].treatment == "dropped"
    assert "intercept" in notes["authorities.checks"].detail
    assert notes["authorities.tests"].treatment == "dropped"
    assert "quarantine" in notes["authorities.tests"].detail
    assert notes["authorities.force"].treatment == "approximated"
    assert "B is closed from day 2 to day 3" in notes["authorities.force"].detail
    assert "breaking through" in notes["authorities.force"].detail
    assert "giving up and going home" in notes["authorities.roadblock"].detail
    assert notes["population.group_size"].treatment == "dropped"
    assert "place_preference" in notes["route_choice"].detail
    recorded = json.loads(export.files["caravan-export.json"])
    assert {n["feature"] for n in recorded["notes"]} == set(notes)
    assert recorded["departures_by_day"] == [4, 4, 2]
    for feature in notes:
        assert f"`{feature}`" in export.files["notes.md"]


def test_a_window_within_one_day_and_late_departures_are_noted(make_scenario: Any) -> None:
    changes = {
        **CHANGES,
        "population": {
            "size": 10,
            "waves": {
                "only": DROP,
                "early": {"at": 0, "count": 4},
                "late": {"at": 80, "share": 1.0},
            },
        },
    }
    changes["authorities"] = {**CHANGES["authorities"]}
    changes["authorities"]["force"] = {**CHANGES["authorities"]["force"], "active": [30, 40]}
    export = flee.build(make_scenario(changes))
    notes = {n.feature: n.detail for n in export.notes}
    assert "no effect: the window begins and ends within one day" in notes["authorities.force"]
    assert export.departures_by_day == (4, 0, 0)
    assert (
        "6 people who would leave after the last day are not spawned" in (notes["population.waves"])
    )


def test_cli_writes_files_and_prints_what_was_dropped(
    scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "flee"
    assert main(["export", "flee", scenario.source_file, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "authorities.checks" in printed and "dropped" in printed
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == sorted(flee.build(scenario).files)
    assert (out / "input_csv/routes.csv").read_text().splitlines()[1] == "A,B,10,0,270.051,0.000244"


def test_cli_never_overwrites_without_being_told(
    scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "flee"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    assert main(["export", "flee", scenario.source_file, "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "mine.txt").read_text() == "keep me"
    args = ["export", "flee", scenario.source_file, "--out", str(out), "--overwrite"]
    assert main(args) == 0
    assert not (out / "mine.txt").exists()
    assert (out / "input_csv" / "locations.csv").is_file()
    assert not list(tmp_path.glob("*.partial-*"))


def test_cli_reports_a_bad_scenario_with_file_line_and_key(
    make_scenario: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_scenario.write({"population": {"sise": 5}})
    out = tmp_path / "flee"
    assert main(["export", "flee", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "sise" in text)
    assert f"{path}:{line}: population.sise: unknown key 'sise' (did you mean 'size'?)" in err
    assert not out.exists()


# --------------------------------------------------------------------------------------------
# Several origins: the late wave leaves from C (people joining in Guatemala)
# --------------------------------------------------------------------------------------------


def joining_at_c(make_scenario: Any, late: dict[str, Any] | None = None) -> flee.FleeExport:
    waves = {**CHANGES["population"]["waves"]}
    waves["late"] = {**waves["late"], "origin": "C", **(late or {})}
    population = {**CHANGES["population"], "waves": waves}
    return flee.build(make_scenario({**CHANGES, "population": population}))


def test_several_origins_are_conflict_zones_with_their_people(make_scenario: Any) -> None:
    # early: 4 from A on day 0; late: 6 from C, 4 on day 1 and 2 on day 2 (as above). A is a
    # conflict zone from day 0, C from day 1 (a town until then); each only on days people
    # leave it.
    export = joining_at_c(make_scenario)
    assert lines(export, "input_csv/locations.csv")[1:4] == [
        "A,A,HN,15.5,-88,conflict_zone,0,4",
        "B,B,HN,14.9,-89.1,town,,",
        "C,Town C,GT,14.8,-90,conflict_zone,1,6",
    ]
    assert lines(export, "input_csv/conflicts.csv") == ["#Day,A,C", "0,1,0", "1,0,1", "2,0,1"]
    assert export.departures_by_day == (4, 4, 2)
    assert export.departures_by_origin == {"A": (4, 0, 0), "C": (0, 4, 2)}
    recorded = json.loads(export.files["caravan-export.json"])
    assert recorded["departures_by_origin"] == {"A": [4, 0, 0], "C": [0, 4, 2]}
    settings = yaml.safe_load(export.files["simsetting.yml"])
    assert settings["move_rules"]["conflict_weight"] == 1.0
    assert "leaving A, C" in export.files["notes.md"]


def test_several_origins_are_noted_and_shared_days_named(make_scenario: Any) -> None:
    apart = {n.feature: n for n in joining_at_c(make_scenario).notes}
    note = apart["population.waves.*.origin"]
    assert note.treatment == "approximated"
    assert "(A, C) are conflict zones" in note.detail
    assert "when people leave several" not in note.detail  # nobody leaves both on one day
    assert "Flee spawns them at the origins" in apart["population.waves"].detail
    # The late wave all at hour 0: 6 leave C on day 0, beside the 4 from A.
    together = joining_at_c(make_scenario, {"at": 0, "spread_h": 0})
    assert together.departures_by_origin == {"A": (4, 0, 0), "C": (6, 0, 0)}
    detail = {n.feature: n.detail for n in together.notes}["population.waves.*.origin"]
    assert "on day 0, when people leave several, the split is by their people in all" in detail


def test_one_origin_keeps_flees_default_conflict_weight(export: flee.FleeExport) -> None:
    settings = yaml.safe_load(export.files["simsetting.yml"])
    assert "conflict_weight" not in settings["move_rules"]
    assert "population.waves.*.origin" not in {n.feature for n in export.notes}
    assert export.departures_by_origin == {"A": (4, 4, 2)}
