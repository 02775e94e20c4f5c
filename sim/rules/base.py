"""What every rule is made of: its scenario section, its lifecycle, the context it reads each
step, the events it reports, how maps draw it and what the Flee export makes of it.

A rule kind is one subclass of `Rule` in one module; defining it (with a `kind`) registers it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from sim.results_schema import AWAITING_HERE, HELD_HERE, HOLD_CLASSES

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
from sim.rules.effects import EFFECT_NAMES, Effects
from sim.schema import (
    PositiveRouteKm,
    RatePerH,
    Shape,
    StrictModel,
    Timestamp,
    UnitFloat,
    WaitingScaleH,
)

# --------------------------------------------------------------------------------------------
# Scenario sections
# --------------------------------------------------------------------------------------------


class Window(StrictModel):
    start: Timestamp
    end: Timestamp

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if (self.start.tzinfo is None) != (self.end.tzinfo is None):
            return self  # the scenario's one rule for UTC offsets reports it (sim.scenario)
        if self.end <= self.start:
            raise ValueError(f"the window ends ({self.end}) before it starts ({self.start})")
        return self


class GiveUp(StrictModel):
    """Weibull hazard of giving up while held: shape > 1 means the urge grows with waiting."""

    scale_h: WaitingScaleH
    shape: Shape
    return_share: UnitFloat


class WordAhead(StrictModel):
    """Word of a hold travels ahead of it: while it stands, groups on the roads within
    `within_km` of it by road give up with `give_up_per_h` (grown with their hours on the
    road, see `movement.give_up_on_road_growth_h`), added to any other rule's hazard."""

    give_up_per_h: RatePerH
    within_km: PositiveRouteKm


class WhenHeld(StrictModel):
    """How people held in one hold class react: what a rule that holds them leaves out."""

    give_up: GiveUp | None = None
    slip_chance_per_h: UnitFloat | None = None
    clearance_return_share: UnitFloat | None = None
    word_ahead: WordAhead | None = None  # optional: without it, nobody hears of the hold ahead


class Behaviour(StrictModel):
    """How migrants react to enforcement, shared by every caravan: a rule's entry that leaves a
    reaction out takes it from here.

    - `when_held`, by hold class (`sim.results_schema.HOLD_CLASSES`): how those a rule holds
      react (`Rule.reactions`);
    - `on_the_road`, by rule kind: how people on the roads react to that kind of enforcement
      (`Rule.road_reactions`: a state of prevention's or checkpoints' `give_up_per_h`, the
      checkpoints' `intercept_chance`). Which kinds and keys exist, and their values' ranges,
      is checked against the rules (`sim.scenario.checks`), so a rule of one's own may have
      road reactions too."""

    added_since_0_1 = frozenset({"on_the_road"})
    when_held: dict[str, WhenHeld] = Field(default_factory=dict)
    on_the_road: dict[str, dict[str, float]] = Field(default_factory=dict)

    @field_validator("when_held")
    @classmethod
    def _hold_classes(cls, when_held: dict[str, WhenHeld]) -> dict[str, WhenHeld]:
        unknown = sorted(set(when_held) - set(HOLD_CLASSES))
        if unknown:
            raise ValueError(
                f"unknown hold class {unknown[0]!r}; expected one of: {', '.join(HOLD_CLASSES)}"
            )
        return when_held


class RuleSpec(StrictModel):
    """A rule's entry in the scenario: where and when it is in force, and its `kind` (each
    kind's spec declares `kind: Literal["<kind>"]`, after its other place and time keys)."""

    if TYPE_CHECKING:  # declared by each subclass, in the order a scenario writes them
        kind: str
        active: Window

    def place_ids(self) -> list[str]:
        raise NotImplementedError

    def place_keys(self) -> list[tuple[str | int, ...]]:
        """The key path (below the rule's entry) that names each of `place_ids()`."""
        raise NotImplementedError

    def named_places(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Every place the entry names, with its key path: where the rule acts, and any other
        (a rule that sends people somewhere adds it). Each must exist in the network."""
        return list(zip(self.place_keys(), self.place_ids(), strict=True))

    def named_roads(self) -> list[tuple[tuple[str | int, ...], tuple[str, ...]]]:
        """Every road the entry names, as its two places, with its key path: each must be a
        road of the network. Default: none."""
        return []


class AtOnePlace(RuleSpec):
    place: str
    active: Window

    def place_ids(self) -> list[str]:
        return [self.place]

    def place_keys(self) -> list[tuple[str | int, ...]]:
        return [("place",)]


class AtPlaces(RuleSpec):
    places: list[str] = Field(min_length=1)
    active: Window

    def place_ids(self) -> list[str]:
        return list(self.places)

    def place_keys(self) -> list[tuple[str | int, ...]]:
        return [("places", i) for i in range(len(self.places))]


# --------------------------------------------------------------------------------------------
# What a rule reads and reports
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepContext:
    """Everything a rule may read: the run's random key, the step and its length, and what the
    last step left at each place (`place_counts`; columns: `sim.results_schema.PLACE_COUNTERS`)."""

    key: np.uint64
    step: int
    t_h: float
    step_h: float
    place_counts: npt.NDArray[np.int64]

    @property
    def held_by_place(self) -> npt.NDArray[np.int64]:
        """People held at each place at the end of the last step."""
        return self.place_counts[:, HELD_HERE]

    @property
    def awaiting_transport_by_place(self) -> npt.NDArray[np.int64]:
        """People waiting for return transport at each place at the end of the last step."""
        return self.place_counts[:, AWAITING_HERE]


@dataclass(frozen=True)
class Event:
    """Something a rule did, for the event log (`events.parquet`)."""

    t_h: float
    authority: str
    kind: str
    place: str
    count: int = 0
    detail: str = ""


@dataclass(frozen=True)
class MapMark:
    """How maps mark the places of a rule: matplotlib marker, colour, area (pt^2), legend."""

    marker: str
    color: str
    area_pt2: float
    label: str


FleeTreatment = Literal["approximated", "dropped"]


@dataclass(frozen=True)
class FleeNote:
    """What `caravan export flee` makes of a rule, and how it says so."""

    treatment: FleeTreatment
    detail: str


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------

KINDS: dict[str, type[Rule]] = {}
"""Every rule kind by its `kind`, in the order they were defined."""


class Rule:
    """A rule in force at some places during a window: it writes effects, never migrants.

    Lifecycle: `begin` when the window opens (writes `apply`), `before_step` on every step in
    force (requests for that step: a breach, a boarding chance), `end` when the window closes
    (undoes it with `undo`). Each returns the events it logs.

    A subclass sets `kind`, `Spec` (its scenario section), `writes` (the effects it may write;
    two rules that write one at one place at once are refused), `holds_as` if it holds people,
    `map_mark`, and `flee_closes` / `flee_note` for the Flee export.
    """

    kind: ClassVar[str]
    Spec: ClassVar[type[RuleSpec]]
    writes: ClassVar[frozenset[str]]
    holds_as: ClassVar[str | None] = None  # a hold class of sim.results_schema.HOLD_CLASSES
    reactions: ClassVar[tuple[str, ...]] = ()  # keys an entry may leave to `Behaviour.when_held`
    # keys an entry may leave to `Behaviour.on_the_road[kind]`, each with the value when
    # neither gives it (None: one of them must)
    road_reactions: ClassVar[Mapping[str, float | None]] = MappingProxyType({})
    map_mark: ClassVar[MapMark]
    flee_closes: ClassVar[bool] = False  # Flee closes its places during its window

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" not in cls.__dict__:
            return  # an abstract helper class
        unknown = set(cls.writes) - EFFECT_NAMES
        if unknown:
            raise TypeError(f"rule {cls.kind!r} writes unknown effects {sorted(unknown)}")
        if cls.holds_as is not None and cls.holds_as not in HOLD_CLASSES:
            raise TypeError(f"rule {cls.kind!r}: holds_as must be one of {HOLD_CLASSES}")
        unset = sorted(
            set(cls.road_reactions) - set(cls.Spec.model_fields if cls.road_reactions else ())
        )
        if unset:
            raise TypeError(f"rule {cls.kind!r}: road reactions {unset} are not keys of its Spec")
        if cls.kind in KINDS and KINDS[cls.kind] is not cls:
            raise TypeError(f"two rules of kind {cls.kind!r}: {KINDS[cls.kind]} and {cls}")
        KINDS[cls.kind] = cls

    def __init__(
        self,
        name: str,
        spec: RuleSpec,
        place_index: Mapping[str, int],
        window_h: tuple[float, float],
        road_ends: Sequence[tuple[str, str]] = (),
        behaviour: Behaviour | None = None,
        road_km: Sequence[float] = (),
    ) -> None:
        """`place_index` gives each place id of the network its index (the effects' rows);
        `road_ends` each road's two places, in the network's order (the road effects' rows),
        and `road_km` their lengths; `behaviour` the scenario's, for the reactions the entry
        leaves out."""
        self.road_ends = tuple(road_ends)
        self.road_km = tuple(road_km)
        self.behaviour = behaviour or Behaviour()
        self.name = name
        self.spec = spec
        self.place_ids = spec.place_ids()
        self.places = [place_index[p] for p in self.place_ids]
        self.place_index = place_index
        self.window_h = window_h
        self.active = False

    @classmethod
    def reaction_of(cls, spec: RuleSpec, key: str, behaviour: Behaviour) -> Any:
        """The entry's value of the reaction `key`, else the behaviour's: for a road reaction,
        `on_the_road` of this rule's kind (else its default), for the others `when_held` of
        this rule's hold class. None if none gives it (a problem `sim.scenario.checks`
        reports)."""
        value = getattr(spec, key)
        if value is not None:
            return value
        if key in cls.road_reactions:
            shared = behaviour.on_the_road.get(cls.kind, {}).get(key)
            return cls.road_reactions[key] if shared is None else shared
        if cls.holds_as in behaviour.when_held:
            return getattr(behaviour.when_held[cls.holds_as], key)
        return None

    def reaction(self, key: str) -> Any:
        """`reaction_of` this rule's entry (checked to be given when the scenario loaded)."""
        value = self.reaction_of(self.spec, key, self.behaviour)
        assert value is not None, f"{self.name}: {key} neither given nor in the behaviour"
        return value

    def roads_at(self, place_ids: Sequence[str]) -> list[int]:
        """The roads with at least one of their places among `place_ids`."""
        at = set(place_ids)
        return [k for k, ends in enumerate(self.road_ends) if at.intersection(ends)]

    @staticmethod
    def add_give_up_hazard(fx: Effects, roads: Sequence[int], per_h: float) -> None:
        """Add `per_h` to the give-up hazard of `roads` for this step: the effect lasts one step
        and combines, so every rule in force adds its share anew each step."""
        for k in roads:
            fx.road["give_up_per_h"][k] += per_h

    def roads_within(self, place_ids: Sequence[str]) -> list[int]:
        """The roads both of whose places are among `place_ids`."""
        inside = set(place_ids)
        return [k for k, (a, b) in enumerate(self.road_ends) if a in inside and b in inside]

    def roads_near(self, place_ids: Sequence[str], within_km: float) -> list[int]:
        """The roads both of whose places lie within `within_km` of one of `place_ids` by road
        (needs `road_km`)."""
        import networkx as nx  # noqa: PLC0415 - here: checking a scenario never needs it

        graph = nx.Graph()
        for (a, b), km in zip(self.road_ends, self.road_km, strict=True):
            graph.add_edge(a, b, km=km)
        sources = [p for p in place_ids if p in graph]
        if not sources:
            return []
        near = nx.multi_source_dijkstra_path_length(graph, sources, within_km, weight="km")
        return [k for k, (a, b) in enumerate(self.road_ends) if a in near and b in near]

    @classmethod
    def writes_for(cls, spec: RuleSpec, behaviour: Behaviour | None = None) -> frozenset[str]:
        """The effects a rule with this scenario entry (and the scenario's `behaviour`, for
        the reactions it leaves out) writes: `writes`, unless the kind leaves some unwritten
        for some entries (two rules may then share a place)."""
        return cls.writes

    @property
    def hold_class(self) -> int:
        """The kernel's code of `holds_as` (0: holds nobody)."""
        return 0 if self.holds_as is None else HOLD_CLASSES.index(self.holds_as) + 1

    def begin(self, fx: Effects, ctx: StepContext) -> list[Event]:
        """The window opens: write this rule's effects."""
        self.active = True
        self.apply(fx, ctx)
        return [Event(ctx.t_h, self.name, f"{self.kind}_begins", p) for p in self.place_ids]

    def end(self, fx: Effects, ctx: StepContext) -> list[Event]:
        """The window closes: undo what `begin` wrote."""
        self.active = False
        self.undo(fx, ctx)
        return [Event(ctx.t_h, self.name, f"{self.kind}_ends", p) for p in self.place_ids]

    def before_step(self, fx: Effects, ctx: StepContext) -> list[Event]:
        """Requests for this step while in force. Default: none."""
        return []

    def apply(self, fx: Effects, ctx: StepContext) -> None:
        raise NotImplementedError

    def undo(self, fx: Effects, ctx: StepContext) -> None:
        raise NotImplementedError

    def _hold(self, fx: Effects, give_up: GiveUp) -> None:
        """Hold everyone reaching these places in this rule's class, giving up on `give_up`."""
        for p in self.places:
            fx.place["hold"][p] = self.hold_class
            fx.place["give_up_scale_h"][p] = give_up.scale_h
            fx.place["give_up_shape"][p] = give_up.shape
            fx.place["give_up_return_share"][p] = give_up.return_share

    @classmethod
    def flee_note(cls, spec: Any, closure: str) -> FleeNote:
        """What the Flee export does with a rule of this kind. For a kind that closes its
        places (`flee_closes`), `closure` says which place is closed on which days ("B is
        closed from day 2 to day 3"); otherwise it is empty."""
        return FleeNote("dropped", f"Flee has no counterpart for a {cls.kind} rule")
