"""One behaviour for every caravan: reactions to enforcement that a rule's entry leaves out come
from the scenario's `behaviour:` section, by hold class."""

from __future__ import annotations

from typing import Any

import pytest

import sim
from sim.errors import ScenarioError

GIVE_UP = {"scale_h": 3.0, "shape": 1.5, "return_share": 0.6}
REACTIONS = {"give_up": GIVE_UP, "slip_chance_per_h": 0.05, "clearance_return_share": 0.5}


def blockade(**reactions: Any) -> dict[str, Any]:
    return {"kind": "blockade", "place": "B", "active": [-1, 8], **reactions}


def scenario(make_scenario: Any, **changes: Any) -> sim.Scenario:
    return make_scenario({"time": {"duration_h": 16}, "population": {"size": 60}, **changes})


def test_reactions_left_out_come_from_the_behaviour(make_scenario: Any) -> None:
    inline = scenario(make_scenario, authorities={"road": blockade(**REACTIONS)})
    shared = scenario(
        make_scenario,
        authorities={"road": blockade()},
        behaviour={"when_held": {"blockade": REACTIONS}},
    )
    assert sim.run(shared, seed=4).outcomes == sim.run(inline, seed=4).outcomes
    # and the run is one in which people gave up, slipped past and were cleared
    out = sim.run(inline, seed=4).outcomes
    assert out["returned_voluntarily"] > 0
    assert out["slipped_past_blockades"] > 0


def test_an_entry_overrides_the_behaviour(make_scenario: Any) -> None:
    never = {"scale_h": 1.0e12, "shape": 1.0, "return_share": 1.0}
    mixed = scenario(
        make_scenario,
        authorities={"road": blockade(give_up=never)},
        behaviour={"when_held": {"blockade": REACTIONS}},
    )
    inline = scenario(
        make_scenario, authorities={"road": blockade(**{**REACTIONS, "give_up": never})}
    )
    assert sim.run(mixed, seed=4).outcomes == sim.run(inline, seed=4).outcomes


def test_a_behaviour_key_set_later_reaches_the_rule(make_scenario: Any) -> None:
    """Calibration and sweeps set behaviour keys on a loaded scenario (`sim.derive`)."""
    base = scenario(
        make_scenario,
        authorities={"road": blockade()},
        behaviour={"when_held": {"blockade": REACTIONS}},
    )
    stay = sim.derive(base, {"behaviour.when_held.blockade.give_up.scale_h": 1.0e12})
    inline = scenario(
        make_scenario,
        authorities={"road": blockade(**{**REACTIONS, "give_up": {**GIVE_UP, "scale_h": 1.0e12}})},
    )
    assert sim.run(stay, seed=4).outcomes == sim.run(inline, seed=4).outcomes
    assert sim.run(stay, seed=4).outcomes != sim.run(base, seed=4).outcomes


def test_a_reaction_given_nowhere_is_named(make_scenario: Any) -> None:
    path = make_scenario.write(
        {
            "authorities": {"road": blockade(give_up=GIVE_UP, slip_chance_per_h=0.0)},
            "behaviour": {"when_held": {"border": REACTIONS}},
        }
    )
    with pytest.raises(ScenarioError) as caught:
        sim.load(path)
    assert str(caught.value).endswith(
        "authorities.road: missing 'clearance_return_share': give it in this entry, or as "
        "behaviour.when_held.blockade.clearance_return_share for everyone held at a blockade"
    )


def test_an_unknown_hold_class_is_refused(make_scenario: Any) -> None:
    path = make_scenario.write({"behaviour": {"when_held": {"roadblock": REACTIONS}}})
    with pytest.raises(ScenarioError) as caught:
        sim.load(path)
    assert str(caught.value).endswith(
        "behaviour.when_held: unknown hold class 'roadblock'; expected one of: border, blockade"
    )
