"""Hand-computed cases on the micro network A -10 km- B -20 km- C (see conftest.py).

The rules used in the arithmetic (sim/kernels/, sim/model.py):
  - a step covers [t_h, t_h + step_h); a group whose departure hour lies in it departs and walks
    in that same step; `Results.hours` are the ends of the steps;
  - a migrant walks speed * step_h km per step if the step *starts* in the day window;
  - reaching a place: held (timer = t_h of that step) or on through checkpoint, test, arrival;
  - a quarantine started in the step at t_h ends in the first step whose start is at or after
    t_h + quarantine_days * 24; the deportation is counted in that step;
  - rules whose window opens or closes at hour h apply from the step starting at h.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from sim.model import CaravanModel
from sim.population import ARRIVED, DISPERSED, HELD_BLOCKADE, HELD_BORDER, REMITTED, RETURNED
from sim.results import Results, places_table

NEVER_GIVE_UP = {"scale_h": 1.0e12, "shape": 1.0, "return_share": 1.0}


def first_hour(results: Results, series: str, reaching: int) -> float:
    """End hour of the first step at which `series` is at least `reaching`."""
    values = results.series()[series]
    hits = np.flatnonzero(values >= reaching)
    assert hits.size, f"{series} never reaches {reaching}: {values}"
    return float(results.hours[hits[0]])


def step_at_hour(results: Results, hour: float) -> int:
    """Index of the step that ends at `hour`."""
    index = round(hour / results.step_h) - 1
    assert results.hours[index] == pytest.approx(hour)
    return index


def held_at(results: Results, place: str) -> npt.NDArray[np.int64]:
    """n_held at one place, per step, read from the places table."""
    table = places_table(results).to_pandas()
    return table.loc[table["place"] == place, "n_held"].to_numpy()


def run_model(scenario: Any, seed: int = 0) -> tuple[CaravanModel, Results]:
    model = CaravanModel(scenario, seed=seed)
    return model, model.run()


# --------------------------------------------------------------------------------------------
# Walking
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("step_h", [1.0, 0.5])
def test_walker_reaches_c_after_distance_over_speed(make_scenario: Any, step_h: float) -> None:
    # 30 km at 5 km/h = 6 h. Step 1 h: 5 km per step, at B (10 km) at the end of the 2nd step
    # (hour 2), at C at the end of the 6th (index 5, hour 6). Step 0.5 h: 2.5 km per step,
    # at C at the end of the 12th step (index 11): again hour 6.
    scenario = make_scenario(sets=[f"time.step_h={step_h}"])
    assert scenario.time.step_h == step_h
    _, results = run_model(scenario)
    reached = results.series()["cum_reached_mexican_border"]
    arrival = step_at_hour(results, 6.0)
    assert arrival == {1.0: 5, 0.5: 11}[step_h]
    assert (reached[:arrival] == 0).all()
    assert (reached[arrival:] == 1).all()
    assert first_hour(results, "cum_reached_mexican_border", 1) == 6.0
    # On the way: standing at B at the end of hour 2, on the road B-C just after.
    b = results.place_ids.index("B")
    assert results.places[step_at_hour(results, 2.0), b, 0] == 1
    assert results.roads[step_at_hour(results, 3.0), 1] == 1
    assert results.outcomes["entered_guatemala_via_B"] == 1


@pytest.mark.parametrize(
    ("start", "expected_h"),
    [
        # 00:00, day 06-18: dark until 06:00 (6 h), then 6 h walking: at C at hour 12.
        ("2021-01-01T00:00:00", 12.0),
        # 15:00: walks 15:00-18:00 (15 km), night 18:00-06:00 (12 h), 06:00-09:00 (15 km):
        # 6 h walking plus the 12 night hours = hour 18.
        ("2021-01-01T15:00:00", 18.0),
        # 12:00: 6 h of walking fit before 18:00: the night costs nothing.
        ("2021-01-01T12:00:00", 6.0),
    ],
)
def test_day_window_shifts_arrival_by_the_night_hours(
    make_scenario: Any, start: str, expected_h: float
) -> None:
    from datetime import datetime

    changes = {
        "time": {"start": datetime.fromisoformat(start), "duration_h": 30},
        "population": {"waves": {"only": {"at": 0}}},
    }
    all_day = make_scenario(changes)
    day_only = make_scenario({**changes, "movement": {"day_starts_h": 6, "day_ends_h": 18}})
    _, free = run_model(all_day)
    _, windowed = run_model(day_only)
    assert first_hour(free, "cum_reached_mexican_border", 1) == 6.0
    assert first_hour(windowed, "cum_reached_mexican_border", 1) == expected_h


def test_idle_night_steps_skip_the_kernel_and_change_nothing(make_scenario: Any) -> None:
    # Start 15:00, day 06-18, 30 steps of 1 h, everyone leaves at hour 0 and nobody is ever
    # held: the steps starting 18:00-05:00 (steps 3-14) and, after arriving at hour 18, those
    # starting 18:00-20:00 of the next evening (steps 27-29) change nobody: 15 skipped.
    from datetime import datetime

    scenario = make_scenario(
        {
            "time": {"start": datetime.fromisoformat("2021-01-01T15:00:00"), "duration_h": 30},
            "population": {"waves": {"only": {"at": 0}}},
            "movement": {"day_starts_h": 6, "day_ends_h": 18},
        }
    )
    model = CaravanModel(scenario, seed=0)
    results = model.run()
    assert model.idle_steps == [*range(3, 15), 27, 28, 29]
    every_step = CaravanModel(scenario, seed=0)
    every_step.skip_idle_steps = False
    stepped = every_step.run()
    for name in ("counts", "places", "roads"):
        np.testing.assert_array_equal(getattr(results, name), getattr(stepped, name))
    assert first_hour(results, "cum_reached_mexican_border", 1) == 18.0


# --------------------------------------------------------------------------------------------
# Blockade, border force, checkpoints, health posts
# --------------------------------------------------------------------------------------------

GROUPS = {"sizes": [1, 2, 3], "shares": [0.5, 0.3, 0.2]}


def blockade(active: list[float], clearance_return_share: float = 0.5) -> dict[str, Any]:
    return {
        "kind": "blockade",
        "place": "B",
        "active": active,
        "give_up": NEVER_GIVE_UP,
        "slip_chance_per_h": 0.0,
        "clearance_return_share": clearance_return_share,
    }


def border_force(active: list[float]) -> dict[str, Any]:
    return {
        "kind": "border_control",
        "place": "B",
        "active": active,
        "force": 100,
        "push_rate_per_h": 0.0,
        "give_up": NEVER_GIVE_UP,
    }


def test_blockade_on_the_only_road_stops_everyone(make_scenario: Any) -> None:
    size = 50
    scenario = make_scenario(
        {
            "time": {"duration_h": 24},
            "population": {"size": size, "group_size": GROUPS},
            "authorities": {"roadblock": blockade([-1, 1000])},
        }
    )
    model, results = run_model(scenario)
    series = results.series()
    # Everyone is at B at the end of hour 2 and held from then on.
    held_from = step_at_hour(results, 2.0)
    assert series["cum_held"][held_from] == size
    assert (series["n_held_blockade"][held_from:] == size).all()
    assert (held_at(results, "B")[held_from:] == size).all()
    assert held_at(results, "B")[-1] == size
    assert series["cum_reached_mexican_border"][-1] == 0
    assert series["cum_released"][-1] == series["cum_slipped"][-1] == 0
    assert results.outcomes["entered_guatemala"] == 0  # held before passing the crossing
    assert (model.migrants.status == HELD_BLOCKADE).all()
    assert results.outcomes["held_at_B_peak"] == size


@pytest.mark.parametrize("quarantine_days", [0.5, 1.0, 2.0])
def test_quarantine_delays_by_exactly_its_length(
    make_scenario: Any, quarantine_days: float
) -> None:
    # Tested and positive at B in the step [1, 2) (recorded at hour 2), timer 1 + 24 q; the
    # deportation is in the step starting then, recorded at hour 2 + 24 q.
    size = 6
    scenario = make_scenario(
        {
            "time": {"duration_h": 2 + 24 * quarantine_days + 4},
            "population": {"size": size, "group_size": GROUPS},
            "health": {"prevalence": 1.0, "sensitivity": 1.0, "quarantine_days": quarantine_days},
            "authorities": {
                "post": {
                    "kind": "health_posts",
                    "places": ["B"],
                    "active": [-1, 1000],
                    "test_chance_on_arrival": 1.0,
                }
            },
        }
    )
    model, results = run_model(scenario)
    started = first_hour(results, "cum_quarantined", size)
    deported = first_hour(results, "cum_deported_after_quarantine", size)
    assert started == 2.0
    assert results.series()["new_quarantined"][step_at_hour(results, 2.0)] == size
    assert deported - started == 24 * quarantine_days
    assert results.series()["new_deported_after_quarantine"].sum() == size
    assert results.outcomes["tested"] == results.outcomes["tested_positive"] == size
    # Deported to the return point A.
    assert (model.migrants.place == results.place_ids.index("A")).all()


def test_quarantine_lengths_differ_by_their_difference(make_scenario: Any) -> None:
    delays = {}
    for days in (0.5, 1.0):
        scenario = make_scenario(
            {
                "time": {"duration_h": 40},
                "health": {"prevalence": 1.0, "sensitivity": 1.0, "quarantine_days": days},
                "authorities": {
                    "post": {
                        "kind": "health_posts",
                        "places": ["B"],
                        "active": [-1, 1000],
                        "test_chance_on_arrival": 1.0,
                    }
                },
            }
        )
        _, results = run_model(scenario)
        delays[days] = first_hour(results, "cum_deported_after_quarantine", 1) - first_hour(
            results, "cum_quarantined", 1
        )
    assert delays[1.0] - delays[0.5] == 12.0


def test_quarantine_is_exact_with_a_step_of_a_fifth_of_an_hour(make_scenario: Any) -> None:
    # 10 km at 5 km/h: at B at the end of step 9 (hour 2.0, timer 1.8 + 72 = 73.8);
    # deported in the step starting at 73.8, recorded at hour 74.0.
    scenario = make_scenario(
        {
            "time": {"step_h": 0.2, "duration_h": 80},
            "health": {"prevalence": 1.0, "sensitivity": 1.0, "quarantine_days": 3},
            "authorities": {
                "post": {
                    "kind": "health_posts",
                    "places": ["B"],
                    "active": [-1, 1000],
                    "test_chance_on_arrival": 1.0,
                }
            },
        }
    )
    _, results = run_model(scenario)
    started = first_hour(results, "cum_quarantined", 1)
    deported = first_hour(results, "cum_deported_after_quarantine", 1)
    assert started == pytest.approx(2.0)
    assert deported - started == pytest.approx(72.0)


def test_wave_leaves_in_the_step_that_contains_its_hour(make_scenario: Any) -> None:
    scenario = make_scenario(
        {
            "time": {"step_h": 0.2, "duration_h": 80},
            "population": {"waves": {"only": {"at": 73.6}}},
        }
    )
    _, results = run_model(scenario)
    # The step [73.6, 73.8) is step index 368 and ends at 73.8.
    assert first_hour(results, "cum_departed", 1) == pytest.approx(73.8)


@pytest.mark.parametrize(("chance", "remitted"), [(1.0, 40), (0.0, 0)])
def test_checkpoint_remits_everyone_or_nobody(
    make_scenario: Any, chance: float, remitted: int
) -> None:
    size = 40
    scenario = make_scenario(
        {
            "population": {"size": size, "group_size": GROUPS},
            "authorities": {
                "checks": {
                    "kind": "checkpoints",
                    "places": ["B"],
                    "active": [-1, 1000],
                    "intercept_chance": chance,
                    "dispersed_intercept_factor": 1.0,
                }
            },
        }
    )
    model, results = run_model(scenario)
    assert results.outcomes["remitted"] == remitted
    assert results.outcomes["reached_mexican_border"] == size - remitted
    if remitted:
        assert first_hour(results, "cum_remitted", remitted) == 2.0  # all at B at hour 2
    status = model.migrants.status
    assert ((status == REMITTED) | (status == ARRIVED)).all()
    assert (status == REMITTED).sum() == remitted


def test_border_force_without_push_holds_everyone(make_scenario: Any) -> None:
    size = 30
    scenario = make_scenario(
        {
            "time": {"duration_h": 24},
            "population": {"size": size, "group_size": GROUPS},
            "authorities": {"force": border_force([-1, 1000])},
        }
    )
    model, results = run_model(scenario)
    series = results.series()
    held_from = step_at_hour(results, 2.0)
    assert (series["n_held_border"][held_from:] == size).all()
    assert (held_at(results, "B")[held_from:] == size).all()
    assert series["cum_reached_mexican_border"][-1] == 0
    assert series["cum_released"][-1] == 0
    assert not [e for e in results.events if e["kind"] == "crowd_breaks_through"]
    assert (model.migrants.status == HELD_BORDER).all()


def test_border_force_leaving_lets_them_move_on(make_scenario: Any) -> None:
    # Held at B from hour 2; the force leaves at hour 10: released in the step [10, 11),
    # then 20 km at 5 km/h = 4 steps: at C at the end of the step [13, 14), hour 14.
    size = 30
    scenario = make_scenario(
        {
            "time": {"duration_h": 24},
            "population": {"size": size, "group_size": GROUPS},
            "authorities": {"force": border_force([-1, 10])},
        }
    )
    model, results = run_model(scenario)
    series = results.series()
    release = step_at_hour(results, 11.0)
    assert (series["n_held_border"][step_at_hour(results, 2.0) : release] == size).all()
    assert series["new_released"][release] == size
    assert series["n_held_border"][release] == 0
    assert first_hour(results, "cum_reached_mexican_border", size) == 14.0
    assert series["cum_reached_mexican_border"][step_at_hour(results, 13.0)] == 0
    assert results.outcomes["entered_guatemala"] == size  # counted when let through B
    assert (model.migrants.status == ARRIVED).all()


def test_blockade_clearance_sends_everyone_home(make_scenario: Any) -> None:
    size = 30
    scenario = make_scenario(
        {
            "time": {"duration_h": 24},
            "population": {"size": size, "group_size": GROUPS},
            "authorities": {"roadblock": blockade([-1, 10], clearance_return_share=1.0)},
        }
    )
    model, results = run_model(scenario)
    series = results.series()
    clearance = step_at_hour(results, 11.0)
    assert series["new_returned_voluntarily"][clearance] == size
    assert results.outcomes["returned_voluntarily"] == size
    assert results.outcomes["reached_mexican_border"] == 0
    assert results.outcomes["dispersed_in_guatemala"] == 0
    assert (model.migrants.status == RETURNED).all()
    assert (model.migrants.place == results.place_ids.index("A")).all()
    cleared = [e for e in results.events if e["kind"] == "blockade_cleared"]
    assert [(e["t_h"], e["place"], e["count"]) for e in cleared] == [(10.0, "B", size)]


def test_blockade_clearance_disperses_everyone_who_moves_on_slower(make_scenario: Any) -> None:
    # Cleared in the step [10, 11): all dispersed at B, then 20 km at 5 * 0.5 = 2.5 km/h:
    # 8 steps, at C at the end of the step [17, 18), hour 18 (not 14 as when released).
    size = 30
    scenario = make_scenario(
        {
            "time": {"duration_h": 24},
            "population": {"size": size, "group_size": GROUPS},
            "authorities": {"roadblock": blockade([-1, 10], clearance_return_share=0.0)},
        }
    )
    model, results = run_model(scenario)
    series = results.series()
    clearance = step_at_hour(results, 11.0)
    assert series["new_dispersed"][clearance] == size
    assert series["cum_returned_voluntarily"][-1] == 0
    arrival = step_at_hour(results, 18.0)
    assert (series["n_dispersed"][clearance:arrival] == size).all()
    assert (series["n_moving"][clearance:arrival] == 0).all()
    assert first_hour(results, "cum_reached_mexican_border", size) == 18.0
    assert series["cum_reached_mexican_border"][arrival - 1] == 0
    assert (model.migrants.flags & DISPERSED).all()
    assert (model.migrants.status == ARRIVED).all()


def test_dispersed_before_the_border_are_not_dispersed_in_guatemala(make_scenario: Any) -> None:
    # A - H (a Honduran town, 10 km) - B (crossing into Guatemala, 100 km) - C. A blockade at
    # H is cleared at hour 10 with nobody boarding buses: all 10 scatter at H and are still
    # walking in Honduras at hour 14 (2.5 km/h for 4 h).
    network = {
        "places": [
            {"id": "A", "country": "HN", "lat": 15.5, "lon": -88.0, "kind": ["origin"]},
            {"id": "H", "country": "HN", "lat": 15.2, "lon": -88.5, "kind": ["town"]},
            {"id": "B", "country": "HN-GT", "lat": 14.9, "lon": -89.1, "kind": ["border_crossing"]},
            {"id": "C", "country": "GT-MX", "lat": 14.7, "lon": -92.1, "kind": ["border_crossing"]},
        ],
        "roads": [
            {"between": ["A", "H"], "length_km": 10},
            {"between": ["H", "B"], "length_km": 100},
            {"between": ["B", "C"], "length_km": 20},
        ],
    }
    roadblock = {**blockade([-1, 10], clearance_return_share=0.0), "place": "H"}
    scenario = make_scenario(
        {
            "network": network,
            "time": {"duration_h": 14},
            "population": {"size": 10},
            "authorities": {"roadblock": roadblock},
        }
    )
    _, results = run_model(scenario)
    assert results.series()["n_dispersed"][-1] == 10
    assert results.outcomes["entered_guatemala"] == 0
    assert results.outcomes["dispersed_in_guatemala"] == 0
    assert results.outcomes["moved_on_toward_mexico"] == 0
