"""A run directory's tables as CSV (`caravan export csv`), for readers without Parquet.

Each Parquet table the run wrote becomes a CSV file of the same name (`timeseries.csv`,
`places.csv`, `roads.csv`, `events.csv`), with the same columns and rows; times keep the
scenario's UTC offset (`2021-01-13 19:00:00.000-0600`). `columns.csv` says, for every column of
every file, its unit, label and meaning, from the results schema (`sim.results_schema`).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from sim.errors import CaravanError
from sim.results_schema import counter
from sim.rundir import TABLES, discard_on_failure, is_run_dir, new_staging, swap_into_place

COLUMNS_FILE = "columns.csv"
COLUMNS_HEADER = ("file", "column", "unit", "label", "description")

# The columns that are not counters: (unit, label, description); the time's unit is its zone.
FIXED_COLUMNS: dict[str, tuple[str, str, str]] = {
    "replicate": ("", "replicate", "replicate number from 0: seed = the run's first seed + it"),
    "step": ("", "step", "step number from 1"),
    "hour": ("h", "hours from the start", "hours from the scenario's start, at the step's end"),
    "time": ("", "time", "the scenario's clock at the end of the step (events: when it happened)"),
    "place": ("", "place", "place id (the network's `places`)"),
    "road": ("", "road", "road index: its position in the network's `roads`, from 0"),
    "place_a": ("", "first place", "the road's first place id"),
    "place_b": ("", "second place", "the road's second place id"),
    "n_on_road": ("people", "on the road", "people travelling on the road at the step's end"),
    "authority": ("", "authority", "the authority's name (the scenario's `authorities`)"),
    "event": ("", "event", "what the authority did"),
    "count": ("people", "count", "people concerned: the crowd that broke through, those held"),
    "detail": ("", "detail", "more about the event, as text"),
}


def describe(column: str, data_type: pa.DataType) -> tuple[str, str, str]:
    """A column's unit, label and description: the results schema's for a counter (`cum_x`
    is the running total of the flow `new_x`), else `FIXED_COLUMNS`'."""
    if column == "time" and isinstance(data_type, pa.TimestampType):
        zone = f"UTC{data_type.tz}" if data_type.tz else "no UTC offset"
        _, label, text = FIXED_COLUMNS[column]
        return f"local time ({zone})", label, text
    if column in FIXED_COLUMNS:
        return FIXED_COLUMNS[column]
    try:
        c = counter(column)
    except KeyError:
        return "", column, "not described by this version of caravan-sim"
    if column.startswith("cum_"):
        return c.unit, f"{c.label} (running total)", f"{c.doc}: everyone so far, to the step's end"
    when = "during the step" if c.kind == "flow" else "at the step's end"
    return c.unit, c.label, f"{c.doc} ({when})"


def run_tables(run_dir: Path) -> list[Path]:
    """The Parquet tables of a run directory, in `rundir.TABLES` order; CaravanError if
    `run_dir` is not a run directory."""
    if not run_dir.is_dir():
        raise CaravanError(f"{run_dir}: not a run directory (no such directory)")
    if not is_run_dir(run_dir):
        raise CaravanError(
            f"{run_dir}: not a run directory (it has no summary.json; `caravan run` writes one)"
        )
    return [run_dir / name for name in TABLES if (run_dir / name).is_file()]


def write_csv(run_dir: Path, out_dir: Path, overwrite: bool) -> list[Path]:
    """Write each table of `run_dir` as CSV into `out_dir`, with `columns.csv`; the directory
    appears whole at the end. Returns the files written, `columns.csv` last."""
    tables = run_tables(run_dir)
    staging = new_staging(out_dir, overwrite)
    rows: list[tuple[str, str, str, str, str]] = []
    names: list[str] = []
    with discard_on_failure(staging):
        for path in tables:
            try:
                table = pq.read_table(path)
            except (OSError, pa.ArrowException) as e:
                raise CaravanError(f"{path}: cannot read this table: {e}") from e
            name = path.with_suffix(".csv").name
            pa_csv.write_csv(table, staging / name)
            names.append(name)
            rows += [(name, f.name, *describe(f.name, f.type)) for f in table.schema]
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerows([COLUMNS_HEADER, *rows])
        (staging / COLUMNS_FILE).write_text(text.getvalue(), encoding="utf-8")
        swap_into_place(staging, out_dir)
    return [out_dir / name for name in [*names, COLUMNS_FILE]]
