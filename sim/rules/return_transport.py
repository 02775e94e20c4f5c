"""Return transport: vehicles that carry people who gave up back to a return point, at a
capacity, taking time; they are counted as returned when they arrive."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import Field

from sim.rules.base import AtPlaces, Event, FleeNote, MapMark, Rule, StepContext
from sim.rules.effects import Effects
from sim.schema import MAX_CAPACITY_PER_H, SpanH


class ReturnTransportSpec(AtPlaces):
    kind: Literal["return_transport"]
    # people the vehicles at each place carry away per hour
    capacity_per_h: Annotated[float, Field(gt=0.0, le=MAX_CAPACITY_PER_H)]
    travel_h: SpanH  # hours from boarding to the return point
    to: str | None = None  # the return point; default: each place's nearest return point

    def named_places(self) -> list[tuple[tuple[str | int, ...], str]]:
        named = super().named_places()
        return named if self.to is None else [*named, (("to",), self.to)]


class ReturnTransport(Rule):
    """During its window, people who give up at one of its places (held there by a border force
    or blockade, or cleared from it, or on a road from it) wait there for vehicles instead of
    making their own way back (`movement.return_speed_kmh`).
    Each step the vehicles at a place take up to `capacity_per_h` x step_h of the people who
    were waiting at the end of the last step (each waiting group boards with the chance seats /
    waiting), and carry them to `to`; they are counted as returned when they arrive, `travel_h`
    later (rounded up to whole steps). When the window ends, those still waiting make their own
    way back."""

    kind = "return_transport"
    Spec = ReturnTransportSpec
    spec: ReturnTransportSpec
    writes = frozenset({"transport", "board_chance", "transport_to", "transport_steps"})
    map_mark = MapMark("v", "darkorange", 70.0, "return transport")

    def apply(self, fx: Effects, ctx: StepContext) -> None:
        to = -1 if self.spec.to is None else self.place_index[self.spec.to]
        steps = math.ceil(self.spec.travel_h / ctx.step_h - 1e-9)
        for p in self.places:
            fx.place["transport"][p] = 1
            fx.place["transport_to"][p] = to
            fx.place["transport_steps"][p] = steps

    def undo(self, fx: Effects, ctx: StepContext) -> None:
        for p in self.places:
            fx.place["transport"][p] = 0

    def before_step(self, fx: Effects, ctx: StepContext) -> list[Event]:
        seats = self.spec.capacity_per_h * ctx.step_h
        for p in self.places:
            waiting = int(ctx.awaiting_transport_by_place[p])
            fx.place["board_chance"][p] = 1.0 if waiting <= seats else seats / waiting
        return []

    def end(self, fx: Effects, ctx: StepContext) -> list[Event]:
        events = super().end(fx, ctx)
        return events + [
            Event(ctx.t_h, self.name, "left_waiting", place, int(waiting))
            for place, waiting in zip(
                self.place_ids, ctx.awaiting_transport_by_place[self.places], strict=True
            )
            if waiting
        ]

    @classmethod
    def flee_note(cls, spec: Any, closure: str) -> FleeNote:
        return FleeNote(
            "dropped", "Flee agents never go home: there is no one for return transport to carry"
        )
