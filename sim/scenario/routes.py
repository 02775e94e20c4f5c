"""The route set: the routes from every origin to the destinations, searched once for a run
(`sim.network.build`) and for the loader's checks (`sim.scenario.checks`), so a scenario the
loader accepts has routes from every origin."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING

import networkx as nx

from sim.errors import Problem, ScenarioError

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario


@dataclass(frozen=True)
class Route:
    places: tuple[str, ...]
    length_km: float
    detour_km: float
    base_weight: float  # before crowd-following: detour penalty times place preferences


def route_places(scenario: Scenario) -> tuple[tuple[str, ...], ...]:
    """The places of every route of the scenario's route set (from every origin), in order;
    a ScenarioError, as a run would raise, if an origin has none."""
    return tuple(route.places for route in route_set(scenario)[0])


def route_set(scenario: Scenario) -> tuple[tuple[Route, ...], tuple[tuple[int, int], ...]]:
    """The routes from every origin (`Population.origins`, in that order), and for each origin
    the range [first, end) of its routes.

    Each origin has a route set of its own, chosen as if it were the only one: the simple paths
    from it to any destination within `max_detour_km` of its shortest, at most `max_routes`,
    shortest first, a path that passes another destination on the way dropped (the migrant
    would stop there). A route from a place that lies on another origin's route is a route of
    its own, not the tail of that route: its detour is measured from the shortest route from
    where its groups start, so `exp(-detour_km / detour_scale_km)` weighs the choices a group
    leaving there has, as it does for a group leaving the first origin. Tails would not: two
    routes that differ before the joining place share their tail, which would weigh once per
    route leading into it, and a route from the joining place that no route of the first
    origin ends with (a detour too long from the first origin, a road back) would be missing.
    """
    routes: list[Route] = []
    ranges: list[tuple[int, int]] = []
    for origin in scenario.population.origins():
        first = len(routes)
        routes += _routes_from(scenario, origin)
        ranges.append((first, len(routes)))
    return tuple(routes), tuple(ranges)


def _routes_from(scenario: Scenario, origin: str) -> list[Route]:
    """The route set from one origin (see `_route_set`); raise ScenarioError if it is empty
    (which the scenario's checks rule out: see `sim.scenario.checks.route_problems`)."""
    choice = scenario.route_choice
    # in the order `build` adds them to `graph`, so that the search breaks ties alike
    nodes = tuple(p.id for p in scenario.network.places)
    roads = tuple((r.between[0], r.between[1], r.length_km) for r in scenario.network.roads)
    candidates = _candidate_paths(
        nodes, roads, origin, tuple(choice.destinations), choice.max_routes
    )
    if not candidates:
        raise ScenarioError(
            [
                Problem(
                    scenario.source_file,
                    None,
                    "route_choice.destinations",
                    f"no destination can be reached from {origin} without passing another",
                )
            ]
        )
    shortest = min(length for length, _ in candidates)
    kept = sorted(c for c in candidates if c[0] <= shortest + choice.max_detour_km + 1e-9)
    kept = kept[: choice.max_routes]
    routes = []
    for length, path in kept:
        detour = length - shortest
        weight = math.exp(-detour / choice.detour_scale_km)
        for place in path:
            weight *= choice.place_preference.get(place, 1.0)
        routes.append(Route(path, length, detour, weight))
    return routes


@functools.lru_cache(maxsize=16)
def _candidate_paths(
    nodes: tuple[str, ...],
    roads: tuple[tuple[str, str, float], ...],
    origin: str,
    destinations: tuple[str, ...],
    max_routes: int,
) -> tuple[tuple[float, tuple[str, ...]], ...]:
    """(length_km, places) of the shortest simple paths from `origin` to each destination that
    pass no other destination. Sweeps and calibrations build thousands of models on one
    network, and the search is a large part of building one: so it is cached by the roads and
    the route settings it depends on."""
    graph: nx.Graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_weighted_edges_from(roads, weight="length_km")
    others = set(destinations)
    candidates: list[tuple[float, tuple[str, ...]]] = []
    for dest in destinations:
        if dest == origin:
            continue
        paths = nx.shortest_simple_paths(graph, origin, dest, weight="length_km")
        for path in islice(paths, 4 * max_routes):
            if others.intersection(path[:-1]):
                continue
            length = float(nx.path_weight(graph, path, weight="length_km"))
            candidates.append((length, tuple(path)))
    return tuple(candidates)
