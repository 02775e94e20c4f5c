"""The base of every schema read from YAML (scenarios, networks, rules, sweeps, calibrations),
and the constrained numbers they share."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
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
