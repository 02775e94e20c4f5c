"""What a worker process does with a batch of runs: build each point, run it, return tables.

This function is the whole task that local processes and Dask workers execute; it depends only
on its arguments, so a batch gives the same rows wherever and however often it runs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from sim.model import run
from sim.results import outcomes_until, timeseries_table
from sim.scenario import Scenario, derive
from sim.sweep.columns import ID_COLUMNS
from sim.sweep.plan import RunSpec


@dataclass(frozen=True)
class BatchResult:
    runs: pa.Table  # one row per run: ids, every outcome, elapsed_s
    series: pa.Table | None  # one row per run and step, with run_id; None unless asked for


def run_batch(
    base: Scenario, runs: Sequence[RunSpec], time_series: bool, at_steps: Sequence[int] = ()
) -> BatchResult:
    """Run every spec on one thread each (a sweep's parallelism is across runs).

    Each row holds the run's outcomes at the end, and for each step k in `at_steps` the outcomes
    as they stood at the end of step k, as columns `<outcome>@<k>` (`outcomes_until`).
    """
    rows: list[dict[str, int | float]] = []
    series: list[pa.Table] = []
    built: dict[int, Scenario] = {}  # a point's replicates share one scenario
    for spec in runs:
        scenario = built.get(spec.point_id)
        if scenario is None:
            scenario = built[spec.point_id] = derive(base, spec.values)
        started_s = time.perf_counter()
        results = run(scenario, seed=spec.seed, threads=False)
        elapsed_s = time.perf_counter() - started_s
        ids = (spec.run_id, spec.point_id, spec.replicate, spec.seed)
        rows.append({**dict(zip(ID_COLUMNS, ids, strict=True)), **results.outcomes})
        for step in at_steps:
            rows[-1].update({f"{k}@{step}": v for k, v in outcomes_until(results, step).items()})
        rows[-1]["elapsed_s"] = elapsed_s
        if time_series:
            table = timeseries_table(results).drop_columns(["replicate"])
            run_ids = pa.array([spec.run_id] * table.num_rows, type=pa.int64())
            series.append(table.add_column(0, "run_id", run_ids))
    return BatchResult(
        runs=pa.Table.from_pylist(rows),
        series=pa.concat_tables(series) if series else None,
    )
