"""Time `sim.run(scenario, seed)` for the January 2021 scenario (8,000 migrants, hourly steps).

Target (issue): the scenario runs in under 1 s after compilation (compile once, cached).

What is measured, each in a fresh Python process started by this script:
  1. cold: NUMBA_CACHE_DIR points at an empty temporary directory, so the first `sim.run`
     compiles every numba function (reported once: "compile + first run").
  2. warm: `--processes` further processes with the same NUMBA_CACHE_DIR, now filled by step 1;
     their first `sim.run` loads the compiled code from the cache. Cache hits and misses are
     read from the numba dispatchers, so a cache that is not reused shows up as misses.
  3. repeated: one more warm process makes `--repeats` calls of `sim.run` after its first
     (median, min, max), then `--repeats` runs split into `CaravanModel.__init__`, the step
     loop (and the kernel calls within it) and `results()`.

Usage:
    python benchmarks/bench_scenario.py [--repeats 10] [--processes 3] [--seed 0] [--serial]
                                        [--scenario PATH] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    JANUARY_2021,
    fmt_s,
    fmt_summary_s,
    machine_info,
    machine_line,
    markdown_table,
    summary,
)

TARGET_S = 1.0


# --------------------------------------------------------------------------------------------
# Worker: runs in a fresh process and prints one JSON object on its last line of stdout.
# --------------------------------------------------------------------------------------------


def _cache_stats() -> dict[str, int]:
    """Numba cache hits and misses summed over the dispatchers of sim.kernels and sim.rng."""
    from numba.core.registry import CPUDispatcher  # noqa: PLC0415

    from sim import kernels, rng  # noqa: PLC0415

    hits = misses = 0
    for module in (kernels, rng):
        for obj in vars(module).values():
            if isinstance(obj, CPUDispatcher):
                hits += sum(obj.stats.cache_hits.values())
                misses += sum(obj.stats.cache_misses.values())
    return {"cache_hits": hits, "cache_misses": misses}


def _timed_model_run(scenario: Any, seed: int, threads: bool) -> dict[str, float]:
    """One run, as `sim.run` does it, split into __init__, the step loop (kernel) and results."""
    from sim.model import CaravanModel  # noqa: PLC0415

    t0 = time.perf_counter()
    model = CaravanModel(scenario, seed=seed, threads=threads, profile=True)
    t1 = time.perf_counter()
    while model.running:
        model.step()
    t2 = time.perf_counter()
    model.results()
    t3 = time.perf_counter()
    assert model.profile_rows is not None
    # idle night steps skip the kernel
    kernel_s = sum(row["seconds"]["migrants"] for row in model.profile_rows if row["kernel"])
    kernel_steps = sum(1 for row in model.profile_rows if row["kernel"])
    return {
        "init_s": t1 - t0,
        "loop_s": t2 - t1,
        "kernel_s": kernel_s,
        "results_s": t3 - t2,
        "total_s": t3 - t0,
        "steps": model.n_steps,
        "kernel_steps": kernel_steps,
        "migrants": model.migrants.n,
    }


def worker(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.perf_counter()
    import sim  # noqa: PLC0415  (timed: the import is part of a fresh process's start)

    t1 = time.perf_counter()
    scenario = sim.load(args.scenario)
    t2 = time.perf_counter()
    threads = not args.serial
    first = _timed_model_run(scenario, args.seed, threads)
    out: dict[str, Any] = {
        "import_s": t1 - t0,
        "load_s": t2 - t1,
        "first": first,
        "sim": str(Path(sim.__file__).parent),
        **_cache_stats(),
    }
    if args.repeats > 0:
        runs = []
        for _ in range(args.repeats):
            r0 = time.perf_counter()
            sim.run(scenario, args.seed, threads=threads)
            runs.append(time.perf_counter() - r0)
        out["run_s"] = runs
        out["split"] = [_timed_model_run(scenario, args.seed, threads) for _ in range(args.repeats)]
    return out


def _spawn(args: argparse.Namespace, cache_dir: str, repeats: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        "--scenario",
        str(args.scenario),
        "--seed",
        str(args.seed),
        "--repeats",
        str(repeats),
    ]
    if args.serial:
        cmd.append("--serial")
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"worker failed ({done.returncode}):\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = wall
    return result


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


def measure(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="caravan-numba-cache-") as cache_dir:
        cold = _spawn(args, cache_dir, repeats=0)
        warm = [_spawn(args, cache_dir, repeats=0) for _ in range(args.processes)]
        repeated = _spawn(args, cache_dir, repeats=args.repeats)
    return {"cold": cold, "warm": warm, "repeated": repeated}


def rows(result: dict[str, Any]) -> list[tuple[str, str]]:
    cold, warm, last = result["cold"], result["warm"], result["repeated"]
    steps, migrants = last["first"]["steps"], last["first"]["migrants"]
    # the steps that ran the kernel (idle nights skip it; older measurements did not record it)
    kernel_steps = last["first"].get("kernel_steps", steps)
    run = summary(last["run_s"])
    split = last["split"]
    init = summary([s["init_s"] for s in split])
    loop = summary([s["loop_s"] for s in split])
    kern = summary([s["kernel_s"] for s in split])
    res = summary([s["results_s"] for s in split])
    warm_first = summary([w["first"]["total_s"] for w in warm])
    warm_first_kernel = summary([w["first"]["kernel_s"] for w in warm])
    imports = summary([w["import_s"] for w in warm])
    wall = summary([w["process_wall_s"] for w in warm])
    compile_s = cold["first"]["total_s"] - run["median"]
    hits = [w["cache_hits"] for w in warm]
    misses = [w["cache_misses"] for w in warm]
    verdict = "PASS" if run["median"] < TARGET_S else "FAIL"
    verdict_first = "PASS" if warm_first["median"] < TARGET_S else "FAIL"
    agent_steps = migrants * steps
    return [
        ("scenario", f"{migrants:,} migrants x {steps} steps = {agent_steps:,} agent-steps"),
        ("sim package", f"{last['sim']} (`sim.run` default: threads=True, parallel kernel)"),
        ("`import sim` (fresh process)", fmt_summary_s(imports)),
        ("`sim.load(scenario)`", fmt_s(last["load_s"])),
        (
            "first `sim.run`, cold numba cache (compile + run)",
            f"{fmt_s(cold['first']['total_s'])} (__init__ {fmt_s(cold['first']['init_s'])}, "
            f"step loop {fmt_s(cold['first']['loop_s'])}); cache misses {cold['cache_misses']}",
        ),
        ("compile time (cold first run - median repeated run)", fmt_s(compile_s)),
        (
            f"first `sim.run`, warm cache, fresh process (x{len(warm)})",
            f"{fmt_summary_s(warm_first)}; kernel {fmt_summary_s(warm_first_kernel)}; "
            f"cache hits {hits}, misses {misses}",
        ),
        ("whole warm process (start, import, load, first run)", fmt_summary_s(wall)),
        (f"repeated `sim.run` (x{run['n']}), median (min - max)", fmt_summary_s(run)),
        ("  `CaravanModel.__init__`", fmt_summary_s(init)),
        (f"  step loop ({steps} steps)", fmt_summary_s(loop)),
        (f"    of which the migrant kernel ({kernel_steps} steps)", fmt_summary_s(kern)),
        (
            "    Python per step (loop - kernel) / steps",
            fmt_s((loop["median"] - kern["median"]) / steps),
        ),
        ("  `results()`", fmt_summary_s(res)),
        (
            "kernel throughput in this run",
            f"{migrants * kernel_steps / kern['median'] / 1e6:.1f} M agent-steps/s",
        ),
        (f"target: run after compilation < {TARGET_S:g} s (repeated)", verdict),
        (f"target: first run in a fresh process with warm cache < {TARGET_S:g} s", verdict_first),
    ]


def table(result: dict[str, Any]) -> str:
    return markdown_table(["bench_scenario: January 2021", "time"], rows(result))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", type=Path, default=JANUARY_2021)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=10, help="repeated runs (default 10)")
    parser.add_argument(
        "--processes", type=int, default=3, help="fresh processes with a warm cache (default 3)"
    )
    parser.add_argument("--serial", action="store_true", help="threads=False (serial kernel)")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args)))
        return
    args.processes = max(1, args.processes)
    args.repeats = max(1, args.repeats)
    info = machine_info()
    result = measure(args)
    print(machine_line(info))
    print()
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "scenario": result}, indent=1))


if __name__ == "__main__":
    main()
