"""Rule changes on a timetable: when each authority's window opens and closes.

Kept here rather than in Mesa's event API (which moved between Mesa 3.3 and 3.5): the model
asks the schedule at the start of each step which changes are due and applies them in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from sim.authorities import Authority

_EPS_H = 1e-9


@dataclass(frozen=True, order=True)
class RuleChange:
    t_h: float
    action_order: int  # at the same hour a closing window is undone before another opens
    sequence: int
    action: Literal["begin", "end"] = field(compare=False)
    authority: Authority = field(compare=False)


class RuleSchedule:
    """Begin and end changes of every authority, sorted by time."""

    def __init__(self, authorities: Iterable[Authority]) -> None:
        changes = []
        for seq, authority in enumerate(authorities):
            start_h, end_h = authority.window_h
            changes.append(RuleChange(start_h, 1, seq, "begin", authority))
            changes.append(RuleChange(end_h, 0, seq, "end", authority))
        # A window that has both opened and closed by one step must still begin before it ends.
        self._pending = sorted(changes, key=lambda c: (c.t_h, c.action_order, c.sequence))
        self._pending = _begin_before_end(self._pending)

    def due(self, t_h: float) -> list[RuleChange]:
        """Pop the changes whose time has come by the start of a step at `t_h`."""
        n = 0
        while n < len(self._pending) and self._pending[n].t_h <= t_h + _EPS_H:
            n += 1
        ready, self._pending = self._pending[:n], self._pending[n:]
        return ready

    def __len__(self) -> int:
        return len(self._pending)


def _begin_before_end(changes: list[RuleChange]) -> list[RuleChange]:
    out: list[RuleChange] = []
    begun: set[int] = set()
    deferred: dict[int, RuleChange] = {}
    for change in changes:
        if change.action == "end" and change.sequence not in begun:
            deferred[change.sequence] = change  # its begin comes later in the same sort
            continue
        out.append(change)
        if change.action == "begin":
            begun.add(change.sequence)
            if change.sequence in deferred:
                out.append(deferred.pop(change.sequence))
    return out
