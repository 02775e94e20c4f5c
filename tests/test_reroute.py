"""Re-routing at closed roads (`route_choice.reroute_at_closures`), with the `road_closure` rule
closing the roads. Hand-computed on a junction B with three roads on to the destination C:

    A -10 km- B -20 km- C          route 0: A-B-C    30 km
              B -10 km- D -20 km- C  route 1: A-B-D-C  40 km
              B -20 km- E -20 km- C  route 2: A-B-E-C  50 km (only in THREE_WAYS)
    A -30 km- F -10 km- C          route 3 (or 2): A-F-C  40 km, leaves A by another road

With `detour_scale_km: 10` the routes weigh 1, e^-1, e^-2 and e^-1 (times place preferences).
Walking 5 km/h all day, no rides: a group leaving A at hour 0 is at B at the end of step 1 with
nothing left of the step; on A-B-C at C at the end of step 5 (hour 6), on A-B-D-C at D at the
end of step 3 and at C at the end of step 7 (hour 8).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from conftest import DROP, ScenarioFactory
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_invariants import (
    check_counts,
    check_one_state_each,
    check_outcomes,
    check_places_and_roads,
    scenario_changes,
)

from sim import rng
from sim.errors import ScenarioError
from sim.model import CaravanModel, release
from sim.network import build
from sim.population import ARRIVED, FIRST_FINAL, HELD_FIRST, MOVING, WAITING
from sim.scenario import Scenario, load


def place(pid: str, country: str, kind: list[str]) -> dict[str, Any]:
    return {"id": pid, "country": country, "lat": 15.0, "lon": -89.0, "kind": kind}


def road(a: str, b: str, km: float) -> dict[str, Any]:
    return {"between": [a, b], "length_km": km}


PLACES = [
    place("A", "HN", ["origin", "return_point"]),
    place("B", "GT", ["town"]),
    place("C", "GT-MX", ["border_crossing"]),
    place("D", "GT", ["town"]),
    place("E", "GT", ["town"]),
    place("F", "GT", ["town"]),
]
TWO_WAYS = {
    "places": [p for p in PLACES if p["id"] != "E"],
    "roads": [
        *(road("A", "B", 10), road("B", "C", 20), road("B", "D", 10), road("D", "C", 20)),
        *(road("A", "F", 30), road("F", "C", 10)),
    ],
}
THREE_WAYS = {
    "places": PLACES,
    "roads": [*TWO_WAYS["roads"], road("B", "E", 20), road("E", "C", 20)],
}
ROUTE_ABC, ROUTE_ABDC, ROUTE_ABEC = ("A", "B", "C"), ("A", "B", "D", "C"), ("A", "B", "E", "C")

# Everyone leaves on A-B-C: the other routes weigh a millionth as much at departure (which
# does not matter among the alternatives when one is left: renormalised, it weighs 1).
ALL_ON_ABC = {"D": 1e-6, "F": 1e-6}


def closure(roads: list[list[str]], active: tuple[float, float] = (-1, 100)) -> dict[str, Any]:
    return {"kind": "road_closure", "roads": roads, "active": list(active)}


def scenario(
    make_scenario: ScenarioFactory,
    *,
    reroute: bool,
    network: dict[str, Any] = TWO_WAYS,
    size: int = 1,
    group: int = 1,
    preference: dict[str, float] | None = None,
    waves: dict[str, Any] | None = None,
    **authorities: Any,
) -> Scenario:
    return make_scenario(
        {
            "time": {"duration_h": 12},
            "network": network,
            "population": {
                "size": size,
                "group_size": {"sizes": [group], "shares": [1.0]},
                **({"waves": waves} if waves else {}),
            },
            "movement": {"ride_chance_per_h": {"HN": 0.0, "GT": 0.0}},
            "route_choice": {
                "destinations": ["C"],
                "detour_scale_km": 10,
                "max_detour_km": 100,
                "place_preference": ALL_ON_ABC if preference is None else preference,
                "reroute_at_closures": reroute,
            },
            "authorities": authorities,
        }
    )


def routes_taken(model: CaravanModel) -> list[tuple[str, ...]]:
    return [model.network.routes[r].places for r in model.migrants.route]


def arrival_hours(model: CaravanModel) -> list[float | None]:
    """Step the model to its end; for each person, the end hour of the step they arrived in."""
    hours: list[float | None] = [None] * model.migrants.n
    while model.running:
        model.step()
        for i in np.flatnonzero(model.migrants.status == ARRIVED):
            if hours[i] is None:
                hours[i] = float(model.steps)
    return hours


@pytest.fixture
def models() -> Any:
    made: list[CaravanModel] = []

    def make(sc: Scenario, seed: int = 0) -> CaravanModel:
        made.append(CaravanModel(sc, seed=seed, threads=False))
        return made[-1]

    yield make
    for m in made:
        release(m)


# --------------------------------------------------------------------------------------------
# The alternatives the network precomputes
# --------------------------------------------------------------------------------------------


def test_alternatives_share_the_journey_so_far_and_take_another_road_next(
    make_scenario: ScenarioFactory,
) -> None:
    net = build(scenario(make_scenario, reroute=True, network=THREE_WAYS))
    ids = {r.places: k for k, r in enumerate(net.routes)}
    arrays = net.route_arrays

    def alternatives(route: tuple[str, ...], k: int) -> list[tuple[str, ...]]:
        r = ids[route]
        chosen = arrays.alt_route[arrays.alt_first[r, k] : arrays.alt_end[r, k]]
        return [net.routes[j].places for j in chosen]

    # At A (k = 0) the only other first road is A-F; at B the other roads on from B.
    assert alternatives(ROUTE_ABC, 0) == [("A", "F", "C")]
    assert sorted(alternatives(ROUTE_ABC, 1)) == sorted([ROUTE_ABDC, ROUTE_ABEC])
    assert sorted(alternatives(ROUTE_ABDC, 1)) == sorted([ROUTE_ABC, ROUTE_ABEC])
    # Past the junction, at D, no route shares A-B-D: none.
    assert alternatives(ROUTE_ABDC, 2) == []
    assert alternatives(("A", "F", "C"), 1) == []


def test_without_the_key_no_alternatives_are_built(make_scenario: ScenarioFactory) -> None:
    arrays = build(scenario(make_scenario, reroute=False, network=THREE_WAYS)).route_arrays
    assert arrays.alt_route.size == 0
    assert not arrays.alt_end.any()


# --------------------------------------------------------------------------------------------
# Hand-computed
# --------------------------------------------------------------------------------------------


def test_off_people_wait_at_the_closure(make_scenario: ScenarioFactory, models: Any) -> None:
    model = models(scenario(make_scenario, reroute=False, shut=closure([["B", "C"]])))
    assert arrival_hours(model) == [None]
    assert routes_taken(model) == [ROUTE_ABC]
    assert (model.migrants.status[0], model.migrants.km[0]) == (MOVING, 0.0)
    assert model.migrants.place[0] == model.network.index("B")


def test_on_they_take_the_other_route_at_the_junction(
    make_scenario: ScenarioFactory, models: Any
) -> None:
    model = models(scenario(make_scenario, reroute=True, shut=closure([["B", "C"]])))
    assert arrival_hours(model) == [8.0]
    assert routes_taken(model) == [ROUTE_ABDC]
    # At B at the end of step 1, at D at the end of step 3: counted there, not at B.
    at_d = model.results().at_places("n_at_place")[:, model.network.index("D")]
    assert at_d.tolist()[:5] == [0, 0, 0, 1, 0]


def test_a_group_switches_together(make_scenario: ScenarioFactory, models: Any) -> None:
    model = models(
        scenario(make_scenario, reroute=True, size=4, group=4, shut=closure([["B", "C"]]))
    )
    assert arrival_hours(model) == [8.0] * 4
    assert routes_taken(model) == [ROUTE_ABDC] * 4


def test_those_already_past_the_junction_go_on(make_scenario: ScenarioFactory, models: Any) -> None:
    # One person leaves at hour 0 and is on B-C (5 km along) when it closes at hour 3; the
    # other leaves at hour 2, is at B at the end of step 3 and takes A-B-D-C: at C at hour 10.
    waves = {"only": DROP, "first": {"at": 0, "count": 1}, "second": {"at": 2, "count": 1}}
    sc = scenario(
        make_scenario, reroute=True, size=2, waves=waves, shut=closure([["B", "C"]], (3, 100))
    )
    model = models(sc)
    assert arrival_hours(model) == [6.0, 10.0]
    assert routes_taken(model) == [ROUTE_ABC, ROUTE_ABDC]


def test_people_waiting_when_the_road_closes_reroute_as_they_set_out(
    make_scenario: ScenarioFactory, models: Any
) -> None:
    # Closed at hour 2 (B-C), as the person stands at B with nothing left of step 1: it takes
    # A-B-D-C from B in step 2, as if it had reached B with the road closed.
    model = models(scenario(make_scenario, reroute=True, shut=closure([["B", "C"]], (2, 100))))
    assert arrival_hours(model) == [8.0]
    assert routes_taken(model) == [ROUTE_ABDC]


def test_with_every_road_on_closed_they_wait(make_scenario: ScenarioFactory, models: Any) -> None:
    sc = scenario(make_scenario, reroute=True, shut=closure([["B", "C"], ["B", "D"]]))
    model = models(sc)
    assert arrival_hours(model) == [None]
    assert routes_taken(model) == [ROUTE_ABC]
    assert model.migrants.place[0] == model.network.index("B")


def test_a_closure_with_no_route_around_it_makes_them_wait(
    make_scenario: ScenarioFactory, models: Any
) -> None:
    # Everyone leaves on A-B-D-C, with D-C closed: they pass B (the closure is not known
    # there), reach D, where no route shares A-B-D, and wait there.
    preference = {"D": 1e6, "F": 1e-6}
    sc = scenario(make_scenario, reroute=True, preference=preference, shut=closure([["D", "C"]]))
    model = models(sc)
    assert arrival_hours(model) == [None]
    assert routes_taken(model) == [ROUTE_ABDC]
    assert model.migrants.place[0] == model.network.index("D")


def test_the_closure_ending_lets_those_waiting_go_on(
    make_scenario: ScenarioFactory, models: Any
) -> None:
    # Off: waiting at B from the end of step 1 until the road opens at hour 4; C at hour 8.
    model = models(scenario(make_scenario, reroute=False, shut=closure([["B", "C"]], (-1, 4))))
    assert arrival_hours(model) == [8.0]


# --------------------------------------------------------------------------------------------
# Weights, determinism, invariants
# --------------------------------------------------------------------------------------------

N_GROUPS = 4000


def three_ways(make_scenario: ScenarioFactory, reroute: bool) -> Scenario:
    return scenario(
        make_scenario,
        reroute=reroute,
        network=THREE_WAYS,
        size=N_GROUPS,
        preference={},
        shut=closure([["B", "C"]]),
    )


def test_each_group_draws_among_the_open_alternatives_by_their_weights(
    make_scenario: ScenarioFactory, models: Any
) -> None:
    """Each group's route recomputed from its own draw: those who left on A-B-C take A-B-D-C
    if the group's draw at B (step 1) falls under e^-1 / (e^-1 + e^-2), else A-B-E-C; the
    others keep their route. The shares match that renormalisation."""
    seed = 5
    off, on = (
        models(three_ways(make_scenario, False), seed),
        models(three_ways(make_scenario, True), seed),
    )
    arrival_hours(off)
    arrival_hours(on)
    b = on.network.index("B")
    to_d = math.exp(-1) / (math.exp(-1) + math.exp(-2))
    expected = []
    for group, left_on in zip(off.migrants.group, routes_taken(off), strict=True):
        taken = left_on
        if left_on == ROUTE_ABC:
            u = rng.uniform(on.key, rng.REROUTE, int(group), 1, b)
            taken = ROUTE_ABDC if u < to_d else ROUTE_ABEC
        expected.append(taken)
    assert routes_taken(on) == expected
    rerouted = [r for r, before in zip(expected, routes_taken(off), strict=True) if r != before]
    share = rerouted.count(ROUTE_ABDC) / len(rerouted)
    bound = 4 * math.sqrt(to_d * (1 - to_d) / len(rerouted))
    assert len(rerouted) > N_GROUPS / 3
    assert abs(share - to_d) < bound
    assert on.results().outcomes["reached_mexican_border"] == N_GROUPS


def test_same_seed_same_routes_and_counts(make_scenario: ScenarioFactory, models: Any) -> None:
    runs = []
    for _ in range(2):
        model = models(three_ways(make_scenario, True), 3)
        results = model.run()
        runs.append((model.migrants.route.copy(), results.counts.copy(), results.roads.copy()))
    for a, b in zip(runs[0], runs[1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_everyone_is_counted_once_every_step(make_scenario: ScenarioFactory, models: Any) -> None:
    # Closures opening and closing on both branches, a blockade at D, groups of three.
    sc = make_scenario(
        {
            "time": {"duration_h": 30},
            "network": THREE_WAYS,
            "population": {
                "size": 600,
                "waves": {"only": {"at": 0, "share": 1.0, "spread_h": 12}},
                "group_size": {"sizes": [1, 3], "shares": [0.5, 0.5]},
            },
            "movement": {"ride_chance_per_h": {"HN": 0.1, "GT": 0.1}},
            "route_choice": {
                "destinations": ["C"],
                "detour_scale_km": 10,
                "max_detour_km": 100,
                "crowd_weight": 2.0,
                "reroute_at_closures": True,
            },
            "authorities": {
                "bc": closure([["B", "C"]], (3, 12)),
                "de": closure([["E", "C"], ["A", "F"]], (6, 20)),
                "hold_d": {
                    "kind": "blockade",
                    "place": "D",
                    "active": [5, 15],
                    "give_up": {"scale_h": 10, "shape": 1.5, "return_share": 0.5},
                    "slip_chance_per_h": 0.05,
                    "clearance_return_share": 0.5,
                },
            },
        }
    )
    model = models(sc, 1)
    results = model.run()
    s = results.series()
    check_one_state_each(s, 600, results.n_steps)
    check_counts(s)
    check_places_and_roads(results, s)
    # Some took another route: more than the departures chose of A-B-D-C and A-B-E-C.
    picked = model.route_picks
    ids = {r.places: k for k, r in enumerate(model.network.routes)}
    on_other = sum(r != ROUTE_ABC for r in routes_taken(model))
    assert on_other > picked.sum() - picked[ids[ROUTE_ABC]]


@st.composite
def closing_roads(draw: st.DrawFn) -> tuple[dict[str, Any], int, bool]:
    """A random case of `test_invariants` with up to two more roads, re-routing on, and one or
    two road closures."""
    changes, seed, threads = draw(scenario_changes())
    network = changes["network"]
    ids = [p["id"] for p in network["places"]]
    # Two more roads, for more ways around a closure.
    joined = {frozenset(r["between"]) for r in network["roads"]}
    for a, b in draw(st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(ids)), max_size=2)):
        if a != b and frozenset((a, b)) not in joined:
            joined.add(frozenset((a, b)))
            network["roads"].append(road(a, b, draw(st.integers(10, 800)) / 10))
    roads = [r["between"] for r in network["roads"]]
    duration_h = changes["time"]["duration_h"]
    for k in range(draw(st.integers(1, 2))):
        start = draw(st.integers(-2, int(duration_h) // 2))
        changes["authorities"][f"closure{k}"] = closure(
            draw(st.lists(st.sampled_from(roads), min_size=1, max_size=3, unique_by=tuple)),
            (start, start + draw(st.integers(1, int(duration_h) + 4))),
        )
    changes["route_choice"]["reroute_at_closures"] = True
    changes["route_choice"]["max_detour_km"] = 200.0
    changes["route_choice"]["max_routes"] = 8
    return changes, seed, threads


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=closing_roads())
def test_random_closures_keep_everyone_counted_and_on_a_route_of_theirs(
    session_scenarios: Any, case: Any
) -> None:
    """Every step accounts for everyone; at the end, everyone on the road or held stands at the
    place of their leg on their route, and a group's members there share their route."""
    changes, seed, threads = case
    sc = session_scenarios(changes)
    model = CaravanModel(sc, seed=seed, threads=threads)
    try:
        results = model.run()
        s = results.series()
        size = sc.population.size
        check_one_state_each(s, size, results.n_steps)
        check_counts(s)
        check_places_and_roads(results, s)
        check_outcomes(results, s, size, len(model.network.entry_crossings))
        m, arrays = model.migrants, model.network.route_arrays
        departed = m.route[m.status != WAITING]
        on_routes = np.bincount(departed, minlength=len(model.network.routes))
        event(f"someone took another route: {bool((on_routes != model.route_picks).any())}")
        # On the road or held: quarantined members stay behind on the route they had.
        travelling = (m.status == MOVING) | ((m.status >= HELD_FIRST) & (m.status < FIRST_FINAL))
        for i in np.flatnonzero(travelling):
            assert m.place[i] == arrays.place[m.route[i], m.leg[i]]
        for g in np.unique(m.group[travelling]):
            assert len(set(m.route[travelling & (m.group == g)].tolist())) == 1
    finally:
        release(model)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


def test_off_the_key_is_left_out_of_the_resolved_scenario(make_scenario: ScenarioFactory) -> None:
    # So that the fingerprints sweeps and calibrations take of scenarios stay as they were.
    assert "reroute_at_closures" not in make_scenario().model_dump()["route_choice"]
    on = make_scenario({"route_choice": {"reroute_at_closures": True}})
    assert on.model_dump()["route_choice"]["reroute_at_closures"] is True


def test_a_value_other_than_true_or_false_is_refused(make_scenario: ScenarioFactory) -> None:
    path = make_scenario.write({"route_choice": {"reroute_at_closures": "yes"}})
    lines = path.read_text(encoding="utf-8").splitlines()
    line = next(n for n, text in enumerate(lines, 1) if "reroute_at_closures" in text)
    with pytest.raises(ScenarioError) as info:
        load(path)
    assert str(info.value) == (
        f"{path}:{line}: route_choice.reroute_at_closures: "
        "Input should be a valid boolean (got 'yes')"
    )
