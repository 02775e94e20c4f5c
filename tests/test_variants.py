"""Scenario variants for counterfactuals: removing authorities (`sim.without_authorities`),
adding one (`sim.derive`), and the rule that two authorities of one kind never act on one place
at the same time (they would overwrite each other's rule)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import sim
from sim.errors import ScenarioError
from sim.scenario import load

HEALTH_POST = {
    "kind": "health_posts",
    "places": ["B"],
    "test_chance_on_arrival": 1.0,
}
BLOCKADE = {
    "kind": "blockade",
    "place": "B",
    "give_up": {"scale_h": 10, "shape": 1.5, "return_share": 1.0},
    "slip_chance_per_h": 0.0,
    "clearance_return_share": 1.0,
}
FORCE = {
    "kind": "border_control",
    "place": "B",
    "force": 10,
    "push_rate_per_h": 0.0,
    "give_up": {"scale_h": 10, "shape": 1.5, "return_share": 1.0},
}


def authorities(**specs: tuple[dict[str, Any], list[float]]) -> dict[str, Any]:
    """`name=(spec, [start_h, end_h])` -> the scenario's authorities section."""
    return {
        "authorities": {name: {**spec, "active": hours} for name, (spec, hours) in specs.items()}
    }


def line_of(path: Path, key: str, below: str) -> int:
    """The 1-based line of `key` in the first block after the line `below`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, text in enumerate(lines) if text.strip() == below)
    return next(i for i in range(start, len(lines)) if lines[i].strip().startswith(key)) + 1


def test_without_authorities_drops_only_those_named(make_scenario: Any) -> None:
    base = make_scenario(
        {
            "population": {"size": 20},
            **authorities(blockade=(BLOCKADE, [0, 12]), testing=(HEALTH_POST, [0, 12])),
        }
    )
    open_road = sim.without_authorities(base, ["blockade"])
    assert list(open_road.authorities) == ["testing"]
    assert list(base.authorities) == ["blockade", "testing"]  # the base is left as it was
    held = sim.run(base, seed=0).outcomes
    passed = sim.run(open_road, seed=0).outcomes
    assert held["reached_mexican_border"] == 0  # held at B for the whole run
    assert passed["reached_mexican_border"] == 20  # 30 km at 5 km/h: all there in 6 hours
    assert "held_at_B_peak" not in passed
    assert sim.without_authorities(base, []) == base


def test_without_an_unknown_authority_names_it(make_scenario: Any) -> None:
    base = make_scenario(authorities(blockade=(BLOCKADE, [0, 12]), testing=(HEALTH_POST, [0, 12])))
    with pytest.raises(ScenarioError) as caught:
        sim.without_authorities(base, ["blockad"])
    assert str(caught.value) == (
        f"{base.source_file}: authorities.blockad: no such authority (did you mean 'blockade'?); "
        "the scenario has: blockade, testing"
    )
    with pytest.raises(ScenarioError) as caught:
        sim.without_authorities(base, ["x", "testing", "y"])
    assert str(caught.value).splitlines()[0] == "2 problems:"
    assert "authorities.x: no such authority; the scenario has" in str(caught.value)


def test_an_authority_can_be_added_by_derive(make_scenario: Any) -> None:
    base = make_scenario({"population": {"size": 20}})
    window = make_scenario.data(authorities(posts=(HEALTH_POST, [0, 12])))["authorities"]
    testing = sim.derive(base, {"authorities.posts": window["posts"]})
    assert testing.authorities["posts"].kind == "health_posts"
    assert sim.run(testing, seed=0).outcomes["tested"] == 20


def test_two_health_posts_at_one_place_at_once_are_refused(make_scenario: Any) -> None:
    path = make_scenario.write(
        authorities(first=(HEALTH_POST, [0, 6]), second=(HEALTH_POST, [5, 12]))
    )
    with pytest.raises(ScenarioError) as caught:
        load(path)
    line = line_of(path, "active:", "second:")
    assert str(caught.value) == (
        f"{path}:{line}: authorities.second.active: overlaps 'first', which already has health "
        "posts at B then; one at a time"
    )


def test_one_after_the_other_or_elsewhere_is_fine(make_scenario: Any) -> None:
    back_to_back = authorities(first=(HEALTH_POST, [0, 6]), second=(HEALTH_POST, [6, 12]))
    assert list(make_scenario(back_to_back).authorities) == ["first", "second"]
    elsewhere = {**HEALTH_POST, "places": ["C"]}
    assert make_scenario(authorities(first=(HEALTH_POST, [0, 12]), second=(elsewhere, [0, 12])))
    # a blockade and a health post at one place do not share a rule
    assert make_scenario(authorities(stop=(BLOCKADE, [0, 12]), posts=(HEALTH_POST, [0, 12])))


def test_a_force_and_a_blockade_at_one_place_at_once_are_refused(make_scenario: Any) -> None:
    path = make_scenario.write(authorities(force=(FORCE, [0, 6]), stop=(BLOCKADE, [3, 12])))
    with pytest.raises(ScenarioError) as caught:
        load(path)
    line = line_of(path, "active:", "stop:")
    assert str(caught.value) == (
        f"{path}:{line}: authorities.stop.active: overlaps 'force', which already holds people "
        "at B then; one blockade or border control per place at a time"
    )
