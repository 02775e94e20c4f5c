"""The authority base class, the context it gets each step, and the events it reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import mesa
import numpy as np
import numpy.typing as npt

from sim.kernels import Policy
from sim.scenario import GiveUp

if TYPE_CHECKING:
    from sim.model import CaravanModel


@dataclass(frozen=True)
class StepContext:
    """What an authority may look at before the migrants move."""

    key: np.uint64
    step: int
    t_h: float
    step_h: float
    held_by_place: npt.NDArray[np.int64]  # held at each place at the end of the last step


@dataclass(frozen=True)
class Event:
    """Something an authority did, for the event log."""

    t_h: float
    authority: str
    kind: str
    place: str
    count: int = 0
    detail: str = ""


class Authority(mesa.Agent):  # type: ignore[misc]
    """A rule in force at one or more places during a time window."""

    kind: ClassVar[str]

    def __init__(
        self,
        model: CaravanModel,
        name: str,
        spec: Any,
        places: list[int],
        window_h: tuple[float, float],
    ) -> None:
        super().__init__(model)
        self.name = name
        self.spec = spec
        self.places = places
        self.window_h = window_h
        self.active = False

    def place_name(self, index: int) -> str:
        return str(self.model.network.place_ids[index])

    def begin(self, policy: Policy, t_h: float) -> list[Event]:
        """The window opens: write this rule into the policy."""
        self.active = True
        self._apply(policy)
        return [
            Event(t_h, self.name, f"{self.kind}_begins", self.place_name(p)) for p in self.places
        ]

    def end(self, policy: Policy, t_h: float) -> list[Event]:
        """The window closes: undo what `begin` wrote."""
        self.active = False
        self._undo(policy)
        return [Event(t_h, self.name, f"{self.kind}_ends", self.place_name(p)) for p in self.places]

    def before_step(self, policy: Policy, ctx: StepContext) -> list[Event]:
        """Per-step requests while in force (a breach, a clearance). Default: none."""
        return []

    def _hold_people(self, policy: Policy, hold_kind: int, give_up: GiveUp) -> None:
        """Ask the kernel to hold everyone reaching these places, giving up on `give_up`."""
        for p in self.places:
            policy.hold[p] = hold_kind
            policy.give_up_scale_h[p] = give_up.scale_h
            policy.give_up_shape[p] = give_up.shape
            policy.give_up_return_share[p] = give_up.return_share

    def _apply(self, policy: Policy) -> None:
        raise NotImplementedError

    def _undo(self, policy: Policy) -> None:
        raise NotImplementedError
