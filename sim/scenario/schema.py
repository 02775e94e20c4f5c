"""The scenario schema: every section of a scenario file. The `authorities:` section takes the
rule kinds registered in `sim.rules` (each kind owns the schema of its entries)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Union

import yaml
from pydantic import Field, PrivateAttr, field_validator, model_validator

from sim.errors import ScenarioWarning
from sim.rules import KINDS, Behaviour, RuleSpec
from sim.scenario.calibration import CalibrationSection
from sim.scenario.network_spec import NetworkSpec
from sim.schema import (
    BYTES_PER_PERSON,
    MAX_GROUP_SIZE,
    MAX_PEOPLE,
    MAX_STEPS,
    MAX_WAVES,
    MIN_STEP_H,
    Days,
    Factor,
    People,
    PositiveRouteKm,
    PositiveSpanH,
    Preference,
    RouteKm,
    SpanH,
    StrictModel,
    Timestamp,
    UnitFloat,
    VehicleSpeedKmh,
    WalkingSpeedKmh,
)
from sim.targets import COMPARED_SETS


class TimeSection(StrictModel):
    start: Timestamp
    duration_h: PositiveSpanH
    step_h: Annotated[float, Field(ge=MIN_STEP_H, le=24.0)] = 1.0  # a longer step skips nights

    @model_validator(mode="after")
    def _few_enough_steps(self) -> TimeSection:
        steps = self.duration_h / self.step_h
        if steps > MAX_STEPS:
            raise ValueError(
                f"{steps:,.0f} steps of {self.step_h:g} h; at most {MAX_STEPS:,} (the results "
                "keep a row per step): give a longer step_h or a shorter duration_h"
            )
        return self


class Wave(StrictModel):
    """A departure wave: `count` people, or a `share` of what the counted waves leave over,
    leaving from `origin` (a place id; None: the population's origin).

    People who join the caravan along the way are a wave from the place where they join, its
    groups spread over the hours they join in (`spread_h`): `count / spread_h` people an hour
    on average."""

    added_since_0_1 = frozenset({"origin"})

    at: Timestamp
    count: People | None = None
    share: UnitFloat | None = None
    spread_h: SpanH = 0.0
    origin: str | None = None

    @model_validator(mode="after")
    def _count_or_share(self) -> Wave:
        if (self.count is None) == (self.share is None):
            raise ValueError("give exactly one of 'count' (people) or 'share' (of the rest)")
        return self


class GroupSizes(StrictModel):
    sizes: list[Annotated[int, Field(ge=1, le=MAX_GROUP_SIZE)]] = Field(min_length=1)
    shares: list[UnitFloat] = Field(min_length=1)

    @model_validator(mode="after")
    def _shares_match(self) -> GroupSizes:
        if len(self.sizes) != len(self.shares):
            raise ValueError(
                f"'sizes' has {len(self.sizes)} entries but 'shares' has {len(self.shares)}"
            )
        if not math.isclose(sum(self.shares), 1.0, abs_tol=1e-6):
            raise ValueError(f"'shares' must add up to 1, they add up to {sum(self.shares):g}")
        return self


class Population(StrictModel):
    size: int = Field(ge=1)
    origin: str
    waves: dict[str, Wave] = Field(min_length=1, max_length=MAX_WAVES)
    group_size: GroupSizes

    @field_validator("size")
    @classmethod
    def _fits_in_memory(cls, size: int) -> int:
        if size > MAX_PEOPLE:
            gigabytes = MAX_PEOPLE * BYTES_PER_PERSON / 1e9
            raise ValueError(
                f"at most {MAX_PEOPLE:,} people: their arrays take {BYTES_PER_PERSON} bytes "
                f"each ({gigabytes:.1f} GB in all)"
            )
        return size

    @model_validator(mode="after")
    def _waves_add_up(self) -> Population:
        counted = sum(w.count for w in self.waves.values() if w.count is not None)
        shares = [w.share for w in self.waves.values() if w.share is not None]
        if counted > self.size:
            raise ValueError(f"wave counts add up to {counted}, more than size {self.size}")
        if shares and not math.isclose(sum(shares), 1.0, abs_tol=1e-6):
            raise ValueError(f"wave shares must add up to 1, they add up to {sum(shares):g}")
        if not shares and counted != self.size:
            raise ValueError(
                f"wave counts add up to {counted} but size is {self.size}; "
                "give one wave a 'share: 1.0' to take the rest"
            )
        return self

    def origin_of(self, wave: str) -> str:
        """The place the wave `wave` leaves from."""
        return self.waves[wave].origin or self.origin

    def origins(self) -> tuple[str, ...]:
        """The places the waves leave from, each once, in the order of the waves that first
        name them (one place, the population's origin, unless a wave names another)."""
        return tuple(dict.fromkeys(self.origin_of(name) for name in self.waves))

    def wave_counts(self) -> dict[str, int]:
        """People per wave: counts as given; share waves split the rest (largest remainder)."""
        counts = {name: w.count for name, w in self.waves.items() if w.count is not None}
        rest = self.size - sum(counts.values())
        share_waves = [(name, w.share) for name, w in self.waves.items() if w.share is not None]
        exact = {name: rest * share for name, share in share_waves}
        floors = {name: math.floor(x) for name, x in exact.items()}
        left = rest - sum(floors.values())
        by_remainder = sorted(exact, key=lambda n: (-(exact[n] - floors[n]), n))
        for name in by_remainder[:left]:
            floors[name] += 1
        counts.update(floors)
        return {name: counts[name] for name in self.waves}


class Movement(StrictModel):
    """How groups travel. A ride's chance depends on the country of the place a road leads to
    (for a crossing written "A-B", country A): drivers in one country may stop for migrants,
    in another be warned off by the police."""

    added_since_0_1 = frozenset(
        {
            "give_up_on_road_growth_h",
            "return_speed_kmh",
            "dispersed_give_up_factor",
            "determined_share",
        }
    )
    walking_speed_kmh: WalkingSpeedKmh
    day_starts_h: Annotated[float, Field(ge=0.0, lt=24.0)]
    day_ends_h: Annotated[float, Field(gt=0.0, le=24.0)]
    ride_chance_per_h: dict[str, UnitFloat] = Field(min_length=1)  # by country code
    ride_speed_kmh: VehicleSpeedKmh
    dispersed_speed_factor: Annotated[float, Field(gt=0.0, le=1.0)]
    # The hazard of giving up on a road (the road effect `give_up_per_h`, which enforcement
    # rules write) grows with the hours since the group left: times 1 + hours / growth_h.
    # Absent: it does not grow.
    give_up_on_road_growth_h: PositiveSpanH | None = None
    # Multiplies that hazard for people who left the main road: they keep clear of the police
    # and army on it. Absent: 1, the same hazard.
    dispersed_give_up_factor: UnitFloat | None = None
    # The share of groups determined to go on: they never give up on the road, whatever the
    # hazard (drawn once per group). Absent: none.
    determined_share: UnitFloat | None = None
    # People who give up where no return transport serves make their own way back to their
    # return point at this speed (km per hour of elapsed time: nights, rests and rides
    # included) and are counted as returned when they arrive. Absent: counted there at once.
    return_speed_kmh: VehicleSpeedKmh | None = None

    @model_validator(mode="after")
    def _day(self) -> Movement:
        if self.day_ends_h <= self.day_starts_h:
            raise ValueError("'day_ends_h' must be later than 'day_starts_h' (local clock hours)")
        return self


class RouteChoice(StrictModel):
    added_since_0_1 = frozenset({"reroute_at_closures"})
    destinations: list[str] = Field(min_length=1)
    detour_scale_km: PositiveRouteKm
    max_detour_km: RouteKm
    max_routes: Annotated[int, Field(ge=1, le=200)] = 24
    crowd_weight: Factor = 0.0
    place_preference: dict[str, Preference] = Field(default_factory=dict)
    # People at a place whose next road is closed switch to another route of their origin's
    # that shares the journey so far (`sim.network.alternatives`); off: they wait.
    reroute_at_closures: bool = False


# One entry of `authorities:`: the schema of its `kind`, among every registered rule kind
# (built at run time from the registry; type checkers see the base every kind's schema has).
if TYPE_CHECKING:
    AuthoritySpec = RuleSpec
else:
    AuthoritySpec = Annotated[
        Union[tuple(kind.Spec for kind in KINDS.values())],  # noqa: UP007
        Field(discriminator="kind"),
    ]


class Health(StrictModel):
    prevalence: UnitFloat
    sensitivity: UnitFloat
    specificity: UnitFloat
    quarantine_days: Days


class Output(StrictModel):
    added_since_0_1 = frozenset({"compare_with"})
    time_series: bool = True
    place_counts: bool = True
    plots: bool = True
    # The target sets (shipped names, or paths to YAML files) the outcome table and the
    # figures set the run beside; the January 2021 sets unless a scenario names others.
    compare_with: list[str] = Field(default_factory=lambda: list(COMPARED_SETS))


class Scenario(StrictModel):
    """A validated scenario. `network` is always resolved to places and roads."""

    added_since_0_1 = frozenset({"behaviour"})
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # also a directory name
    description: str = ""
    time: TimeSection
    network: NetworkSpec
    population: Population
    movement: Movement
    route_choice: RouteChoice
    authorities: dict[str, AuthoritySpec] = Field(default_factory=dict)
    behaviour: Behaviour = Behaviour()  # reactions that rules' entries leave out
    health: Health
    output: Output = Output()
    calibration: CalibrationSection | None = None  # free parameters; read by calibration only
    source_file: str = ""
    # What the loader found valid but changing nothing (`sim.scenario.checks.scenario_warnings`);
    # not a key of the file.
    _warnings: tuple[ScenarioWarning, ...] = PrivateAttr(default=())

    @property
    def warnings(self) -> tuple[ScenarioWarning, ...]:
        """The loader's warnings: located notes on keys that change nothing."""
        return self._warnings

    def __eq__(self, other: object) -> bool:
        """Equal keys: the warnings are notes on the files the scenario was read from, not part
        of it (a run's resolved scenario.yaml reads back equal to what it ran)."""
        if not isinstance(other, Scenario):
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        """Over the keys, as `__eq__` compares them."""
        return hash(self.model_dump_json())

    def hours_since_start(self, when: datetime) -> float:
        """Hours from the scenario's start to `when` (validation ensures both, or neither, carry
        a UTC offset, so the difference is real elapsed time)."""
        return (when - self.time.start) / timedelta(hours=1)

    @property
    def n_steps(self) -> int:
        return math.ceil(self.time.duration_h / self.time.step_h - 1e-9)

    def to_yaml(self) -> str:
        """The resolved scenario (after extends and overrides), as YAML a user can rerun."""
        # python mode writes datetimes as YAML 1.1 timestamps: text to sim.yamlio, which the
        # schema's Timestamp reads back
        data = self.model_dump(exclude={"source_file"})
        # libyaml's emitter where PyYAML has it: the same text, a fifth of the time
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True)
