"""Authorities: the Mesa agents that make rules at places (border forces, blockades, checkpoints,
health posts). Each is a plug-in named by the `kind:` of its scenario entry.

They never touch migrants. They write what they ask of each place into the `Policy` arrays the
migrant kernel reads (a force holds people here; this step the crowd broke through; test one in
fifty who pass), and the kernel applies it. Lifecycle: `begin` when the rule's window opens,
`before_step` each step while it is in force, `end` when the window closes (undoing what `begin`
did, and for a blockade, clearing the road).
"""

from sim.authorities.base import Authority, Event, StepContext
from sim.authorities.blockade import Blockade
from sim.authorities.border_control import BorderControl
from sim.authorities.checkpoints import Checkpoints
from sim.authorities.health_posts import HealthPosts

KINDS: dict[str, type[Authority]] = {
    cls.kind: cls for cls in (BorderControl, Blockade, Checkpoints, HealthPosts)
}

__all__ = [
    "KINDS",
    "Authority",
    "Blockade",
    "BorderControl",
    "Checkpoints",
    "Event",
    "HealthPosts",
    "StepContext",
]
