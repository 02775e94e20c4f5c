"""A road closure: roads between named pairs of places, closed for a window (a landslide, a
bridge out, police closing a highway)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from sim.rules.base import FleeNote, MapMark, Rule, RuleSpec, StepContext, Window
from sim.rules.effects import Effects


class RoadClosureSpec(RuleSpec):
    # each the two places a road joins
    roads: list[Annotated[list[str], Field(min_length=2, max_length=2)]] = Field(min_length=1)
    active: Window
    kind: Literal["road_closure"]

    def place_ids(self) -> list[str]:
        return [place for pair in self.roads for place in pair]

    def place_keys(self) -> list[tuple[str | int, ...]]:
        return [("roads", i, j) for i, pair in enumerate(self.roads) for j in range(len(pair))]

    def named_roads(self) -> list[tuple[tuple[str | int, ...], tuple[str, ...]]]:
        return [(("roads", i), tuple(pair)) for i, pair in enumerate(self.roads)]


class RoadClosure(Rule):
    """During its window nobody sets out along its roads, in either direction: people who would
    wait at the place before the road (or, with `route_choice.reroute_at_closures`, take
    another route from there); those already on a road when it closes go on. A road that
    several closures in force name opens when the last of them ends."""

    kind = "road_closure"
    Spec = RoadClosureSpec
    spec: RoadClosureSpec
    writes = frozenset({"closed"})
    map_mark = MapMark("s", "black", 50.0, "road closure")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ends = {frozenset(pair): k for k, pair in enumerate(self.road_ends)}
        self.roads = [ends[frozenset(pair)] for pair in self.spec.roads]

    def apply(self, fx: Effects, ctx: StepContext) -> None:
        for k in self.roads:
            fx.road["closed"][k] += 1  # several closures of one road add up

    def undo(self, fx: Effects, ctx: StepContext) -> None:
        for k in self.roads:
            fx.road["closed"][k] -= 1

    @classmethod
    def flee_note(cls, spec: Any, closure: str) -> FleeNote:
        return FleeNote(
            "dropped",
            "the export writes no link closures (Flee's closures.csv could close the roads)",
        )
