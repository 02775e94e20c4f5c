"""The base of every schema read from YAML (scenarios, networks, rules, sweeps, calibrations),
and the constrained numbers they share."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class StrictModel(BaseModel):
    """Unknown keys are errors, types are not coerced, and validated objects are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


UnitFloat = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]
