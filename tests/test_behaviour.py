"""One behaviour for every caravan: reactions to enforcement that a rule's entry leaves out come
from the scenario's `behaviour:` section: by hold class for those held (`when_held`), by rule kind
for people on the roads (`on_the_road`)."""

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


# Reactions on the road (`behaviour.on_the_road`, by rule kind): a state of prevention's and
# checkpoints' give-up hazard, and the checkpoints' intercept chance.


def prevention(**keys: Any) -> dict[str, Any]:
    return {"kind": "state_of_prevention", "places": ["A", "B", "C"], "active": [-1, 100], **keys}


def checkpoints(**keys: Any) -> dict[str, Any]:
    return {
        "kind": "checkpoints",
        "places": ["B"],
        "active": [-1, 100],
        "dispersed_intercept_factor": 0.5,
        **keys,
    }


ON_THE_ROAD = {
    "state_of_prevention": {"give_up_per_h": 0.05},
    "checkpoints": {"intercept_chance": 0.3, "give_up_per_h": 0.02},
}


def test_road_reactions_left_out_come_from_the_behaviour(make_scenario: Any) -> None:
    inline = scenario(
        make_scenario,
        authorities={
            "region": prevention(give_up_per_h=0.05),
            "police": checkpoints(intercept_chance=0.3, give_up_per_h=0.02),
        },
    )
    shared = scenario(
        make_scenario,
        authorities={"region": prevention(), "police": checkpoints()},
        behaviour={"on_the_road": ON_THE_ROAD},
    )
    out = sim.run(inline, seed=4).outcomes
    assert sim.run(shared, seed=4).outcomes == out
    # and a run in which people gave up on the road and were intercepted
    assert out["gave_up_on_road"] > 0
    assert out["remitted"] > 0


def test_an_entry_overrides_the_road_reaction_of_the_behaviour(make_scenario: Any) -> None:
    mixed = scenario(
        make_scenario,
        authorities={"region": prevention(give_up_per_h=0.0), "police": checkpoints()},
        behaviour={"on_the_road": ON_THE_ROAD},
    )
    inline = scenario(
        make_scenario,
        authorities={
            "region": prevention(give_up_per_h=0.0),
            "police": checkpoints(intercept_chance=0.3, give_up_per_h=0.02),
        },
    )
    assert sim.run(mixed, seed=4).outcomes == sim.run(inline, seed=4).outcomes
    assert sim.run(mixed, seed=4).outcomes["gave_up_on_road"] > 0  # the checkpoints' hazard


def test_a_give_up_hazard_given_nowhere_is_off(make_scenario: Any) -> None:
    """As in 0.1: an entry without `give_up_per_h`, and no behaviour for its kind, writes no
    hazard."""
    results = sim.run(
        scenario(
            make_scenario,
            authorities={"region": prevention(), "police": checkpoints(intercept_chance=0.3)},
        ),
        seed=4,
    )
    assert "new_gave_up_on_road" not in results.series()
    assert "gave_up_on_road" not in results.outcomes  # as in a 0.1 run


def test_a_road_reaction_set_later_reaches_the_rule(make_scenario: Any) -> None:
    """Calibration sets `behaviour.on_the_road` keys on a loaded scenario (`sim.derive`)."""
    base = scenario(
        make_scenario,
        authorities={"region": prevention(), "police": checkpoints()},
        behaviour={"on_the_road": ON_THE_ROAD},
    )
    never = sim.derive(base, {"behaviour.on_the_road.checkpoints.intercept_chance": 0.0})
    assert sim.run(never, seed=4).outcomes["remitted"] == 0
    assert sim.run(base, seed=4).outcomes["remitted"] > 0


def test_an_intercept_chance_given_nowhere_is_named(make_scenario: Any) -> None:
    path = make_scenario.write({"authorities": {"police": checkpoints()}})
    with pytest.raises(ScenarioError) as caught:
        sim.load(path)
    assert str(caught.value).endswith(
        "authorities.police: missing 'intercept_chance': give it in this entry, or as "
        "behaviour.on_the_road.checkpoints.intercept_chance for everyone on the roads under "
        "every checkpoints rule"
    )


def line_of(path: Any, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.mark.parametrize(
    ("on_the_road", "key_text", "message"),
    [
        (
            {"checkpoint": {"give_up_per_h": 0.1}},
            "checkpoint:",
            "behaviour.on_the_road.checkpoint: no rule kind 'checkpoint' with reactions on the "
            "road (did you mean 'checkpoints'?); expected one of: checkpoints, "
            "state_of_prevention",
        ),
        (
            {"blockade": {"give_up_per_h": 0.1}},
            "blockade:",
            "behaviour.on_the_road.blockade: no rule kind 'blockade' with reactions on the "
            "road; expected one of: checkpoints, state_of_prevention",
        ),
        (
            {"state_of_prevention": {"ride_factor": 0.5}},
            "ride_factor",
            "behaviour.on_the_road.state_of_prevention.ride_factor: 'state_of_prevention' has "
            "no reaction on the road 'ride_factor'; expected one of: give_up_per_h",
        ),
        (
            {"checkpoints": {"intercept_chance": 1.5}},
            "intercept_chance",
            "behaviour.on_the_road.checkpoints.intercept_chance: Input should be less than or "
            "equal to 1",
        ),
        (
            {"state_of_prevention": {"give_up_per_h": -0.1}},
            "give_up_per_h",
            "behaviour.on_the_road.state_of_prevention.give_up_per_h: Input should be greater "
            "than or equal to 0",
        ),
    ],
)
def test_a_bad_road_reaction_is_refused_at_its_line(
    make_scenario: Any, on_the_road: dict[str, Any], key_text: str, message: str
) -> None:
    path = make_scenario.write({"behaviour": {"on_the_road": on_the_road}})
    with pytest.raises(ScenarioError) as caught:
        sim.load(path)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:{line_of(path, key_text)}: {message}"
    ]
