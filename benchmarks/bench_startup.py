"""How long the command line takes to answer, warm (bytecode, numba's cache and the route cache
written), each number from a fresh process, the commands alternated within each repeat:

- `check`: `caravan check scenarios/january-2021.yaml` (target: under 0.5 s);
- `help`: `caravan --help`;
- `run at a terminal`: `caravan run scenarios/january-2021.yaml` with its output on a
  pseudo-terminal, as a person types it (figures drawn in the background: `--figures auto`),
  timed until the command returns; `figures ready` is when the last figure is written (the next
  command starts only then, so the drawing slows nothing else down). Target: under 2 s;
- `run, figures now`: the same with `--figures now` (what a script gets: the figures are drawn
  before the command returns);
- `run, plots off`: `--set output.plots=false`; target: within 0.5 s of
- `sim.run`: `python -c "import sim; sim.run(sim.load('scenarios/january-2021.yaml'), seed=0)"`.

Wall time is the median (min - max) over `--repeats` (default 5); the CPU time of each process
(user + system, its children included) is kept too, since the machine is shared and wall time
moves with its load. Nothing here is asserted; `--json PATH` keeps the measurements.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import (
    JANUARY_2021,
    REPO,
    fmt_summary_s,
    machine_info,
    machine_line,
    markdown_table,
    summary,
)

RUN_FIGURES = ("timeseries.png", "map.png", "maps-by-day.png", "outcomes.png")
FIGURES_LOG = "figures.log"
FIGURES_WAIT_S = 600.0


def _caravan() -> list[str]:
    """The `caravan` script beside this Python (an installed environment), else `-m sim`."""
    script = Path(sys.executable).with_name("caravan")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sim"]


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # warm: bytecode read from __pycache__
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(REPO), env.get("PYTHONPATH", "")) if p
    )  # this checkout's `sim`
    return env


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(command: list[str], *, terminal: bool = False) -> tuple[float, float]:
    """Wall and CPU seconds of `command` (exit status 0 required); with `terminal`, its
    stdout and stderr are a pseudo-terminal, read to the end."""
    cpu0 = _children_cpu_s()
    start = time.perf_counter()
    if terminal:
        leader, follower = pty.openpty()
        drained: list[bytes] = []

        def drain() -> None:
            while True:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the follower closed
                    return
                if not chunk:
                    return
                drained.append(chunk)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        process = subprocess.Popen(
            command, cwd=REPO, env=_environment(), stdout=follower, stderr=follower
        )
        os.close(follower)
        status = process.wait()
        wall = time.perf_counter() - start
        reader.join(timeout=5)
        os.close(leader)
        output = b"".join(drained).decode(errors="replace")
    else:
        done = subprocess.run(
            command, cwd=REPO, env=_environment(), capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - start
        status, output = done.returncode, done.stdout + done.stderr
    if status != 0:
        raise RuntimeError(f"{' '.join(command)} exited {status}:\n{output}")
    return wall, _children_cpu_s() - cpu0


def _wait_for_figures(out: Path, started: float) -> float:
    """Seconds from `started` until every figure is in `out` and the drawing's log is gone."""
    deadline = time.monotonic() + FIGURES_WAIT_S
    while time.monotonic() < deadline:
        if not (out / FIGURES_LOG).exists() and all((out / n).is_file() for n in RUN_FIGURES):
            return time.perf_counter() - started
        time.sleep(0.02)
    raise RuntimeError(f"the figures did not appear in {out} within {FIGURES_WAIT_S:.0f} s")


def _cases(scratch: Path) -> dict[str, Callable[[], dict[str, float]]]:
    caravan = _caravan()
    scenario = str(JANUARY_2021.relative_to(REPO))

    def simple(command: list[str], terminal: bool = False) -> Callable[[], dict[str, float]]:
        def measure() -> dict[str, float]:
            wall, cpu = _timed(command, terminal=terminal)
            return {"wall_s": wall, "cpu_s": cpu}

        return measure

    def run(*extra: str, terminal: bool = False) -> Callable[[], dict[str, float]]:
        out = scratch / "run"

        def measure() -> dict[str, float]:
            command = [*caravan, "run", scenario, "--out", str(out), "--overwrite", *extra]
            started = time.perf_counter()
            wall, cpu = _timed(command, terminal=terminal)
            result = {"wall_s": wall, "cpu_s": cpu}
            if terminal:
                result["figures_ready_s"] = _wait_for_figures(out, started)
            return result

        return measure

    sim_run = f"import sim; sim.run(sim.load({scenario!r}), seed=0)"
    return {
        "check": simple([*caravan, "check", scenario]),
        "help": simple([*caravan, "--help"]),
        "run at a terminal": run(terminal=True),
        "run, figures now": run("--figures", "now"),
        "run, plots off": run("--set", "output.plots=false"),
        "sim.run": simple([sys.executable, "-c", sim_run]),
    }


def measure(repeats: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        cases = _cases(Path(tmp))
        for case in cases.values():  # warm: bytecode, numba's cache, the page cache
            case()
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
        for r in range(repeats):
            names = list(cases)
            order = names[r % len(names) :] + names[: r % len(names)]  # alternate who goes first
            for name in order:
                samples[name].append(cases[name]())
    return {
        name: {
            key: summary([s[key] for s in values]) | {"values": [s[key] for s in values]}
            for key in values[0]
        }
        for name, values in samples.items()
    }


def report(info: dict[str, Any], results: dict[str, Any]) -> str:
    def wall(name: str) -> float:
        return float(results[name]["wall_s"]["median"])

    targets = {
        "check": f"< 0.5 s: {'PASS' if wall('check') < 0.5 else 'FAIL'}",
        "run at a terminal": f"< 2 s: {'PASS' if wall('run at a terminal') < 2 else 'FAIL'}",
        "run, plots off": (
            f"within 0.5 s of sim.run ({wall('run, plots off') - wall('sim.run'):+.2f} s): "
            f"{'PASS' if wall('run, plots off') - wall('sim.run') <= 0.5 else 'FAIL'}"
        ),
    }
    rows = []
    for name, r in results.items():
        ready = fmt_summary_s(r["figures_ready_s"]) if "figures_ready_s" in r else ""
        rows.append(
            [
                name,
                fmt_summary_s(r["wall_s"]),
                fmt_summary_s(r["cpu_s"]),
                ready,
                targets.get(name, ""),
            ]
        )
    n = next(iter(results.values()))["wall_s"]["n"]
    header = ["command", f"wall, median of {n} (min - max)", "CPU", "figures ready", "target"]
    return machine_line(info) + "\n\n" + markdown_table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the measurements here")
    args = parser.parse_args()
    info = machine_info()
    results = measure(args.repeats)
    print(report(info, results))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "startup": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
