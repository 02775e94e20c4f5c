"""Invariants of every run, on random small networks, populations, rules and seeds (hypothesis).

For every step: each migrant is in exactly one state; cumulative counts never fall; place and
road counts are non-negative and add up to those travelling. At the end: the PARTITION outcomes
add up to `departed`, the final statuses agree with the counters, tests and entries add up.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sim import population
from sim.model import CaravanModel
from sim.population import (
    ARRIVED,
    DEPORTED,
    DISPERSED,
    ENTERED,
    HELD_BLOCKADE,
    HELD_BORDER,
    MOVING,
    QUARANTINED,
    REMITTED,
    RETURNED,
    TESTED,
    WAITING,
)
from sim.results import PARTITION, Results
from sim.scenario import Scenario

COUNTRIES = ["HN", "HN-GT", "GT", "GT-MX", "MX"]
STEPS_H = [0.5, 1.0, 2.0]

Series = dict[str, npt.NDArray[np.int64]]  # a run's counters by column, one value per step

unit = st.one_of(st.floats(0.0, 1.0), st.sampled_from([1.0, 0.0]))


@st.composite
def networks(draw: st.DrawFn) -> tuple[dict[str, Any], list[str], list[int]]:
    """A random tree over 4-9 places (P0 the origin) plus up to three extra roads, lengths
    1-80 km. Also returns each place's parent in the tree."""
    n = draw(st.integers(4, 9))
    ids = [f"P{k}" for k in range(n)]
    parent = [-1] + [draw(st.integers(0, k - 1)) for k in range(1, n)]
    edges = {(parent[k], k) for k in range(1, n)}
    for a, b in draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3)):
        if a != b and (min(a, b), max(a, b)) not in edges:
            edges.add((min(a, b), max(a, b)))
    places = []
    for k, pid in enumerate(ids):
        country = "HN" if k == 0 else draw(st.sampled_from(COUNTRIES))
        kind = ["border_crossing"] if "-" in country else ["town"]
        if k == 0:
            kind = ["origin"]
        if draw(st.booleans()):
            kind.append("return_point")
        places.append(
            {
                "id": pid,
                "country": country,
                "lat": 14.0 + k / 10,
                "lon": -88.0 - k / 10,
                "kind": kind,
            }
        )
    roads = [
        {"between": [ids[a], ids[b]], "length_km": draw(st.integers(10, 800)) / 10}
        for a, b in sorted(edges)
    ]
    return {"places": places, "roads": roads}, ids, parent


def windows(duration_h: float) -> st.SearchStrategy[list[float]]:
    """[start, end] in hours from the scenario start, from before it to after its end."""
    starts = st.integers(-24, int(duration_h)).map(lambda k: k / 2)  # mostly the first half
    lengths = st.integers(1, int(2 * duration_h) + 24).map(lambda k: k / 2)
    random = st.tuples(starts, lengths).map(lambda t: [t[0], t[0] + t[1]])
    return st.one_of(random, st.just([-1.0, duration_h / 2]), st.just([-1.0, duration_h + 1]))


def give_ups() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "scale_h": st.sampled_from([10.0, 2.0, 40.0, 1.0e6]),
            "shape": st.sampled_from([0.7, 1.0, 1.5, 3.0]),
            "return_share": unit,
        }
    )


@st.composite
def scenario_changes(draw: st.DrawFn) -> tuple[dict[str, Any], int, bool]:
    network, ids, parent = draw(networks())
    others = ids[1:]
    destinations = draw(st.lists(st.sampled_from(others), min_size=1, max_size=2, unique=True))
    # Places on the tree path to the first destination: likely on a route, so rules there act.
    on_path, k = [], ids.index(destinations[0])
    while k > 0:
        on_path.append(ids[k])
        k = parent[k]
    likely = st.one_of(st.sampled_from(on_path), st.sampled_from(others))
    step_h = draw(st.sampled_from(STEPS_H))
    duration_h = float(draw(st.integers(12, 96)))
    size = draw(st.integers(1, 300))

    sizes = draw(st.lists(st.integers(1, 6), min_size=1, max_size=4, unique=True))
    weights = draw(st.lists(st.integers(1, 10), min_size=len(sizes), max_size=len(sizes)))
    shares = [w / sum(weights) for w in weights]
    waves: dict[str, Any] = {}
    if draw(st.booleans()):
        waves["first"] = {
            "at": draw(st.integers(0, 60)) / 2,
            "count": draw(st.integers(0, size)),
            "spread_h": draw(st.sampled_from([0.0, 3.0, 12.0])),
        }
    waves["only"] = {  # the micro scenario's wave, replaced
        "at": draw(st.integers(0, 60)) / 2,
        "share": 1.0,
        "spread_h": draw(st.sampled_from([0.0, 2.0, 10.0])),
    }

    authorities: dict[str, Any] = {}
    holders = draw(st.lists(likely, min_size=1, max_size=2, unique=True))
    if holders and draw(st.integers(0, 2)):
        authorities["roadblock"] = {
            "kind": "blockade",
            "place": holders[0],
            "active": draw(windows(duration_h)),
            "give_up": draw(give_ups()),
            "slip_chance_per_h": draw(st.sampled_from([0.0, 0.01, 0.2])),
            "clearance_return_share": draw(unit),
        }
    if len(holders) == 2 or (holders and "roadblock" not in authorities):
        authorities["force"] = {
            "kind": "border_control",
            "place": holders[-1],
            "active": draw(windows(duration_h)),
            "force": draw(st.integers(1, 500)),
            "push_rate_per_h": draw(st.sampled_from([0.0, 0.1, 1.0])),
            "give_up": draw(give_ups()),
            "force_share_after_breakthrough": draw(st.sampled_from([1.0, 0.5, 0.0])),
        }
    if draw(st.integers(0, 3)):
        authorities["checks"] = {
            "kind": "checkpoints",
            "places": draw(st.lists(likely, min_size=1, max_size=3, unique=True)),
            "active": draw(windows(duration_h)),
            "intercept_chance": draw(unit),
            "dispersed_intercept_factor": draw(unit),
        }
    if draw(st.integers(0, 3)):
        authorities["tests"] = {
            "kind": "health_posts",
            "places": draw(st.lists(likely, min_size=1, max_size=3, unique=True)),
            "active": draw(windows(duration_h)),
            "test_chance_on_arrival": draw(unit),
            "test_chance_per_h_held": draw(st.sampled_from([0.0, 0.05, 0.5])),
        }

    day_starts = draw(st.integers(0, 8))
    changes = {
        "name": "random",
        "time": {"duration_h": duration_h, "step_h": step_h},
        "network": network,
        "population": {
            "size": size,
            "origin": ids[0],
            "waves": waves,
            "group_size": {"sizes": sizes, "shares": shares},
        },
        "movement": {
            "walking_speed_kmh": draw(st.sampled_from([4.0, 2.0, 6.5])),
            "day_starts_h": day_starts,
            "day_ends_h": draw(st.integers(day_starts + 8, 24)),
            "ride_chance_per_h": {
                c: draw(st.sampled_from([0.1, 0.0, 0.5])) for c in ("HN", "GT", "MX")
            },
            "ride_speed_kmh": draw(st.sampled_from([20.0, 60.0])),
            "dispersed_speed_factor": draw(st.sampled_from([0.2, 0.5, 1.0])),
        },
        "route_choice": {
            "destinations": destinations,
            "detour_scale_km": draw(st.sampled_from([10.0, 60.0])),
            "max_detour_km": draw(st.sampled_from([0.0, 30.0, 200.0])),
            "max_routes": draw(st.integers(1, 8)),
            "crowd_weight": draw(st.sampled_from([0.0, 2.0])),
        },
        "authorities": authorities,
        "health": {
            "prevalence": draw(unit),
            "sensitivity": draw(st.sampled_from([0.5, 0.85, 1.0])),
            "specificity": draw(st.sampled_from([0.5, 0.99, 1.0])),
            "quarantine_days": draw(st.sampled_from([0.0, 0.25, 1.0, 3.0])),
        },
    }
    return changes, draw(st.integers(0, 2**32 - 1)), draw(st.booleans())


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=scenario_changes())
def test_every_step_accounts_for_everyone(session_scenarios: Any, case: Any) -> None:
    changes, seed, threads = case
    scenario = session_scenarios(changes)
    size = scenario.population.size
    model = CaravanModel(scenario, seed=seed, threads=threads)
    results = model.run()
    s = results.series()
    n = results.n_steps
    assert n == scenario.n_steps
    check_one_state_each(s, size, n)
    check_counts(s)
    check_places_and_roads(results, s)
    check_outcomes(results, s, size, len(model.network.entry_crossings))
    check_final_states(model, scenario, results.outcomes)


def check_one_state_each(s: Series, size: int, n: int) -> None:
    """Each migrant in exactly one state, at every step."""
    states = (
        s["n_waiting"]
        + s["n_moving"]
        + s["n_dispersed"]
        + s["n_held_border"]
        + s["n_held_blockade"]
        + s["n_quarantined"]
        + s["cum_returned_voluntarily"]
        + s["cum_remitted"]
        + s["cum_deported_after_quarantine"]
        + s["cum_reached_mexican_border"]
    )
    np.testing.assert_array_equal(states, np.full(n, size))
    np.testing.assert_array_equal(s["n_waiting"] + s["cum_departed"], np.full(n, size))


def check_counts(s: Series) -> None:
    """Flows are non-negative, so cumulative counts never fall; stocks are non-negative."""
    for name, values in s.items():
        assert (values >= 0).all(), name
        if name.startswith("cum_"):
            assert (np.diff(values) >= 0).all(), name
    assert (s["n_moving_in_guatemala"] <= s["n_moving"]).all()
    assert (s["cum_tested_positive"] <= s["cum_tested"]).all()
    np.testing.assert_array_equal(s["cum_quarantined"], s["cum_tested_positive"])
    assert (s["n_quarantined"] == s["cum_quarantined"] - s["cum_deported_after_quarantine"]).all()
    assert (s["cum_entered_guatemala"] <= s["cum_departed"]).all()


def check_places_and_roads(results: Results, s: Series) -> None:
    """Place and road counts: non-negative; those at places and on roads are those
    travelling."""
    at_place, held_here = results.places[:, :, 0], results.places[:, :, 1]
    travelling = s["n_moving"] + s["n_dispersed"] + s["n_held_border"] + s["n_held_blockade"]
    assert (results.places >= 0).all()
    assert (results.roads >= 0).all()
    assert (held_here <= at_place).all()
    assert (at_place.sum(axis=1) <= travelling).all()
    np.testing.assert_array_equal(at_place.sum(axis=1) + results.roads.sum(axis=1), travelling)
    np.testing.assert_array_equal(held_here.sum(axis=1), s["n_held_border"] + s["n_held_blockade"])


def check_outcomes(results: Results, s: Series, size: int, n_entry_crossings: int) -> None:
    """Outcomes at the end (the events show, with --hypothesis-show-statistics, which rules the
    generated cases exercised)."""
    out = results.outcomes
    for flow in ("held", "released", "slipped", "dispersed", "remitted", "returned_voluntarily"):
        event(f"{flow} > 0: {bool(s['cum_' + flow][-1])}")
    event(f"deported after quarantine > 0: {bool(out['deported_after_quarantine'])}")
    event(f"reached > 0: {bool(out['reached_mexican_border'])}")
    assert sum(out[k] for k in PARTITION) == out["departed"]
    assert out["departed"] + out["not_departed"] == size
    assert out["tested_positive"] <= out["tested"]
    via = [v for k, v in out.items() if k.startswith("entered_guatemala_via_")]
    assert len(via) == n_entry_crossings
    assert sum(via) == out["entered_guatemala"]


def check_final_states(model: CaravanModel, scenario: Scenario, out: dict[str, int]) -> None:
    """The migrants' final states agree with the counters."""
    m = model.migrants
    status, flags = m.status, m.flags
    assert int((status == WAITING).sum()) == out["not_departed"]
    assert int((status == RETURNED).sum()) == out["returned_voluntarily"]
    assert int((status == REMITTED).sum()) == out["remitted"]
    assert int((status == DEPORTED).sum()) == out["deported_after_quarantine"]
    assert int((status == QUARANTINED).sum()) == out["in_quarantine"]
    assert int((status == ARRIVED).sum()) == out["reached_mexican_border"]
    moving = status == MOVING
    # dispersed before entering Guatemala is still in transit, not dispersed in Guatemala
    dispersed_in_gt = moving & ((flags & DISPERSED) != 0) & ((flags & ENTERED) != 0)
    assert int(dispersed_in_gt.sum()) == out["dispersed_in_guatemala"]
    in_transit = (moving & ~dispersed_in_gt) | (status == HELD_BORDER)
    in_transit |= status == HELD_BLOCKADE
    assert int(in_transit.sum()) == out["in_transit"]
    assert int(((flags & ENTERED) != 0).sum()) == out["entered_guatemala"]
    assert int(((flags & TESTED) != 0).sum()) == out["tested"]
    # Arrivals stand at a destination.
    destinations = {model.network.index(d) for d in scenario.route_choice.destinations}
    assert set(m.place[status == ARRIVED].tolist()) <= destinations
    # A group's route is drawn once for the group: its members share it.
    departed = status != WAITING
    for g in np.unique(m.group[departed]):
        members = departed & (m.group == g)
        assert len(set(m.route[members].tolist())) == 1


@st.composite
def several_origins(draw: st.DrawFn) -> tuple[dict[str, Any], int, bool]:
    """A case of `scenario_changes` with one or two more waves, each leaving from a place that
    is not a destination (P0 stays the population's origin)."""
    changes, seed, threads = draw(scenario_changes())
    ids = [p["id"] for p in changes["network"]["places"]]
    destinations = changes["route_choice"]["destinations"]
    starts = [p for p in ids[1:] if p not in destinations]
    population = changes["population"]
    for k in range(draw(st.integers(1, 2))):
        count = draw(st.integers(0, 150))
        population["size"] += count
        population["waves"][f"join{k}"] = {
            "at": draw(st.integers(0, 60)) / 2,
            "count": count,
            "spread_h": draw(st.sampled_from([0.0, 5.0, 24.0])),
            "origin": draw(st.sampled_from(starts)),
        }
    return changes, seed, threads


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=several_origins())
def test_every_step_accounts_for_everyone_leaving_from_several_places(
    session_scenarios: Any, case: Any
) -> None:
    changes, seed, threads = case
    scenario = session_scenarios(changes)
    size = scenario.population.size
    model = CaravanModel(scenario, seed=seed, threads=threads)
    results = model.run()
    s = results.series()
    check_one_state_each(s, size, results.n_steps)
    check_counts(s)
    check_places_and_roads(results, s)
    check_outcomes(results, s, size, len(model.network.entry_crossings))
    check_final_states(model, scenario, results.outcomes)
    check_origins(model, scenario, results.outcomes)


def check_origins(model: CaravanModel, scenario: Scenario, out: dict[str, int]) -> None:
    """Departures by origin add up to `departed`, each as the rows of its waves; everyone who
    left took a route from where their wave leaves."""
    origins = scenario.population.origins()
    event(f"origins: {len(origins)}")
    by_origin = {k: v for k, v in out.items() if k.startswith("departed_from_")}
    if len(origins) == 1:
        assert not by_origin
        return
    assert list(by_origin) == [f"departed_from_{o}" for o in origins]
    assert sum(by_origin.values()) == out["departed"]
    m = model.migrants
    net = model.network
    route_start = net.route_arrays.place[m.route, 0]
    left = {o: 0 for o in origins}
    for name, rows in population.wave_rows(scenario.population).items():
        origin = scenario.population.origin_of(name)
        departed = m.status[rows] != WAITING
        left[origin] += int(departed.sum())
        assert (route_start[rows][departed] == net.index(origin)).all()
        assert (m.route[rows][~departed] == -1).all()
    assert left == {o: out[f"departed_from_{o}"] for o in origins}
