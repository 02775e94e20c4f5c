"""The sweep file's schema: a base scenario, the keys to vary, a design, replicates and a seed.

```yaml
name: blockade-strength-duration
base: ../january-2021.yaml          # relative to this file
set: {output.plots: false}          # fixed for every point (optional)
parameters:
  authorities.vado_hondo_blockade.slip_chance_per_h: {range: [0.0005, 0.05], steps: 5, scale: log}
  authorities.vado_hondo_blockade.active.end:
    hours_after: 2021-01-16T19:00:00-06:00
    values: [12, 24, 37, 48, 72]
    label: blockade_duration_h
design: {kind: grid}                # or {kind: lhs, points: 200}, {kind: sobol, base_points: 64}
replicates: 5
seed: 0
record: {time_series: false}
```
Validated with the scenario's strict rules (`sim.scenario`): unknown keys are named with a
did-you-mean hint, and every problem carries the sweep file's line.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal, Union

from pydantic import Field, model_validator

from sim.schema import Seed, StrictModel, Timestamp

MAX_REPLICATES = 100_000
"""Replicates of one point: more than any confidence interval needs."""
MAX_POINTS = 10_000_000
"""Points of a design: ten million runs is weeks of this machine's time."""

RESERVED_COLUMNS = frozenset({"run_id", "point_id", "replicate", "seed", "elapsed_s"})


class Parameter(StrictModel):
    """How one scenario key varies: a list of `values`, or a `range` [low, high]."""

    values: list[Any] | None = Field(default=None, min_length=1)
    range: list[float] | None = Field(default=None, min_length=2, max_length=2)
    # a grid over a range: evenly spaced values
    steps: int | None = Field(default=None, ge=2, le=MAX_POINTS)
    scale: Literal["linear", "log"] = "linear"
    integer: bool = False  # a range of whole numbers
    hours_after: Timestamp | None = None  # the key is a time; values are hours after this one
    label: str | None = Field(default=None, min_length=1)  # results column (default: the key)

    @model_validator(mode="after")
    def _consistent(self) -> Parameter:
        if (self.values is None) == (self.range is None):
            raise ValueError("give either 'values' (a list) or 'range' ([low, high]), not both")
        if self.range is not None:
            lo, hi = self.range
            if not lo < hi:
                raise ValueError(f"range must go from low to high (got [{lo:g}, {hi:g}])")
            if self.scale == "log" and lo <= 0:
                raise ValueError(f"a log scale needs a range above 0 (got [{lo:g}, {hi:g}])")
            if self.integer and not (float(lo).is_integer() and float(hi).is_integer()):
                raise ValueError(f"an integer range needs whole-number ends (got [{lo}, {hi}])")
        else:
            if self.steps is not None or self.integer or self.scale != "linear":
                raise ValueError("'steps', 'scale' and 'integer' apply to a 'range', not 'values'")
            _check_values(self.values or [])
        hours = self.values if self.hours_after is not None and self.values is not None else []
        if not all(_is_number(v) for v in hours):
            raise ValueError("with 'hours_after', the values are hours: give numbers")
        if self.label is not None and self.label in RESERVED_COLUMNS:
            raise ValueError(f"label '{self.label}' is a column the results already have")
        return self


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_values(values: list[Any]) -> None:
    kinds = set()
    for value in values:
        if _is_number(value):
            if not math.isfinite(value) or abs(value) > 2**63:
                raise ValueError(f"each number must be finite and within ±2**63 (got {value!r})")
            kinds.add("numbers")
        elif isinstance(value, bool):
            kinds.add("true/false")
        elif isinstance(value, str):
            kinds.add("text")
        elif isinstance(value, datetime):
            kinds.add("dates")
        else:
            raise ValueError(
                f"each value must be a number, text, true/false or a date (got {value!r})"
            )
    if len(kinds) > 1:
        raise ValueError(f"values mix {' and '.join(sorted(kinds))}; give one kind")
    if len({repr(v) for v in values}) != len(values):
        raise ValueError("a value is listed twice")


class Grid(StrictModel):
    """Every combination of every parameter's values."""

    kind: Literal["grid"]


class LatinHypercube(StrictModel):
    """`points` points spread by Latin hypercube sampling (scipy.stats.qmc)."""

    kind: Literal["lhs"]
    points: int = Field(ge=1, le=MAX_POINTS)


class Sobol(StrictModel):
    """Saltelli's design for Sobol' indices (SALib): base_points x (2D + 2) points for D
    parameters, or base_points x (D + 2) without second-order indices."""

    kind: Literal["sobol"]
    base_points: int = Field(ge=2, le=MAX_POINTS)
    second_order: bool = False

    @model_validator(mode="after")
    def _power_of_two(self) -> Sobol:
        n = self.base_points
        if n & (n - 1):
            lower = 1 << (n.bit_length() - 1)
            raise ValueError(
                f"base_points must be a power of 2 for a balanced Sobol' sequence "
                f"(got {n}; try {lower} or {lower * 2})"
            )
        return self


DesignSpec = Annotated[Union[Grid, LatinHypercube, Sobol], Field(discriminator="kind")]  # noqa: UP007


class Record(StrictModel):
    time_series: bool = False  # one row per run and step in timeseries/ (about 40 KB a run)


class SweepFile(StrictModel):
    """A sweep file as written."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    description: str = ""
    base: str = Field(min_length=1)
    set: dict[str, Any] = Field(default_factory=dict)
    parameters: dict[str, Parameter] = Field(min_length=1)
    design: DesignSpec = Grid(kind="grid")
    replicates: int = Field(default=1, ge=1, le=MAX_REPLICATES)
    seed: Seed = 0
    record: Record = Record()
