"""A border force at a crossing: holds the crowd until it breaks through or gives up."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field

from sim import rng
from sim.rules.base import AtOnePlace, Event, FleeNote, GiveUp, MapMark, Rule, StepContext
from sim.rules.effects import Effects
from sim.schema import NonNegativeFloat


class BorderControlSpec(AtOnePlace):
    kind: Literal["border_control"]
    force: Annotated[int, Field(ge=1)]  # police and soldiers
    push_rate_per_h: NonNegativeFloat  # breakthrough rate per hour when the crowd equals the force
    give_up: GiveUp | None = None  # left out: behaviour.when_held.border.give_up


class BorderControl(Rule):
    """Holds everyone who reaches the crossing. Each step the crowd held there breaks through
    with chance 1 - exp(-push_rate_per_h * step_h * crowd / force): the larger the crowd against
    the force, the likelier. Held people give up on a Weibull hazard and go back."""

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

    def apply(self, fx: Effects, ctx: StepContext) -> None:
        self._hold(fx, self.reaction("give_up"))
        for p in self.places:
            fx.place["slip_chance"][p] = 0.0

    def undo(self, fx: Effects, ctx: StepContext) -> None:
        for p in self.places:
            fx.place["hold"][p] = 0

    def breach_chance(self, crowd: int, step_h: float) -> float:
        return 1.0 - math.exp(-self.spec.push_rate_per_h * step_h * crowd / self.spec.force)

    def before_step(self, fx: Effects, ctx: StepContext) -> list[Event]:
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
        return events

    @classmethod
    def flee_note(cls, spec: Any, closure: str) -> FleeNote:
        return FleeNote(
            "approximated",
            f"{closure}: nobody reaches or leaves it while the force stands; "
            "crowds breaking through (force, push_rate_per_h) and giving up (give_up) are "
            "dropped",
        )
