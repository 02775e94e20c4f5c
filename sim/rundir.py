"""Writing a run's files so that nothing already there is lost and no half-written run is read.

Everything is written into a staging directory beside the target and renamed into place at the
end; a run that dies leaves only `*.partial-*` directories, never a target that looks complete.
`new_staging` and `swap_into_place` do the same for other outputs (`caravan export`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sim.errors import OutputExistsError
from sim.results import (
    PARTITION,
    Results,
    events_table,
    places_table,
    roads_table,
    summarise,
    timeseries_table,
    write_json,
    write_parquet,
)
from sim.scenario import Scenario


def default_out_dir(scenario: Scenario, seed: int) -> Path:
    """runs/<scenario>/seed<N>-<UTC time>: a new directory every time."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path("runs") / scenario.name / f"seed{seed}-{stamp}"


def check_writable(out_dir: Path, overwrite: bool) -> None:
    """Refuse to write over results that are already there, unless told to."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputExistsError(f"{out_dir}: exists and is not a directory; choose another --out")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise OutputExistsError(
            f"{out_dir}: already holds results; choose another --out, or pass --overwrite "
            "to replace them"
        )


def write_run(
    out_dir: Path,
    scenario: Scenario,
    runs: Sequence[Results],
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write summary, tables, resolved scenario and plots of one or more replicates."""
    staging = new_staging(out_dir, overwrite)
    summary = summary_of(scenario, runs)
    write_json(summary, staging / "summary.json")
    (staging / "scenario.yaml").write_text(scenario.to_yaml(), encoding="utf-8")
    if scenario.output.time_series:
        write_parquet(
            [timeseries_table(r, k) for k, r in enumerate(runs)], staging / "timeseries.parquet"
        )
    if scenario.output.place_counts:
        write_parquet([places_table(r, k) for k, r in enumerate(runs)], staging / "places.parquet")
        write_parquet([roads_table(r, k) for k, r in enumerate(runs)], staging / "roads.parquet")
    write_parquet([events_table(r, k) for k, r in enumerate(runs)], staging / "events.parquet")
    if scenario.output.plots:
        from sim import plots  # noqa: PLC0415 - matplotlib only when plotting; sweep workers never do

        plots.timeseries(runs[0]).savefig(staging / "timeseries.png", dpi=120)
        plots.network_map(runs[0]).savefig(staging / "map.png", dpi=120)
    swap_into_place(staging, out_dir)
    return summary


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
        "partition": list(PARTITION),
        # one run: its counts; several: the median of each (which may end in .5)
        "outcomes": dict(per_replicate[0])
        if len(runs) == 1
        else {k: v["median"] for k, v in stats.items()},
        "outcome_intervals": stats if len(runs) > 1 else None,
        "per_replicate": per_replicate,
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
