"""Rules: each kind of authority is one module of this package, which owns its scenario section,
the effects it writes (`sim.rules.effects`), the events it logs, how maps draw it and what the
Flee export makes of it. Defining a `Rule` subclass with a `kind` registers it in `KINDS`.

Every module of this package is imported here, so a new kind is a new file and nothing else;
a kind defined in another package is registered through the entry point group
`caravan_sim.rules` (each entry names a module to import).
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.metadata import entry_points

from sim.rules.base import (
    KINDS,
    AtOnePlace,
    AtPlaces,
    Behaviour,
    Event,
    FleeNote,
    GiveUp,
    MapMark,
    Rule,
    RuleSpec,
    StepContext,
    WhenHeld,
    Window,
)
from sim.rules.effects import Effects

ENTRY_POINT_GROUP = "caravan_sim.rules"
_INFRASTRUCTURE = {"base", "effects"}

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in _INFRASTRUCTURE and not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
for _entry in entry_points(group=ENTRY_POINT_GROUP):
    try:
        importlib.import_module(_entry.value)
    except ImportError as _error:
        raise ImportError(
            f"the rules of entry point '{_entry.name}' ({ENTRY_POINT_GROUP}, from "
            f"{_entry.dist.name if _entry.dist else 'an installed package'}) cannot be "
            f"imported from module '{_entry.value}': {_error}"
        ) from _error


def kind_of(spec: RuleSpec) -> type[Rule]:
    """The rule class of a scenario entry."""
    return KINDS[spec.kind]


__all__ = [
    "ENTRY_POINT_GROUP",
    "KINDS",
    "AtOnePlace",
    "AtPlaces",
    "Behaviour",
    "Effects",
    "Event",
    "FleeNote",
    "GiveUp",
    "MapMark",
    "Rule",
    "RuleSpec",
    "StepContext",
    "WhenHeld",
    "Window",
    "kind_of",
]
