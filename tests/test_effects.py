"""The kernel applies the effect vocabulary whoever writes it: hand-computed cases on the micro
network A -10 km- B -20 km- C (conftest.py), with effects written straight into the model's
`effects` between steps, as a rule would (no rule of the package writes road effects yet).

One person walks 5 km/h all day with no rides: at B after 2 h, at C after 6 h."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sim.model import CaravanModel, release
from sim.population import ARRIVED, MOVING

A_B, B_C = 0, 1  # road indices of the micro network


def arrival_hour(model: CaravanModel, hours: int) -> float | None:
    """Step the model `hours` hours; the end hour of the step in which the person arrived."""
    for _ in range(hours):
        model.step()
        if model.migrants.status[0] == ARRIVED:
            return float(model.steps)
    return None


@pytest.fixture
def model(make_scenario: Any) -> Any:
    m = CaravanModel(make_scenario({"time": {"duration_h": 24}}), seed=0, threads=False)
    yield m
    release(m)


def test_without_effects_the_walker_arrives_after_6_hours(model: CaravanModel) -> None:
    assert arrival_hour(model, 24) == 6.0


def test_a_speed_factor_applies_to_the_road_being_walked(model: CaravanModel) -> None:
    # 10 km/h on A-B: at B at the end of hour 1, with no km left over; then 20 km at 5 km/h.
    model.effects.road["speed_factor"][A_B] = 2.0
    assert arrival_hour(model, 24) == 5.0


def test_nobody_sets_out_along_a_closed_road(model: CaravanModel) -> None:
    model.effects.road["closed"][B_C] = 1
    assert arrival_hour(model, 8) is None
    # Waiting at B, the place before the closed road, with nothing left of the step's km.
    assert model.migrants.status[0] == MOVING
    assert model.migrants.place[0] == model.network.index("B")
    assert model.migrants.km[0] == 0.0
    assert model.results().at_places("n_at_place")[-1][model.network.index("B")] == 1
    # Reopened at the start of hour 8: 20 km more, at C at the end of hour 12.
    model.effects.road["closed"][B_C] = 0
    assert arrival_hour(model, 16) == 12.0


def test_a_road_closed_behind_someone_on_it_does_not_stop_them(model: CaravanModel) -> None:
    model.step()  # 5 km along A-B
    model.effects.road["closed"][A_B] = 1
    assert arrival_hour(model, 24) == 6.0


def test_ride_factor_scales_the_chance_of_a_ride_into_a_place(make_scenario: Any) -> None:
    # Rides certain in Honduras: a ride lasts the step (40 km), past B and on to C in hour 1.
    scenario = make_scenario(
        {"time": {"duration_h": 24}, "movement": {"ride_chance_per_h": {"HN": 1.0, "GT": 0.0}}}
    )
    after_one_hour = {}
    for factor in (1.0, 0.0):
        m = CaravanModel(scenario, seed=0, threads=False)
        m.effects.place["ride_factor"][m.network.index("B")] = factor
        m.step()
        after_one_hour[factor] = (int(m.migrants.status[0]), float(m.migrants.km[0]))
        release(m)
    # No ride on the road into B: 5 km on foot, still on A-B.
    assert after_one_hour == {1.0: (ARRIVED, 0.0), 0.0: (MOVING, 5.0)}


def test_effects_are_not_written_by_the_kernel(model: CaravanModel) -> None:
    before = model.effects.place.copy(), model.effects.road.copy()
    arrival_hour(model, 24)
    np.testing.assert_array_equal(model.effects.place, before[0])
    np.testing.assert_array_equal(model.effects.road, before[1])
