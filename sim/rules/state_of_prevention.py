"""A state of prevention over a region: police and army on its roads make people give up and go
back, and fines for drivers who carry migrants make rides rarer (or, with a factor above 1,
organised rides more common)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Literal

from sim.rules.base import (
    AtPlaces,
    Behaviour,
    Event,
    FleeNote,
    MapMark,
    Rule,
    RuleSpec,
    StepContext,
)
from sim.rules.effects import Effects
from sim.schema import Factor, RatePerH


class StateOfPreventionSpec(AtPlaces):
    added_since_0_1 = frozenset({"give_up_per_h"})
    kind: Literal["state_of_prevention"]
    # hazard per hour on the region's roads; left out, behaviour.on_the_road.state_of_prevention's
    give_up_per_h: RatePerH | None = None
    ride_factor: Factor = 1.0  # multiplies the chance of a ride into the region


class StateOfPrevention(Rule):
    """During its window, a group setting out along a road between two of its places gives up
    with hazard `give_up_per_h` per hour (grown with its hours on the road, see
    `movement.give_up_on_road_growth_h`) and goes back as from the place it last passed: to
    return transport where it serves that place, else to its nearest return point. Rides on
    roads leading to its places are `ride_factor` times as likely. Several in force at once add
    their hazards; only one at a time may change the ride factor at a place. An entry that
    leaves out `give_up_per_h` takes it from `behaviour.on_the_road.state_of_prevention` (how
    people react to any caravan's state of prevention), else 0; the ride factor is the policy's
    (fines for drivers), so the entry's own."""

    kind = "state_of_prevention"
    Spec = StateOfPreventionSpec
    spec: StateOfPreventionSpec
    writes = frozenset({"give_up_per_h", "ride_factor"})
    road_reactions = MappingProxyType({"give_up_per_h": 0.0})
    map_mark = MapMark("D", "darkorange", 40.0, "state of prevention")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.roads = self.roads_within(self.place_ids)

    @classmethod
    def writes_for(cls, spec: RuleSpec, behaviour: Behaviour | None = None) -> frozenset[str]:
        assert isinstance(spec, StateOfPreventionSpec)
        behaviour = behaviour or Behaviour()
        return frozenset(
            name
            for name, unused in (
                ("give_up_per_h", cls.reaction_of(spec, "give_up_per_h", behaviour) == 0.0),
                ("ride_factor", spec.ride_factor == 1.0),
            )
            if not unused
        )

    def apply(self, fx: Effects, ctx: StepContext) -> None:
        if "ride_factor" in self.writes_for(self.spec):
            for p in self.places:
                fx.place["ride_factor"][p] = self.spec.ride_factor

    def undo(self, fx: Effects, ctx: StepContext) -> None:
        if "ride_factor" in self.writes_for(self.spec):
            for p in self.places:
                fx.place["ride_factor"][p] = 1.0

    def before_step(self, fx: Effects, ctx: StepContext) -> list[Event]:
        self.add_give_up_hazard(fx, self.roads, self.reaction("give_up_per_h"))
        return []

    @classmethod
    def flee_note(cls, spec: Any, closure: str) -> FleeNote:
        return FleeNote(
            "dropped",
            "Flee has no hazard of giving up on a road, and no ride chances to scale",
        )
