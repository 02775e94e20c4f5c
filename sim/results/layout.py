"""The `Layout` of a scenario's runs: which counters and outcomes they have."""

from __future__ import annotations

from sim.results_schema import Layout
from sim.rules import KINDS
from sim.scenario import Scenario, entry_crossings_of


def layout_of(scenario: Scenario) -> Layout:
    """The counters of the mechanisms the scenario's rules switch on, its crossings into
    Guatemala, the places where its rules hold people, in the order of its authorities, and
    the places its waves leave from if they are several."""
    rules = [(KINDS[spec.kind], spec) for spec in scenario.authorities.values()]
    origins = scenario.population.origins()
    return Layout(
        effects=frozenset(e for kind, _ in rules for e in kind.writes),
        entry_crossings=entry_crossings_of(scenario.network.places),
        hold_places=tuple(p for kind, spec in rules if kind.holds_as for p in spec.place_ids()),
        origins=origins if len(origins) > 1 else (),
    )
