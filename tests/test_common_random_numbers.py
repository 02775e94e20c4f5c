"""Common random numbers: a rule on one branch of the network changes nothing for the people
who never go there.

The network is a Y: O - J, then J - X1 - D1 and J - X2 - D2 (destinations D1 and D2, X1 and
X2 crossings into Guatemala). The same seed is run with and without a blockade at X2; with
crowd_weight 0 the route weights do not depend on what others did, so everybody draws the same
route in both runs, and those on the X1 branch see the same numbers for every decision.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sim.model import CaravanModel

Y_NETWORK = {
    "places": [
        {"id": "O", "country": "HN", "lat": 15.5, "lon": -88.0, "kind": ["origin", "return_point"]},
        {"id": "J", "country": "HN", "lat": 15.0, "lon": -88.5, "kind": ["junction"]},
        {"id": "X1", "country": "HN-GT", "lat": 15.2, "lon": -89.0, "kind": ["border_crossing"]},
        {"id": "D1", "country": "GT-MX", "lat": 15.4, "lon": -91.0, "kind": ["border_crossing"]},
        {"id": "X2", "country": "HN-GT", "lat": 14.6, "lon": -89.2, "kind": ["border_crossing"]},
        {"id": "D2", "country": "GT-MX", "lat": 14.6, "lon": -92.0, "kind": ["border_crossing"]},
    ],
    "roads": [
        {"between": ["O", "J"], "length_km": 12},
        {"between": ["J", "X1"], "length_km": 25},
        {"between": ["X1", "D1"], "length_km": 40},
        {"between": ["J", "X2"], "length_km": 30},
        {"between": ["X2", "D2"], "length_km": 45},
    ],
}

GIVE_UP = {"scale_h": 12.0, "shape": 1.5, "return_share": 0.5}

# Rules on both branches, the same in both runs: a border force that gets pushed through and
# people who give up at X1, checkpoints on the trunk and on X1's branch, tests at X1 and X2.
COMMON = {
    "name": "y-network",
    "time": {"duration_h": 60, "step_h": 1},
    "network": Y_NETWORK,
    "population": {
        "size": 600,
        "origin": "O",
        "waves": {"only": {"at": 0, "share": 1.0, "spread_h": 12}},
        "group_size": {"sizes": [1, 2, 3, 5], "shares": [0.4, 0.3, 0.2, 0.1]},
    },
    "movement": {
        "walking_speed_kmh": 4,
        "day_starts_h": 5,
        "day_ends_h": 21,
        "ride_chance_per_h": {"HN": 0.15, "GT": 0.05},
        "ride_speed_kmh": 40,
        "dispersed_speed_factor": 0.4,
    },
    "route_choice": {
        "destinations": ["D1", "D2"],
        "detour_scale_km": 60,
        "max_detour_km": 100,
        "crowd_weight": 0,
    },
    "health": {"prevalence": 0.3, "sensitivity": 0.85, "specificity": 0.95, "quarantine_days": 1},
    "authorities": {
        "force_x1": {
            "kind": "border_control",
            "place": "X1",
            "active": [4, 30],
            "force": 100,
            "push_rate_per_h": 0.2,
            "give_up": GIVE_UP,
        },
        "checks": {
            "kind": "checkpoints",
            "places": ["J", "D1"],
            "active": [0, 60],
            "intercept_chance": 0.15,
            "dispersed_intercept_factor": 0.5,
        },
        "tests": {
            "kind": "health_posts",
            "places": ["X1", "X2"],
            "active": [0, 60],
            "test_chance_on_arrival": 0.3,
            "test_chance_per_h_held": 0.05,
        },
    },
}

BLOCKADE_X2 = {
    "kind": "blockade",
    "place": "X2",
    "active": [6, 30],
    "give_up": GIVE_UP,
    "slip_chance_per_h": 0.02,
    "clearance_return_share": 0.6,
}


def run_pair(make_scenario: Any, seed: int) -> tuple[CaravanModel, CaravanModel]:
    without = CaravanModel(make_scenario(COMMON), seed=seed)
    with_blockade = CaravanModel(
        make_scenario({**COMMON, "authorities": {**COMMON["authorities"], "block": BLOCKADE_X2}}),
        seed=seed,
    )
    without.run()
    with_blockade.run()
    return without, with_blockade


@pytest.mark.parametrize("seed", [0, 11])
def test_blockade_on_x2_changes_nothing_for_those_via_x1(make_scenario: Any, seed: int) -> None:
    without, with_blockade = run_pair(make_scenario, seed)
    a, b = without.migrants, with_blockade.migrants
    routes = without.network.routes
    assert [r.places for r in routes] == [r.places for r in with_blockade.network.routes]
    assert {r.places for r in routes} == {("O", "J", "X1", "D1"), ("O", "J", "X2", "D2")}
    np.testing.assert_array_equal(a.group, b.group)
    np.testing.assert_array_equal(a.route, b.route)  # drawn before anyone reaches X2

    via_x1 = np.array(["X1" in routes[r].places for r in a.route])
    via_x2 = ~via_x1
    assert via_x1.sum() > 50
    assert via_x2.sum() > 50
    for name in ("status", "place", "leg", "km", "flags", "timer_step"):
        np.testing.assert_array_equal(
            getattr(a, name)[via_x1], getattr(b, name)[via_x1], err_msg=name
        )

    # Negative control: the blockade did something to those on the X2 branch.
    differs = np.zeros(a.n, dtype=bool)
    for name in ("status", "place", "leg", "km", "flags"):
        differs |= getattr(a, name) != getattr(b, name)
    assert differs[via_x2].sum() > 10
    assert not differs[via_x1].any()
    assert with_blockade.recorder.places[:, with_blockade.network.index("X2"), 1].max() > 10


def test_x1_branch_time_series_match_step_by_step(make_scenario: Any) -> None:
    # Counts at the places of the X1 branch are the same at every step in both runs.
    without, with_blockade = run_pair(make_scenario, seed=5)
    for place in ("X1", "D1"):
        i = without.network.index(place)
        np.testing.assert_array_equal(
            without.recorder.places[:, i], with_blockade.recorder.places[:, i], err_msg=place
        )
    held_x2 = with_blockade.recorder.places[:, with_blockade.network.index("X2"), 1]
    assert held_x2.max() > 0
    assert without.recorder.places[:, without.network.index("X2"), 1].max() == 0
