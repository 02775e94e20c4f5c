"""What a run produced: time series, per-place and per-road counts, events, outcomes, provenance.

Results are plain arrays with names and units, independent of the model object (this module
never imports the model), so they can be written, read back and compared.

Naming follows the stock/flow convention: `n_*` is a stock at the end of a step, `new_*` a flow
during the step, `cum_*` the running total of a flow.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from sim.kernels import AT_PLACE, FLOWS, HELD_HERE, N_COUNTERS, STOCKS

# The outcomes that partition everyone who departed, at the end of the run.
PARTITION = (
    "returned_voluntarily",
    "remitted",
    "deported_after_quarantine",
    "in_quarantine",
    "reached_mexican_border",
    "dispersed_in_guatemala",
    "in_transit",
)

# The outcomes tables and plots of many runs show first.
MAIN_OUTCOMES = (
    "entered_guatemala",
    "returned_voluntarily",
    "remitted",
    "moved_on_toward_mexico",
    "reached_mexican_border",
    "tested_positive",
)


class Recorder:
    """Collects one row per step in preallocated arrays."""

    def __init__(self, n_steps: int, n_places: int, n_roads: int) -> None:
        self.counts = np.zeros((n_steps, N_COUNTERS), dtype=np.int64)
        self.places = np.zeros((n_steps, n_places, 2), dtype=np.int64)
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
    """One run. Times are the end of each step, in the scenario's local clock."""

    scenario_name: str
    seed: int
    version: str
    start: datetime
    step_h: float
    place_ids: tuple[str, ...]
    road_ends: tuple[tuple[str, str], ...]
    counts: npt.NDArray[np.int64]  # [step, counter]: FLOWS then STOCKS
    places: npt.NDArray[np.int64]  # [step, place, (at_place, held)]
    roads: npt.NDArray[np.int64]  # [step, road] migrants travelling on each road
    events: list[dict[str, Any]]
    outcomes: dict[str, int]
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
        for j, name in enumerate(FLOWS):
            out[f"new_{name}"] = self.counts[:, j]
            out[f"cum_{name}"] = np.cumsum(self.counts[:, j])
        for j, name in enumerate(STOCKS):
            out[f"n_{name}"] = self.counts[:, len(FLOWS) + j]
        return out


def compute_outcomes(
    counts: npt.NDArray[np.int64],
    places: npt.NDArray[np.int64],
    entries_by_crossing: Mapping[str, int],
    hold_places: Sequence[tuple[str, int]],
) -> dict[str, int]:
    """Outcomes at the end of a run from its recorded counts."""
    total = counts.sum(axis=0)
    last = counts[-1]

    def flow(name: str) -> int:
        return int(total[FLOWS.index(name)])

    def stock(name: str) -> int:
        return int(last[len(FLOWS) + STOCKS.index(name)])

    out = {
        "departed": flow("departed"),
        "not_departed": stock("waiting"),
        "entered_guatemala": flow("entered_guatemala"),
    }
    for crossing, n in entries_by_crossing.items():
        out[f"entered_guatemala_via_{crossing}"] = int(n)
    out.update(
        {
            "returned_voluntarily": flow("returned_voluntarily"),
            "remitted": flow("remitted"),
            "deported_after_quarantine": flow("deported_after_quarantine"),
            "tested": flow("tested"),
            "tested_positive": flow("tested_positive"),
            "quarantined": flow("quarantined"),
            "in_quarantine": stock("quarantined"),
            "reached_mexican_border": flow("reached_mexican_border"),
            "dispersed_in_guatemala": stock("dispersed_in_guatemala"),
            # on the road, held, or dispersed before entering Guatemala
            "in_transit": stock("moving")
            + stock("held_border")
            + stock("held_blockade")
            + stock("dispersed")
            - stock("dispersed_in_guatemala"),
            "slipped_past_blockades": flow("slipped"),
        }
    )
    out["moved_on_toward_mexico"] = (
        out["reached_mexican_border"] + out["dispersed_in_guatemala"] + stock("moving_in_guatemala")
    )
    for place, index in hold_places:
        out[f"held_at_{place}_peak"] = int(np.max(places[:, index, HELD_HERE], initial=0))
    return out


def outcome_keys(
    place_ids: Sequence[str], entry_crossings: Sequence[str], hold_places: Sequence[str]
) -> set[str]:
    """Every outcome key a run produces, from its places: the crossings into Guatemala and the
    places where border forces and blockades hold people (computed on an empty run, so the keys
    cannot drift from `compute_outcomes`)."""
    counts = np.zeros((1, N_COUNTERS), dtype=np.int64)
    places = np.zeros((1, len(place_ids), 2), dtype=np.int64)
    index = {p: i for i, p in enumerate(place_ids)}
    holds = [(p, index[p]) for p in hold_places]
    return set(compute_outcomes(counts, places, dict.fromkeys(entry_crossings, 0), holds))


ENTRY_PREFIX = "entered_guatemala_via_"
"""Outcomes by crossing are counted at the end of a run only (not step by step)."""


def outcomes_until(results: Results, step: int) -> dict[str, int]:
    """The outcomes as they stood at the end of `step` (0-based), as if the run ended there.

    Entries by crossing (`entered_guatemala_via_*`) are left out: the run counts them only in
    total. The last step gives `results.outcomes` without those keys.
    """
    if not 0 <= step < results.n_steps:
        raise ValueError(f"step {step} is outside the run's {results.n_steps} steps")
    held = [k for k in results.outcomes if k.startswith("held_at_") and k.endswith("_peak")]
    hold_places = [
        (place, results.place_ids.index(place))
        for place in (k.removeprefix("held_at_").removesuffix("_peak") for k in held)
    ]
    end = step + 1
    return compute_outcomes(results.counts[:end], results.places[:end], {}, hold_places)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def timeseries_table(results: Results, replicate: int = 0) -> pa.Table:
    columns: dict[str, Any] = {
        "replicate": pa.array(np.full(results.n_steps, replicate, dtype=np.int32)),
        "step": pa.array(np.arange(1, results.n_steps + 1, dtype=np.int32)),
        "hour": pa.array(results.hours),
        "time": pa.array(results.times, type=_time_type(results.start)),
    }
    columns.update({name: pa.array(values) for name, values in results.series().items()})
    return pa.table(columns)


def places_table(results: Results, replicate: int = 0) -> pa.Table:
    n_steps, n_places = results.n_steps, len(results.place_ids)
    times = np.repeat(np.array(results.times, dtype=object), n_places)
    return pa.table(
        {
            "replicate": pa.array(np.full(n_steps * n_places, replicate, dtype=np.int32)),
            "step": pa.array(np.repeat(np.arange(1, n_steps + 1, dtype=np.int32), n_places)),
            "time": pa.array(list(times), type=_time_type(results.start)),
            "place": pa.array(np.tile(np.array(results.place_ids, dtype=object), n_steps)),
            "n_at_place": pa.array(results.places[:, :, AT_PLACE].ravel()),
            "n_held": pa.array(results.places[:, :, HELD_HERE].ravel()),
        }
    )


def roads_table(results: Results, replicate: int = 0) -> pa.Table:
    n_steps, n_roads = results.n_steps, len(results.road_ends)
    ends = np.array(results.road_ends, dtype=object).reshape(n_roads, 2)
    return pa.table(
        {
            "replicate": pa.array(np.full(n_steps * n_roads, replicate, dtype=np.int32)),
            "step": pa.array(np.repeat(np.arange(1, n_steps + 1, dtype=np.int32), n_roads)),
            "road": pa.array(np.tile(np.arange(n_roads, dtype=np.int32), n_steps)),
            "place_a": pa.array(np.tile(ends[:, 0], n_steps)),
            "place_b": pa.array(np.tile(ends[:, 1], n_steps)),
            "n_on_road": pa.array(results.roads.ravel()),
        }
    )


def events_table(results: Results, replicate: int = 0) -> pa.Table:
    rows = results.events
    return pa.table(
        {
            "replicate": pa.array([replicate] * len(rows), type=pa.int32()),
            "time": pa.array(
                [results.start + timedelta(hours=r["t_h"]) for r in rows],
                type=_time_type(results.start),
            ),
            "hour": pa.array([float(r["t_h"]) for r in rows], type=pa.float64()),
            "authority": pa.array([r["authority"] for r in rows], type=pa.string()),
            "event": pa.array([r["kind"] for r in rows], type=pa.string()),
            "place": pa.array([r["place"] for r in rows], type=pa.string()),
            "count": pa.array([int(r["count"]) for r in rows], type=pa.int64()),
            "detail": pa.array([r["detail"] for r in rows], type=pa.string()),
        }
    )


def _time_type(start: datetime) -> pa.DataType:
    if start.tzinfo is None:
        return pa.timestamp("s")
    offset = start.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return pa.timestamp("s", tz=f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}")


def write_parquet(tables: Sequence[pa.Table], path: Path) -> None:
    """Concatenate replicate tables and write them (the caller writes into a staging dir)."""
    pq.write_table(pa.concat_tables(tables), path)


# The 90% interval over replicates: 5th percentile, median, 95th percentile.
INTERVAL_PERCENTILES = (5.0, 50.0, 95.0)


def interval(values: Sequence[float]) -> dict[str, float]:
    """Median and 90% interval (5th and 95th percentile) of values over replicates."""
    lo, med, hi = np.percentile(np.asarray(values, dtype=np.float64), INTERVAL_PERCENTILES)
    return {"median": float(med), "p05": float(lo), "p95": float(hi)}


def summarise(per_replicate: Sequence[Mapping[str, int]]) -> dict[str, dict[str, float]]:
    """`interval` of each outcome over replicates."""
    return {key: interval([r[key] for r in per_replicate]) for key in per_replicate[0]}


def write_json(data: Mapping[str, Any], path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
