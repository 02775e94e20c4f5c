"""Run bench_scenario.py, bench_kernel.py and bench_sweep.py (each in its own process) and
print one table.

Usage:
    python benchmarks/run_all.py            # full: 1M migrants, then 8k / 80k / 800k; sweeps
    python benchmarks/run_all.py --quick    # fewer repeats, 1M migrants only, 2 threads;
                                            # the sweep on local workers only
    python benchmarks/run_all.py --json OUT.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import BENCH_DIR, machine_info, machine_line, markdown_table

TARGET_S = 1.0
TARGET_RATE = 30e6
TARGET_BYTES = 64
TARGET_EFFICIENCY = 0.80


def _run(script: str, args: list[str], out: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(BENCH_DIR / script), *args, "--json", str(out)]
    print("$", " ".join(cmd), flush=True)
    done = subprocess.run(cmd, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{script} failed with exit code {done.returncode}")
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def _rate(x: float) -> str:
    return f"{x / 1e6:.1f} M agent-steps/s"


def combined_rows(scenario: dict[str, Any], kernels: list[dict[str, Any]]) -> list[list[str]]:
    rows: list[list[str]] = []
    cold, warm, rep = scenario["cold"], scenario["warm"], scenario["repeated"]
    run_med = sorted(rep["run_s"])[len(rep["run_s"]) // 2]
    warm_first = sorted(w["first"]["total_s"] for w in warm)[len(warm) // 2]
    hits = sum(w["cache_hits"] for w in warm)
    misses = sum(w["cache_misses"] for w in warm)
    rows += [
        ["scenario", "first `sim.run`, cold numba cache (compile + run)",
         f"{cold['first']['total_s']:.2f} s", "", ""],
        ["scenario", "first `sim.run` in a fresh process, warm cache (median)",
         f"{warm_first:.2f} s (cache hits {hits}, misses {misses})",
         f"< {TARGET_S:g} s", "PASS" if warm_first < TARGET_S else "FAIL"],
        ["scenario", f"repeated `sim.run` (median of {len(rep['run_s'])})", f"{run_med:.2f} s",
         f"< {TARGET_S:g} s", "PASS" if run_med < TARGET_S else "FAIL"],
    ]  # fmt: skip
    for result in kernels:
        for r in result["kernel"]:
            one_core_1m = r["threads"] == 1 and r["migrants"] >= 1_000_000
            target = f">= {TARGET_RATE / 1e6:.0f} M/s" if one_core_1m else ""
            verdict = ("PASS" if r["rate_all"] >= TARGET_RATE else "FAIL") if one_core_1m else ""
            rows.append(
                [
                    "kernel",
                    f"{r['migrants']:,} migrants, {r['kernel']} x{r['threads']} thread(s)",
                    f"{_rate(r['rate_all'])} (day {r['rate_day'] / 1e6:.1f}, "
                    f"night {r['rate_night'] / 1e6:.1f})",
                    target,
                    verdict,
                ]
            )
        for m in result["memory"]:
            rows.append(
                [
                    "memory",
                    f"{m['migrants']:,} migrants: bytes per migrant",
                    f"{m['total_bytes_per']:.1f} B (Migrants {m['migrants_bytes_per']:.0f} B; "
                    f"peak while building {m['construction_peak_bytes_per']:.0f} B)",
                    f"< {TARGET_BYTES} B",
                    "PASS" if m["total_bytes_per"] < TARGET_BYTES else "FAIL",
                ]
            )
    return rows


def sweep_rows(sweep: dict[str, Any]) -> list[list[str]]:
    """Efficiency of each sweep against single run x runs / workers; overhead per run."""
    runs, workers = sweep["runs"], sweep["workers"]
    single = statistics.median(sweep["single"]["total_s"])
    rows = [
        ["sweep", "single run, warm (`derive` + `sim.run`, median)", f"{single * 1e3:.1f} ms",
         "", ""],
    ]  # fmt: skip
    for s in sweep["sweeps"]:
        efficiency = single * runs / s["workers"] / s["wall_s"]
        overhead_ms = (s["wall_s"] * s["workers"] - single * runs) / runs * 1e3
        is_target = s["label"] == f"local x{workers}" and s["workers"] > 1
        rows.append(
            [
                "sweep",
                f"{s['runs']:,} runs, {s['label']}: wall (efficiency; overhead per run)",
                f"{s['wall_s']:.1f} s ({efficiency:.0%} of ideal; {overhead_ms:.1f} ms)",
                f">= {TARGET_EFFICIENCY:.0%}" if is_target else "",
                ("PASS" if efficiency >= TARGET_EFFICIENCY else "FAIL") if is_target else "",
            ]
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, help="also write all measurements here")
    args = parser.parse_args(argv)
    info = machine_info()
    with tempfile.TemporaryDirectory(prefix="caravan-bench-") as tmp:
        out = Path(tmp)
        scenario = _run(
            "bench_scenario.py",
            ["--repeats", "5" if args.quick else "10", "--processes", "2" if args.quick else "3"],
            out / "scenario.json",
        )["scenario"]
        if args.quick:
            kernel_runs = [["--migrants", "1000000", "--repeats", "1", "--threads", "1", "2"]]
        else:
            kernel_runs = [
                ["--migrants", "1000000", "--repeats", "3", "--threads", "1", "2"],
                ["--migrants", "8000", "80000", "800000", "--repeats", "3", "--threads", "2"],
            ]
        kernels = [
            _run("bench_kernel.py", a, out / f"kernel{k}.json")["kernel"]
            for k, a in enumerate(kernel_runs)
        ]
        sweep_args = ["--runs", "1000", "--workers", "2"]
        if args.quick:
            sweep_args += ["--repeats", "10", "--no-serial", "--no-dask"]
        sweep = _run("bench_sweep.py", sweep_args, out / "sweep.json")["sweep"]
    print()
    print(machine_line(info))
    print()
    header = ["bench", "measure", "value", "target", "verdict"]
    print(markdown_table(header, combined_rows(scenario, kernels) + sweep_rows(sweep)))
    if args.json:
        data = {"machine": info, "scenario": scenario, "kernels": kernels, "sweep": sweep}
        args.json.write_text(json.dumps(data, indent=1))


if __name__ == "__main__":
    main()
