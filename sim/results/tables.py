"""A run's results as Arrow tables and JSON, and the summaries of replicates."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim import package_version
from sim.results.run import Results


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
    columns: dict[str, Any] = {
        "replicate": pa.array(np.full(n_steps * n_places, replicate, dtype=np.int32)),
        "step": pa.array(np.repeat(np.arange(1, n_steps + 1, dtype=np.int32), n_places)),
        "time": pa.array(list(times), type=_time_type(results.start)),
        "place": pa.array(np.tile(np.array(results.place_ids, dtype=object), n_steps)),
    }
    for j, column in enumerate(results.layout.place_columns):
        columns[column] = pa.array(results.places[:, :, j].ravel())
    return pa.table(columns)


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


VERSION_KEY = b"caravan_sim_version"
"""Key of the package version in the metadata of a run directory's Parquet files."""


def write_parquet(tables: Sequence[pa.Table], path: Path) -> None:
    """Concatenate replicate tables and write them (the caller writes into a staging dir),
    with the package version in the file's metadata (key `caravan_sim_version`)."""
    table = pa.concat_tables(tables)
    metadata = {**(table.schema.metadata or {}), VERSION_KEY: package_version().encode()}
    pq.write_table(table.replace_schema_metadata(metadata), path)


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
