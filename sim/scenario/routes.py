"""The route set: the routes from every origin to the destinations, searched once for a run
(`sim.network.build`) and for the loader's checks (`sim.scenario.checks`), so a scenario the
loader accepts has routes from every origin.

The search (networkx's shortest simple paths) is a pure function of the roads and the route
settings, so its answers are kept on disk (`ROUTE_CACHE`, in the user's cache directory) as well
as in memory: `caravan check` on a network searched before needs no networkx, whose import alone
is a fifth of the time `check` takes. An entry is named by a digest of everything the search
reads, networkx's version (its tie-breaking decides the order of equal paths) and this file's
text included; one that cannot be read is searched again.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import math
import os
import tempfile
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from sim.errors import Problem, ScenarioError
from sim.user_cache import user_cache_dir

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


ROUTE_CACHE = "routes-v1"
"""The folder of the user's cache directory that keeps the searches' answers, one JSON file
each."""

MAX_CACHED_SEARCHES = 2_000
"""Answers kept on disk (a few kilobytes each) before the older half is removed."""

Candidates = tuple[tuple[float, tuple[str, ...]], ...]


@functools.lru_cache(maxsize=16)
def _candidate_paths(
    nodes: tuple[str, ...],
    roads: tuple[tuple[str, str, float], ...],
    origin: str,
    destinations: tuple[str, ...],
    max_routes: int,
) -> Candidates:
    """(length_km, places) of the shortest simple paths from `origin` to each destination that
    pass no other destination. Sweeps and calibrations build thousands of models on one
    network, and the search is a large part of building one: so it is cached, in memory and on
    disk, by the roads and the route settings it depends on."""
    search = (nodes, roads, origin, destinations, max_routes)
    entry = _cache_entry(search)
    cached = _read_cached(entry) if entry is not None else None
    if cached is not None and _answers(cached, set(nodes), origin, set(destinations)):
        return cached
    found = _search(*search)
    if entry is not None:
        _write_cached(entry, found)
    return found


def _cache_entry(search: tuple[object, ...]) -> Path | None:
    """The file that keeps the answer to `search`; None if networkx is not installed (the
    search will say so)."""
    try:
        networkx_version = importlib.metadata.version("networkx")
    except importlib.metadata.PackageNotFoundError:
        return None
    # this file's own text too: an edit to the search is never answered from an older search
    key = json.dumps([networkx_version, _source_digest(), *search]).encode()
    return user_cache_dir() / ROUTE_CACHE / f"{hashlib.sha256(key).hexdigest()[:32]}.json"


@functools.cache
def _source_digest() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def _read_cached(entry: Path) -> Candidates | None:
    """The answer `entry` keeps, or None if there is none or it is not one (a torn or edited
    file is searched again)."""
    try:
        kept = json.loads(entry.read_text(encoding="utf-8"))
        return tuple((float(length), tuple(str(p) for p in path)) for length, path in kept)
    except (OSError, ValueError, TypeError):
        return None


def _answers(paths: Candidates, nodes: set[str], origin: str, destinations: set[str]) -> bool:
    """Whether `paths` can be an answer of the search (a kept file edited by hand may not be):
    each path leads from `origin` to a destination through places of the network."""
    return all(
        bool(path) and path[0] == origin and path[-1] in destinations and nodes.issuperset(path)
        for _, path in paths
    )


def _write_cached(entry: Path, found: Candidates) -> None:
    """Keep `found` in `entry`, written whole or not at all (a temporary file renamed over it,
    so a reader never sees half an answer); a cache that cannot be written is skipped."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=entry.parent, suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump([[length, list(path)] for length, path in found], out)
        os.replace(temporary, entry)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
        return
    _prune(entry.parent)


def _prune(folder: Path) -> None:
    """Past `MAX_CACHED_SEARCHES` answers (a sweep that varies road lengths makes one per
    point), remove the older half, oldest written first."""
    try:
        entries = list(folder.glob("*.json"))
        if len(entries) <= MAX_CACHED_SEARCHES:
            return
        entries.sort(key=lambda path: path.stat().st_mtime)
        for old in entries[: len(entries) // 2]:
            old.unlink(missing_ok=True)
    except OSError:  # another process pruning at the same time
        return


def _search(
    nodes: tuple[str, ...],
    roads: tuple[tuple[str, str, float], ...],
    origin: str,
    destinations: tuple[str, ...],
    max_routes: int,
) -> Candidates:
    """The search `_candidate_paths` keeps the answers of."""
    import networkx as nx  # noqa: PLC0415 - only when no cached answer exists (module docstring)

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
