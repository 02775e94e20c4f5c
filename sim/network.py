"""Places and roads: the graph (networkx), the route set, and the arrays the migrant kernel reads.

The kernel never sees networkx. It sees routes: for each route r, the places it passes
(`route_place[r, k]`), the road km of each leg (`leg_km[r, k]`, from place k to k + 1) and the
road index of each leg. A migrant's position is (route, leg, km along that leg). Routes start
at an origin; the routes from each origin are consecutive, and a group draws among those from
the place it leaves.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import networkx as nx
import numpy as np
import numpy.typing as npt

from sim.scenario import Scenario, entry_crossings_of
from sim.scenario.routes import Route, route_set


class PlaceArrays(NamedTuple):
    """Per-place facts the kernel needs."""

    entry_index: npt.NDArray[np.int8]  # index among entry crossings, -1 if not one
    return_point: npt.NDArray[np.int16]  # where someone turned back here is returned to
    return_km: npt.NDArray[np.float32]  # road km from the place to its return point


class RouteArrays(NamedTuple):
    """The route set from the origins to the destinations, padded to the longest route."""

    place: npt.NDArray[np.int16]  # [route, k] k-th place on the route, -1 past the end
    leg_km: npt.NDArray[np.float32]  # [route, k] km from place k to place k + 1
    leg_road: npt.NDArray[np.int16]  # [route, k] road index of leg k
    n_legs: npt.NDArray[np.int16]  # [route] legs on the route
    from_first: npt.NDArray[np.int32]  # [place] first route from the place (0: not an origin)
    from_end: npt.NDArray[np.int32]  # [place] one past its last route (0: not an origin)
    # Where a road ahead is closed (`route_choice.reroute_at_closures`; else all empty): the
    # alternatives of route r at its k-th place are alt_route[alt_first[r, k]:alt_end[r, k]]
    # (see `alternatives`).
    alt_first: npt.NDArray[np.int32]  # [route, k]
    alt_end: npt.NDArray[np.int32]  # [route, k]
    alt_route: npt.NDArray[np.int16]  # [alternative] a route index


@dataclass(frozen=True)
class RoadNetwork:
    """The compiled network of one scenario."""

    graph: nx.Graph
    place_ids: tuple[str, ...]
    road_ends: tuple[tuple[str, str], ...]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    entry_crossings: tuple[str, ...]
    routes: tuple[Route, ...]
    places_arrays: PlaceArrays
    route_arrays: RouteArrays
    origin: int  # the population's origin
    origins: tuple[str, ...]  # the places waves leave from (`Population.origins`)
    origin_routes: tuple[tuple[int, int], ...]  # per origin: its routes' range [first, end)

    def index(self, place: str) -> int:
        return self.place_index[place]

    @functools.cached_property
    def place_index(self) -> dict[str, int]:
        """Each place id's index (its row in per-place arrays)."""
        return {p: i for i, p in enumerate(self.place_ids)}

    @property
    def n_places(self) -> int:
        return len(self.place_ids)

    @property
    def n_roads(self) -> int:
        return len(self.road_ends)

    @functools.cached_property
    def road_km(self) -> tuple[float, ...]:
        """Each road's length, in the order of `road_ends`."""
        return tuple(float(self.graph.edges[a, b]["length_km"]) for a, b in self.road_ends)

    @property
    def base_weights(self) -> npt.NDArray[np.float64]:
        return np.array([r.base_weight for r in self.routes])


def build(scenario: Scenario) -> RoadNetwork:
    """Compile the scenario's network and route set; raise ScenarioError if no route exists."""
    spec = scenario.network
    place_ids = tuple(p.id for p in spec.places)
    index = {pid: i for i, pid in enumerate(place_ids)}
    graph: nx.Graph = nx.Graph()
    for p in spec.places:
        graph.add_node(p.id, country=p.country, kind=tuple(p.kind), lat=p.lat, lon=p.lon)
    road_ends: list[tuple[str, str]] = []
    for i, road in enumerate(spec.roads):
        a, b = road.between
        graph.add_edge(a, b, length_km=road.length_km, road=i)
        road_ends.append((a, b))

    entry_crossings = entry_crossings_of(spec.places)
    entry_index = np.full(len(place_ids), -1, dtype=np.int8)
    for k, pid in enumerate(entry_crossings):
        entry_index[index[pid]] = k

    routes, origin_routes = route_set(scenario)
    origins = scenario.population.origins()
    routes_of = dict(zip(origins, origin_routes, strict=True))
    return RoadNetwork(
        graph=graph,
        place_ids=place_ids,
        road_ends=tuple(road_ends),
        lat=np.array([p.lat for p in spec.places]),
        lon=np.array([p.lon for p in spec.places]),
        entry_crossings=entry_crossings,
        routes=routes,
        places_arrays=PlaceArrays(entry_index, *_return_points(graph, place_ids)),
        route_arrays=_route_arrays(
            routes, graph, index, routes_of, scenario.route_choice.reroute_at_closures
        ),
        origin=index[scenario.population.origin],
        origins=origins,
        origin_routes=origin_routes,
    )


def _route_arrays(
    routes: tuple[Route, ...],
    graph: nx.Graph,
    index: dict[str, int],
    origin_routes: dict[str, tuple[int, int]],
    reroute_at_closures: bool,
) -> RouteArrays:
    width = max(len(r.places) for r in routes)
    place = np.full((len(routes), width), -1, dtype=np.int16)
    leg_km = np.zeros((len(routes), width), dtype=np.float32)
    leg_road = np.full((len(routes), width), -1, dtype=np.int16)
    n_legs = np.zeros(len(routes), dtype=np.int16)
    for r, route in enumerate(routes):
        n_legs[r] = len(route.places) - 1
        for k, pid in enumerate(route.places):
            place[r, k] = index[pid]
        for k, (a, b) in enumerate(zip(route.places[:-1], route.places[1:], strict=True)):
            edge = graph.edges[a, b]
            leg_km[r, k] = edge["length_km"]
            leg_road[r, k] = edge["road"]
    from_first = np.zeros(len(index), dtype=np.int32)
    from_end = np.zeros(len(index), dtype=np.int32)
    for origin, (first, end) in origin_routes.items():
        from_first[index[origin]] = first
        from_end[index[origin]] = end
    alt_first = np.zeros((len(routes), width), dtype=np.int32)
    alt_end = np.zeros((len(routes), width), dtype=np.int32)
    alt_route: list[int] = []
    if reroute_at_closures:
        for first, end in origin_routes.values():
            for r in range(first, end):
                for k in range(n_legs[r]):
                    alt_first[r, k] = len(alt_route)
                    alt_route += alternatives(routes, first, end, r, k)
                    alt_end[r, k] = len(alt_route)
    return RouteArrays(
        place,
        leg_km,
        leg_road,
        n_legs,
        from_first,
        from_end,
        alt_first,
        alt_end,
        np.array(alt_route, dtype=np.int16),
    )


def alternatives(routes: tuple[Route, ...], first: int, end: int, r: int, k: int) -> list[int]:
    """The routes a group on route r may switch to at its k-th place when the road ahead is
    closed: the other routes of its origin (`first` to `end`) that pass the same places from
    the origin to here and another road next (one place on from here differs), in route order.
    As routes are simple paths, none of them uses the closed road later."""
    so_far = routes[r].places[: k + 1]
    ahead = routes[r].places[k + 1]
    return [
        j
        for j in range(first, end)
        if routes[j].places[: k + 1] == so_far
        and len(routes[j].places) > k + 1
        and routes[j].places[k + 1] != ahead
    ]


def _return_points(
    graph: nx.Graph, place_ids: tuple[str, ...]
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.float32]]:
    """For each place, the nearest place of kind `return_point` by road (itself if none exist),
    and the road km to it (0 at a return point, or where none can be reached)."""
    targets = [p for p in place_ids if "return_point" in graph.nodes[p]["kind"]]
    point = np.arange(len(place_ids), dtype=np.int16)
    km = np.zeros(len(place_ids), dtype=np.float32)
    if not targets:
        return point, km
    # Each shortest path from the nearest return point starts at that return point.
    lengths, paths = nx.multi_source_dijkstra(graph, targets, weight="length_km")
    index = {pid: i for i, pid in enumerate(place_ids)}
    for place, path in paths.items():
        point[index[place]] = index[path[0]]
        km[index[place]] = lengths[place]
    return point, km
