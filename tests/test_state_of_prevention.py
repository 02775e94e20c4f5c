"""A state of prevention (`kind: state_of_prevention`): giving up on the road, and rides that
depend on the policy, hand-computed on the micro network A -10 km- B -20 km- C (conftest.py).

Groups of one walk 5 km/h around the clock from hour 0: they set out along A-B in steps 0 and
1, reach B (the crossing into Guatemala) at the end of step 1, set out along B-C in steps 2 to
5 and reach C (the Mexican border) at the end of step 5. A is the only return point."""

from __future__ import annotations

import math
from typing import Any

import pytest

import sim
from sim import rng
from sim.errors import ScenarioError
from sim.model import CaravanModel, release

EVERYONE = 1.0e9  # a hazard per hour under which nobody sets out and goes on


def state(places: list[str], **keys: Any) -> dict[str, Any]:
    return {"kind": "state_of_prevention", "places": places, "active": [-1, 100], **keys}


def micro(make_scenario: Any, size: int = 20, **authorities: Any) -> sim.Scenario:
    return make_scenario(
        {"time": {"duration_h": 10}, "population": {"size": size}, "authorities": authorities}
    )


def test_giving_up_on_the_first_road_is_turning_back(make_scenario: Any) -> None:
    results = sim.run(micro(make_scenario, region=state(["A", "B"], give_up_per_h=EVERYONE)), 0)
    out = results.outcomes
    assert out["gave_up_on_road"] == 20
    series = results.series()
    assert series["new_gave_up_on_road"][0] == 20  # in step 0, as they set out
    assert out["returned_voluntarily"] == out["turned_back_at_border"] == 20
    assert out["returned_after_entering"] == 0
    assert out["returned_to_A"] == 20


def test_giving_up_after_the_crossing_is_returning_after_entering(make_scenario: Any) -> None:
    results = sim.run(micro(make_scenario, region=state(["B", "C"], give_up_per_h=EVERYONE)), 0)
    out = results.outcomes
    assert out["entered_guatemala"] == 20
    assert results.series()["new_gave_up_on_road"][2] == 20  # setting out from B in step 2
    assert out["returned_after_entering"] == out["returned_voluntarily"] == 20
    assert out["returned_to_A"] == 20  # B's nearest return point
    assert out["reached_mexican_border"] == 0


def test_who_gives_up_is_each_group_draw_against_the_grown_hazard(make_scenario: Any) -> None:
    """Every group's fate recomputed from its own draws: in each step it sets out, it gives up
    if its draw falls under 1 - exp(-h (1 + hours since it left / growth_h) step_h)."""
    hazard_per_h, growth_h, size = 0.05, 10.0, 400
    scenario = sim.derive(
        micro(make_scenario, size, region=state(["A", "B", "C"], give_up_per_h=hazard_per_h)),
        {"movement.give_up_on_road_growth_h": growth_h},
    )
    model = CaravanModel(scenario, seed=3)
    try:
        results = model.run()
        expected = {"turned_back": 0, "after_entering": 0, "arrived": 0}
        for group in range(size):
            for step in range(6):  # sets out in steps 0-5; reaches B after step 1
                chance = 1.0 - math.exp(-hazard_per_h * (1.0 + step / growth_h))
                if rng.uniform(model.key, rng.ROAD_GIVE_UP, group, step, 0) < chance:
                    expected["turned_back" if step <= 1 else "after_entering"] += 1
                    break
            else:
                expected["arrived"] += 1
        out = results.outcomes
        assert out["turned_back_at_border"] == expected["turned_back"]
        assert out["returned_after_entering"] == expected["after_entering"]
        assert out["reached_mexican_border"] == expected["arrived"]
        assert results.series()["cum_gave_up_on_road"][-1] == size - expected["arrived"]
        assert expected["turned_back"] > 0
        assert expected["after_entering"] > 0
    finally:
        release(model)


def test_without_growth_the_hazard_is_constant(make_scenario: Any) -> None:
    scenario = micro(make_scenario, 400, region=state(["A", "B", "C"], give_up_per_h=0.05))
    model = CaravanModel(scenario, seed=3)
    try:
        results = model.run()
        gave_up = sum(
            any(
                rng.uniform(model.key, rng.ROAD_GIVE_UP, group, step, 0) < 1 - math.exp(-0.05)
                for step in range(6)
            )
            for group in range(400)
        )
        assert results.series()["cum_gave_up_on_road"][-1] == gave_up
    finally:
        release(model)


def test_those_who_give_up_wait_for_return_transport_where_it_serves(
    make_scenario: Any,
) -> None:
    buses = {
        "kind": "return_transport",
        "places": ["B"],
        "active": [0, 100],
        "capacity_per_h": 1000,
        "travel_h": 3,
    }
    region = state(["B", "C"], give_up_per_h=EVERYONE)
    results = sim.run(micro(make_scenario, region=region, buses=buses), 0)
    series = results.series()
    # Gave up at B in step 2 (recorded at hour 3), boarded in step 3, back at A in step 6.
    assert series["n_awaiting_return_transport"][2] == 20
    assert series["new_boarded_return_transport"][3] == 20
    assert series["new_returned_voluntarily"][6] == 20
    assert results.outcomes["returned_after_entering"] == 20


def test_a_ride_factor_of_zero_leaves_everyone_walking(make_scenario: Any) -> None:
    def run(chance: float, **authorities: Any) -> sim.Results:
        changes = {
            "time": {"duration_h": 10},
            "population": {"size": 20},
            "movement": {"ride_chance_per_h": {"HN": chance, "GT": chance}},
            "authorities": authorities,
        }
        return sim.run(make_scenario(changes), seed=0)

    riding = run(1.0)
    assert riding.series()["new_reached_mexican_border"][0] == 20  # a ride: 40 km in step 0
    no_rides = run(1.0, fines=state(["A", "B", "C"], ride_factor=0.0))
    walking = run(0.0)
    assert no_rides.series()["new_reached_mexican_border"][5] == 20
    for column, values in walking.series().items():
        assert list(no_rides.series()[column]) == list(values), column


def test_states_in_force_at_once_add_their_hazards(make_scenario: Any) -> None:
    scenario = micro(
        make_scenario,
        one=state(["A", "B"], give_up_per_h=0.01, ride_factor=0.5),
        two=state(["A", "B", "C"], give_up_per_h=0.02),
    )
    model = CaravanModel(scenario, seed=0)
    try:
        model.step()
        roads = model.network.road_ends
        a_b, b_c = roads.index(("A", "B")), roads.index(("B", "C"))
        assert model.effects.road["give_up_per_h"][a_b] == pytest.approx(0.03)
        assert model.effects.road["give_up_per_h"][b_c] == pytest.approx(0.02)
        factors = model.effects.place["ride_factor"]
        assert [factors[model.network.index(p)] for p in "ABC"] == [0.5, 0.5, 1.0]
    finally:
        release(model)


def test_two_ride_factors_at_one_place_at_once_are_refused(make_scenario: Any) -> None:
    path = make_scenario.write(
        {
            "authorities": {
                "fines": state(["A", "B"], ride_factor=0.5),
                "trucks": state(["B", "C"], ride_factor=3.0),
            }
        }
    )
    with pytest.raises(ScenarioError) as caught:
        sim.load(path)
    assert str(caught.value).endswith(
        "authorities.trucks.active: overlaps 'fines', which already has state of prevention "
        "at B then; one at a time"
    )


def test_a_negative_hazard_is_refused(make_scenario: Any) -> None:
    path = make_scenario.write({"authorities": {"region": state(["A"], give_up_per_h=-1)}})
    with pytest.raises(ScenarioError) as caught:
        sim.load(path)
    assert str(caught.value).endswith(
        "authorities.region.give_up_per_h: Input should be greater than or equal to 0 (got -1)"
    )
    assert str(caught.value).startswith(f"{path}:")


def checkpoint(places: list[str], **keys: Any) -> dict[str, Any]:
    return {
        "kind": "checkpoints",
        "places": places,
        "active": [-1, 100],
        "intercept_chance": 0.0,
        "dispersed_intercept_factor": 1.0,
        **keys,
    }


def test_a_checkpoint_makes_people_give_up_on_the_roads_at_it(make_scenario: Any) -> None:
    """A checkpoint at C: the hazard is on B-C (its road), not on A-B, so everyone enters at B
    and gives up setting out from it, going back to A."""
    results = sim.run(micro(make_scenario, police=checkpoint(["C"], give_up_per_h=EVERYONE)), 0)
    out = results.outcomes
    assert out["entered_guatemala"] == 20
    assert results.series()["new_gave_up_on_road"][2] == 20
    assert out["returned_after_entering"] == out["returned_to_A"] == 20


def test_a_checkpoint_and_a_state_of_prevention_add_their_hazards(make_scenario: Any) -> None:
    """On A-B: 0.03 from the state and 0.02 from the checkpoint at A, so a group gives up in
    step 0 (growth off) when its draw falls under 1 - exp(-0.05)."""
    scenario = micro(
        make_scenario,
        300,
        region=state(["A", "B"], give_up_per_h=0.03),
        police=checkpoint(["A"], give_up_per_h=0.02),
    )
    model = CaravanModel(scenario, seed=5)
    try:
        series = model.run().series()
        chance = 1.0 - math.exp(-0.05)
        gave_up = sum(
            rng.uniform(model.key, rng.ROAD_GIVE_UP, group, 0, 0) < chance for group in range(300)
        )
        assert gave_up > 0
        assert series["new_gave_up_on_road"][0] == gave_up
    finally:
        release(model)


def test_checkpoints_without_a_hazard_write_none(make_scenario: Any) -> None:
    results = sim.run(micro(make_scenario, police=checkpoint(["A", "B", "C"])), 0)
    assert "new_gave_up_on_road" not in results.series()


def blockade_at_c(**keys: Any) -> dict[str, Any]:
    return {
        "kind": "blockade",
        "place": "C",
        "active": [-1, 100],
        "give_up": {"scale_h": 1.0e12, "shape": 1.0, "return_share": 1.0},
        "slip_chance_per_h": 0.0,
        "clearance_return_share": 1.0,
        **keys,
    }


@pytest.mark.parametrize(
    ("within_km", "gave_up_in_step", "entered"),
    [(25.0, 2, 20), (35.0, 0, 0)],  # B is 20 km from C, A 30 km
)
def test_word_of_a_blockade_ahead_makes_people_give_up_within_its_reach(
    make_scenario: Any, within_km: float, gave_up_in_step: int, entered: int
) -> None:
    word = {"give_up_per_h": EVERYONE, "within_km": within_km}
    results = sim.run(micro(make_scenario, wall=blockade_at_c(word_ahead=word)), 0)
    out = results.outcomes
    assert results.series()["new_gave_up_on_road"][gave_up_in_step] == 20
    assert out["gave_up_on_road"] == out["returned_to_A"] == 20
    assert out["entered_guatemala"] == entered
    assert out["held_at_C_peak"] == 0


def test_word_ahead_may_come_from_the_behaviour(make_scenario: Any) -> None:
    scenario = make_scenario(
        {
            "time": {"duration_h": 10},
            "population": {"size": 20},
            "authorities": {"wall": blockade_at_c()},
            "behaviour": {
                "when_held": {
                    "blockade": {"word_ahead": {"give_up_per_h": EVERYONE, "within_km": 25.0}}
                }
            },
        }
    )
    out = sim.run(scenario, 0).outcomes
    assert out["gave_up_on_road"] == out["returned_after_entering"] == 20


def test_without_word_ahead_a_blockade_writes_no_hazard(make_scenario: Any) -> None:
    results = sim.run(micro(make_scenario, wall=blockade_at_c()), 0)
    assert "new_gave_up_on_road" not in results.series()
    assert results.outcomes["held_at_C_peak"] == 20


def test_people_off_the_road_give_up_at_the_dispersed_factor(make_scenario: Any) -> None:
    """Cleared from a blockade at B into dispersal, then a state of prevention on B-C: with a
    factor of 0 nobody off the road gives up; with 1, as on the road, everyone does."""
    clearance = {
        "kind": "blockade",
        "place": "B",
        "active": [-1, 3],
        "give_up": {"scale_h": 1.0e12, "shape": 1.0, "return_share": 1.0},
        "slip_chance_per_h": 0.0,
        "clearance_return_share": 0.0,  # everyone cleared leaves the road
    }
    for factor, gave_up in ((0.0, 0), (1.0, 20)):
        scenario = sim.derive(
            micro(
                make_scenario,
                wall=clearance,
                region=state(["B", "C"], give_up_per_h=EVERYONE),
            ),
            {"movement.dispersed_give_up_factor": factor},
        )
        out = sim.run(scenario, 0).outcomes
        assert out["gave_up_on_road"] == gave_up, factor
        assert out["returned_after_entering"] == gave_up


def test_the_determined_never_give_up_on_the_road(make_scenario: Any) -> None:
    """Under a hazard nobody else survives, exactly the groups whose own draw falls under the
    determined share go on to C; everyone else gives up as they set out."""
    share, size = 0.3, 300
    scenario = sim.derive(
        micro(make_scenario, size, region=state(["A", "B", "C"], give_up_per_h=EVERYONE)),
        {"movement.determined_share": share},
    )
    model = CaravanModel(scenario, seed=4)
    try:
        out = model.run().outcomes
        group = model.migrants.group
        determined = sum(rng.uniform(model.key, rng.RESOLVE, int(g), 0, 0) < share for g in group)
        assert 0 < determined < size
        assert out["reached_mexican_border"] == determined
        assert out["gave_up_on_road"] == size - determined
    finally:
        release(model)
