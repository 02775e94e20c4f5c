"""A blockade on the road: holds people for a window, then clears the road."""

from __future__ import annotations

import math

from sim.authorities.base import Authority, Event, StepContext
from sim.kernels import BLOCKADE, NO_HOLD, Policy
from sim.scenario import Blockade as Spec


class Blockade(Authority):
    """Holds those who reach the place while it stands (people who left the road pass).
    Held people give up on a Weibull hazard, then take return transport (`return_share`) or
    leave the road; a few slip past each hour. When the window ends the road is cleared:
    `clearance_return_share` of those still held board return buses, the rest scatter."""

    kind = "blockade"
    spec: Spec

    def _apply(self, policy: Policy) -> None:
        self._hold_people(policy, BLOCKADE, self.spec.give_up)
        for p in self.places:
            policy.clearance_return_share[p] = self.spec.clearance_return_share

    def _undo(self, policy: Policy) -> None:
        for p in self.places:
            policy.hold[p] = NO_HOLD
            policy.clearance[p] = 1  # the kernel clears whoever is still held, this step
            policy.slip_chance[p] = 0.0

    def before_step(self, policy: Policy, ctx: StepContext) -> list[Event]:
        # Per-step chance from the hourly one, so the step length does not change the rule.
        slip = 1.0 - math.pow(1.0 - self.spec.slip_chance_per_h, ctx.step_h)
        for p in self.places:
            policy.slip_chance[p] = slip
        return []

    def end(self, policy: Policy, t_h: float) -> list[Event]:
        held = self.model.held_by_place
        events = super().end(policy, t_h)
        return events + [
            Event(t_h, self.name, "blockade_cleared", self.place_name(p), int(held[p]))
            for p in self.places
        ]
