"""Throughput of the migrant kernel, and memory per migrant.

Target (issue): the migrant kernel sustains at least 30 million agent-steps per second on one
core with 1 million migrants; memory per migrant under 64 bytes.

For each number of migrants the model is built from the January 2021 scenario with
`population.size=N` and run through all its steps (or `--steps`). The kernel's phase of every
step (`CaravanModel(profile=True)`: the "migrants" phase, the kernel call and the few
microseconds that prepare it) and every `model.step()` is timed. Throughput counts agent-steps as
(migrants) x (steps), including migrants in final statuses, over:
  all    every step of the run,
  day    the daylight steps (groups travel, the busy steps),
  night  the others (everyone is checked but nobody walks),
  loop   `model.step()` as a whole (kernel plus the model's Python per step).
Configurations: the serial kernel with numba threads set to 1 (the "one core" target), and the
parallel kernel with each of `--threads`. The compiled code is loaded (or compiled) before
timing. `--scan` adds a lower bound: a loop that only reads each migrant's status.

The kernel is chosen explicitly for each configuration (`CaravanModel(kernel=...)`): the model
itself runs the serial kernel when the population fits in one chunk, whatever `threads` says.
It runs on every step: the model's skipping of idle night steps is turned off here.

Usage:
    python benchmarks/bench_kernel.py [--migrants 1000000 ...] [--repeats 3] [--threads 1 2]
                                      [--no-serial] [--steps K] [--scan]
                                      [--json OUT.json]
    python benchmarks/bench_kernel.py --migrants 8000 80000 800000 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numba
import numpy as np
from _common import JANUARY_2021, machine_info, machine_line, markdown_table
from numba import njit

import sim
from sim.model import CaravanModel
from sim.population import FIRST_FINAL

TARGET_RATE = 30e6  # agent-steps per second, one core, 1M migrants
TARGET_BYTES = 64  # per migrant


@njit(cache=False)
def _scan_status(status: np.ndarray) -> int:  # pragma: no cover - compiled
    """Lower bound for one step: read every migrant's status, count those still on the way."""
    active = 0
    for i in range(status.shape[0]):
        if status[i] < FIRST_FINAL:
            active += 1
    return active


def _scenario(path: Path, n: int) -> Any:
    return sim.load(path, [f"population.size={n}"])


def _model(scenario: Any, seed: int, parallel: bool) -> CaravanModel:
    """A model that runs the parallel (or serial) kernel on every step (idle nights included),
    whatever its population size."""
    kernel = "parallel" if parallel else "serial"
    model = CaravanModel(scenario, seed=seed, kernel=kernel, profile=True)
    model.skip_idle_steps = False
    return model


def _warm_up(path: Path, seed: int) -> None:
    """Load (or compile) both kernels and the scan loop before anything is timed."""
    scenario = _scenario(path, 1000)
    for parallel in (False, True):
        model = _model(scenario, seed, parallel)
        model.step()
        _scan_status(model.migrants.status)


def one_run(
    scenario: Any, seed: int, parallel: bool, steps: int | None, scan: bool
) -> dict[str, Any]:
    model = _model(scenario, seed, parallel)
    scan_s: list[float] = []
    active: list[int] = []
    n_steps = model.n_steps if steps is None else min(steps, model.n_steps)
    step_s = []
    for _ in range(n_steps):
        if scan:
            s0 = time.perf_counter()
            active.append(_scan_status(model.migrants.status))
            scan_s.append(time.perf_counter() - s0)
        t0 = time.perf_counter()
        model.step()
        step_s.append(time.perf_counter() - t0)
    # The migrants phase of each step is the kernel call (the kernel runs on every step here).
    assert model.profile_rows is not None
    k = np.array([row["seconds"]["migrants"] for row in model.profile_rows])
    day = np.array([row["daylight"] for row in model.profile_rows])
    n = model.migrants.n
    out = {
        "migrants": n,
        "steps": n_steps,
        "day_steps": int(day.sum()),
        "kernel_s": float(k.sum()),
        "loop_s": float(sum(step_s)),
        "rate_all": n * n_steps / k.sum(),
        "rate_day": n * day.sum() / k[day].sum() if day.any() else float("nan"),
        "rate_night": n * (~day).sum() / k[~day].sum() if (~day).any() else float("nan"),
        "rate_loop": n * n_steps / sum(step_s),
        "slowest_step_rate": n / k.max(),
    }
    if scan:
        out["rate_scan"] = n * n_steps / sum(scan_s)
        out["active_mean"] = float(np.mean(active)) / n
    return out


def memory(scenario: Any, seed: int) -> dict[str, Any]:
    """Bytes held per migrant by the model's arrays, and the peak while building the model."""
    tracemalloc.start()
    model = CaravanModel(scenario, seed=seed, threads=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    n = model.migrants.n
    migrants_b = model.migrants.nbytes
    tallies_b = sum(int(a.nbytes) for a in model.tallies)
    per_migrant_other = 0
    fixed = 0
    seen = {id(a) for a in model.migrants} | {id(a) for a in model.tallies}
    for value in vars(model).values():
        arrays = [value] if isinstance(value, np.ndarray) else []
        if hasattr(value, "__dict__") and not arrays:
            arrays = [v for v in vars(value).values() if isinstance(v, np.ndarray)]
        if isinstance(value, tuple) and hasattr(value, "_fields"):
            arrays = [v for v in value if isinstance(v, np.ndarray)]
        for a in arrays:
            if id(a) in seen:
                continue
            seen.add(id(a))
            if a.ndim and a.shape[0] == n:
                per_migrant_other += int(a.nbytes)
            else:
                fixed += int(a.nbytes)
    total = migrants_b + tallies_b + per_migrant_other
    return {
        "migrants": n,
        "migrants_bytes_per": migrants_b / n,
        "tallies_bytes_per": tallies_b / n,
        "other_per_migrant_bytes_per": per_migrant_other / n,
        "total_bytes_per": total / n,
        "fixed_other_bytes": fixed,
        "construction_peak_bytes_per": peak / n,
        "fields": {f: int(a.dtype.itemsize) for f, a in model.migrants._asdict().items()},
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.perf_counter()
    _warm_up(args.scenario, args.seed)
    warm_up_s = time.perf_counter() - t0
    max_threads = numba.config.NUMBA_NUM_THREADS
    configs: list[tuple[str, int]] = []
    if args.serial:
        configs.append(("serial", 1))
    for t in args.threads:
        if t > max_threads:
            print(f"skipping {t} threads: numba has at most {max_threads}")
            continue
        configs.append(("parallel", t))
    results = []
    for n in args.migrants:
        scenario = _scenario(args.scenario, n)
        for kernel, threads in configs:
            numba.set_num_threads(threads)
            runs = [
                one_run(scenario, args.seed, kernel == "parallel", args.steps, args.scan)
                for _ in range(args.repeats)
            ]
            row: dict[str, Any] = {"kernel": kernel, "threads": threads, "runs": runs}
            for key in runs[0]:
                values = [r[key] for r in runs]
                if key in ("migrants", "steps", "day_steps"):
                    row[key] = values[0]
                    continue
                row[key] = statistics.median(values)
                row[key + "_min"] = min(values)
                row[key + "_max"] = max(values)
            results.append(row)
            print(
                f"  {n:>9,} {kernel:8s} x{threads}: kernel {row['rate_all'] / 1e6:.1f} M/s "
                f"(day {row['rate_day'] / 1e6:.1f}, night {row['rate_night'] / 1e6:.1f})",
                flush=True,
            )
    numba.set_num_threads(max_threads)
    mem = [memory(_scenario(args.scenario, n), args.seed) for n in args.migrants]
    layer = numba.threading_layer()
    wait = os.environ.get("OMP_WAIT_POLICY", "default")
    return {
        "kernel": results,
        "memory": mem,
        "threading_layer": f"{layer} (OMP_WAIT_POLICY {wait})",
        "cache": f"compile/load before timing {warm_up_s:.1f} s",
        "sim": str(Path(sim.__file__).parent),
    }


def _m(x: float) -> str:
    return f"{x / 1e6:.1f}"


def tables(result: dict[str, Any], scan: bool = False) -> str:
    header = [
        "migrants",
        "kernel",
        "threads",
        "steps (day)",
        "kernel M agent-steps/s: all (min-max)",
        "day",
        "night",
        "slowest step",
        "step loop",
        "kernel s per run",
    ]
    if scan:
        header += ["status scan only", "mean share active"]
    rows = []
    for r in result["kernel"]:
        row = [
            f"{r['migrants']:,}",
            r["kernel"],
            r["threads"],
            f"{r['steps']} ({r['day_steps']})",
            f"{_m(r['rate_all'])} ({_m(r['rate_all_min'])}-{_m(r['rate_all_max'])})",
            _m(r["rate_day"]),
            _m(r["rate_night"]),
            _m(r["slowest_step_rate"]),
            _m(r["rate_loop"]),
            f"{r['kernel_s']:.2f}",
        ]
        if scan:
            row += [_m(r["rate_scan"]), f"{r['active_mean']:.2f}"]
        rows.append(row)
    out = [
        f"sim from {result['sim']}; numba threading layer: {result['threading_layer']}",
        f"kernel cache: {result['cache']}",
        "",
        markdown_table(header, rows),
        "",
    ]
    mem_rows = [
        (
            f"{m['migrants']:,}",
            f"{m['migrants_bytes_per']:.2f}",
            f"{m['tallies_bytes_per']:.3f}",
            f"{m['other_per_migrant_bytes_per']:.2f}",
            f"{m['total_bytes_per']:.2f}",
            f"{m['fixed_other_bytes'] / 1024:.0f} KiB",
            f"{m['construction_peak_bytes_per']:.1f}",
        )
        for m in result["memory"]
    ]
    out.append(
        markdown_table(
            [
                "migrants",
                "bytes/migrant: Migrants",
                "tallies",
                "other per-migrant arrays",
                "total",
                "fixed-size arrays",
                "peak while building (tracemalloc)",
            ],
            mem_rows,
        )
    )
    fields = result["memory"][0]["fields"]
    out.append("")
    out.append("Migrants fields (bytes): " + ", ".join(f"{k} {v}" for k, v in fields.items()))
    out.append("")
    out.extend(verdicts(result))
    return "\n".join(out)


def verdicts(result: dict[str, Any]) -> list[str]:
    lines = []
    one_core = [r for r in result["kernel"] if r["threads"] == 1 and r["migrants"] >= 1_000_000]
    for r in one_core:
        ok = "PASS" if r["rate_all"] >= TARGET_RATE else "FAIL"
        lines.append(
            f"- target >= {TARGET_RATE / 1e6:.0f} M agent-steps/s, one core, "
            f"{r['migrants']:,} migrants, {r['kernel']} kernel: {_m(r['rate_all'])} M/s "
            f"(day {_m(r['rate_day'])}): {ok}"
        )
    for m in result["memory"]:
        ok = "PASS" if m["total_bytes_per"] < TARGET_BYTES else "FAIL"
        lines.append(
            f"- target < {TARGET_BYTES} bytes per migrant, {m['migrants']:,} migrants: "
            f"{m['total_bytes_per']:.1f} B: {ok}"
        )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--migrants", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, nargs="*", default=[1, 2], help="parallel kernel thread counts"
    )
    parser.add_argument(
        "--no-serial", dest="serial", action="store_false", help="skip the serial kernel"
    )
    parser.add_argument("--steps", type=int, help="only the first K steps (default: all)")
    parser.add_argument("--scan", action="store_true", help="also time a status-only loop")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenario", type=Path, default=JANUARY_2021)
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args(argv)
    args.repeats = max(1, args.repeats)
    info = machine_info()
    print(machine_line(info), flush=True)
    result = measure(args)
    print()
    print(tables(result, scan=args.scan))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "kernel": result}, indent=1))


if __name__ == "__main__":
    main()
