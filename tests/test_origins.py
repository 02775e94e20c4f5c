"""Waves that leave from places of their own: people joining the caravan along the way.

Hand-computed cases on a line A -10 km- B -10 km- T -20 km- C (A in Honduras, the population's
origin; B a crossing into Guatemala; T a Guatemalan town; C a crossing into Mexico, the
destination). Walking 5 km/h all day, no rides: from A, at B after 2 h and at C after 8 h;
from T, at C after 4 h. Then: routes weighed from each origin, crowd following by origin,
determinism, and the same results whether a wave names the population's origin or not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from conftest import DROP, SMALL_JANUARY, ScenarioFactory

from sim import population
from sim.model import CaravanModel
from sim.population import ENTERED, HELD_BLOCKADE, WAITING
from sim.results import Results
from sim.scenario import Scenario, load

LINE: dict[str, Any] = {
    "places": [
        {"id": "A", "country": "HN", "lat": 15.5, "lon": -88.0, "kind": ["origin", "return_point"]},
        {"id": "B", "country": "HN-GT", "lat": 14.9, "lon": -89.1, "kind": ["border_crossing"]},
        {"id": "T", "country": "GT", "lat": 14.8, "lon": -89.5, "kind": ["town"]},
        {"id": "C", "country": "GT-MX", "lat": 14.7, "lon": -92.1, "kind": ["border_crossing"]},
    ],
    "roads": [
        {"between": ["A", "B"], "length_km": 10},
        {"between": ["B", "T"], "length_km": 10},
        {"between": ["T", "C"], "length_km": 20},
    ],
}

# Two from A at hour 0, three joining at T at hour 1.
TWO_ORIGINS: dict[str, Any] = {
    "network": LINE,
    "population": {
        "size": 5,
        "waves": {
            "only": DROP,
            "first": {"at": 0, "count": 2},
            "joining": {"at": 1, "share": 1.0, "origin": "T"},
        },
    },
}

NEVER_GIVE_UP = {"scale_h": 1.0e12, "shape": 1.0, "return_share": 1.0}
BLOCKADE_AT_B = {
    "kind": "blockade",
    "place": "B",
    "active": [-1, 1000],
    "give_up": NEVER_GIVE_UP,
    "slip_chance_per_h": 0.0,
    "clearance_return_share": 0.5,
}


def run_model(scenario: Scenario, seed: int = 0) -> tuple[CaravanModel, Results]:
    model = CaravanModel(scenario, seed=seed)
    return model, model.run()


# --------------------------------------------------------------------------------------------
# Hand-computed
# --------------------------------------------------------------------------------------------


def test_joiners_after_the_crossing_never_enter_there_and_count_as_departed(
    make_scenario: ScenarioFactory,
) -> None:
    model, results = run_model(make_scenario(TWO_ORIGINS))
    series = results.series()
    # Departed: the two from A in the first step, the three from T in the second.
    assert series["cum_departed"][:3].tolist() == [2, 5, 5]
    # Those from T leave at hour 1 and walk 20 km: at C at hour 5; those from A at hour 8.
    reached = series["cum_reached_mexican_border"]
    assert reached.tolist() == [0, 0, 0, 0, 3, 3, 3, 5, 5, 5, 5, 5]
    out = results.outcomes
    assert (out["departed"], out["departed_from_A"], out["departed_from_T"]) == (5, 2, 3)
    # Only those from A pass the crossing B.
    assert out["entered_guatemala"] == out["entered_guatemala_via_B"] == 2
    entered = (model.migrants.flags & ENTERED) != 0
    assert entered.tolist() == [True, True, False, False, False]
    # Each group's route starts where it waited: A-B-T-C for the first two, T-C for the rest.
    routes = [model.network.routes[r].places for r in model.migrants.route]
    assert routes == [("A", "B", "T", "C")] * 2 + [("T", "C")] * 3


def test_a_blockade_before_the_joining_place_holds_only_those_who_pass_it(
    make_scenario: ScenarioFactory,
) -> None:
    scenario = make_scenario({**TWO_ORIGINS, "authorities": {"roadblock": BLOCKADE_AT_B}})
    model, results = run_model(scenario)
    out = results.outcomes
    # The two from A are held at B from hour 2 on; the three from T are at C at hour 5.
    assert results.series()["n_held_blockade"][1:].tolist() == [2] * 11
    assert out["held_at_B_peak"] == 2
    assert (out["reached_mexican_border"], out["in_transit"], out["entered_guatemala"]) == (3, 2, 0)
    assert (out["departed_from_A"], out["departed_from_T"]) == (2, 3)
    assert model.migrants.status[:2].tolist() == [HELD_BLOCKADE] * 2


def test_waves_not_yet_left_are_waiting_and_not_departed_from_their_origin(
    make_scenario: ScenarioFactory,
) -> None:
    scenario = make_scenario(
        {**TWO_ORIGINS, "time": {"duration_h": 3}},
        sets=["population.waves.joining.at=2021-01-01T05:00:00"],
    )
    model, results = run_model(scenario)
    out = results.outcomes
    assert (out["departed_from_A"], out["departed_from_T"], out["not_departed"]) == (2, 0, 3)
    assert results.series()["n_waiting"].tolist() == [3, 3, 3]
    # They wait at T, counted at no place.
    assert model.migrants.place[2:].tolist() == [model.network.index("T")] * 3
    assert (model.migrants.status[2:] == WAITING).all()
    assert results.at_places("n_at_place")[:, model.network.index("T")].tolist() == [0, 0, 0]


def test_one_origin_reports_no_departures_by_origin(make_scenario: ScenarioFactory) -> None:
    _, results = run_model(make_scenario({"network": LINE}))
    assert not [k for k in results.outcomes if k.startswith("departed_from_")]


# --------------------------------------------------------------------------------------------
# Routes: each origin's own, weighed from its own shortest route
# --------------------------------------------------------------------------------------------

# LINE with a loop T -15- D -15- C (T-D-C: 30 km, 10 more than T-C) and a road A -15- E -20- C
# (A-E-C: 35 km, 5 less than A-B-T-C; A-B-T-D-C: 50 km, 15 more than A-E-C).
LOOPS = {
    "places": [
        *LINE["places"],
        {"id": "D", "country": "GT", "lat": 15.0, "lon": -90.5},
        {"id": "E", "country": "HN", "lat": 15.2, "lon": -89.0},
    ],
    "roads": [
        *LINE["roads"],
        {"between": ["T", "D"], "length_km": 15},
        {"between": ["D", "C"], "length_km": 15},
        {"between": ["A", "E"], "length_km": 15},
        {"between": ["E", "C"], "length_km": 20},
    ],
}


def test_each_origin_weighs_its_own_routes_from_its_shortest(
    make_scenario: ScenarioFactory,
) -> None:
    """Detour scale 10 km, at most 10 km longer than the shortest. From A: A-E-C (35 km,
    weight 1) and A-B-T-C (40 km, e^-0.5); A-B-T-D-C is 15 km longer than A-E-C. From T: T-C
    (20 km, 1) and T-D-C (30 km, e^-1), which no route from A ends with; T-B-A-E-C (55 km) is
    too long."""
    scenario = make_scenario(
        {
            **TWO_ORIGINS,
            "network": LOOPS,
            "route_choice": {"detour_scale_km": 10, "max_detour_km": 10},
        }
    )
    model = CaravanModel(scenario, seed=0)
    net = model.network
    assert [(r.places, r.detour_km) for r in net.routes] == [
        (("A", "E", "C"), 0.0),
        (("A", "B", "T", "C"), 5.0),
        (("T", "C"), 0.0),
        (("T", "D", "C"), 10.0),
    ]
    np.testing.assert_allclose(net.base_weights, [1.0, np.exp(-0.5), 1.0, np.exp(-1.0)])
    assert net.origins == ("A", "T")
    assert net.origin_routes == ((0, 2), (2, 4))
    first, end = net.route_arrays.from_first, net.route_arrays.from_end
    assert (first[net.index("A")], end[net.index("A")]) == (0, 2)
    assert (first[net.index("T")], end[net.index("T")]) == (2, 4)
    # Nobody has left: each origin's cdf is its base weights, normalised to end at 1.
    np.testing.assert_allclose(
        model.route_cdf(),
        [1 / (1 + np.exp(-0.5)), 1.0, 1 / (1 + np.exp(-1.0)), 1.0],
    )


def test_crowd_following_counts_the_groups_of_each_origin(make_scenario: ScenarioFactory) -> None:
    """Crowd weight 2: a route's weight is its base weight x (1 + 2 x the share of those who
    left its origin who took it). Twenty leave A at hour 0, twenty T at hour 3."""
    scenario = make_scenario(
        {
            "network": LOOPS,
            "population": {
                "size": 40,
                "waves": {
                    "only": DROP,
                    "first": {"at": 0, "count": 20},
                    "joining": {"at": 3, "share": 1.0, "origin": "T"},
                },
            },
            "route_choice": {"detour_scale_km": 10, "max_detour_km": 10, "crowd_weight": 2.0},
        }
    )
    model = CaravanModel(scenario, seed=3)
    base = model.network.base_weights
    model.step()
    picks = model.route_picks.copy()
    assert picks[:2].sum() == 20
    assert picks[2:].sum() == 0
    on_a = base[:2] * (1 + 2 * picks[:2] / 20)
    # Those from A follow their crowd; T's routes keep their base weights.
    expected = [*np.cumsum(on_a) / on_a.sum(), *np.cumsum(base[2:]) / base[2:].sum()]
    np.testing.assert_allclose(model.route_cdf(), expected)
    for _ in range(3):
        model.step()
    picks = model.route_picks.copy()
    assert picks[2:].sum() == 20
    on_t = base[2:] * (1 + 2 * picks[2:] / 20)
    np.testing.assert_allclose(model.route_cdf()[2:], np.cumsum(on_t) / on_t.sum())
    # Every group from T took a route from T.
    route_start = model.network.route_arrays.place[model.migrants.route, 0]
    assert (route_start[20:] == model.network.index("T")).all()
    assert (route_start[:20] == model.network.index("A")).all()


# --------------------------------------------------------------------------------------------
# Determinism, and no change where one origin is named twice
# --------------------------------------------------------------------------------------------

GROUPS = {"sizes": [1, 2, 3], "shares": [0.5, 0.3, 0.2]}


def busy_two_origins() -> dict[str, Any]:
    """Groups, spread waves, rides, route choice with crowd following and a blockade that people
    give up at or slip past."""
    return {
        "time": {"duration_h": 30},
        "network": LOOPS,
        "population": {
            "size": 300,
            "group_size": GROUPS,
            "waves": {
                "only": DROP,
                "first": {"at": 0, "count": 120, "spread_h": 4},
                "joining": {"at": 2, "share": 1.0, "spread_h": 10, "origin": "T"},
            },
        },
        "movement": {"ride_chance_per_h": {"HN": 0.2, "GT": 0.1}},
        "route_choice": {"detour_scale_km": 10, "max_detour_km": 15, "crowd_weight": 2.0},
        "authorities": {
            "roadblock": {
                **BLOCKADE_AT_B,
                "active": [3, 20],
                "give_up": {"scale_h": 5, "shape": 1.5, "return_share": 0.6},
                "slip_chance_per_h": 0.05,
            }
        },
    }


def same_run(a: tuple[CaravanModel, Results], b: tuple[CaravanModel, Results]) -> None:
    (model_a, results_a), (model_b, results_b) = a, b
    assert results_a.outcomes == results_b.outcomes
    for name in ("counts", "places", "roads"):
        np.testing.assert_array_equal(getattr(results_a, name), getattr(results_b, name))
    assert results_a.events == results_b.events
    for column_a, column_b in zip(model_a.migrants, model_b.migrants, strict=True):
        np.testing.assert_array_equal(column_a, column_b)


def test_two_origins_run_twice_with_one_seed_give_identical_results(
    make_scenario: ScenarioFactory,
) -> None:
    scenario = make_scenario(busy_two_origins())
    first = run_model(scenario, seed=11)
    same_run(first, run_model(scenario, seed=11))
    out = first[1].outcomes
    assert out["departed_from_A"] + out["departed_from_T"] == out["departed"] == 300
    assert out["held_at_B_peak"] > 0  # the blockade acted


@pytest.mark.parametrize("joining_from", ["T", "A"])
def test_naming_the_default_origin_on_a_wave_changes_nothing(
    make_scenario: ScenarioFactory, joining_from: str
) -> None:
    """A third wave from A, with or without `origin: A`, beside a wave from T or from A."""
    changes = busy_two_origins()
    waves = changes["population"]["waves"]
    waves["joining"]["origin"] = joining_from
    waves["late"] = {"at": 6, "count": 30, "spread_h": 2}
    implicit = make_scenario(changes)
    waves["late"]["origin"] = "A"
    explicit = make_scenario(changes)
    assert explicit.population.waves["late"].origin == "A"
    assert implicit.population.origins() == explicit.population.origins()
    same_run(run_model(implicit, seed=5), run_model(explicit, seed=5))


def test_naming_the_default_origin_in_january_2021_changes_nothing(
    january_path: Any, small_january: tuple[Scenario, list[Results]]
) -> None:
    """The shipped scenario's second wave with `origin: san_pedro_sula` set: every count, place,
    road and outcome as without it (seed 0 of `small_january`)."""
    scenario = load(january_path, [*SMALL_JANUARY, "population.waves.main.origin=san_pedro_sula"])
    assert scenario.population.waves["main"].origin == "san_pedro_sula"
    results = CaravanModel(scenario, seed=0, threads=False).run()
    before = small_january[1][0]
    assert results.outcomes == before.outcomes
    for name in ("counts", "places", "roads"):
        np.testing.assert_array_equal(getattr(results, name), getattr(before, name))
    assert results.events == before.events


def test_where_a_wave_leaves_from_changes_no_draw_of_group_formation(
    make_scenario: ScenarioFactory,
) -> None:
    """Groups and departure steps come from Mesa's sequential generator: the same draws,
    wherever the waves leave from; only the place they wait at differs."""
    scenario = make_scenario(busy_two_origins())
    waves = scenario.population
    hours = {name: scenario.hours_since_start(w.at) for name, w in waves.waves.items()}
    one = population.create(waves, hours, 0, 1.0, np.random.default_rng(4))
    two = population.create(waves, hours, 0, 1.0, np.random.default_rng(4), {"joining": 2})
    np.testing.assert_array_equal(one.group, two.group)
    np.testing.assert_array_equal(one.depart_step, two.depart_step)
    rows = population.wave_rows(waves)
    assert rows == {"first": slice(0, 120), "joining": slice(120, 300)}
    assert (one.place == 0).all()
    assert (two.place[rows["first"]] == 0).all()
    assert (two.place[rows["joining"]] == 2).all()


def test_the_resolved_scenario_names_only_the_origins_given(
    make_scenario: ScenarioFactory,
) -> None:
    """A wave without `origin` is written without it (as before waves could name one), so the
    fingerprints sweeps and calibrations take of a scenario do not change."""
    scenario = make_scenario(TWO_ORIGINS)
    dumped = scenario.model_dump()["population"]["waves"]
    assert "origin" not in dumped["first"]
    assert dumped["joining"]["origin"] == "T"
    assert scenario.to_yaml().count("origin: T") == 1
    assert scenario.population.origins() == ("A", "T")


@pytest.mark.parametrize("origin", ["A", "T"])
def test_every_wave_from_one_place_is_one_origin(
    make_scenario: ScenarioFactory, origin: str
) -> None:
    changes = {**TWO_ORIGINS, "population": {**TWO_ORIGINS["population"]}}
    changes["population"]["waves"] = {
        **TWO_ORIGINS["population"]["waves"],
        "first": {"at": 0, "count": 2, "origin": origin},
        "joining": {"at": 1, "share": 1.0, "origin": origin},
    }
    scenario = make_scenario(changes)
    assert scenario.population.origins() == (origin,)
    _, results = run_model(scenario)
    assert results.outcomes["departed"] == 5
    assert not [k for k in results.outcomes if k.startswith("departed_from_")]
