"""The base of every schema read from YAML (scenarios, networks, sweeps, calibrations)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Unknown keys are errors, types are not coerced, and validated objects are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
