"""Priors as distributions in the space where the fit moves particles ("fit space").

A loguniform parameter is fitted on the log of its value, the others on the value itself, so
the perturbation kernel takes steps of the same relative size across a log range. Densities are
those of the fit-space variable, which is what the importance weights of ABC-SMC need.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from sim.scenario.calibration import FreeParameter

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Prior:
    """One free parameter: its keys, its prior, and the map between fit space and values."""

    key: str
    label: str
    spec: FreeParameter

    @property
    def keys(self) -> tuple[str, ...]:
        """Every scenario key this parameter sets."""
        return (self.key, *self.spec.also)

    @property
    def log_scale(self) -> bool:
        return self.spec.prior == "loguniform"

    @property
    def bounds(self) -> tuple[float, float]:
        """The support in fit space."""
        lo, hi = self.spec.range
        return (math.log(lo), math.log(hi)) if self.log_scale else (lo, hi)

    def _dist(self) -> Any:
        lo, hi = self.bounds
        if self.spec.prior == "normal":
            mean, sd = self.spec.mean, self.spec.sd
            assert mean is not None and sd is not None
            return stats.truncnorm((lo - mean) / sd, (hi - mean) / sd, loc=mean, scale=sd)
        return stats.uniform(loc=lo, scale=hi - lo)

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        """`n` fit-space draws from the prior."""
        return np.asarray(self._dist().ppf(rng.random(n)), dtype=np.float64)

    def logpdf(self, fit: FloatArray) -> FloatArray:
        """Log density in fit space; -inf outside the range."""
        return np.asarray(self._dist().logpdf(fit), dtype=np.float64)

    def value(self, fit: float) -> float | int:
        """The scenario value for a fit-space coordinate."""
        x = math.exp(fit) if self.log_scale else float(fit)
        lo, hi = self.spec.range
        x = min(max(x, lo), hi)  # exp(log(x)) may step outside by an ulp
        if self.spec.integer:
            return int(min(max(round(x), math.ceil(lo)), math.floor(hi)))
        return x

    def value_rounded(self, value: float) -> float | int:
        """`value` as a calibrated scenario writes it: 4 significant digits, or whole."""
        if self.spec.integer:
            return round(value)
        return float(f"{value:.4g}")

    def quantiles_of_values(self, probabilities: Sequence[float]) -> list[float]:
        """Prior quantiles on the value scale (for the report)."""
        fit = self._dist().ppf(np.asarray(probabilities, dtype=np.float64))
        return [float(self.value(float(f))) for f in fit]


@dataclass(frozen=True)
class PriorSet:
    """The free parameters of a calibration, in the order they were declared."""

    priors: tuple[Prior, ...]

    @classmethod
    def from_section(cls, parameters: Mapping[str, FreeParameter]) -> PriorSet:
        return cls(tuple(Prior(key, p.label or key, p) for key, p in parameters.items()))

    @property
    def labels(self) -> list[str]:
        return [p.label for p in self.priors]

    @property
    def dim(self) -> int:
        return len(self.priors)

    def sample(self, rng: np.random.Generator) -> FloatArray:
        """One fit-space point from the prior."""
        return np.array([p.sample(rng, 1)[0] for p in self.priors], dtype=np.float64)

    def logpdf(self, fit: FloatArray) -> FloatArray:
        """Joint log density of fit-space points [n, dim] (independent priors)."""
        fit = np.atleast_2d(fit)
        total = np.zeros(fit.shape[0], dtype=np.float64)
        for i, prior in enumerate(self.priors):
            total += prior.logpdf(fit[:, i])
        return total

    def inside(self, fit: FloatArray) -> bool:
        return all(lo <= x <= hi for x, (lo, hi) in zip(fit, self.bounds(), strict=True))

    def bounds(self) -> list[tuple[float, float]]:
        return [p.bounds for p in self.priors]

    def values(self, fit: FloatArray) -> dict[str, float | int]:
        """Parameter values by label for a fit-space point."""
        return {p.label: p.value(float(x)) for p, x in zip(self.priors, fit, strict=True)}

    def scenario_values(self, fit: FloatArray) -> dict[str, float | int]:
        """Scenario key -> value for a fit-space point (tied keys get the same value)."""
        out: dict[str, float | int] = {}
        for prior, x in zip(self.priors, fit, strict=True):
            value = prior.value(float(x))
            out.update(dict.fromkeys(prior.keys, value))
        return out
