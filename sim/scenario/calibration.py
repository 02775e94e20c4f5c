"""The `calibration:` section of a scenario: which keys are free, and their priors.

```yaml
calibration:
  parameters:
    movement.walking_speed_kmh: {prior: uniform, range: [2.5, 4.5]}
    authorities.el_florido_force.push_rate_per_h:
      prior: loguniform
      range: [0.05, 0.5]
      also: [authorities.corinto_force.push_rate_per_h]   # set to the same value
      label: push_rate_per_h                              # column name (default: the key)
    population.size: {prior: uniform, range: [7000, 9000], integer: true}
    health.prevalence: {prior: normal, mean: 0.2, sd: 0.05, range: [0.05, 0.5]}
  particles: 200          # accepted parameter sets per generation
  generations: 8          # at most this many generations
  budget: 20000           # at most this many simulations for the fit
  point_candidates: 20    # the calibrated scenario: the best of the posterior medians and the
  point_replicates: 10    #   20 closest particles, each run with 10 seeds
  point_search: 0         # then a local search of this many points from it (0: none)
```

The model never reads this section; `caravan calibrate` does. Only the schema lives here (it is
part of the scenario's); checks that need the rest of the scenario (does the key exist, is every
value in the range a valid scenario) are made when a calibration is planned
(`sim.calibrate.plan`), and the priors' densities live in `sim.calibrate.priors`.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, model_validator

from sim.schema import StrictModel

MAX_SIMULATIONS = 10_000_000
"""Particles and budget of a fit: ten million simulations is weeks of this machine's time."""

PriorKind = Literal["uniform", "loguniform", "normal"]


class FreeParameter(StrictModel):
    """One free parameter: a prior over `range`, set on its key (and on the keys in `also`).

    - `uniform`: every value in the range equally likely;
    - `loguniform`: every order of magnitude in the range equally likely (range above 0);
    - `normal`: a normal distribution with `mean` and `sd`, cut to the range.

    `integer: true` rounds the value to a whole number when it is set on the scenario.
    """

    prior: PriorKind
    range: list[float] = Field(min_length=2, max_length=2)
    mean: float | None = None
    sd: Annotated[float, Field(gt=0.0)] | None = None
    integer: bool = False
    also: list[str] = Field(default_factory=list)
    label: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")

    @model_validator(mode="after")
    def _consistent(self) -> FreeParameter:
        lo, hi = self.range
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"range must be [low, high] with low < high (got [{lo:g}, {hi:g}])")
        if self.prior == "loguniform" and lo <= 0:
            raise ValueError(f"a loguniform prior needs a range above 0 (got [{lo:g}, {hi:g}])")
        normal = self.prior == "normal"
        if normal and (self.mean is None or self.sd is None):
            raise ValueError("a normal prior needs 'mean' and 'sd'")
        if not normal and (self.mean is not None or self.sd is not None):
            raise ValueError(f"'mean' and 'sd' are for a normal prior, not {self.prior}")
        if self.integer and math.ceil(lo) > math.floor(hi):
            raise ValueError(f"no whole number lies in [{lo:g}, {hi:g}]")
        if len(set(self.also)) != len(self.also):
            raise ValueError("a key is listed twice in 'also'")
        return self


class CalibrationSection(StrictModel):
    """Free parameters with their priors, and the size of the ABC-SMC fit."""

    parameters: dict[str, FreeParameter] = Field(min_length=1)
    particles: Annotated[int, Field(ge=10, le=MAX_SIMULATIONS)] = 200
    generations: Annotated[int, Field(ge=1, le=50)] = 8
    budget: Annotated[int, Field(ge=10, le=MAX_SIMULATIONS)] = 20_000
    quantile: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.5
    min_tolerance: Annotated[float, Field(ge=0.0)] = 0.0
    min_acceptance: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.01
    predictive_draws: Annotated[int, Field(ge=0, le=100_000)] = 200
    point_candidates: Annotated[int, Field(ge=0, le=998)] = 20
    point_replicates: Annotated[int, Field(ge=1, le=999)] = 10
    point_search: Annotated[int, Field(ge=0, le=1000)] = 0
    check_replicates: Annotated[int, Field(ge=0, le=999)] = 50

    @model_validator(mode="after")
    def _unique(self) -> CalibrationSection:
        labels: dict[str, str] = {}
        keys: dict[str, str] = {}
        for key, parameter in self.parameters.items():
            label = parameter.label or key
            if label in labels:
                raise ValueError(f"label '{label}' is used by '{labels[label]}' and '{key}'")
            labels[label] = key
            for set_key in (key, *parameter.also):
                if set_key in keys:
                    raise ValueError(f"'{set_key}' is set by both '{keys[set_key]}' and '{key}'")
                keys[set_key] = key
        return self
