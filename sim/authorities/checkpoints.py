"""Highway checkpoints: each pass risks interception and deportation ("remitted")."""

from __future__ import annotations

from sim.authorities.base import Authority
from sim.kernels import Policy
from sim.scenario import Checkpoints as Spec


class Checkpoints(Authority):
    """A group passing a checkpoint is intercepted with `intercept_chance`, times
    `dispersed_intercept_factor` for those off the main road; intercepted people are remitted."""

    kind = "checkpoints"
    spec: Spec

    def _apply(self, policy: Policy) -> None:
        for p in self.places:
            policy.intercept_chance[p] = self.spec.intercept_chance
            policy.dispersed_intercept_factor[p] = self.spec.dispersed_intercept_factor

    def _undo(self, policy: Policy) -> None:
        for p in self.places:
            policy.intercept_chance[p] = 0.0
