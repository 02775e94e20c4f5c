"""The policy levers of `caravan lab`, as changes to a scenario's authorities.

Each lever is relative to the caravan as shipped, so one set of controls means the same for
every caravan: a factor of 1, a shift of 0 hours and every switch on leave the scenario exactly
as it is (`apply_levers` returns it unchanged). The changes go through `sim.scenario.derive`,
so a lever setting is checked like a scenario file. This module imports no interface library:
the app (`sim.lab.app`) only maps its widgets onto `Levers`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any

from sim.rules import KINDS, RuleSpec
from sim.scenario import Scenario, derive

AS_SCENARIO = "as in the scenario"
"""`Levers.blockade_place` that keeps each blockade where the scenario puts it."""

ADDED_BLOCKADE_START_H = 48
"""A caravan without a blockade gets one this many hours after its start when a place is
chosen for it (assumption: about when the January 2021 caravan met the Vado Hondo one)."""
ADDED_BLOCKADE_HOURS = 37
"""...standing this many hours (assumption: as long as Vado Hondo, 16 Jan 19:00 to 18 Jan
08:00, as AP, AFP and EFE reported it)."""
ADDED_BLOCKADE_NAME = "lab_blockade"


@dataclass(frozen=True)
class Levers:
    """The policy levers, each relative to the scenario as shipped (the defaults change
    nothing).

    - `blockade`: off removes every blockade;
    - `blockade_place`: a place id moves every blockade there (a caravan with none gets one,
      `ADDED_BLOCKADE_*`); `AS_SCENARIO` keeps them where they are;
    - `blockade_shift_h`: moves each blockade's window by this many hours;
    - `blockade_extra_h`: makes it this many hours longer (shorter if negative; it stands at
      least one step);
    - `border_force_factor`: multiplies each border force (police and soldiers); 0 removes
      them;
    - `checkpoint_intercept_factor`: multiplies the chance that a checkpoint intercepts a
      group passing (capped at 1);
    - `testing_factor`: multiplies the chances of being tested at a health post (capped at 1);
    - `return_transport`: off removes return transport (people make their own way back);
    - `road_give_up_factor`: multiplies the hazard of giving up on roads under enforcement
      (a state of prevention, checkpoints ahead).
    """

    blockade: bool = True
    blockade_place: str = AS_SCENARIO
    blockade_shift_h: int = 0
    blockade_extra_h: int = 0
    border_force_factor: float = 1.0
    checkpoint_intercept_factor: float = 1.0
    testing_factor: float = 1.0
    return_transport: bool = True
    road_give_up_factor: float = 1.0

    def changes(self) -> dict[str, object]:
        """The levers moved from their defaults, by name, with their values."""
        default = Levers()
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        }


def apply_levers(scenario: Scenario, levers: Levers) -> Scenario:
    """`scenario` with its authorities changed as `levers` say; `scenario` itself when the
    levers are at their defaults. A ScenarioError names the key a setting breaks."""
    if levers == Levers():
        return scenario
    changed: dict[str, dict[str, Any]] = {}
    for name, spec in scenario.authorities.items():
        entry = _adjusted(scenario, spec, levers)
        if entry is not None:
            changed[name] = entry
    has_blockade = any(spec.kind == "blockade" for spec in scenario.authorities.values())
    if levers.blockade and levers.blockade_place != AS_SCENARIO and not has_blockade:
        changed[ADDED_BLOCKADE_NAME] = _added_blockade(scenario, levers)
    return derive(scenario, {"authorities": changed})


def _adjusted(scenario: Scenario, spec: RuleSpec, levers: Levers) -> dict[str, Any] | None:
    """One authority's entry under the levers; None if they remove it."""
    entry: dict[str, Any] = spec.model_dump()
    kind = spec.kind
    if kind == "blockade":
        return _blockade(entry, levers, scenario.time.step_h) if levers.blockade else None
    if kind == "border_control":
        return _border_force(entry, levers.border_force_factor)
    if kind == "return_transport":
        return entry if levers.return_transport else None
    if kind == "health_posts":
        for key in ("test_chance_on_arrival", "test_chance_per_h_held"):
            entry[key] = min(1.0, entry[key] * levers.testing_factor)
        return entry
    if kind == "checkpoints":
        _scale_reaction(
            scenario, spec, entry, "intercept_chance", levers.checkpoint_intercept_factor
        )
    if kind in ("checkpoints", "state_of_prevention"):
        _scale_reaction(scenario, spec, entry, "give_up_per_h", levers.road_give_up_factor)
    return entry


def _scale_reaction(
    scenario: Scenario, spec: RuleSpec, entry: dict[str, Any], key: str, factor: float
) -> None:
    """Multiply a reaction the entry gives, or takes from the scenario's behaviour, by `factor`
    (written into the entry, so the behaviour stays as it is for every other rule); a chance
    is capped at 1."""
    if factor == 1.0:
        return
    value = float(KINDS[spec.kind].reaction_of(spec, key, scenario.behaviour) or 0.0) * factor
    entry[key] = min(1.0, value) if key.endswith("_chance") else value


def _blockade(entry: dict[str, Any], levers: Levers, step_h: float) -> dict[str, Any]:
    if levers.blockade_place != AS_SCENARIO:
        entry["place"] = levers.blockade_place
    start = entry["active"]["start"] + timedelta(hours=levers.blockade_shift_h)
    end = entry["active"]["end"] + timedelta(
        hours=levers.blockade_shift_h + levers.blockade_extra_h
    )
    entry["active"] = {"start": start, "end": max(end, start + timedelta(hours=step_h))}
    return entry


def _border_force(entry: dict[str, Any], factor: float) -> dict[str, Any] | None:
    if factor == 0.0:
        return None
    entry["force"] = max(1, round(entry["force"] * factor))
    return entry


def _added_blockade(scenario: Scenario, levers: Levers) -> dict[str, Any]:
    """A blockade for a caravan that has none: its reactions come from the behaviour."""
    start = scenario.time.start + timedelta(hours=ADDED_BLOCKADE_START_H + levers.blockade_shift_h)
    hours = max(ADDED_BLOCKADE_HOURS + levers.blockade_extra_h, scenario.time.step_h)
    return {
        "kind": "blockade",
        "place": levers.blockade_place,
        "active": {"start": start, "end": start + timedelta(hours=hours)},
    }
