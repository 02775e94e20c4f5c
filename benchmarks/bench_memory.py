"""Peak memory of one large run: 10 million migrants for 30 days (720 hourly steps) in one run.

Target (issue): under 2 GB.

The run is a fresh process: it loads January 2021 with `population.size=--migrants`,
`time.duration_h=--days x 24`, no time series, place counts or plots, loads the compiled code
with a small run, then calls `sim.run(scenario, seed)` (both numba threads). Its peak resident
memory (VmHWM, which covers the interpreter, numpy, numba and Mesa too) is
reported, with the resident memory just before the model was built, the wall time and the
outcomes (so the run is seen to have simulated everyone).

Usage:
    python benchmarks/bench_memory.py [--migrants 10000000] [--days 30] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    JANUARY_2021,
    machine_info,
    machine_line,
    markdown_table,
    peak_rss_bytes,
    rss_bytes,
)

TARGET_BYTES = 2 * 1024**3


def _worker(args: argparse.Namespace) -> dict[str, Any]:
    import sim  # noqa: PLC0415

    sim.run(sim.load(JANUARY_2021, ["population.size=1000"]), seed=0)  # load compiled code
    scenario = sim.load(
        JANUARY_2021,
        [
            f"population.size={args.migrants}",
            f"time.duration_h={args.days * 24}",
            "output.time_series=false",
            "output.place_counts=false",
            "output.plots=false",
        ],
    )
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    results = sim.run(scenario, seed=0)
    wall = time.perf_counter() - t0
    return {
        "migrants": args.migrants,
        "days": args.days,
        "steps": scenario.n_steps,
        "wall_s": wall,
        "rss_before_model_bytes": rss0,
        "max_rss_bytes": peak_rss_bytes(),
        "outcomes": results.outcomes,
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="caravan-memory-") as tmp:
        out = Path(tmp) / "memory.json"
        cmd = [sys.executable, __file__, "--worker", "--migrants", str(args.migrants)]
        cmd += ["--days", str(args.days), "--out", str(out)]
        subprocess.run(cmd, check=True)
        data: dict[str, Any] = json.loads(out.read_text())
    return data


def rows(r: dict[str, Any]) -> list[list[str]]:
    gib = 1024**3
    o = r["outcomes"]
    ok = r["max_rss_bytes"] < TARGET_BYTES
    return [
        [
            f"{r['migrants']:,} migrants, {r['days']} days ({r['steps']} hourly steps), one run",
            f"peak RSS {r['max_rss_bytes'] / gib:.2f} GiB (before the model: "
            f"{r['rss_before_model_bytes'] / gib:.2f} GiB; "
            f"{(r['max_rss_bytes'] - r['rss_before_model_bytes']) / r['migrants']:.0f} B per "
            f"migrant); {r['wall_s']:.0f} s; departed {o['departed']:,}, "
            f"reached the Mexican border {o['reached_mexican_border']:,}",
            "< 2 GiB",
            "PASS" if ok else "FAIL",
        ]
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--migrants", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        args.out.write_text(json.dumps(_worker(args)))
        return
    info = machine_info()
    print(machine_line(info), flush=True)
    result = measure(args)
    print(markdown_table(["measure", "value", "target", "verdict"], rows(result)))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "memory": result}, indent=1))


if __name__ == "__main__":
    main()
