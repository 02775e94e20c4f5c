"""Highway checkpoints: each pass risks interception and deportation ("remitted")."""

from __future__ import annotations

from typing import Any, Literal

from sim.rules.base import AtPlaces, FleeNote, MapMark, Rule, StepContext
from sim.rules.effects import Effects
from sim.schema import UnitFloat


class CheckpointsSpec(AtPlaces):
    kind: Literal["checkpoints"]
    intercept_chance: UnitFloat
    dispersed_intercept_factor: UnitFloat


class Checkpoints(Rule):
    """A group passing a checkpoint is intercepted with `intercept_chance`, times
    `dispersed_intercept_factor` for those off the main road; intercepted people are remitted."""

    kind = "checkpoints"
    Spec = CheckpointsSpec
    spec: CheckpointsSpec
    writes = frozenset({"intercept_chance", "dispersed_intercept_factor"})
    map_mark = MapMark("^", "saddlebrown", 30.0, "checkpoint")

    def apply(self, fx: Effects, ctx: StepContext) -> None:
        for p in self.places:
            fx.place["intercept_chance"][p] = self.spec.intercept_chance
            fx.place["dispersed_intercept_factor"][p] = self.spec.dispersed_intercept_factor

    def undo(self, fx: Effects, ctx: StepContext) -> None:
        for p in self.places:
            fx.place["intercept_chance"][p] = 0.0

    @classmethod
    def flee_note(cls, spec: Any, closure: str) -> FleeNote:
        return FleeNote("dropped", "Flee cannot intercept agents and send them back (remitted)")
