"""Road closures (`kind: road_closure`), hand-computed on the micro network A -10 km- B -20 km- C
(conftest.py): one person walking 5 km/h all day is at B at the end of step 1 with nothing
left of the step, and at C at the end of step 5 (hour 6) with no closure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import ScenarioFactory

import sim
from sim.errors import ScenarioError
from sim.export import flee
from sim.model import CaravanModel, release
from sim.population import ARRIVED
from sim.scenario import load


def closure(roads: list[list[str]], active: list[float]) -> dict[str, Any]:
    return {"kind": "road_closure", "roads": roads, "active": active}


def arrival_hour(make_scenario: ScenarioFactory, **authorities: Any) -> float | None:
    model = CaravanModel(
        make_scenario({"time": {"duration_h": 16}, "authorities": authorities}), threads=False
    )
    try:
        while model.running:
            model.step()
            if model.migrants.status[0] == ARRIVED:
                return float(model.steps)
        return None
    finally:
        release(model)


def test_nobody_sets_out_along_the_road_while_it_is_closed(make_scenario: ScenarioFactory) -> None:
    # Waits at B from the end of step 1; the road opens at hour 4: 20 km more, C at hour 8.
    assert arrival_hour(make_scenario, bc=closure([["B", "C"]], [-1, 4])) == 8.0
    # Either way round, as roads are undirected.
    assert arrival_hour(make_scenario, bc=closure([["C", "B"]], [-1, 4])) == 8.0
    assert arrival_hour(make_scenario, bc=closure([["B", "C"]], [-1, 100])) is None


def test_those_on_the_road_when_it_closes_go_on(make_scenario: ScenarioFactory) -> None:
    assert arrival_hour(make_scenario, ab=closure([["A", "B"]], [1, 100])) == 6.0


def test_a_road_two_closures_name_opens_when_the_last_ends(make_scenario: ScenarioFactory) -> None:
    # B-C closed from hour -1 to 4 and from 2 to 6: open from hour 6, at C at hour 10.
    closures = {"first": closure([["B", "C"]], [-1, 4]), "second": closure([["B", "C"]], [2, 6])}
    assert arrival_hour(make_scenario, **closures) == 10.0


def test_its_window_is_logged(make_scenario: ScenarioFactory) -> None:
    scenario = make_scenario({"authorities": {"bc": closure([["B", "C"]], [3, 5])}})
    events = [(e["t_h"], e["kind"], e["place"]) for e in sim.run(scenario, 0).events]
    assert events == [
        (3.0, "road_closure_begins", "B"),
        (3.0, "road_closure_begins", "C"),
        (5.0, "road_closure_ends", "B"),
        (5.0, "road_closure_ends", "C"),
    ]


def test_the_flee_export_says_it_drops_it(make_scenario: ScenarioFactory) -> None:
    scenario = make_scenario({"authorities": {"bc": closure([["B", "C"]], [3, 5])}})
    notes = {n.feature: n for n in flee.build(scenario).notes}
    assert notes["authorities.bc"].treatment == "dropped"
    assert "closures.csv" in notes["authorities.bc"].detail


def error_of(path: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load(path)
    return str(info.value)


def line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)


def test_a_pair_that_is_no_road_is_located(make_scenario: ScenarioFactory) -> None:
    path = make_scenario.write({"authorities": {"ac": closure([["A", "B"], ["A", "C"]], [0, 5])}})
    line = line_of(path, "- [A, C]")
    assert (
        error_of(path)
        == f"{path}:{line}: authorities.ac.roads[1]: no road between A and C in the network"
    )


def test_an_unknown_place_is_located(make_scenario: ScenarioFactory) -> None:
    path = make_scenario.write({"authorities": {"ax": closure([["A", "X"]], [0, 5])}})
    line = line_of(path, "- [A, X]")
    assert error_of(path) == f"{path}:{line}: authorities.ax.roads[0][1]: unknown place 'X'"


def test_a_road_names_two_places(make_scenario: ScenarioFactory) -> None:
    path = make_scenario.write({"authorities": {"abc": closure([["A", "B", "C"]], [0, 5])}})
    line = line_of(path, "- [A, B, C]")
    assert error_of(path) == (
        f"{path}:{line}: authorities.abc.roads[0]: List should have at most 2 items after "
        "validation, not 3"
    )
