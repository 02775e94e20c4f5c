"""A run directory: writing it so that nothing already there is lost and no half-written run is
read, and reading it back (`load_run`).

Everything is written into a staging directory beside the target and renamed into place at the
end; a run that dies leaves only `*.partial-*` directories, never a target that looks complete.
`new_staging` and `swap_into_place` do the same for other outputs (`caravan export`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from sim import scenario as scenario_module
from sim.errors import CaravanError, OutputExistsError
from sim.results import (
    Layout,
    Results,
    events_table,
    layout_of,
    places_table,
    roads_table,
    summarise,
    timeseries_table,
    write_json,
    write_parquet,
)
from sim.scenario import Scenario

SUMMARY = "summary.json"
SCENARIO = "scenario.yaml"


def default_out_dir(scenario: Scenario, seed: int) -> Path:
    """runs/<scenario>/seed<N>-<UTC time>: a new directory every time."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path("runs") / scenario.name / f"seed{seed}-{stamp}"


def check_writable(out_dir: Path, overwrite: bool) -> None:
    """Refuse to write over results that are already there, unless told to, and refuse a place
    this process cannot write (`check_out_location`): both before any work is done."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputExistsError(f"{out_dir}: exists and is not a directory; choose another --out")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise OutputExistsError(
            f"{out_dir}: already holds results; choose another --out, or pass --overwrite "
            "to replace them"
        )
    check_out_location(out_dir)


def check_out_location(out_dir: Path, flag: str = "--out") -> None:
    """Raise CaravanError, naming `flag` and the path, unless `out_dir` is a directory this
    process can write in, or can be created (with its missing parents) where it would go.

    Tried, not guessed from permission bits (which say nothing of read-only mounts, ACLs or
    root): a probe directory is made and removed in `out_dir`, or in its nearest existing
    ancestor. `out_dir` itself is left as it was.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise CaravanError(f"{flag} {out_dir}: is a file, not a directory; choose another {flag}")
    existing = out_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise CaravanError(
            f"{flag} {out_dir}: cannot be created, because {existing} is a file, not a "
            f"directory; choose another {flag}"
        )
    try:
        probe = tempfile.mkdtemp(prefix=".caravan-probe-", dir=existing)
    except OSError as exc:
        where = "" if existing == out_dir else f" (it would be created in {existing})"
        raise CaravanError(
            f"{flag} {out_dir}: cannot write there{where}: {exc.strerror or exc}; "
            f"choose another {flag}"
        ) from exc
    os.rmdir(probe)


def write_run(
    out_dir: Path,
    scenario: Scenario,
    runs: Sequence[Results],
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write summary, tables and resolved scenario of one or more replicates (the figures are
    drawn from what was written: `sim.figures`)."""
    staging = new_staging(out_dir, overwrite)
    with discard_on_failure(staging):
        summary = summary_of(scenario, runs)
        write_json(summary, staging / SUMMARY)
        (staging / SCENARIO).write_text(scenario.to_yaml(), encoding="utf-8")
        if scenario.output.time_series:
            write_parquet(
                [timeseries_table(r, k) for k, r in enumerate(runs)],
                staging / "timeseries.parquet",
            )
        if scenario.output.place_counts:
            write_parquet(
                [places_table(r, k) for k, r in enumerate(runs)], staging / "places.parquet"
            )
            write_parquet(
                [roads_table(r, k) for k, r in enumerate(runs)], staging / "roads.parquet"
            )
        write_parquet([events_table(r, k) for k, r in enumerate(runs)], staging / "events.parquet")
        swap_into_place(staging, out_dir)
    return summary


@contextmanager
def discard_on_failure(staging: Path) -> Iterator[None]:
    """Remove the staging directory if filling or swapping it fails (Ctrl-C included), so a
    failed write leaves no `*.partial-<pid>` directory behind; then re-raise."""
    try:
        yield
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def summary_of(scenario: Scenario, runs: Sequence[Results]) -> dict[str, Any]:
    """The summary.json content: provenance, outcomes (median over replicates), intervals."""
    per_replicate = [r.outcomes for r in runs]
    stats = summarise(per_replicate)
    return {
        "scenario": scenario.name,
        "scenario_file": scenario.source_file,
        "version": runs[0].version,
        "seeds": [r.seed for r in runs],
        "replicates": len(runs),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "start": scenario.time.start.isoformat(),
        "duration_h": scenario.time.duration_h,
        "step_h": scenario.time.step_h,
        "partition": list(layout_of(scenario).partition),
        # one run: its counts; several: the median of each (which may end in .5)
        "outcomes": dict(per_replicate[0])
        if len(runs) == 1
        else {k: v["median"] for k, v in stats.items()},
        "outcome_intervals": stats if len(runs) > 1 else None,
        "per_replicate": per_replicate,
        # what the loader found valid but changing nothing, as `caravan check` prints it
        "warnings": [str(w) for w in scenario.warnings],
    }


def new_staging(out_dir: Path, overwrite: bool) -> Path:
    """An empty staging directory beside `out_dir`, after checking `out_dir` may be written.

    Fill it, then call `swap_into_place`: readers never see a half-written `out_dir`.
    """
    check_writable(out_dir, overwrite)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.with_name(f"{out_dir.name}.partial-{os.getpid()}")
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    return staging


def swap_into_place(staging: Path, out_dir: Path) -> None:
    """Rename a filled staging directory to `out_dir`, replacing what `new_staging` allowed."""
    if out_dir.exists():
        # Only reached with overwrite=True: the old results go only once the new ones are whole.
        old = out_dir.with_name(f"{out_dir.name}.replaced-{os.getpid()}")
        out_dir.rename(old)
        staging.rename(out_dir)
        shutil.rmtree(old)
    else:
        staging.rename(out_dir)


# --------------------------------------------------------------------------------------------
# Reading a run directory back
# --------------------------------------------------------------------------------------------

# The tables `load_run` needs, and the scenario key that decides whether `caravan run` wrote each.
TABLES = {
    "timeseries.parquet": "output.time_series",
    "places.parquet": "output.place_counts",
    "roads.parquet": "output.place_counts",
    "events.parquet": None,
}


@dataclass(frozen=True)
class SavedRun:
    """A run directory read back: where it is, its resolved scenario, its summary.json, and each
    replicate as the `Results` that `sim.run` returned."""

    path: Path
    scenario: Scenario
    summary: dict[str, Any]
    replicates: tuple[Results, ...]


def is_run_dir(path: Path) -> bool:
    """Whether `path` looks like a directory `caravan run` wrote (it has a summary.json)."""
    return (path / SUMMARY).is_file()


def load_run(path: str | Path) -> SavedRun:
    """Read the run directory `path` (written by `caravan run` or `write_run`).

    Raises CaravanError naming the file when the directory is not a run directory or lacks a
    table (a run written with `output.time_series` or `output.place_counts` false cannot be read
    back), and ScenarioError when its scenario.yaml is invalid.
    """
    run_dir = Path(path)
    if not run_dir.is_dir():
        raise CaravanError(f"{run_dir}: not a run directory (no such directory)")
    if not is_run_dir(run_dir):
        raise CaravanError(
            f"{run_dir}: not a run directory (it has no {SUMMARY}; `caravan run` writes one)"
        )
    summary = _read_summary(run_dir / SUMMARY)
    for name, key in TABLES.items():
        if not (run_dir / name).is_file():
            why = f"the run was written with {key}: false; rerun it with --set {key}=true"
            raise CaravanError(f"{run_dir / name}: missing; {why if key else 'not a whole run'}")
    scenario = scenario_module.load(run_dir / SCENARIO)
    n_replicates = int(summary["replicates"])
    shape = (n_replicates, scenario.n_steps)
    place_ids = tuple(p.id for p in scenario.network.places)
    road_ends = tuple((r.between[0], r.between[1]) for r in scenario.network.roads)

    series = _read_table(run_dir / "timeseries.parquet", shape, ["replicate", "step"])
    places = _read_table(
        run_dir / "places.parquet", (*shape, len(place_ids)), ["replicate", "step", "place"]
    )
    layout = _layout_as_written(layout_of(scenario), series, places)
    counts = np.stack([_column(series, c, shape, run_dir) for c in layout.columns], axis=-1)

    unknown = set(places.column("place").to_pylist()) - set(place_ids)
    if unknown:
        raise CaravanError(
            f"{run_dir / 'places.parquet'}: places {sorted(unknown)} are not in {SCENARIO}"
        )
    # Rows sorted by place name; the arrays follow the network's order.
    by_name = np.argsort(np.array(place_ids))
    order = np.argsort(by_name)
    per_place = np.stack(
        [
            _column(places, c, (*shape, len(place_ids)), run_dir)[..., order]
            for c in layout.place_columns
        ],
        axis=-1,
    )

    roads = _read_table(
        run_dir / "roads.parquet", (*shape, len(road_ends)), ["replicate", "step", "road"]
    )
    on_road = _column(roads, "n_on_road", (*shape, len(road_ends)), run_dir)

    events = _events(pq.read_table(run_dir / "events.parquet"), n_replicates)
    lat = np.array([p.lat for p in scenario.network.places])
    lon = np.array([p.lon for p in scenario.network.places])
    replicates = tuple(
        Results(
            scenario_name=scenario.name,
            seed=int(summary["seeds"][k]),
            version=str(summary["version"]),
            start=scenario.time.start,
            step_h=scenario.time.step_h,
            place_ids=place_ids,
            road_ends=road_ends,
            counts=counts[k],
            places=per_place[k],
            roads=on_road[k],
            events=events[k],
            outcomes={key: int(v) for key, v in summary["per_replicate"][k].items()},
            layout=layout,
            place_lat=lat,
            place_lon=lon,
        )
        for k in range(n_replicates)
    )
    return SavedRun(run_dir, scenario, summary, replicates)


def _layout_as_written(layout: Layout, series: pa.Table, places: pa.Table) -> Layout:
    """The layout of a run directory: a counter added since it was written (`Counter.since`)
    is absent from it, and so are the outcomes read from that counter."""
    absent = {
        c.column
        for table, counters in ((series, layout.counters), (places, layout.place_counters))
        for c in counters
        if c.since is not None and c.column not in table.column_names
    }
    return dataclasses.replace(layout, absent=frozenset(absent)) if absent else layout


def _read_summary(path: Path) -> dict[str, Any]:
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CaravanError(f"{path}: cannot read the run summary: {e}") from e
    keys = ("replicates", "seeds", "version", "per_replicate")
    missing = [k for k in keys if not isinstance(summary, dict) or k not in summary]
    if missing:
        raise CaravanError(f"{path}: not a run summary (no {', '.join(missing)})")
    assert isinstance(summary, dict)
    return summary


def _read_table(path: Path, shape: tuple[int, ...], keys: list[str]) -> pa.Table:
    """A run table sorted by `keys`, checked to hold one row per cell of `shape`."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        raise CaravanError(f"{path}: cannot read this table: {e}") from e
    missing = [k for k in keys if k not in table.column_names]
    if missing:
        raise CaravanError(f"{path}: no column {', '.join(missing)}; not written by caravan run")
    expected = int(np.prod(shape))
    if table.num_rows != expected:
        raise CaravanError(
            f"{path}: {table.num_rows} rows where {SCENARIO} and {SUMMARY} give {expected} "
            f"({' x '.join(map(str, shape))}); the files are not of one run"
        )
    return table.sort_by([(k, "ascending") for k in keys])


def _column(
    table: pa.Table, name: str, shape: tuple[int, ...], run_dir: Path
) -> npt.NDArray[np.int64]:
    if name not in table.column_names:
        raise CaravanError(f"{run_dir}: a table lacks column {name}; not written by caravan run")
    return np.asarray(table.column(name).to_numpy(), dtype=np.int64).reshape(shape)


def _events(table: pa.Table, n_replicates: int) -> list[list[dict[str, Any]]]:
    """Each replicate's events as the model logs them (see `sim.rules.Event`)."""
    out: list[list[dict[str, Any]]] = [[] for _ in range(n_replicates)]
    for row in table.to_pylist():
        out[row["replicate"]].append(
            {
                "t_h": row["hour"],
                "authority": row["authority"],
                "kind": row["event"],
                "place": row["place"],
                "count": row["count"],
                "detail": row["detail"],
            }
        )
    return out
