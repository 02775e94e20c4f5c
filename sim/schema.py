"""The base of every schema read from YAML (scenarios, networks, rules, sweeps, calibrations),
and the constrained numbers they share."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
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
    """Unknown keys are errors, types are not coerced, and validated objects are frozen.

    Keys a schema gains after 0.1 are named in `added_since_0_1`: they are written out (a run's
    resolved scenario.yaml) only where they differ from their default, so a 0.1 file resolves to
    what it did, and sweeps and calibrations started before they existed still resume."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
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


UnitFloat = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]


# A date and time as YAML files write it: 2021-01-14T06:00:00-06:00, or with a space for the T,
# without seconds, with Z for UTC, or with no offset (local wall-clock time).
_TIMESTAMP = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d\d?)-(?P<day>\d\d?)(?:[Tt]|[ \t]+)"
    r"(?P<hour>\d\d?):(?P<minute>\d\d)(?::(?P<second>\d\d)(?:\.(?P<fraction>\d+))?)?"
    r"(?:[ \t]*(?P<zone>Z|(?P<sign>[-+])(?P<zone_h>\d\d?)(?::?(?P<zone_min>\d\d))?))?"
)


def _timestamp(value: Any) -> Any:
    """A date and time written as text in YAML (the YAML 1.2 core schema has no timestamps, see
    `sim.yamlio`) as a datetime; datetimes (a validated model's dump) pass as they are, and
    anything else is left to the strict datetime type to refuse."""
    if not isinstance(value, str):
        return value
    match = _TIMESTAMP.fullmatch(value.strip())
    if match is None:
        raise ValueError("expected a datetime such as 2021-01-14T06:00:00-06:00")
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


Timestamp = Annotated[datetime, BeforeValidator(_timestamp)]
"""A date and time in a schema: text as written in YAML, or a datetime."""
