"""Designs: which parameter values each point of a sweep gets (full grid, Latin hypercube, Sobol).

The samplers are scipy's (`qmc.LatinHypercube`) and SALib's (Saltelli's extension of Sobol'
sequences, in the order `SALib.analyze.sobol` expects). They draw in the unit cube; each
parameter maps its unit column to its own values (linear or log range, whole numbers, or a
list of choices), so the sensitivity analysis sees the same unit-cube design it was drawn from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from sim.sweep.spec import DesignSpec, Grid, LatinHypercube, Parameter, Sobol


@dataclass(frozen=True)
class Axis:
    """One varied scenario key: its column in the results and how design values map onto it."""

    key: str
    label: str
    spec: Parameter

    @cached_property  # read for every stored value
    def arrow_type(self) -> pa.DataType:
        """Type of the results column: numbers stay numbers, other choices are stored as text."""
        spec = self.spec
        if spec.range is not None:
            return pa.int64() if spec.integer else pa.float64()
        values = spec.values or []
        if all(isinstance(v, bool) for v in values):
            return pa.bool_()
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return pa.int64()
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            return pa.float64()
        return pa.string()

    def grid_values(self) -> list[Any]:
        """The values a grid design takes along this axis (column values)."""
        spec = self.spec
        if spec.values is not None:
            return list(spec.values)
        assert spec.range is not None and spec.steps is not None
        lo, hi = spec.range
        if spec.scale == "log":
            points = np.geomspace(lo, hi, spec.steps)
        else:
            points = np.linspace(lo, hi, spec.steps)
        if spec.integer:
            return [round(float(x)) for x in points]
        return [float(x) for x in points]

    def from_unit(self, u: npt.NDArray[np.float64]) -> list[Any]:
        """Column values for points drawn uniformly in [0, 1)."""
        spec = self.spec
        if spec.values is not None:  # a choice among values, each equally likely
            k = len(spec.values)
            index = np.minimum((u * k).astype(np.int64), k - 1)
            return [spec.values[i] for i in index]
        assert spec.range is not None
        lo, hi = spec.range
        if spec.integer:  # every whole number in [lo, hi] equally likely
            span = int(hi) - int(lo) + 1
            return [int(lo) + min(int(x * span), span - 1) for x in u]
        if spec.scale == "log":
            x = np.exp(math.log(lo) + u * (math.log(hi) - math.log(lo)))
        else:
            x = lo + u * (hi - lo)
        return [float(v) for v in np.clip(x, lo, hi)]

    def scenario_value(self, column_value: Any) -> Any:
        """What the scenario key receives for a column value."""
        if self.spec.hours_after is not None:
            return self.spec.hours_after + timedelta(hours=float(column_value))
        return column_value

    def column_value(self, value: Any) -> Any:
        """A design value as stored in the results (dates as ISO text)."""
        if isinstance(value, datetime):
            return value.isoformat()
        if self.arrow_type == pa.float64():
            return float(value)
        return value


@dataclass(frozen=True)
class Design:
    """The points of a sweep: point i sets `axes[j].key` to `scenario_values(i)[key]`."""

    kind: str
    axes: tuple[Axis, ...]
    columns: dict[str, list[Any]]  # label -> the design value of each point (see `Axis`)
    unit_sample: npt.NDArray[np.float64] | None = None  # the drawn unit cube (lhs, sobol)
    second_order: bool = False

    @property
    def n_points(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def scenario_values(self, point_id: int) -> dict[str, Any]:
        return {a.key: a.scenario_value(self.columns[a.label][point_id]) for a in self.axes}

    def point_columns(self, point_id: int) -> dict[str, Any]:
        """The point's row in the results: parameter label -> stored value."""
        return {a.label: a.column_value(self.columns[a.label][point_id]) for a in self.axes}

    def first(self, n: int) -> Design:
        """The design cut to its first `n` points (all of them if it has no more)."""
        columns = {label: values[:n] for label, values in self.columns.items()}
        unit = None if self.unit_sample is None else self.unit_sample[:n]
        return Design(self.kind, self.axes, columns, unit, self.second_order)

    def schema(self) -> pa.Schema:
        return pa.schema([(a.label, a.arrow_type) for a in self.axes])

    def table(self) -> pa.Table:
        """One row per point: point_id and the value of each varied parameter."""
        arrays = [pa.array(np.arange(self.n_points, dtype=np.int64))]
        arrays += [
            pa.array([a.column_value(v) for v in self.columns[a.label]], type=a.arrow_type)
            for a in self.axes
        ]
        return pa.Table.from_arrays(arrays, names=["point_id", *[a.label for a in self.axes]])


def make_design(axes: tuple[Axis, ...], spec: DesignSpec, seed: int) -> Design:
    """Draw the design; the same axes, spec and seed always give the same points."""
    if isinstance(spec, Grid):
        return _grid(axes)
    if isinstance(spec, LatinHypercube):
        from scipy.stats import qmc  # noqa: PLC0415 - loaded when drawn; workers never draw

        sampler = qmc.LatinHypercube(d=len(axes), rng=np.random.default_rng(seed))
        unit = sampler.random(spec.points)
        return _from_unit("lhs", axes, unit)
    assert isinstance(spec, Sobol)
    problem = {
        "num_vars": len(axes),
        "names": [a.label for a in axes],
        "bounds": [[0.0, 1.0]] * len(axes),
    }
    from SALib.sample import sobol as salib_sobol  # noqa: PLC0415 - as qmc

    unit = salib_sobol.sample(
        problem, spec.base_points, calc_second_order=spec.second_order, seed=seed
    )
    return _from_unit("sobol", axes, unit, second_order=spec.second_order)


def _grid(axes: tuple[Axis, ...]) -> Design:
    """Every combination; the first parameter varies slowest (like nested loops)."""
    per_axis = [a.grid_values() for a in axes]
    n = math.prod(len(v) for v in per_axis)
    columns: dict[str, list[Any]] = {}
    repeat = n
    for axis, values in zip(axes, per_axis, strict=True):
        repeat //= len(values)
        tile = n // (repeat * len(values))
        columns[axis.label] = [v for v in values for _ in range(repeat)] * tile
    return Design("grid", axes, columns)


def _from_unit(
    kind: str, axes: tuple[Axis, ...], unit: npt.NDArray[np.float64], second_order: bool = False
) -> Design:
    columns = {a.label: a.from_unit(unit[:, j]) for j, a in enumerate(axes)}
    return Design(kind, axes, columns, unit_sample=unit, second_order=second_order)
