"""This checkout of caravan-sim against an earlier commit, on the same scenarios, alternated.

    python benchmarks/bench_versions.py --ref d8339e8 --migrants 1000000 --pairs 5

The commit is exported (`git archive`) into a temporary directory. Each side is one process
with its own numba cache, on one thread (`threads=False`, numba set to one thread): it loads
every scenario at `--migrants` people and compiles on a small run. Then the parent asks the two
processes for one timed run at a time, through the public API (`sim.run`), alternating
A B, B A, A B, ...: this machine's speed drifts by tens of percent over minutes, so each run is
compared with the other side's run right next to it, and the ratios of the pairs are reported
with their median. The two sides must give the same outcomes (checked).
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


def side(args: argparse.Namespace) -> None:
    """One side's process: load the scenarios, compile, then answer each "run K" on stdin with
    one timed run of scenario K as a JSON line."""
    import numba  # noqa: PLC0415

    import sim  # noqa: PLC0415

    numba.set_num_threads(1)
    first = sim.load(REPO / SCENARIOS[0], ["population.size=1000"])
    sim.run(first, seed=args.seed, threads=False)  # compile (or load the cache) first
    sets = [f"population.size={args.migrants}", *args.set]
    scenarios = [sim.load(REPO / p, sets) for p in args.scenario]
    print(json.dumps({"sim": str(Path(sim.__file__).parent)}), flush=True)
    for line in sys.stdin:
        k = int(line.split()[1])
        t0 = time.perf_counter()
        results = sim.run(scenarios[k], seed=args.seed, threads=False)
        elapsed = time.perf_counter() - t0
        print(json.dumps({"s": elapsed, "outcomes": results.outcomes}), flush=True)


class _Side:
    def __init__(self, sim_root: Path, cache: Path, args: argparse.Namespace) -> None:
        env = {**os.environ, "PYTHONPATH": str(sim_root), "NUMBA_CACHE_DIR": str(cache)}
        command = [sys.executable, __file__, "--side", "--migrants", str(args.migrants)]
        command += ["--seed", str(args.seed)]
        for path in args.scenario:
            command += ["--scenario", path]
        for text in args.set:
            command += ["--set", text]
        self.process = subprocess.Popen(
            command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.sim = self._answer()["sim"]

    def _answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"a side stopped (exit status {self.process.wait()})")
        return dict(json.loads(line))

    def run(self, k: int) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(f"run {k}\n")
        self.process.stdin.flush()
        return self._answer()

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()


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
        ref = _Side(ref_root, Path(tmp) / "cache-ref", args)
        now = _Side(REPO, Path(tmp) / "cache-now", args)
        pairs: list[dict[str, Any]] = []
        try:
            for k in range(args.pairs):
                for index, path in enumerate(args.scenario):
                    # A B, then B A: a drift within a pair does not favour one side.
                    first, second = (ref, now) if k % 2 == 0 else (now, ref)
                    a, b = first.run(index), second.run(index)
                    by_side = {"ref": a, "now": b} if first is ref else {"ref": b, "now": a}
                    pairs.append({"scenario": path, **by_side})
                    ratio = by_side["now"]["s"] / by_side["ref"]["s"]
                    print(f"pair {k + 1} {Path(path).stem}: now / ref {ratio:.3f}", file=sys.stderr)
        finally:
            ref.close()
            now.close()
    return {
        "machine": machine_info(),
        "ref": args.ref,
        "ref_sim": ref.sim,
        "now_sim": now.sim,
        "migrants": args.migrants,
        "sets": args.set,
        "pairs": pairs,
    }


def report(data: dict[str, Any], scenarios: list[str]) -> str:
    n_pairs = len(data["pairs"]) // max(len(scenarios), 1)
    lines = [
        f"caravan-sim now against {data['ref']}, {data['migrants']:,} migrants, one thread, "
        f"{n_pairs} alternated pairs per scenario ({data['machine']['date']})"
        + (f"; --set {' '.join(data['sets'])}" if data.get("sets") else ""),
        "",
        "| scenario | ref: median s | now: median s | now / ref, pair by pair | median ratio |",
        "|---|---|---|---|---|",
    ]
    for path in scenarios:
        pairs = [p for p in data["pairs"] if p["scenario"] == path]
        ratios = [p["now"]["s"] / p["ref"]["s"] for p in pairs]
        same = all(p["ref"]["outcomes"] == p["now"]["outcomes"] for p in pairs)
        lines.append(
            f"| {Path(path).stem}{'' if same else ' (outcomes differ!)'} "
            f"| {statistics.median(p['ref']['s'] for p in pairs):.3f} "
            f"| {statistics.median(p['now']['s'] for p in pairs):.3f} "
            f"| {', '.join(f'{r:.2f}' for r in ratios)} | **{statistics.median(ratios):.3f}** |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", default="d8339e8", help="the commit to compare with")
    parser.add_argument("--migrants", type=int, default=1_000_000)
    parser.add_argument("--pairs", type=int, default=10, help="pairs per scenario")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenario", action="append", help="relative to the repository")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="on every scenario"
    )
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    parser.add_argument("--side", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.scenario = args.scenario or list(SCENARIOS)
    if args.side:
        side(args)
        return
    data = measure(args)
    if args.json:
        args.json.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(report(data, args.scenario))


if __name__ == "__main__":
    main()
