"""caravan-sim against the tools researchers would otherwise use, side by side in one run:
Flee 3.1 (from PyPI, in its own virtual environment) and an idiomatic Mesa model with one
`mesa.Agent` per migrant (`mesa_baseline.py`).

Targets (issue): at equal time step, agents and days, at least 100x Flee and 30x the Mesa
baseline at 80,000 agents, and the same order at 800,000.

Every run is a fresh process that times itself after its imports (interpreter start-up and
imports are not timed) and reports what it simulated; pairs alternate A B A B so that both sides
of a pair see the same load on a shared machine, and the ratio is taken per pair.

  vs Flee   Both sides run January 2021 with `population.size=N` at daily steps for `--days`
            days (default: all 8). Flee runs the directory `caravan export flee` writes
            (flee_driver.py: reading the files, then the day loop as Flee's run script does it,
            spawning included). caravan-sim runs the same scenario at 24-hour steps (see
            `daily_overrides`: the day's expected km are kept) on one thread: `CaravanModel(...)`
            then its steps. The numba code is loaded by a small run first.
  vs Mesa   Both run January 2021 with `population.size=N` and no authorities (the baseline has
            the movement rules only) at the scenario's hourly steps for `--mesa-steps` steps
            (default: all 174): `MesaCaravan(...)` (creating the agents) then its steps, against
            `CaravanModel(..., threads=False)` then its steps.
  --threads N  caravan-sim's side runs numba's parallel kernel on N threads instead (as
            `caravan run` does by default); the other tools run on one thread either way.
  --every-step  caravan-sim runs its kernel on every step. By default it skips night steps in
            which nobody can change (nobody due to leave, held or in quarantine: see
            `CaravanModel._nobody_changes`); the work table says on how many steps it ran.

The Flee environment is `benchmarks/.venv-flee` (git-ignored), made with `python -m venv` and
`pip install flee==3.1` when missing.

Usage:
    python benchmarks/bench_compare.py [--migrants 80000 800000] [--pairs 2]
        [--days D] [--days-at 800000=4] [--mesa-steps-at 800000=58] [--no-flee] [--no-mesa]
        [--threads N] [--every-step] [--json OUT.json]
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

from _common import (
    BENCH_DIR,
    JANUARY_2021,
    REPO,
    machine_info,
    machine_line,
    markdown_table,
    peak_rss_bytes,
    rss_bytes,
)

FLEE_VENV = BENCH_DIR / ".venv-flee"
FLEE_REQUIREMENT = "flee==3.1"
TARGET_FLEE = 100.0
TARGET_MESA = 30.0
NO_AUTHORITIES = "authorities={}"


# --------------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------------


def daily_overrides(scenario: Any) -> list[str]:
    """`--set`s that run a scenario at 24-hour steps with the same expected km per day.

    At steps longer than an hour caravan-sim decides daylight by the clock at the start of the
    step, and a ride lasts the whole step. So at 24 h steps the day window is opened to the
    whole day (every step is a travel day), walking and ride speeds are scaled by the window's
    share of the day (a day's walk stays walking_speed x window hours), and each hourly ride
    chance p becomes the one whose 24 h chance is p (a day's expected km stay
    window x (p ride + (1 - p) walk)).
    """
    mv = scenario.movement
    share = (mv.day_ends_h - mv.day_starts_h) / 24.0
    sets = [
        "time.step_h=24",
        "movement.day_starts_h=0",
        "movement.day_ends_h=24",
        f"movement.walking_speed_kmh={mv.walking_speed_kmh * share!r}",
        f"movement.ride_speed_kmh={mv.ride_speed_kmh * share!r}",
    ]
    sets += [
        f"movement.ride_chance_per_h.{country}={1.0 - (1.0 - p) ** (1.0 / 24.0)!r}"
        for country, p in mv.ride_chance_per_h.items()
    ]
    return sets


def _scenario(n: int, daily: bool, authorities: bool, duration_h: float | None) -> Any:
    import sim  # noqa: PLC0415 - the orchestrator never imports numba code

    sets = [f"population.size={n}", "output.plots=false"]
    if not authorities:
        sets.append(NO_AUTHORITIES)
    if daily:
        sets += daily_overrides(sim.load(JANUARY_2021))
    if duration_h is not None:
        sets.append(f"time.duration_h={duration_h!r}")
    return sim.load(JANUARY_2021, sets)


# --------------------------------------------------------------------------------------------
# Workers: each runs in a fresh process and writes one JSON file
# --------------------------------------------------------------------------------------------


def _ours_worker(args: argparse.Namespace) -> dict[str, Any]:
    import numba  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415

    import sim  # noqa: PLC0415
    from sim.model import CaravanModel  # noqa: PLC0415
    from sim.population import ARRIVED, WAITING  # noqa: PLC0415

    daily = args.worker == "ours-daily"
    duration_h = args.steps * (24.0 if daily else 1.0) if args.steps else None
    scenario = _scenario(args.migrants, daily, authorities=daily, duration_h=duration_h)
    parallel = args.threads > 1
    if parallel:
        numba.set_num_threads(args.threads)
    small = sim.load(JANUARY_2021, ["population.size=1000"])
    sim.run(small, seed=0, threads=parallel)  # load the compiled code before timing
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    model = CaravanModel(scenario, seed=args.seed, threads=parallel)
    model.skip_idle_steps = not args.every_step
    t1 = time.perf_counter()
    while model.running:
        model.step()
    t2 = time.perf_counter()
    # a night step in which nobody can change skips the kernel
    kernel_steps = model.n_steps - len(model.idle_steps)
    m = model.migrants
    arrived = np.bincount(m.place[m.status == ARRIVED], minlength=model.network.n_places)
    return {
        "side": "caravan-sim",
        "threads": args.threads,
        "agents": m.n,
        "departed": int((m.status != WAITING).sum()),
        "steps": model.n_steps,
        "kernel_steps": kernel_steps,
        "step_h": model.step_h,
        "days": model.n_steps * model.step_h / 24.0,
        "agent_steps": m.n * model.n_steps,
        "arrived": {model.network.place_ids[i]: int(c) for i, c in enumerate(arrived) if c},
        "setup_s": t1 - t0,
        "loop_s": t2 - t1,
        "rss_before_setup_bytes": rss0,
        "max_rss_bytes": peak_rss_bytes(),
    }


def _mesa_worker(args: argparse.Namespace) -> dict[str, Any]:
    import mesa  # noqa: PLC0415
    from mesa_baseline import MesaCaravan  # noqa: PLC0415

    scenario = _scenario(args.migrants, daily=False, authorities=False, duration_h=None)
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    model = MesaCaravan(scenario, seed=args.seed)
    t1 = time.perf_counter()
    done = model.run(args.steps)
    t2 = time.perf_counter()
    return {
        "side": f"Mesa {mesa.__version__} baseline",
        **done,
        "step_h": model.step_h,
        "days": done["steps"] * model.step_h / 24.0,
        "agent_steps": done["agents"] * done["steps"],
        "setup_s": t1 - t0,
        "loop_s": t2 - t1,
        "rss_before_setup_bytes": rss0,
        "max_rss_bytes": peak_rss_bytes(),
    }


# --------------------------------------------------------------------------------------------
# Orchestrator
# --------------------------------------------------------------------------------------------


def flee_python() -> Path:
    """Flee's interpreter, installing Flee into its own virtual environment when missing."""
    python = FLEE_VENV / "bin" / "python"
    check = [str(python), "-c", "import importlib.metadata as m; print(m.version('flee'))"]
    if python.exists():
        done = subprocess.run(check, capture_output=True, text=True, check=False)
        if done.returncode == 0 and done.stdout.strip() == FLEE_REQUIREMENT.split("==")[1]:
            return python
    print(f"installing {FLEE_REQUIREMENT} into {FLEE_VENV} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(FLEE_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", FLEE_REQUIREMENT], check=True)
    return python


def _export(n: int, out: Path) -> dict[str, Any]:
    from sim.export import flee as flee_export  # noqa: PLC0415

    export = flee_export.build(_scenario(n, daily=False, authorities=True, duration_h=None))
    flee_export.write(export, out)
    data: dict[str, Any] = json.loads(export.files["caravan-export.json"])
    return data


def _run_worker(cmd: list[str], out: Path) -> dict[str, Any]:
    done = subprocess.run(
        cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr.decode()[-3000:]}")
    data: dict[str, Any] = json.loads(out.read_text())
    data["load_1min"] = round(os.getloadavg()[0], 2)
    return data


def _ours_cmd(
    kind: str, n: int, steps: int | None, out: Path, threads: int = 1, every_step: bool = False
) -> list[str]:
    cmd = [sys.executable, str(Path(__file__)), "--worker", kind, "--migrants", str(n)]
    cmd += ["--out", str(out), "--threads", str(threads)]
    cmd += ["--every-step"] if every_step else []
    return cmd + (["--steps", str(steps)] if steps else [])


def _total(r: dict[str, Any]) -> float:
    return float(r["setup_s"] + r["loop_s"])


def compare(label: str, a_cmd: Any, b_cmd: Any, pairs: int, tmp: Path) -> dict[str, Any]:
    """Alternate A (caravan-sim) and B (the other tool); the ratio B / A per pair."""
    runs_a, runs_b, ratios, loop_ratios = [], [], [], []
    for k in range(pairs):
        a = _run_worker(a_cmd(tmp / f"{label}-a{k}.json"), tmp / f"{label}-a{k}.json")
        b = _run_worker(b_cmd(tmp / f"{label}-b{k}.json"), tmp / f"{label}-b{k}.json")
        runs_a.append(a)
        runs_b.append(b)
        ratios.append(_total(b) / _total(a))
        loop_ratios.append(b["loop_s"] / a["loop_s"])
        print(
            f"  {label} pair {k + 1}: caravan-sim {_total(a):.3f} s, {b['side']} {_total(b):.2f} s"
            f" -> {ratios[-1]:.0f}x (load {a['load_1min']}/{b['load_1min']})",
            flush=True,
        )
    return {
        "label": label,
        "ours": runs_a,
        "other": runs_b,
        "ratio": ratios,
        "loop_ratio": loop_ratios,
        "ratio_median": statistics.median(ratios),
    }


def _at(spec: list[str], n: int) -> int | None:
    """'800000=3' entries: the value for n, if given."""
    for item in spec:
        key, _, value = item.partition("=")
        if int(key) == n:
            return int(value)
    return None


def measure(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"flee": [], "mesa": []}
    with tempfile.TemporaryDirectory(prefix="caravan-compare-") as tmp_name:
        tmp = Path(tmp_name)
        python = flee_python() if args.flee else None
        for n in args.migrants:
            if python is not None:
                export_dir = tmp / f"flee-{n}"
                exported = _export(n, export_dir)
                days = _at(args.days_at, n) or args.days or exported["days"]
                print(f"vs Flee, {n:,} migrants, {days} days (export in {export_dir})", flush=True)
                flee_cmd = [str(python), str(BENCH_DIR / "flee_driver.py"), str(export_dir)]
                res = compare(
                    f"flee-{n}",
                    lambda out, n=n, days=days: _ours_cmd(
                        "ours-daily", n, days, out, args.threads, args.every_step
                    ),
                    lambda out, c=flee_cmd, days=days: [*c, str(out), "--days", str(days)],
                    args.pairs,
                    tmp,
                )
                res.update(migrants=n, days=days, export=exported)
                results["flee"].append(res)
            if args.mesa:
                steps = _at(args.mesa_steps_at, n) or args.mesa_steps
                print(f"vs Mesa, {n:,} migrants, {steps or 'all'} hourly steps", flush=True)
                res = compare(
                    f"mesa-{n}",
                    lambda out, n=n, s=steps: _ours_cmd(
                        "ours-hourly", n, s, out, args.threads, args.every_step
                    ),
                    lambda out, n=n, s=steps: _ours_cmd("mesa", n, s, out),
                    args.pairs,
                    tmp,
                )
                res.update(migrants=n, steps=steps)
                results["mesa"].append(res)
    return results


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def _arrivals(r: dict[str, Any]) -> str:
    arrived = r["arrived"]
    total = sum(arrived.values())
    by_count = sorted(((k, v) for k, v in arrived.items() if v), key=lambda kv: -kv[1])
    parts = ", ".join(f"{k} {v:,}" for k, v in by_count)
    return f"{total:,} ({parts})" if parts else "0"


def _bytes_per_agent(r: dict[str, Any]) -> float:
    return float(r["max_rss_bytes"] - r["rss_before_setup_bytes"]) / r["agents"]


def _kernel_steps(r: dict[str, Any]) -> str:
    """caravan-sim's steps that ran its kernel, when some were skipped as idle nights."""
    ran = r.get("kernel_steps")  # not in measurements saved before the skip existed
    return f" (kernel on {ran})" if ran is not None and ran != r["steps"] else ""


def work_rows(results: dict[str, Any]) -> list[list[str]]:
    """What each side simulated in its first run: a reader can check both did the same work."""
    rows = []
    for kind in ("flee", "mesa"):
        for res in results[kind]:
            for r in (res["ours"][0], res["other"][0]):
                rows.append(
                    [
                        f"{res['migrants']:,}",
                        r["side"],
                        f"{r['agents']:,}",
                        f"{r['days']:.3g}",
                        f"{r['steps']} x {r['step_h']:g} h" + _kernel_steps(r),
                        f"{r['agent_steps']:,}",
                        _arrivals(r),
                        f"{_total(r):.3f}",
                        f"{_bytes_per_agent(r):,.0f}" if "rss_before_setup_bytes" in r else "",
                    ]
                )
    return rows


WORK_HEADER = [
    "N",
    "side",
    "agents",
    "days",
    "steps",
    "agent-steps",
    "arrived at destinations (by place)",
    "s (first run)",
    "RSS bytes per agent",
]


def _ours_threads(res: dict[str, Any]) -> int:
    threads: int = res["ours"][0].get("threads", 1)  # saved before --threads: one
    return threads


def _threads(res: dict[str, Any]) -> str:
    n = _ours_threads(res)
    return "1 thread" if n == 1 else f"{n} threads"


def _verdict(res: dict[str, Any], target: float) -> str:
    """The targets are for caravan-sim on one thread; a run on more says nothing of them."""
    if _ours_threads(res) != 1:
        return "- (target is for 1 thread)"
    return "PASS" if res["ratio_median"] >= target else "FAIL"


def ratio_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for kind, target in (("flee", TARGET_FLEE), ("mesa", TARGET_MESA)):
        for res in results[kind]:
            ours = statistics.median(_total(r) for r in res["ours"])
            other = statistics.median(_total(r) for r in res["other"])
            ratios = res["ratio"]
            rows.append(
                [
                    f"{res['other'][0]['side']} vs caravan-sim ({_threads(res)})",
                    f"{res['migrants']:,}",
                    f"{res['ours'][0]['steps']} x {res['ours'][0]['step_h']:g} h",
                    f"{other:.2f} s",
                    f"{ours:.3f} s",
                    f"{res['ratio_median']:.0f}x ("
                    + ", ".join(f"{x:.0f}" for x in ratios)
                    + f"; loops only {statistics.median(res['loop_ratio']):.0f}x)",
                    f">= {target:g}x",
                    _verdict(res, target),
                ]
            )
    return rows


RATIO_HEADER = [
    "comparison",
    "N",
    "steps",
    "other (median)",
    "caravan-sim (median)",
    "ratio per pair: median (each)",
    "target",
    "verdict",
]


def tables(results: dict[str, Any]) -> str:
    return "\n".join(
        [
            markdown_table(RATIO_HEADER, ratio_rows(results)),
            "",
            "What each side simulated (first pair):",
            "",
            markdown_table(WORK_HEADER, work_rows(results)),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--migrants", type=int, nargs="+", default=[80_000, 800_000])
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--days", type=int, help="days for the Flee comparison (default: all)")
    parser.add_argument("--days-at", nargs="*", default=[], metavar="N=DAYS")
    parser.add_argument("--mesa-steps", type=int, help="hourly steps for the Mesa comparison")
    parser.add_argument("--mesa-steps-at", nargs="*", default=[], metavar="N=STEPS")
    parser.add_argument("--no-flee", dest="flee", action="store_false")
    parser.add_argument("--no-mesa", dest="mesa", action="store_false")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--threads", type=int, default=1, help="caravan-sim's numba threads (default 1)"
    )
    parser.add_argument(
        "--every-step",
        action="store_true",
        help="caravan-sim runs its kernel on every step, idle nights included",
    )
    # worker mode (internal)
    parser.add_argument("--worker", choices=["ours-daily", "ours-hourly", "mesa"])
    parser.add_argument("--steps", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.worker:
        worker = _mesa_worker if args.worker == "mesa" else _ours_worker
        args.migrants = args.migrants[0]
        args.out.write_text(json.dumps(worker(args)))
        return
    info = machine_info()
    print(machine_line(info), flush=True)
    results = measure(args)
    print()
    print(tables(results))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "compare": results}, indent=1))


if __name__ == "__main__":
    main()
