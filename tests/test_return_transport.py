"""Return transport (`kind: return_transport`): hand-computed cases on the micro network
A -10 km- B -20 km- C (conftest.py), and the January 2021 scenario with buses at Vado Hondo.

On the micro network the walkers reach B, the crossing, at the end of hour 2 (step 1). A
blockade there from hour -1 to hour 5 holds them; nobody gives up, and the clearance at hour 5
sends everyone back (`clearance_return_share: 1`). Without transport they are back at A in that
step, recorded at hour 6."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sim
from sim.errors import ScenarioError
from sim.model import CaravanModel, release
from sim.population import AWAITING_TRANSPORT, RETURNED
from sim.results import outcomes_until
from sim.rundir import load_run, write_run

NEVER_GIVE_UP = {"scale_h": 1.0e12, "shape": 1.0, "return_share": 1.0}
BLOCKADE = {
    "kind": "blockade",
    "place": "B",
    "active": [-1, 5],
    "give_up": NEVER_GIVE_UP,
    "slip_chance_per_h": 0.0,
    "clearance_return_share": 1.0,
}


def transport(active: list[float], **keys: Any) -> dict[str, Any]:
    return {
        "kind": "return_transport",
        "places": ["B"],
        "active": active,
        "capacity_per_h": 1000,
        "travel_h": 3,
        **keys,
    }


def scenario_with(
    make_scenario: Any, size: int = 20, hours: int = 16, **authorities: Any
) -> sim.Scenario:
    return make_scenario(
        {
            "time": {"duration_h": hours},
            "population": {"size": size},
            "authorities": {"roadblock": BLOCKADE, **authorities},
        }
    )


def hour_of(results: sim.Results, series: str, value: int) -> float:
    reached = np.flatnonzero(results.series()[series] >= value)
    assert reached.size, f"{series} never reaches {value}"
    return float(results.hours[reached[0]])


def test_without_transport_the_cleared_are_back_at_once(make_scenario: Any) -> None:
    results = sim.run(scenario_with(make_scenario), seed=0)
    assert hour_of(results, "cum_returned_voluntarily", 20) == 6.0
    assert "n_awaiting_return_transport" not in results.series()  # no transport: no columns
    assert "awaiting_return_transport" not in results.outcomes


def test_riders_are_counted_as_returned_when_they_arrive(make_scenario: Any) -> None:
    scenario = scenario_with(make_scenario, buses=transport([0, 100]))
    model = CaravanModel(scenario, seed=0)
    try:
        results = model.run()
        series = results.series()
        # Cleared in the step from hour 5: waiting at B at hour 6; board in the step from hour
        # 6 (recorded at 7); ride 3 steps; back at A in the step from hour 9, recorded at 10.
        at = {float(h): k for k, h in enumerate(results.hours)}
        assert series["n_awaiting_return_transport"][at[6.0]] == 20
        assert series["new_boarded_return_transport"][at[7.0]] == 20
        assert [series["n_in_return_transport"][at[h]] for h in (7.0, 8.0, 9.0, 10.0)] == [
            20,
            20,
            20,
            0,
        ]
        assert hour_of(results, "cum_returned_voluntarily", 1) == 10.0
        assert series["new_returned_voluntarily"][at[10.0]] == 20
        assert results.at_places("n_awaiting_return_transport")[at[6.0], 1] == 20  # at B
        assert (model.migrants.status == RETURNED).all()
        assert (model.migrants.place == model.network.index("A")).all()  # nearest return point
        assert results.outcomes["returned_voluntarily"] == 20
        assert results.outcomes["awaiting_return_transport"] == 0
        assert results.outcomes["in_return_transport"] == 0
    finally:
        release(model)


def test_riders_are_carried_to_the_place_named(make_scenario: Any) -> None:
    scenario = scenario_with(make_scenario, buses=transport([0, 100], to="C"))
    model = CaravanModel(scenario, seed=0)
    try:
        model.run()
        assert (model.migrants.place == model.network.index("C")).all()
    finally:
        release(model)


def test_returns_are_counted_at_a_place_transport_serves_and_carries_to(
    make_scenario: Any,
) -> None:
    """Transport that serves B and carries people to B itself (as October 2020's army trucks
    serve Corinto and carry to it): B is a return point of the run, with its own count."""
    results = sim.run(scenario_with(make_scenario, buses=transport([0, 100], to="B")), seed=0)
    assert results.outcomes["returned_to_B"] == results.outcomes["returned_voluntarily"] == 20
    assert "returned_to_A" in results.outcomes


def test_a_ride_of_no_time_returns_them_in_the_step_they_board(make_scenario: Any) -> None:
    results = sim.run(scenario_with(make_scenario, buses=transport([0, 100], travel_h=0)))
    assert hour_of(results, "cum_returned_voluntarily", 20) == 7.0  # waited one step
    assert results.series()["n_in_return_transport"].max() == 0


def test_capacity_limits_how_many_board_each_hour(make_scenario: Any) -> None:
    scenario = scenario_with(
        make_scenario, size=200, hours=40, buses=transport([0, 100], capacity_per_h=25)
    )
    results = sim.run(scenario, seed=3)
    boarded = results.series()["new_boarded_return_transport"]
    first = int(np.flatnonzero(boarded)[0])
    # 200 waiting, 25 seats: each person boards with chance 1/8 in the first hour (binomial,
    # sd 4.7), and as the queue shrinks the chance grows; everyone is gone within the run.
    assert 10 <= boarded[first] <= 40
    assert 7 <= np.count_nonzero(boarded) <= 20
    assert boarded.sum() == 200
    assert results.outcomes["returned_voluntarily"] == 200


def test_those_still_waiting_when_transport_stops_go_back_on_their_own(
    make_scenario: Any,
) -> None:
    scenario = scenario_with(make_scenario, buses=transport([0, 6]))
    model = CaravanModel(scenario, seed=0)
    try:
        model.step(), model.step(), model.step(), model.step(), model.step(), model.step()
        assert (model.migrants.status == AWAITING_TRANSPORT).all()  # cleared at hour 5
        results = model.run()
        assert hour_of(results, "cum_returned_voluntarily", 20) == 7.0
        assert results.series()["cum_boarded_return_transport"][-1] == 0
        left = [e for e in results.events if e["kind"] == "left_waiting"]
        assert left == [
            {
                "t_h": 6.0,
                "authority": "buses",
                "kind": "left_waiting",
                "place": "B",
                "count": 20,
                "detail": "",
            }
        ]
    finally:
        release(model)


def test_everyone_is_in_exactly_one_outcome_at_every_step(make_scenario: Any) -> None:
    scenario = scenario_with(make_scenario, size=60, buses=transport([0, 9], capacity_per_h=8))
    results = sim.run(scenario, seed=1)
    partition = results.layout.partition
    assert {"awaiting_return_transport", "in_return_transport"} <= set(partition)
    for step in range(results.n_steps):
        outcomes = outcomes_until(results, step)
        assert sum(outcomes[k] for k in partition) == outcomes["departed"], step


def test_a_run_directory_keeps_and_reads_back_the_transport_counts(
    make_scenario: Any, tmp_path: Path
) -> None:
    scenario = scenario_with(make_scenario, buses=transport([0, 100]))
    runs = [sim.run(scenario, seed=s) for s in (0, 1)]
    write_run(tmp_path / "run", scenario, runs)
    saved = load_run(tmp_path / "run")
    for before, after in zip(runs, saved.replicates, strict=True):
        assert after.layout.columns == before.layout.columns
        np.testing.assert_array_equal(after.counts, before.counts)
        np.testing.assert_array_equal(after.places, before.places)
        assert after.outcomes == before.outcomes
    assert "awaiting_return_transport" in saved.summary["partition"]


def test_a_place_to_carry_people_to_must_exist(make_scenario: Any) -> None:
    path = make_scenario.write(
        {"authorities": {"roadblock": BLOCKADE, "buses": transport([0, 9], to="Z")}}
    )
    with pytest.raises(ScenarioError, match=r"authorities\.buses\.to: unknown place 'Z'"):
        sim.load(path)


def test_two_transports_at_one_place_at_once_are_refused(make_scenario: Any) -> None:
    path = make_scenario.write(
        {"authorities": {"first": transport([0, 9]), "second": transport([5, 12])}}
    )
    with pytest.raises(ScenarioError) as caught:
        sim.load(path)
    assert str(caught.value).endswith(
        "authorities.second.active: overlaps 'first', which already has return transport at "
        "B then; one at a time"
    )


def test_buses_at_vado_hondo_change_when_people_count_as_returned_not_who(
    january_path: Path,
) -> None:
    """With buses at the blockade, everyone who went back without them is returned, waiting or
    riding: nothing else changes (the other draws are the same: common random numbers)."""
    base = sim.load(january_path, ["population.size=3000"])
    blockade = base.authorities["vado_hondo_blockade"].active
    buses = sim.derive(
        base,
        {
            "authorities.vado_hondo_buses": {
                "kind": "return_transport",
                "places": ["vado_hondo"],
                "active": {"start": blockade.start, "end": base.time.start.replace(day=25)},
                "capacity_per_h": 60,
                "travel_h": 4,
                "to": "el_florido_border",
            }
        },
    )
    without, with_buses = sim.run(base, seed=2), sim.run(buses, seed=2)
    going_back = ("returned_voluntarily", "awaiting_return_transport", "in_return_transport")
    assert sum(with_buses.outcomes[k] for k in going_back) == without.outcomes[going_back[0]]
    assert with_buses.series()["n_awaiting_return_transport"].max() > 60  # a queue formed
    assert {k: v for k, v in with_buses.outcomes.items() if k not in going_back} == {
        k: v for k, v in without.outcomes.items() if k != going_back[0]
    }
    # Counted later: by the clearance, fewer are back with buses than without.
    clearance = with_buses.step_at(blockade.end)
    cleared = without.series()["cum_returned_voluntarily"][clearance + 1]
    assert with_buses.series()["cum_returned_voluntarily"][clearance + 1] < cleared


# With `movement.return_speed_kmh`, people who go back without transport take the road: from
# B to A is 10 km, so at 2 km/h the cleared walk 5 steps. Cleared in the step from hour 5,
# on their way from hour 6, back at A in the step from hour 10, recorded at hour 11.
def test_with_a_return_speed_the_cleared_walk_back_and_count_on_arrival(
    make_scenario: Any,
) -> None:
    scenario = sim.derive(scenario_with(make_scenario), {"movement.return_speed_kmh": 2.0})
    results = sim.run(scenario, seed=0)
    series = results.series()
    at = {float(h): k for k, h in enumerate(results.hours)}
    assert series["n_going_back"][at[6.0]] == 20
    assert series["n_going_back"][at[10.0]] == 20
    assert series["n_going_back"][at[11.0]] == 0
    assert hour_of(results, "cum_returned_voluntarily", 1) == 11.0
    assert hour_of(results, "cum_returned_voluntarily", 20) == 11.0
    returned_at_a = results.at_places("new_returned_here")[:, results.place_ids.index("A")]
    assert returned_at_a[at[11.0]] == 20
    assert returned_at_a.sum() == 20


def test_a_return_speed_leaves_who_returns_unchanged(make_scenario: Any) -> None:
    base = scenario_with(make_scenario, size=60)
    walking = sim.derive(base, {"movement.return_speed_kmh": 2.0})
    at_once, walked = sim.run(base, seed=3), sim.run(walking, seed=3)
    assert walked.outcomes["returned_voluntarily"] == at_once.outcomes["returned_voluntarily"]
    assert "n_going_back" not in at_once.series()  # off unless a scenario names it
    assert "going_back" not in at_once.outcomes


def test_someone_on_the_way_back_is_in_exactly_one_outcome(make_scenario: Any) -> None:
    scenario = sim.derive(
        scenario_with(make_scenario, size=60, hours=9), {"movement.return_speed_kmh": 1.0}
    )
    results = sim.run(scenario, seed=1)
    assert results.outcomes["going_back"] == 60  # cleared at hour 5, 10 km at 1 km/h
    partition = results.layout.partition
    for step in range(results.n_steps):
        outcomes = outcomes_until(results, step)
        assert sum(outcomes[k] for k in partition) == outcomes["departed"], step


def test_those_left_waiting_when_transport_stops_walk_back(make_scenario: Any) -> None:
    scenario = sim.derive(
        scenario_with(make_scenario, buses=transport([0, 6])), {"movement.return_speed_kmh": 5.0}
    )
    results = sim.run(scenario, seed=0)
    # Left waiting in the step from hour 6; 10 km at 5 km/h: back in the step from hour 8.
    assert hour_of(results, "cum_returned_voluntarily", 20) == 9.0
