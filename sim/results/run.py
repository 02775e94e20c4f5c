"""One run's results: named arrays independent of the model object, and the recorder that fills
them step by step. This module never imports the model, so results can be written, read back and
compared without a simulation library."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from sim import results_schema as schema
from sim.results_schema import Layout


class Recorder:
    """Collects one row per step of every counter the kernel keeps, in preallocated arrays."""

    def __init__(self, n_steps: int, n_places: int, n_roads: int) -> None:
        self.counts = np.zeros((n_steps, schema.N_COUNTERS), dtype=np.int64)
        self.places = np.zeros((n_steps, n_places, schema.N_PLACE_COUNTERS), dtype=np.int64)
        self.roads = np.zeros((n_steps, n_roads), dtype=np.int64)
        self.events: list[dict[str, Any]] = []
        self.n_recorded = 0

    def record(
        self,
        step: int,
        counts: npt.NDArray[np.int64],
        places: npt.NDArray[np.int64],
        roads: npt.NDArray[np.int64],
    ) -> None:
        self.counts[step] = counts
        self.places[step] = places
        self.roads[step] = roads
        self.n_recorded = step + 1


@dataclass
class Results:
    """One run. Times are the end of each step, in the scenario's local clock.

    `counts` has the columns `layout.columns` (flows as `new_*`, stocks as `n_*`), `places` the
    columns `layout.place_columns` (`n_at_place`, `n_held`, ...)."""

    scenario_name: str
    seed: int
    version: str
    start: datetime
    step_h: float
    place_ids: tuple[str, ...]
    road_ends: tuple[tuple[str, str], ...]
    counts: npt.NDArray[np.int64]  # [step, column]
    places: npt.NDArray[np.int64]  # [step, place, place column]
    roads: npt.NDArray[np.int64]  # [step, road] people travelling on each road
    events: list[dict[str, Any]]
    outcomes: dict[str, int]
    layout: Layout = field(default_factory=Layout)
    place_lat: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    place_lon: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    @property
    def n_steps(self) -> int:
        return int(self.counts.shape[0])

    @property
    def hours(self) -> npt.NDArray[np.float64]:
        """Hours from the start at the end of each step."""
        return (np.arange(self.n_steps, dtype=np.float64) + 1.0) * self.step_h

    @property
    def times(self) -> list[datetime]:
        return [self.start + timedelta(hours=float(h)) for h in self.hours]

    def step_at(self, when: datetime) -> int:
        """The last step that ends at or before `when`: the state of the run at that time.
        `when` must carry a UTC offset exactly when the scenario's start does."""
        hours = (when - self.start) / timedelta(hours=1)
        step = math.floor(hours / self.step_h + 1e-9) - 1
        if not 0 <= step < self.n_steps:
            raise ValueError(
                f"{when} is outside the run, whose steps end from {self.times[0]} to "
                f"{self.times[-1]}"
            )
        return step

    def series(self) -> dict[str, npt.NDArray[np.int64]]:
        """Every time series by name: new_* and cum_* for flows, n_* for stocks."""
        out: dict[str, npt.NDArray[np.int64]] = {}
        for j, column in enumerate(self.layout.columns):
            out[column] = self.counts[:, j]
            if column.startswith("new_"):
                out["cum_" + column.removeprefix("new_")] = np.cumsum(self.counts[:, j])
        return out

    def at_places(self, column: str) -> npt.NDArray[np.int64]:
        """A per-place count (`n_at_place`, `n_held`, ...) as [step, place]."""
        return self.places[:, :, self.layout.place_columns.index(column)]
