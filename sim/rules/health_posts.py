"""Health posts: COVID-19 tests for people passing or held; positives are quarantined."""

from __future__ import annotations

import math
from typing import Any, Literal

from sim.rules.base import AtPlaces, FleeNote, MapMark, Rule, StepContext
from sim.rules.effects import Effects
from sim.schema import UnitFloat


class HealthPostsSpec(AtPlaces):
    kind: Literal["health_posts"]
    test_chance_on_arrival: UnitFloat
    test_chance_per_h_held: UnitFloat = 0.0


class HealthPosts(Rule):
    """Tests a person passing with `test_chance_on_arrival`, or held here with
    `test_chance_per_h_held` each hour; nobody is tested twice. Results use the scenario's
    sensitivity and specificity; a positive is quarantined, then deported."""

    kind = "health_posts"
    Spec = HealthPostsSpec
    spec: HealthPostsSpec
    writes = frozenset({"test_chance_arrival", "test_chance_held"})
    map_mark = MapMark("P", "green", 40.0, "health post")

    def apply(self, fx: Effects, ctx: StepContext) -> None:
        held_per_step = 1.0 - math.pow(1.0 - self.spec.test_chance_per_h_held, ctx.step_h)
        for p in self.places:
            fx.place["test_chance_arrival"][p] = self.spec.test_chance_on_arrival
            fx.place["test_chance_held"][p] = held_per_step

    def undo(self, fx: Effects, ctx: StepContext) -> None:
        for p in self.places:
            fx.place["test_chance_arrival"][p] = 0.0
            fx.place["test_chance_held"][p] = 0.0

    @classmethod
    def flee_note(cls, spec: Any, closure: str) -> FleeNote:
        return FleeNote(
            "dropped",
            "testing, quarantine and deportation after it (health.*) have no Flee counterpart",
        )
