"""Throughput of a parameter sweep of the January 2021 scenario: local workers, serial, Dask.

Target (issue): a 1,000-run sweep of the January 2021 scenario on 2 local workers reaches at
least 80% of the ideal (single-run time x runs / workers); report the overhead per run on Dask
with batching.

What is measured, all in this process (the sweep's parent) unless said otherwise:
  1. single-run time: what a worker does per run, warm (numba cache loaded, one run first):
     `derive(base, point)` + `sim.run(scenario, seed, threads=False)`, over `--repeats` runs at
     design points spread over the sweep, with different seeds; the median is "single".
  2. a sweep file of `--runs` runs (grid: walking speed x Vado Hondo slip chance, 5 replicates,
     `set: {output.plots: false}`, no time series) written to a temporary directory, then
     `run_sweep` into a fresh temporary directory with, in turn:
       - `SerialExecutor` (in this process: the parent's own overhead over single x runs);
       - `LocalExecutor(--workers)`: the wall time covers creating the executor, `run_sweep`
         and closing it, so starting the worker processes (`import sim`, loading the compiled
         code), building the scenarios, sending the results back and writing Parquet all count;
       - `--time-series`: the same with `record: {time_series: true}`;
       - `DaskExecutor(address)` on a `distributed.LocalCluster` of `--workers` processes with
         one thread each, started and warmed up (`client.run`: import sim, one run) beforehand,
         once with the default (guided) batch sizes and once with `batch_size=1`.
     Ideal = single x runs / workers; efficiency = ideal / wall. "busy" is the sum of the runs'
     `elapsed_s` column (the `sim.run` call only, timed by the worker) / (wall x workers): how
     much of the workers' time went into runs. Overhead per run = (wall x workers - single x
     runs) / runs. Every sweep must record exactly `--runs` runs.

Usage:
    python benchmarks/bench_sweep.py [--runs 1000] [--workers 2] [--repeats 30]
                                     [--no-serial] [--no-dask] [--time-series] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import JANUARY_2021, fmt_s, fmt_summary_s, machine_info, machine_line, summary
from _common import markdown_table as _markdown_table

TARGET_EFFICIENCY = 0.80
REPLICATES = 5
SLIP_VALUES = 5  # values of the blockade's slip chance when the points allow a 2-D grid

# Kept free of heavy imports at module level: LocalExecutor's spawned workers import this
# script as their __main__ module, and whatever it imports would count as worker start-up.


def sweep_text(runs: int, time_series: bool, base: Path) -> str:
    """A grid over walking speed and the blockade's slip chance with `runs` runs in all."""
    if runs % REPLICATES or runs < 2 * REPLICATES:
        raise SystemExit(f"--runs must be a multiple of {REPLICATES}, at least {2 * REPLICATES}")
    points = runs // REPLICATES
    slip = SLIP_VALUES if points % SLIP_VALUES == 0 and points >= 2 * SLIP_VALUES else 1
    if slip > 1:
        slip_spec = "{range: [0.0005, 0.05], steps: %d, scale: log}" % slip  # noqa: UP031
    else:
        slip_spec = "{values: [0.002]}"
    return (
        f"name: bench-sweep-{runs}\n"
        "description: Throughput benchmark (benchmarks/bench_sweep.py).\n"
        f"base: {json.dumps(str(base))}\n"
        "set:\n"
        "  output.plots: false\n"
        "parameters:\n"
        f"  movement.walking_speed_kmh: {{range: [2.5, 4.0], steps: {points // slip}}}\n"
        f"  authorities.vado_hondo_blockade.slip_chance_per_h: {slip_spec}\n"
        "design: {kind: grid}\n"
        f"replicates: {REPLICATES}\n"
        "seed: 0\n"
        f"record: {{time_series: {'true' if time_series else 'false'}}}\n"
    )


def load_sweep_plan(directory: Path, runs: int, time_series: bool) -> Any:
    from sim.sweep.plan import load_sweep_file  # noqa: PLC0415

    name = "sweep-ts.yaml" if time_series else "sweep.yaml"
    path = directory / name
    path.write_text(sweep_text(runs, time_series, JANUARY_2021.resolve()), encoding="utf-8")
    sweep = load_sweep_file(path)
    assert sweep.n_runs == runs, (sweep.n_runs, runs)
    return sweep


# --------------------------------------------------------------------------------------------
# 1. Single-run time
# --------------------------------------------------------------------------------------------


def single_run_times(sweep: Any, repeats: int) -> dict[str, Any]:
    """Warm `derive` + `sim.run(..., threads=False)` at design points spread over the sweep."""
    import sim  # noqa: PLC0415
    from sim.scenario import derive  # noqa: PLC0415

    t0 = time.perf_counter()
    sim.run(derive(sweep.base, sweep.design.scenario_values(0)), seed=0, threads=False)
    first = time.perf_counter() - t0
    derive_s: list[float] = []
    run_s: list[float] = []
    total_s: list[float] = []
    n_points = sweep.design.n_points
    for k in range(repeats):
        spec = sweep.run((k * n_points) // repeats, k % sweep.replicates)
        a = time.perf_counter()
        scenario = derive(sweep.base, spec.values)
        b = time.perf_counter()
        sim.run(scenario, seed=spec.seed, threads=False)
        c = time.perf_counter()
        derive_s.append(b - a)
        run_s.append(c - b)
        total_s.append(c - a)
    return {"first_s": first, "derive_s": derive_s, "run_s": run_s, "total_s": total_s}


# --------------------------------------------------------------------------------------------
# 2. Sweeps
# --------------------------------------------------------------------------------------------


def _quiet_progress(label: str, total: int, done: int) -> Any:
    """Plain-line progress (as in CI or a log) into a buffer, so the table stays readable."""
    from rich.console import Console  # noqa: PLC0415

    from sim.progress import ProgressReporter  # noqa: PLC0415

    console = Console(file=io.StringIO(), force_terminal=False)
    return ProgressReporter(label, total, done, console=console, plain=True)


def timed_sweep(
    sweep: Any,
    out_dir: Path,
    make_executor: Any,
    batch_size: int | None = None,
) -> dict[str, Any]:
    """Wall time of executor creation + `run_sweep` + close; then check and read the results."""
    from sim.sweep.runner import run_sweep  # noqa: PLC0415
    from sim.sweep.store import load_sweep  # noqa: PLC0415

    t0 = time.perf_counter()
    with make_executor() as executor:
        name = executor.name
        summary_ = run_sweep(
            sweep, out_dir, executor, batch_size=batch_size, progress=_quiet_progress
        )
    wall = time.perf_counter() - t0
    frame = load_sweep(out_dir)
    recorded = len(frame)
    if summary_.status != "complete" or recorded != sweep.n_runs:
        raise SystemExit(
            f"{name}: status {summary_.status}, {recorded} runs recorded of {sweep.n_runs}"
        )
    if frame["run_id"].nunique() != sweep.n_runs:
        raise SystemExit(f"{name}: run ids recorded more than once")
    parts = len(list((out_dir / "runs").glob("part-*.parquet")))
    elapsed = frame["elapsed_s"]
    return {
        "executor": name,
        "batch_size": batch_size,
        "wall_s": wall,
        "runs": recorded,
        "tasks": parts,
        "sum_elapsed_s": float(elapsed.sum()),
        "median_elapsed_s": float(elapsed.median()),
    }


def _warm_dask_worker() -> float:
    """On a Dask worker: import sim and make one run, so the numba cache is loaded."""
    import sim  # noqa: PLC0415

    t0 = time.perf_counter()
    sim.run(sim.load(JANUARY_2021), seed=0, threads=False)
    return time.perf_counter() - t0


def dask_sweeps(sweep: Any, tmp: Path, workers: int) -> dict[str, Any]:
    import distributed  # noqa: PLC0415

    from sim.sweep.executors import DaskExecutor  # noqa: PLC0415

    t0 = time.perf_counter()
    with distributed.LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        start_s = time.perf_counter() - t0
        with distributed.Client(cluster) as client:
            t1 = time.perf_counter()
            warm = client.run(_warm_dask_worker)
            warm_s = time.perf_counter() - t1
        address = cluster.scheduler_address
        guided = timed_sweep(sweep, tmp / "dask-guided", lambda: DaskExecutor(address))
        single = timed_sweep(sweep, tmp / "dask-1", lambda: DaskExecutor(address), batch_size=1)
    return {
        "cluster_start_s": start_s,
        "warm_up_s": warm_s,
        "warm_up_first_run_s": sorted(warm.values()),
        "guided": guided,
        "batch_1": single,
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from sim.sweep.executors import LocalExecutor, SerialExecutor  # noqa: PLC0415

    out: dict[str, Any] = {"runs": args.runs, "workers": args.workers}
    with tempfile.TemporaryDirectory(prefix="caravan-bench-sweep-") as tmp_name:
        tmp = Path(tmp_name)
        sweep = load_sweep_plan(tmp, args.runs, time_series=False)
        out["single"] = single_run_times(sweep, args.repeats)
        out["sweeps"] = []
        local = timed_sweep(sweep, tmp / "local", lambda: LocalExecutor(args.workers))
        out["sweeps"].append({"label": f"local x{args.workers}", "workers": args.workers, **local})
        if args.time_series:
            sweep_ts = load_sweep_plan(tmp, args.runs, time_series=True)
            local_ts = timed_sweep(sweep_ts, tmp / "local-ts", lambda: LocalExecutor(args.workers))
            out["sweeps"].append(
                {
                    "label": f"local x{args.workers}, time series",
                    "workers": args.workers,
                    **local_ts,
                }
            )
        if not args.no_serial:
            serial = timed_sweep(sweep, tmp / "serial", SerialExecutor)
            out["sweeps"].append({"label": "serial (this process)", "workers": 1, **serial})
        if not args.no_dask:
            dask = dask_sweeps(sweep, tmp, args.workers)
            out["dask"] = {k: v for k, v in dask.items() if k not in ("guided", "batch_1")}
            for key, label in (("guided", "guided batches"), ("batch_1", "batch_size=1")):
                out["sweeps"].append(
                    {"label": f"Dask x{args.workers}, {label}", "workers": args.workers, **dask[key]}
                )
    return out


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def sweep_rows(result: dict[str, Any]) -> list[list[str]]:
    """One row per sweep: wall, efficiency, busy share and overhead per run."""
    runs = result["runs"]
    single = statistics.median(result["single"]["total_s"])
    rows = []
    for s in result["sweeps"]:
        workers = s["workers"]
        ideal = single * runs / workers
        efficiency = ideal / s["wall_s"]
        busy = s["sum_elapsed_s"] / (s["wall_s"] * workers)
        overhead = (s["wall_s"] * workers - single * runs) / runs
        outside = (s["wall_s"] * workers - s["sum_elapsed_s"]) / runs
        is_target = s["label"] == f"local x{result['workers']}" and workers > 1
        target = f">= {TARGET_EFFICIENCY:.0%} of ideal" if is_target else ""
        verdict = ("PASS" if efficiency >= TARGET_EFFICIENCY else "FAIL") if is_target else ""
        rows.append(
            [
                s["label"],
                f"{s['runs']:,} runs in {s['tasks']} tasks",
                fmt_s(s["wall_s"]),
                fmt_s(ideal),
                f"{efficiency:.1%}",
                f"{busy:.1%}",
                _ms(s["median_elapsed_s"]),
                _ms(overhead),
                _ms(outside),
                f"{target} {verdict}".strip(),
            ]
        )
    return rows


def single_rows(result: dict[str, Any]) -> list[list[str]]:
    single = result["single"]
    rows = [
        [
            "single run, warm: `derive` + `sim.run(threads=False)` "
            f"(median of {len(single['total_s'])}; min - max)",
            fmt_summary_s(summary(single["total_s"])),
        ],
        ["  of which `derive`", fmt_summary_s(summary(single["derive_s"]))],
        ["  of which `sim.run`", fmt_summary_s(summary(single["run_s"]))],
        ["first run in this process (numba cache load)", fmt_s(single["first_s"])],
    ]
    if "dask" in result:
        d = result["dask"]
        rows += [
            ["Dask LocalCluster start (not in the sweeps' wall)", fmt_s(d["cluster_start_s"])],
            [
                "Dask worker warm-up, `client.run` (not in the sweeps' wall)",
                f"{fmt_s(d['warm_up_s'])} (first run per worker "
                + ", ".join(fmt_s(x) for x in d["warm_up_first_run_s"])
                + ")",
            ],
        ]
    return rows


SWEEP_HEADER = [
    "sweep",
    "tasks",
    "wall",
    "ideal",
    "efficiency",
    "busy",
    "median `elapsed_s`",
    "overhead / run",
    "outside runs / run",
    "target",
]


def report(result: dict[str, Any]) -> str:
    runs, workers = result["runs"], result["workers"]
    head = _markdown_table([f"bench_sweep: January 2021, {runs:,} runs", "time"], single_rows(result))
    table = _markdown_table(SWEEP_HEADER, sweep_rows(result))
    notes = (
        f"ideal = single run x {runs:,} / workers ({workers} for local and Dask, 1 for serial); "
        "efficiency = ideal / wall; busy = sum of `elapsed_s` / (wall x workers); "
        "overhead / run = (wall x workers - single x runs) / runs; "
        "outside runs / run = (wall x workers - sum of `elapsed_s`) / runs."
    )
    return f"{head}\n\n{table}\n\n{notes}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs in the sweep (default 1000)")
    parser.add_argument("--workers", type=int, default=2, help="local and Dask workers (2)")
    parser.add_argument("--repeats", type=int, default=30, help="single runs timed (30)")
    parser.add_argument("--no-serial", action="store_true", help="skip the serial sweep")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask sweeps")
    parser.add_argument(
        "--time-series", action="store_true", help="also a local sweep recording time series"
    )
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.repeats < 1:
        raise SystemExit("--workers and --repeats must be at least 1")
    info = machine_info()
    result = measure(args)
    print(machine_line(info))
    print()
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "sweep": result}, indent=1))


if __name__ == "__main__":
    main()
