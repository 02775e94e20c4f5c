"""The base of every schema read from YAML (scenarios, networks, rules, sweeps, calibrations),
and the constrained numbers they share."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)

EVERY_KEY = "every_key"
"""`model_dump(context={EVERY_KEY: True})` writes keys added since 0.1 at their defaults too
(for code that looks keys up, such as calibration's check of its parameters)."""


class StrictModel(BaseModel):
    """Unknown keys are errors, types are not coerced, numbers are finite (no .inf, no .nan)
    and validated objects are frozen.

    Keys a schema gains after 0.1 are named in `added_since_0_1`: they are written out (a run's
    resolved scenario.yaml) only where they differ from their default, so a 0.1 file resolves to
    what it did, and sweeps and calibrations started before they existed still resume."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
    added_since_0_1: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _without_new_defaults(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> Any:
        data = handler(self)
        every_key = isinstance(info.context, dict) and info.context.get(EVERY_KEY)
        if self.added_since_0_1 and isinstance(data, dict) and not every_key:
            fields = type(self).model_fields
            for name in self.added_since_0_1:
                default = fields[name].get_default(call_default_factory=True)
                if name in data and getattr(self, name) == default:
                    del data[name]
        return data


# --------------------------------------------------------------------------------------------
# Upper limits: each the largest value that still makes physical sense, so that a typo such as
# 1e308 is refused at its line instead of overflowing an array or a route weight later.
# --------------------------------------------------------------------------------------------

BYTES_PER_PERSON = 24
"""Bytes of the migrant arrays per person (`sim.population.Migrants`: two uint8, three int16,
one float32, three int32 columns); tests/test_bounds.py checks it against the arrays."""
MAX_PEOPLE = 50_000_000
"""Most people a scenario may hold: their arrays then take 1.2 GB (24 bytes each), a share of
a 24 GB machine that leaves room for the kernel's working copies."""
MAX_WALKING_SPEED_KMH = 15.0
"""A running pace: nobody walks faster for hours on end."""
MAX_VEHICLE_SPEED_KMH = 150.0
"""Above any highway speed limit in Central America or Mexico."""
MAX_ROAD_KM = 5_000.0
"""One road longer than the whole of Central America from Panama to Mexico's north is a typo."""
MAX_ROUTE_KM = 50_000.0
"""Detours and distances along roads: more than the Earth's circumference."""
MAX_SPAN_H = 8_784.0
"""A scenario's duration and every time span in it: one (leap) year of hours."""
MAX_WAITING_SCALE_H = 1e12
"""A Weibull scale of giving up: 1e12 h (a hundred million years) already says "never", the way
tests and fits write it; anything larger changes nothing but risks overflow."""
MAX_STEPS = 100_000
"""Steps of one run: the recorder keeps a row per step and place (8 bytes a counter)."""
MIN_STEP_H = 0.01
"""The shortest step, 36 seconds: shorter ones add nothing at walking pace, and every step
count of a run (departures up to two years on) stays within the kernel's int32."""
MAX_DAYS = 366.0
"""Day counts (quarantine): a year."""
MAX_RATE_PER_H = 1e9
"""Hazards and rates per hour: anything above about 50 an hour is already certain within a
step, so this only keeps products with steps, crowds and hours finite; 1e9 is how tests and
files write "at once"."""
MAX_FACTOR = 1_000.0
"""Multipliers (ride factor, crowd weight): a thousandfold is beyond any effect a source could
support."""
MIN_PREFERENCE = 1e-9
MAX_PREFERENCE = 1e9
"""Place preferences: a route's weight multiplies those of its places, and through 30 places
at either limit it is still a float (1e-270 to 1e270), never 0 or inf."""
MAX_SHAPE = 100.0
"""Weibull shape: above this the hazard is a step at the scale, and powers overflow."""
MAX_FORCE = 1_000_000
"""Police and soldiers at one crossing: more than any army of the region."""
MAX_GROUP_SIZE = 10_000
"""One travelling group: larger than any whole caravan reported."""
MAX_CAPACITY_PER_H = 1_000_000.0
"""People a return transport carries per hour at one place."""
MAX_PLACES = 30_000
"""Places of a network: the kernel keeps place indices in int16."""
MAX_WAVES = 100
"""Waves of a population: each origin has up to 200 routes, kept as int16 indices."""
MAX_SEED = 2**62
"""Seeds (plus replicates) stay within a signed 64-bit integer, as the results store them."""

UnitFloat = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]
WalkingSpeedKmh = Annotated[float, Field(gt=0.0, le=MAX_WALKING_SPEED_KMH)]
VehicleSpeedKmh = Annotated[float, Field(gt=0.0, le=MAX_VEHICLE_SPEED_KMH)]
RoadKm = Annotated[float, Field(gt=0.0, le=MAX_ROAD_KM)]
UncertaintyKm = Annotated[float, Field(ge=0.0, le=MAX_ROAD_KM)]
RouteKm = Annotated[float, Field(ge=0.0, le=MAX_ROUTE_KM)]
PositiveRouteKm = Annotated[float, Field(gt=0.0, le=MAX_ROUTE_KM)]
SpanH = Annotated[float, Field(ge=0.0, le=MAX_SPAN_H)]
PositiveSpanH = Annotated[float, Field(gt=0.0, le=MAX_SPAN_H)]
WaitingScaleH = Annotated[float, Field(gt=0.0, le=MAX_WAITING_SCALE_H)]
Days = Annotated[float, Field(ge=0.0, le=MAX_DAYS)]
RatePerH = Annotated[float, Field(ge=0.0, le=MAX_RATE_PER_H)]
Factor = Annotated[float, Field(ge=0.0, le=MAX_FACTOR)]
Preference = Annotated[float, Field(ge=MIN_PREFERENCE, le=MAX_PREFERENCE)]
Shape = Annotated[float, Field(gt=0.0, le=MAX_SHAPE)]
People = Annotated[int, Field(ge=0, le=MAX_PEOPLE)]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]

# A date and time as YAML files write it: 2021-01-14T06:00:00-06:00, or with a space for the T,
# without seconds, with Z for UTC, or with no offset (local wall-clock time).
_TIMESTAMP = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d\d?)-(?P<day>\d\d?)(?:[Tt]|[ \t]+)"
    r"(?P<hour>\d\d?):(?P<minute>\d\d)(?::(?P<second>\d\d)(?:\.(?P<fraction>\d+))?)?"
    r"(?:[ \t]*(?P<zone>Z|(?P<sign>[-+])(?P<zone_h>\d\d?)(?::?(?P<zone_min>\d\d))?))?"
)
_DATE_ONLY = re.compile(r"\d{4}-\d\d?-\d\d?")
_TIME_EXAMPLE = "2021-01-14T06:00:00-06:00"


def _timestamp(value: Any) -> Any:
    """A time as a datetime: given as one (a validated model's dump), or as text (the YAML 1.2
    core schema has no timestamps, see `sim.yamlio`); an impossible date or offset
    (2021-02-30, +25:00, year 0) is refused with what is wrong."""
    if isinstance(value, str):
        value = _parse_timestamp(value.strip())
    if isinstance(value, date) and not isinstance(value, datetime):
        raise ValueError(f"give a time of day too, like {_TIME_EXAMPLE}")
    if not isinstance(value, datetime):
        raise ValueError(f"expected a date and time like {_TIME_EXAMPLE}")
    return value


def _parse_timestamp(text: str) -> datetime:
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        if _DATE_ONLY.fullmatch(text):
            raise ValueError(f"give a time of day too, like {_TIME_EXAMPLE}")
        raise ValueError(f"expected a date and time like {_TIME_EXAMPLE}")
    part = match.groupdict()
    zone: tzinfo | None = None
    if part["zone"] == "Z":
        zone = UTC
    elif part["zone"] is not None:
        hours, minutes = int(part["zone_h"]), int(part["zone_min"] or 0)
        if hours > 23 or minutes > 59:
            raise ValueError(f"UTC offset {part['zone']} is not a real one (-23:59 to +23:59)")
        sign = -1 if part["sign"] == "-" else 1
        zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return datetime(
            int(part["year"]),
            int(part["month"]),
            int(part["day"]),
            int(part["hour"]),
            int(part["minute"]),
            int(part["second"] or 0),
            int((part["fraction"] or "0")[:6].ljust(6, "0")),
            tzinfo=zone,
        )
    except ValueError as exc:  # month 13, 30 February, year 0, hour 25
        raise ValueError(f"not a real date and time: {exc}") from None


def timestamp_or_none(value: Any) -> datetime | None:
    """`value` read as a `Timestamp`, or None if it is not one (the schema says why)."""
    try:
        parsed = _timestamp(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, datetime) else None


Timestamp = Annotated[datetime, BeforeValidator(_timestamp)]
"""A date and time, with or without a UTC offset: text as written in YAML, or a datetime."""
