"""Rule changes on a timetable: when each rule's window opens and closes.

Kept here rather than in Mesa's event API (which moved between Mesa 3.3 and 3.5): the model
asks the schedule at the start of each step which changes are due and applies them in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from sim.rules import Rule

_EPS_H = 1e-9


@dataclass(frozen=True, order=True)
class RuleChange:
    t_h: float
    action_order: int  # at the same hour a closing window is undone before another opens
    sequence: int
    action: Literal["begin", "end"] = field(compare=False)
    rule: Rule = field(compare=False)


class RuleSchedule:
    """Begin and end changes of every rule, sorted by time."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        changes = []
        for seq, rule in enumerate(rules):
            start_h, end_h = rule.window_h
            changes.append(RuleChange(start_h, 1, seq, "begin", rule))
            changes.append(RuleChange(end_h, 0, seq, "end", rule))
        # Windows end after they start (validated), so each rule begins before it ends even
        # when both fall within one step.
        self._pending = sorted(changes)

    def due(self, t_h: float) -> list[RuleChange]:
        """Pop the changes whose time has come by the start of a step at `t_h`."""
        n = 0
        while n < len(self._pending) and self._pending[n].t_h <= t_h + _EPS_H:
            n += 1
        ready, self._pending = self._pending[:n], self._pending[n:]
        return ready

    def __len__(self) -> int:
        return len(self._pending)
