"""Scenario files: the only reader of scenario and network YAML.

- `schema`: the sections of a scenario (`Scenario`); the `authorities:` section takes every
  rule kind registered in `sim.rules`;
- `network_spec`: network files (places, roads) and their own checks;
- `calibration`: the `calibration:` section (read by `caravan calibrate` only);
- `loading`: `load` (with `extends:` and `--set`), `derive`, `without_authorities`;
- `checks`: the checks that need more than one key.

`load()` returns a frozen, validated `Scenario`; anything wrong raises one `ScenarioError` that
lists every problem found with its file, line and key.
"""

from __future__ import annotations

from sim.scenario.loading import (
    derive,
    key_path,
    load,
    load_located,
    load_network,
    set_value,
    without_authorities,
)
from sim.scenario.network_spec import NetworkSpec, Place, Road, entry_crossings_of
from sim.scenario.schema import (
    AuthoritySpec,
    GroupSizes,
    Health,
    Movement,
    Output,
    Population,
    RouteChoice,
    Scenario,
    TimeSection,
    Wave,
)

__all__ = [
    "AuthoritySpec",
    "GroupSizes",
    "Health",
    "Movement",
    "NetworkSpec",
    "Output",
    "Place",
    "Population",
    "Road",
    "RouteChoice",
    "Scenario",
    "TimeSection",
    "Wave",
    "derive",
    "entry_crossings_of",
    "key_path",
    "load",
    "load_located",
    "load_network",
    "set_value",
    "without_authorities",
]
