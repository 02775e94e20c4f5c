"""The `Layout` of a scenario's runs: which counters and outcomes they have."""

from __future__ import annotations

from sim.results_schema import RETURN_SPEED, Layout
from sim.rules import KINDS
from sim.scenario import Scenario, entry_crossings_of


def layout_of(scenario: Scenario) -> Layout:
    """The counters of the mechanisms the scenario switches on (by its rules, or by
    `movement.return_speed_kmh`), its crossings into Guatemala, its return points (places of
    kind `return_point`, and places rules carry people to), the places where its rules hold
    people, in the order of its authorities, and the places its waves leave from if they are
    several."""
    rules = [(KINDS[spec.kind], spec) for spec in scenario.authorities.values()]
    places = scenario.network.places
    # Places an entry names beyond where it acts: where return transport carries people.
    carried_to = {
        place
        for _, spec in rules
        for key, place in spec.named_places()
        if key not in spec.place_keys()
    }
    origins = scenario.population.origins()
    switched_on = {RETURN_SPEED} if scenario.movement.return_speed_kmh else set()
    return Layout(
        effects=frozenset(
            e for kind, spec in rules for e in kind.writes_for(spec, scenario.behaviour)
        )
        | switched_on,
        entry_crossings=entry_crossings_of(places),
        hold_places=tuple(p for kind, spec in rules if kind.holds_as for p in spec.place_ids()),
        return_points=tuple(p.id for p in places if "return_point" in p.kind or p.id in carried_to),
        origins=origins if len(origins) > 1 else (),
    )
