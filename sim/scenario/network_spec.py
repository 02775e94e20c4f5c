"""Network files: places and the undirected roads between them, and the checks a network must
pass on its own (`network_problems`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import Field, model_validator

from sim.errors import Problem
from sim.schema import MAX_PLACES, RoadKm, StrictModel, UncertaintyKm
from sim.validation import did_you_mean
from sim.yamlio import Document, KeyPath

PlaceKind = Literal[
    "origin",
    "city",
    "town",
    "junction",
    "border_crossing",
    "checkpoint",
    "shelter",
    "detention",
    "return_point",
]


class Place(StrictModel):
    id: str = Field(min_length=1)
    name: str = ""
    country: str = Field(min_length=2)
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)
    kind: list[PlaceKind] = Field(default_factory=list)
    coord_uncertainty_km: UncertaintyKm = 0.0
    coord_source: str = ""


class Road(StrictModel):
    between: list[str] = Field(min_length=2, max_length=2)
    length_km: RoadKm
    uncertainty_km: UncertaintyKm = 0.0
    highway: str = ""
    method: str = ""
    source: str = ""


class NetworkSpec(StrictModel):
    """Places and the undirected roads between them."""

    places: list[Place] = Field(min_length=2, max_length=MAX_PLACES)
    roads: list[Road] = Field(min_length=1)


class NetworkSection(StrictModel):
    """In a scenario: a path to a network file (relative to the scenario), or the network inline."""

    file: str | None = None
    places: list[Place] | None = None
    roads: list[Road] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> NetworkSection:
        inline = self.places is not None or self.roads is not None
        if self.file is not None and inline:
            raise ValueError("give either 'file' or 'places' and 'roads', not both")
        if self.file is None and (self.places is None or self.roads is None):
            raise ValueError("expected 'file: path/to/network.yaml', or both 'places' and 'roads'")
        return self


ENTRY_COUNTRY_SUFFIX = "-GT"  # a crossing whose country reads "XX-GT" leads into Guatemala


def entry_crossings_of(places: Sequence[Place]) -> tuple[str, ...]:
    """Ids of the border crossings into Guatemala, in the network's order."""
    return tuple(
        p.id
        for p in places
        if "border_crossing" in p.kind and p.country.endswith(ENTRY_COUNTRY_SUFFIX)
    )


def network_problems(
    spec: NetworkSpec, doc: Document, prefix: KeyPath, origin: str | None = None
) -> list[Problem]:
    """Duplicate places, roads to unknown places, self-loops, and a disconnected network
    (places that cannot be reached from `origin`, or from the first place listed)."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, place in enumerate(spec.places):
        if place.id in seen:
            problems.append(
                doc.problem((*prefix, "places", i, "id"), f"place '{place.id}' defined twice")
            )
        seen.add(place.id)
    neighbours: dict[str, set[str]] = {place: set() for place in seen}
    for i, road in enumerate(spec.roads):
        a, b = road.between
        for j, end in enumerate((a, b)):
            if end not in seen:
                problems.append(
                    doc.problem(
                        (*prefix, "roads", i, "between", j),
                        f"unknown place '{end}'{did_you_mean(end, seen)}",
                    )
                )
        if a == b:
            problems.append(
                doc.problem((*prefix, "roads", i, "between"), f"road from '{a}' to itself")
            )
        elif b in neighbours.get(a, ()):
            problems.append(
                doc.problem((*prefix, "roads", i, "between"), f"second road between {a} and {b}")
            )
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    if problems or not spec.places:
        return problems
    start = origin if origin in neighbours else spec.places[0].id
    stranded = sorted(set(neighbours) - _reachable(neighbours, start))
    if stranded:
        index = next(i for i, p in enumerate(spec.places) if p.id == stranded[0])
        problems.append(
            doc.problem(
                (*prefix, "places", index),
                f"the network is disconnected: no road leads from {start} to "
                f"{', '.join(stranded)}; add a road or remove these places",
            )
        )
    return problems


def _reachable(neighbours: dict[str, set[str]], start: str) -> set[str]:
    """The places reachable by road from `start`. A walk over the adjacency sets rather than
    networkx, whose import alone (0.1 s) would double the time `caravan check` takes."""
    reached = {start}
    frontier = [start]
    while frontier:
        for nxt in neighbours[frontier.pop()] - reached:
            reached.add(nxt)
            frontier.append(nxt)
    return reached
