"""A border force at a crossing: holds the crowd until it breaks through or gives up; a force
that is overrun may thin out, or stand down for the rest of its window."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field

from sim import rng
from sim.rules.base import (
    AtOnePlace,
    Event,
    FleeNote,
    GiveUp,
    MapMark,
    Rule,
    StepContext,
)
from sim.rules.effects import Effects
from sim.schema import MAX_FORCE, RatePerH, UnitFloat


class BorderControlSpec(AtOnePlace):
    added_since_0_1 = frozenset({"force_share_after_breakthrough"})
    kind: Literal["border_control"]
    force: Annotated[int, Field(ge=1, le=MAX_FORCE)]  # police and soldiers
    push_rate_per_h: RatePerH  # breakthrough rate per hour when the crowd equals the force
    give_up: GiveUp | None = None  # left out: behaviour.when_held.border.give_up
    # Share of the force still standing after each breakthrough (1: all of it, as if never
    # overrun; 0: it stands down at the first). Below one person, it stands down.
    force_share_after_breakthrough: UnitFloat = 1.0


class BorderControl(Rule):
    """Holds everyone who reaches the crossing. Each step the crowd held there breaks through
    with chance 1 - exp(-push_rate_per_h * step_h * crowd / force): the larger the crowd against
    the force, the likelier; a breakthrough lets those held go on, and arrivals pass, for that
    step. Held people give up on a Weibull hazard and go back.

    After each breakthrough the force is `force_share_after_breakthrough` times what it was
    (so the same crowd breaks through more easily); once it is below one person it stands down:
    for the rest of its window it holds nobody (those held go on, arrivals pass). The force in
    the field is this rule's state (`force_left`): `force` when the model builds the rule, which
    it does for every run."""

    kind = "border_control"
    Spec = BorderControlSpec
    spec: BorderControlSpec
    writes = frozenset(
        {
            "hold",
            "release",
            "give_up_scale_h",
            "give_up_shape",
            "give_up_return_share",
            "slip_chance",  # none slip past a force (a blockade before it may have left one)
        }
    )
    holds_as = "border"
    reactions = ("give_up",)
    map_mark = MapMark("s", "navy", 150.0, "border force")
    flee_closes = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The force in the field: this run's own (a model builds its rules afresh).
        self.force_left = float(self.spec.force)

    @property
    def standing(self) -> bool:
        """Whether the force still holds people (it stands down below one person)."""
        return self.force_left >= 1.0

    def apply(self, fx: Effects, ctx: StepContext) -> None:
        self._hold(fx, self.reaction("give_up"))
        for p in self.places:
            fx.place["slip_chance"][p] = 0.0

    def undo(self, fx: Effects, ctx: StepContext) -> None:
        for p in self.places:
            fx.place["hold"][p] = 0

    def breach_chance(self, crowd: int, step_h: float) -> float:
        """Chance that `crowd` held here breaks through in a step of `step_h` hours, against
        the force left."""
        return 1.0 - math.exp(-self.spec.push_rate_per_h * step_h * crowd / self.force_left)

    def before_step(self, fx: Effects, ctx: StepContext) -> list[Event]:
        if not self.standing:
            return []
        events = []
        for p, place_id in zip(self.places, self.place_ids, strict=True):
            crowd = int(ctx.held_by_place[p])
            if crowd == 0:
                continue
            if rng.uniform(ctx.key, rng.BREACH, p, ctx.step, 0) < self.breach_chance(
                crowd, ctx.step_h
            ):
                fx.place["release"][p] = 1
                events.append(Event(ctx.t_h, self.name, "crowd_breaks_through", place_id, crowd))
                events += self._after_breakthrough(fx, ctx)
        return events

    def _after_breakthrough(self, fx: Effects, ctx: StepContext) -> list[Event]:
        """The force thins out; below one person it stands down: no hold from this step on."""
        self.force_left *= self.spec.force_share_after_breakthrough
        if self.standing:
            return []
        detail = f"{self.force_left:.3g} of {self.spec.force} left"
        self.force_left = 0.0
        self.undo(fx, ctx)
        return [
            Event(ctx.t_h, self.name, "force_stands_down", p, detail=detail) for p in self.place_ids
        ]

    @classmethod
    def flee_note(cls, spec: Any, closure: str) -> FleeNote:
        thinning = (
            ", the force thinning out or standing down after them (force_share_after_breakthrough)"
            if spec is not None and spec.force_share_after_breakthrough < 1.0
            else ""
        )
        return FleeNote(
            "approximated",
            f"{closure}: nobody reaches or leaves it while the force stands; "
            f"crowds breaking through (force, push_rate_per_h){thinning} and giving up "
            "(give_up) are dropped",
        )
