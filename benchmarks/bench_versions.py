"""This checkout of caravan-sim against an earlier commit, on the same scenarios, alternated.

    python benchmarks/bench_versions.py --ref d8339e8 --migrants 1000000 --pairs 5

The commit is exported (`git archive`) into a temporary directory. Each side runs in its own
fresh process with its own numba cache, one thread (`threads=False`, numba set to one thread):
it loads every scenario at `--migrants` people, compiles on a small run, then times `--repeats`
whole runs of each scenario through the public API (`sim.load`, `sim.run`) and keeps the best.
The sides alternate A B A B: this machine's speed drifts by tens of percent over minutes, so each
new run is compared with the reference run just before it, and the ratios of the pairs are
reported with their median. The two sides must give the same outcomes (checked).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO, machine_info

SCENARIOS = (
    "scenarios/january-2021.yaml",
    "scenarios/january-2021-official.yaml",
    "scenarios/january-2021-base.yaml",
)


def side(args: argparse.Namespace) -> dict[str, Any]:
    """One process of one side: the best of `repeats` timed runs of each scenario."""
    import numba  # noqa: PLC0415

    import sim  # noqa: PLC0415

    numba.set_num_threads(1)
    first = sim.load(REPO / SCENARIOS[0], ["population.size=1000"])
    sim.run(first, seed=args.seed, threads=False)  # compile (or load the cache) first
    out: dict[str, Any] = {"sim": str(Path(sim.__file__).parent), "runs": {}}
    for path in args.scenario:
        scenario = sim.load(REPO / path, [f"population.size={args.migrants}"])
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            results = sim.run(scenario, seed=args.seed, threads=False)
            times.append(time.perf_counter() - t0)
        out["runs"][path] = {"best_s": min(times), "times_s": times, "outcomes": results.outcomes}
    return out


def _spawn(sim_root: Path, cache: Path, args: argparse.Namespace) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(sim_root), "NUMBA_CACHE_DIR": str(cache)}
    command = [sys.executable, __file__, "--side", "--migrants", str(args.migrants)]
    command += ["--repeats", str(args.repeats), "--seed", str(args.seed)]
    for path in args.scenario:
        command += ["--scenario", path]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.splitlines()[-1]))


def measure(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="caravan-ref-") as tmp:
        ref_root = Path(tmp) / "ref"
        ref_root.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", args.ref, "sim"],
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", str(ref_root)], input=archive.stdout, check=True)
        pairs = []
        for k in range(args.pairs):
            ref = _spawn(ref_root, Path(tmp) / "cache-ref", args)
            now = _spawn(REPO, Path(tmp) / "cache-now", args)
            pairs.append({"ref": ref, "now": now})
            shown = ", ".join(
                f"{Path(p).stem} {now['runs'][p]['best_s'] / ref['runs'][p]['best_s']:.3f}"
                for p in args.scenario
            )
            print(f"pair {k + 1}: now / ref: {shown}", file=sys.stderr)
    return {"machine": machine_info(), "ref": args.ref, "migrants": args.migrants, "pairs": pairs}


def report(data: dict[str, Any], scenarios: list[str]) -> str:
    lines = [
        f"caravan-sim now against {data['ref']}, {data['migrants']:,} migrants, one thread, "
        f"{len(data['pairs'])} alternated pairs ({data['machine']['date']})",
        "",
        "| scenario | ref: best s per pair | now: best s per pair | now / ref per pair | median |",
        "|---|---|---|---|---|",
    ]
    for path in scenarios:
        ref = [p["ref"]["runs"][path]["best_s"] for p in data["pairs"]]
        now = [p["now"]["runs"][path]["best_s"] for p in data["pairs"]]
        ratios = [n / r for n, r in zip(now, ref, strict=True)]
        same = all(
            p["ref"]["runs"][path]["outcomes"] == p["now"]["runs"][path]["outcomes"]
            for p in data["pairs"]
        )
        lines.append(
            f"| {Path(path).stem}{'' if same else ' (outcomes differ!)'} "
            f"| {', '.join(f'{t:.3f}' for t in ref)} | {', '.join(f'{t:.3f}' for t in now)} "
            f"| {', '.join(f'{r:.3f}' for r in ratios)} | **{statistics.median(ratios):.3f}** |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", default="d8339e8", help="the commit to compare with")
    parser.add_argument("--migrants", type=int, default=1_000_000)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per process")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenario", action="append", help="relative to the repository")
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    parser.add_argument("--side", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.scenario = args.scenario or list(SCENARIOS)
    if args.side:
        print(json.dumps(side(args)))
        return
    data = measure(args)
    if args.json:
        args.json.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(report(data, args.scenario))


if __name__ == "__main__":
    main()
