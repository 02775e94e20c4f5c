"""A border force at a crossing: holds the crowd until it breaks through or gives up."""

from __future__ import annotations

import math

from sim import rng
from sim.authorities.base import Authority, Event, StepContext
from sim.kernels import BORDER_FORCE, NO_HOLD, Policy
from sim.scenario import BorderControl as Spec


class BorderControl(Authority):
    """Holds everyone who reaches the crossing. Each step the crowd held there breaks through
    with chance 1 - exp(-push_rate_per_h * step_h * crowd / force): the larger the crowd against
    the force, the likelier. Held people give up on a Weibull hazard and go back."""

    kind = "border_control"
    spec: Spec

    def _apply(self, policy: Policy) -> None:
        self._hold_people(policy, BORDER_FORCE, self.spec.give_up)
        for p in self.places:
            policy.slip_chance[p] = 0.0

    def _undo(self, policy: Policy) -> None:
        for p in self.places:
            policy.hold[p] = NO_HOLD

    def breach_chance(self, crowd: int, step_h: float) -> float:
        return 1.0 - math.exp(-self.spec.push_rate_per_h * step_h * crowd / self.spec.force)

    def before_step(self, policy: Policy, ctx: StepContext) -> list[Event]:
        events = []
        for p in self.places:
            crowd = int(ctx.held_by_place[p])
            if crowd == 0:
                continue
            if rng.uniform(ctx.key, rng.BREACH, p, ctx.step, 0) < self.breach_chance(
                crowd, ctx.step_h
            ):
                policy.release[p] = 1
                events.append(
                    Event(ctx.t_h, self.name, "crowd_breaks_through", self.place_name(p), crowd)
                )
        return events
