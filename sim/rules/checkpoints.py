"""Highway checkpoints: each pass risks interception and deportation ("remitted"), and the police
on the roads around them may make people give up and go back."""

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
from sim.schema import RatePerH, UnitFloat


class CheckpointsSpec(AtPlaces):
    added_since_0_1 = frozenset({"give_up_per_h"})
    kind: Literal["checkpoints"]
    # left out, these two come from behaviour.on_the_road.checkpoints
    intercept_chance: UnitFloat | None = None
    dispersed_intercept_factor: UnitFloat
    give_up_per_h: RatePerH | None = None  # hazard per hour on the roads with one at an end


class Checkpoints(Rule):
    """A group passing a checkpoint is intercepted with `intercept_chance`, times
    `dispersed_intercept_factor` for those off the main road; intercepted people are remitted.
    With `give_up_per_h`, a group on a road with a checkpoint at either end gives up with that
    hazard per hour (grown with its hours on the road, see `movement.give_up_on_road_growth_h`),
    added to any other rule's, and goes back as from the place it last passed: the police it
    has met or is about to meet. An entry that leaves out `intercept_chance` or `give_up_per_h`
    takes it from `behaviour.on_the_road.checkpoints` (how people meet any caravan's police);
    `give_up_per_h` given by neither is 0."""

    kind = "checkpoints"
    Spec = CheckpointsSpec
    spec: CheckpointsSpec
    writes = frozenset({"intercept_chance", "dispersed_intercept_factor", "give_up_per_h"})
    road_reactions = MappingProxyType({"intercept_chance": None, "give_up_per_h": 0.0})
    map_mark = MapMark("^", "saddlebrown", 30.0, "checkpoint")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.roads = self.roads_at(self.place_ids)

    @classmethod
    def writes_for(cls, spec: RuleSpec, behaviour: Behaviour | None = None) -> frozenset[str]:
        assert isinstance(spec, CheckpointsSpec)
        if cls.reaction_of(spec, "give_up_per_h", behaviour or Behaviour()) == 0.0:
            return cls.writes - {"give_up_per_h"}
        return cls.writes

    def before_step(self, fx: Effects, ctx: StepContext) -> list[Event]:
        give_up_per_h = self.reaction("give_up_per_h")
        if give_up_per_h > 0.0:
            self.add_give_up_hazard(fx, self.roads, give_up_per_h)
        return []

    def apply(self, fx: Effects, ctx: StepContext) -> None:
        for p in self.places:
            fx.place["intercept_chance"][p] = self.reaction("intercept_chance")
            fx.place["dispersed_intercept_factor"][p] = self.spec.dispersed_intercept_factor

    def undo(self, fx: Effects, ctx: StepContext) -> None:
        for p in self.places:
            fx.place["intercept_chance"][p] = 0.0

    @classmethod
    def flee_note(cls, spec: Any, closure: str) -> FleeNote:
        return FleeNote("dropped", "Flee cannot intercept agents and send them back (remitted)")
