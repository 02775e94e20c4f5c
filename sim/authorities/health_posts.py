"""Health posts: COVID-19 tests for people passing or held; positives are quarantined."""

from __future__ import annotations

import math

from sim.authorities.base import Authority
from sim.kernels import Policy
from sim.scenario import HealthPosts as Spec


class HealthPosts(Authority):
    """Tests a person passing with `test_chance_on_arrival`, or held here with
    `test_chance_per_h_held` each hour; nobody is tested twice. Results use the scenario's
    sensitivity and specificity; a positive is quarantined, then deported."""

    kind = "health_posts"
    spec: Spec

    def _apply(self, policy: Policy) -> None:
        held_per_step = 1.0 - math.pow(1.0 - self.spec.test_chance_per_h_held, self.model.step_h)
        for p in self.places:
            policy.test_chance_arrival[p] = self.spec.test_chance_on_arrival
            policy.test_chance_held[p] = held_per_step

    def _undo(self, policy: Policy) -> None:
        for p in self.places:
            policy.test_chance_arrival[p] = 0.0
            policy.test_chance_held[p] = 0.0
