"""Throughput of a parameter sweep of the January 2021 scenario: local workers, serial, Dask.

Target (issue): a 1,000-run sweep of the January 2021 scenario on 2 local workers reaches at
least 80% of the ideal (single-run time x runs / workers); report the overhead per run on Dask
with batching.

What is measured, all in this process (the sweep's parent) unless said otherwise:
  1. single-run time: what a worker does per run, warm (numba cache loaded, one run first):
     `derive(base, point)` + `sim.run(scenario, seed, threads=False)`, over `--repeats` runs at
     design points spread over the sweep, with different seeds; the median is "single". (A
     worker derives each point once for its 5 replicates, so this is ~0.7 ms per run generous.)
  2. a sweep file of `--runs` runs (grid: walking speed x Vado Hondo slip chance, 5 replicates,
     `set: {output.plots: false}`, no time series) written to a temporary directory, then
     `run_sweep` into a fresh temporary directory with, in turn:
       - `LocalExecutor(--workers)`: the wall time covers creating the executor, `run_sweep`
         and closing it, so starting the worker processes (`import sim`, loading the compiled
         code), building the scenarios, sending the results back and writing Parquet all count;
       - `--time-series`: the same with `record: {time_series: true}`;
       - `--cli`: `caravan sweep FILE --out DIR --workers N` as a whole process (its own
         start-up, loading and planning the sweep included);
       - `SerialExecutor` (in this process: the parent's own overhead over single x runs);
       - `DaskExecutor(address)` on a `distributed.LocalCluster` of `--workers` processes with
         one thread each, started and warmed up (`client.run`: import sim, one run) beforehand,
         once with the default (guided) batch sizes and once with `batch_size=1`.
     Ideal = single x runs / workers; efficiency = ideal / wall. Single runs vary over the
     design's points, so efficiency is also given against the serial sweep of the same runs:
     serial wall / workers / wall. "busy" is the sum of the runs'
     `elapsed_s` column (the `sim.run` call only, timed by the worker) / (wall x workers): how
     much of the workers' time went into runs. Overhead per run = (wall x workers - single x
     runs) / runs. Every sweep must record exactly `--runs` runs, each run id once.
     During each sweep the CPU time of this process, of the worker processes and of the whole
     machine (/proc/stat) is recorded: on a shared machine, "other" shows how much of the CPUs
     other people's processes took.
  3. local worker start-up, in a fresh `LocalExecutor`: time from process creation to the
     first task (spawn, and `import sim` by the pool's initializer), `import sim.sweep.worker`
     (what unpickling `run_batch` imports), and the first run (loading the numba cache).
  4. `--pairs K`: the serial sweep and the local one alternated K times, each local sweep
     against the serial sweep just before it (serial wall / workers / local wall). This
     machine's speed drifts by tens of percent over minutes, so an ideal measured minutes
     apart from the sweep it judges can be far off either way.

Usage:
    python benchmarks/bench_sweep.py [--runs 1000] [--workers 2] [--repeats 30]
                                     [--no-serial] [--no-dask] [--time-series] [--cli]
                                     [--json OUT.json]
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
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


def _proc_stat() -> dict[str, float]:
    """Machine-wide CPU seconds since boot (all CPUs): busy, idle and steal."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return {}
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    hz = os.sysconf("SC_CLK_TCK")
    return {
        "busy": (user + nice + system + irq + softirq) / hz,
        "idle": (idle + iowait) / hz,
        "steal": steal / hz,
    }


def _children_cpu() -> dict[int, float]:
    """CPU seconds of each live descendant process (Dask nannies and workers, pool workers)."""
    try:
        psutil: Any = importlib.import_module("psutil")  # comes with distributed
    except ImportError:
        return {}
    out = {}
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
        except psutil.Error:
            continue
        out[child.pid] = t.user + t.system
    return out


class CpuMeter:
    """CPU used while a block runs: this process, its worker processes, the whole machine."""

    def __enter__(self) -> CpuMeter:
        self._self = resource.getrusage(resource.RUSAGE_SELF)
        self._reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
        self._live = _children_cpu()
        self._machine = _proc_stat()
        self._t = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._t
        machine = _proc_stat()
        live = _children_cpu()
        me = resource.getrusage(resource.RUSAGE_SELF)
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)

        def cpu(a: Any, b: Any) -> float:
            return float((b.ru_utime - a.ru_utime) + (b.ru_stime - a.ru_stime))

        workers = cpu(self._reaped, reaped)  # pool workers, ended and reaped within the block
        workers += sum(t - self._live.get(pid, 0.0) for pid, t in live.items())  # Dask's
        self.result = {
            "wall_s": wall,
            "parent_cpu_s": cpu(self._self, me),
            "workers_cpu_s": workers,
            **{f"machine_{k}_s": machine[k] - self._machine[k] for k in machine},
        }


def _quiet_progress(label: str, total: int, done: int) -> Any:
    """Plain-line progress (as in CI or a log) into a buffer, so the table stays readable."""
    from rich.console import Console  # noqa: PLC0415

    from sim.progress import ProgressReporter  # noqa: PLC0415

    console = Console(file=io.StringIO(), force_terminal=False)
    return ProgressReporter(label, total, done, console=console, plain=True)


def _check(name: str, out_dir: Path, n_runs: int, status: str) -> dict[str, Any]:
    """Every run recorded exactly once; the runs' timings."""
    from sim.sweep.store import load_sweep  # noqa: PLC0415

    frame = load_sweep(out_dir)
    if status != "complete" or len(frame) != n_runs or frame["run_id"].nunique() != n_runs:
        raise SystemExit(
            f"{name}: status {status}, {len(frame)} rows for {frame['run_id'].nunique()} "
            f"run ids; expected {n_runs} runs"
        )
    elapsed = frame["elapsed_s"]
    return {
        "runs": len(frame),
        "tasks": len(list((out_dir / "runs").glob("part-*.parquet"))),
        "sum_elapsed_s": float(elapsed.sum()),
        "median_elapsed_s": float(elapsed.median()),
        "max_elapsed_s": float(elapsed.max()),
    }


def timed_sweep(
    sweep: Any,
    out_dir: Path,
    make_executor: Any,
    batch_size: int | None = None,
) -> dict[str, Any]:
    """Wall time of executor creation + `run_sweep` + close; then check and read the results."""
    from sim.sweep.runner import run_sweep  # noqa: PLC0415

    with CpuMeter() as meter, make_executor() as executor:
        name = executor.name
        done = run_sweep(sweep, out_dir, executor, batch_size=batch_size, progress=_quiet_progress)
    return {
        "executor": name,
        "batch_size": batch_size,
        **meter.result,
        **_check(name, out_dir, sweep.n_runs, done.status),
    }


def cli_sweep(sweep: Any, out_dir: Path, workers: int) -> dict[str, Any]:
    """`caravan sweep FILE --out DIR --workers N` in a fresh process, timed from outside."""
    caravan = Path(sys.executable).with_name("caravan")
    if caravan.is_file():
        cmd = [str(caravan)]
    else:
        cmd = [sys.executable, "-c", "import sys; from sim.cli import main; sys.exit(main())"]
    cmd += ["sweep", str(sweep.path), "--out", str(out_dir), "--workers", str(workers)]
    with CpuMeter() as meter:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"caravan sweep failed ({done.returncode}):\n{done.stderr[-4000:]}")
    # the CLI process is a reaped child: its CPU and its workers' are one figure here
    result = {"executor": f"caravan sweep --workers {workers}", "batch_size": None, **meter.result}
    return {**result, **_check("caravan sweep", out_dir, sweep.n_runs, "complete")}


def _startup_probe(hold_s: float) -> dict[str, float]:
    """In a fresh pool worker: how long since the process started, then `import sim` (as
    unpickling `run_batch` does) and a first run (the numba cache load)."""
    psutil: Any = importlib.import_module("psutil")
    entered = time.time()
    started = psutil.Process().create_time()
    t0 = time.perf_counter()
    import sim.sweep.worker  # noqa: PLC0415

    t1 = time.perf_counter()
    import sim  # noqa: PLC0415

    sim.run(sim.load(JANUARY_2021), seed=0, threads=False)
    t2 = time.perf_counter()
    time.sleep(hold_s)  # so the next probe goes to another worker
    return {
        "pid": os.getpid(),
        "spawn_s": entered - started,
        "import_s": t1 - t0,
        "first_run_s": t2 - t1,
    }


def worker_startup(workers: int) -> list[dict[str, float]]:
    from sim.sweep.executors import LocalExecutor  # noqa: PLC0415

    with LocalExecutor(workers) as executor:
        handles = [executor.submit(None, _startup_probe, 1.0) for _ in range(workers)]
        probes = []
        for handle in handles:
            executor.wait([handle])
            probes.append(executor.result(handle))
        return probes


def _warm_dask_worker() -> float:
    """On a Dask worker: import sim and make one run, so the numba cache is loaded."""
    import sim  # noqa: PLC0415

    t0 = time.perf_counter()
    sim.run(sim.load(JANUARY_2021), seed=0, threads=False)
    return time.perf_counter() - t0


def dask_sweeps(sweep: Any, tmp: Path, workers: int) -> dict[str, Any]:
    # held as Any: parts of distributed's API have no annotations
    distributed: Any = importlib.import_module("distributed")
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


def alternated_pairs(sweep: Any, tmp: Path, workers: int, pairs: int) -> list[dict[str, float]]:
    """The serial sweep and the local one, alternated S L S L: this machine's speed drifts by
    tens of percent over minutes, so each local sweep is compared with the serial sweep of the
    same runs just before it (the ideal's "single run x runs", measured then)."""
    from sim.sweep.executors import LocalExecutor, SerialExecutor  # noqa: PLC0415

    rows = []
    for k in range(pairs):
        serial = timed_sweep(sweep, tmp / f"pair{k}-serial", SerialExecutor)
        local = timed_sweep(sweep, tmp / f"pair{k}-local", lambda: LocalExecutor(workers))
        rows.append(
            {
                "serial_wall_s": serial["wall_s"],
                "local_wall_s": local["wall_s"],
                "efficiency": serial["wall_s"] / workers / local["wall_s"],
            }
        )
        print(
            f"pair {k + 1}: serial {serial['wall_s']:.1f} s, local x{workers} "
            f"{local['wall_s']:.1f} s -> {rows[-1]['efficiency']:.1%}",
            flush=True,
        )
    return rows


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from sim.sweep.executors import LocalExecutor, SerialExecutor  # noqa: PLC0415

    out: dict[str, Any] = {"runs": args.runs, "workers": args.workers, "sweeps": []}
    sweeps = out["sweeps"]
    with tempfile.TemporaryDirectory(prefix="caravan-bench-sweep-") as tmp_name:
        tmp = Path(tmp_name)
        sweep = load_sweep_plan(tmp, args.runs, time_series=False)
        out["single"] = single_run_times(sweep, args.repeats)
        local = timed_sweep(sweep, tmp / "local", lambda: LocalExecutor(args.workers))
        sweeps.append({"label": f"local x{args.workers}", "workers": args.workers, **local})
        if args.time_series:
            sweep_ts = load_sweep_plan(tmp, args.runs, time_series=True)
            local_ts = timed_sweep(sweep_ts, tmp / "local-ts", lambda: LocalExecutor(args.workers))
            label = f"local x{args.workers}, time series"
            sweeps.append({"label": label, "workers": args.workers, **local_ts})
        if args.cli:
            cli = cli_sweep(sweep, tmp / "cli", args.workers)
            label = f"`caravan sweep --workers {args.workers}` (whole process)"
            sweeps.append({"label": label, "workers": args.workers, **cli})
        if not args.no_serial:
            serial = timed_sweep(sweep, tmp / "serial", SerialExecutor)
            sweeps.append({"label": "serial (this process)", "workers": 1, **serial})
        if not args.no_dask:
            dask = dask_sweeps(sweep, tmp, args.workers)
            out["dask"] = {k: v for k, v in dask.items() if k not in ("guided", "batch_1")}
            for key, how in (("guided", "guided batches"), ("batch_1", "batch_size=1")):
                label = f"Dask x{args.workers}, {how}"
                sweeps.append({"label": label, "workers": args.workers, **dask[key]})
        out["startup"] = worker_startup(args.workers)
        out["pairs"] = alternated_pairs(sweep, tmp, args.workers, args.pairs)
    return out


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def _single(result: dict[str, Any]) -> float:
    return float(statistics.median(result["single"]["total_s"]))


def sweep_rows(result: dict[str, Any]) -> list[list[str]]:
    """One row per sweep: wall, ideal, efficiency, and the target where it applies."""
    runs, single = result["runs"], _single(result)
    # The same 1,000 runs done one after another in this process: a second ideal that does not
    # rest on a sample of single runs, whose times vary over the design's points.
    serial_wall_s = next(
        (s["wall_s"] for s in result["sweeps"] if s["label"].startswith("serial")), None
    )
    rows = []
    for s in result["sweeps"]:
        ideal = single * runs / s["workers"]
        efficiency = ideal / s["wall_s"]
        by_serial = "-"
        if serial_wall_s is not None:
            by_serial = f"{serial_wall_s / s['workers'] / s['wall_s']:.1%}"
        is_target = (
            s["label"] == f"local x{result['workers']}" and s["workers"] > 1 and runs >= 1000
        )
        target = f">= {TARGET_EFFICIENCY:.0%}" if is_target else ""
        verdict = ("PASS" if efficiency >= TARGET_EFFICIENCY else "FAIL") if is_target else ""
        batches = "guided" if s["batch_size"] is None else f"{s['batch_size']} per task"
        rows.append(
            [
                s["label"],
                f"{s['runs']:,} runs, {s['tasks']} tasks ({batches})",
                fmt_s(s["wall_s"]),
                fmt_s(ideal),
                f"**{efficiency:.1%}**" if is_target else f"{efficiency:.1%}",
                by_serial,
                f"{target} {verdict}".strip(),
            ]
        )
    return rows


def where_rows(result: dict[str, Any], nproc: int) -> list[list[str]]:
    """Where the workers' time went, and who used the machine's CPUs meanwhile."""
    runs, single = result["runs"], _single(result)
    rows = []
    for s in result["sweeps"]:
        workers, wall = s["workers"], s["wall_s"]
        capacity = wall * nproc
        other = s.get("machine_busy_s", 0.0) - s["parent_cpu_s"] - s["workers_cpu_s"]
        in_parent = s["label"].startswith("serial")
        cpu = (
            f"{s['parent_cpu_s'] / capacity:.0%} / "
            + ("-" if in_parent else f"{s['workers_cpu_s'] / capacity:.0%}")
            + f" / {max(0.0, other) / capacity:.0%}"
            + f" / {s.get('machine_idle_s', 0.0) / capacity:.0%}"
            + f" / {s.get('machine_steal_s', 0.0) / capacity:.0%}"
        )
        rows.append(
            [
                s["label"],
                f"{s['sum_elapsed_s'] / (wall * workers):.1%}",
                f"{_ms(s['sum_elapsed_s'] / runs)} ({s['sum_elapsed_s'] / (single * runs):.2f}x)",
                _ms(s["median_elapsed_s"]),
                _ms((wall * workers - single * runs) / runs),
                _ms((wall * workers - s["sum_elapsed_s"]) / runs),
                cpu,
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
    probes = result.get("startup", [])
    if probes:
        rows.append(
            [
                f"local worker start-up (x{len(probes)}): spawn / import `sim.sweep.worker` / "
                "first run",
                "; ".join(
                    f"{fmt_s(p['spawn_s'])} / {fmt_s(p['import_s'])} / {fmt_s(p['first_run_s'])}"
                    for p in probes
                ),
            ]
        )
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
    "runs",
    "wall",
    "ideal",
    "efficiency",
    "serial wall / workers / wall",
    "target",
]
WHERE_HEADER = [
    "sweep",
    "busy",
    "mean run in sweep (x single)",
    "median run",
    "overhead / run",
    "outside runs / run",
    "CPU: parent / workers / other / idle / steal",
]


def report(result: dict[str, Any], nproc: int) -> str:
    runs, workers = result["runs"], result["workers"]
    head = _markdown_table(
        [f"bench_sweep: January 2021, {runs:,} runs", "time"], single_rows(result)
    )
    table = _markdown_table(SWEEP_HEADER, sweep_rows(result))
    where = _markdown_table(WHERE_HEADER, where_rows(result, nproc))
    notes = (
        f"ideal = single run x {runs:,} / workers ({workers} for local and Dask, 1 for serial); "
        "efficiency = ideal / wall; the next column takes the serial sweep's wall as runs x "
        "single run instead. busy = sum of the runs' `elapsed_s` (the `sim.run` call, "
        "timed in the worker) / (wall x workers). overhead / run = (wall x workers - single run "
        "x runs) / runs; outside runs / run = (wall x workers - sum of `elapsed_s`) / runs. "
        f"CPU: shares of wall x {nproc} CPUs: this process (for Dask: with the scheduler), the "
        "worker processes (for Dask: with the nannies), everything else (from /proc/stat), idle, "
        "and steal (the hypervisor gave the CPU to another guest)."
    )
    text = f"{head}\n\n{table}\n\n{where}\n\n{notes}"
    if result.get("pairs"):
        rows = [
            [
                str(k + 1),
                fmt_s(r["serial_wall_s"]),
                fmt_s(r["local_wall_s"]),
                f"{r['efficiency']:.1%}",
            ]
            for k, r in enumerate(result["pairs"])
        ]
        header = ["pair", "serial sweep", f"local x{workers}", "serial / workers / local"]
        text += "\n\nSerial and local sweeps alternated (`--pairs`):\n\n"
        text += _markdown_table(header, rows)
    return text


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
    parser.add_argument(
        "--cli", action="store_true", help="also `caravan sweep --workers N` as a whole process"
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=0,
        help="then K serial and local sweeps alternated, each local one against the serial one "
        "just before it",
    )
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args(argv)
    if args.workers < 1 or args.repeats < 1:
        raise SystemExit("--workers and --repeats must be at least 1")
    info = machine_info()
    result = measure(args)
    print(machine_line(info))
    print()
    print(report(result, info["nproc"]))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "sweep": result}, indent=1))


if __name__ == "__main__":
    main()
