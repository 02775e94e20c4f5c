"""A blockade on the road: holds people for a window, then clears the road."""

from __future__ import annotations

import math
from typing import Any, Literal

from sim.rules.base import (
    AtOnePlace,
    Behaviour,
    Event,
    FleeNote,
    GiveUp,
    MapMark,
    Rule,
    RuleSpec,
    StepContext,
    WordAhead,
)
from sim.rules.effects import Effects
from sim.schema import UnitFloat


class BlockadeSpec(AtOnePlace):
    added_since_0_1 = frozenset({"word_ahead"})
    kind: Literal["blockade"]
    # Reactions of those held; left out, they come from behaviour.when_held.blockade.
    give_up: GiveUp | None = None
    slip_chance_per_h: UnitFloat | None = None
    clearance_return_share: UnitFloat | None = None
    word_ahead: WordAhead | None = None  # optional; see Blockade


class Blockade(Rule):
    """Holds those who reach the place while it stands (people who left the road pass).
    Held people give up on a Weibull hazard, then go back (`return_share`) or leave the road;
    a few slip past each hour. When the window ends the road is cleared:
    `clearance_return_share` of those still held go back (board the buses), the rest scatter.
    With `word_ahead` (the entry's, else the behaviour's), news of the blockade travels: while
    it stands, groups on the roads within `within_km` of it give up with `give_up_per_h`."""

    kind = "blockade"
    Spec = BlockadeSpec
    spec: BlockadeSpec
    writes = frozenset(
        {
            "hold",
            "clear",
            "clear_return_share",
            "give_up_scale_h",
            "give_up_shape",
            "give_up_return_share",
            "slip_chance",
            "give_up_per_h",  # with word_ahead only (writes_for)
        }
    )
    holds_as = "blockade"
    reactions = ("give_up", "slip_chance_per_h", "clearance_return_share")
    map_mark = MapMark("X", "red", 140.0, "blockade")
    flee_closes = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.word_ahead = self.reaction_of(self.spec, "word_ahead", self.behaviour)
        self.roads_ahead = (
            []
            if self.word_ahead is None
            else self.roads_near(self.place_ids, self.word_ahead.within_km)
        )

    @classmethod
    def writes_for(cls, spec: RuleSpec, behaviour: Behaviour | None = None) -> frozenset[str]:
        word = cls.reaction_of(spec, "word_ahead", behaviour or Behaviour())
        if word is not None and word.give_up_per_h > 0.0:
            return cls.writes
        return cls.writes - {"give_up_per_h"}

    def before_step(self, fx: Effects, ctx: StepContext) -> list[Event]:
        if self.word_ahead is not None:
            self.add_give_up_hazard(fx, self.roads_ahead, self.word_ahead.give_up_per_h)
        return []

    def apply(self, fx: Effects, ctx: StepContext) -> None:
        self._hold(fx, self.reaction("give_up"))
        # Per-step chance from the hourly one, so the step length does not change the rule.
        slip = 1.0 - math.pow(1.0 - self.reaction("slip_chance_per_h"), ctx.step_h)
        for p in self.places:
            fx.place["clear_return_share"][p] = self.reaction("clearance_return_share")
            fx.place["slip_chance"][p] = slip

    def undo(self, fx: Effects, ctx: StepContext) -> None:
        for p in self.places:
            fx.place["hold"][p] = 0
            fx.place["clear"][p] = 1  # the kernel clears whoever is still held, this step
            fx.place["slip_chance"][p] = 0.0

    def end(self, fx: Effects, ctx: StepContext) -> list[Event]:
        events = super().end(fx, ctx)
        return events + [
            Event(ctx.t_h, self.name, "blockade_cleared", place_id, int(ctx.held_by_place[p]))
            for p, place_id in zip(self.places, self.place_ids, strict=True)
        ]

    @classmethod
    def flee_note(cls, spec: Any, closure: str) -> FleeNote:
        return FleeNote(
            "approximated",
            f"{closure}: those reaching it are sent back to the place they came "
            "from; holding, giving up and going home or leaving the road (give_up), slipping "
            "past (slip_chance_per_h) and the clearance at the end are dropped",
        )
