"""Shared by tests/test_sweep_interrupt.py and tests/test_sweep_dask.py: one sweep file, its
uninterrupted serial result (computed once per test session), `caravan sweep` as a subprocess,
polling with deadlines, and comparisons of results bit for bit.

The sweep: 20 grid points x 10 replicates = 200 runs of the January 2021 scenario with 300
people, about 25 ms a run, so a sweep takes several seconds: long enough to stop it mid-way
after its first batches are recorded, short enough for CI.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from sim.sweep.executors import SerialExecutor
from sim.sweep.plan import load_sweep_file
from sim.sweep.runner import run_sweep
from sim.sweep.store import PROVENANCE_COLUMNS, load_sweep

REPO = Path(__file__).resolve().parent.parent
BASE = REPO / "scenarios" / "january-2021.yaml"

SPEED = "movement.walking_speed_kmh"
SLIP = "authorities.vado_hondo_blockade.slip_chance_per_h"
SPEEDS = (2.5, 3.0, 3.5, 4.0)
REPLICATES = 10
TOTAL_RUNS = len(SPEEDS) * 5 * REPLICATES  # 5 slip chances

EXIT_INPUT_ERROR = 2
EXIT_INTERRUPTED = 130

# Generous: a loaded CI machine can be many times slower than a developer's.
CLI_TIMEOUT_S = 180.0
POLL_S = 0.02


def sweep_text(
    speeds: tuple[float, ...] = SPEEDS, replicates: int = REPLICATES, population: int = 300
) -> str:
    values = ", ".join(f"{s:g}" for s in speeds)
    return f"""\
name: interrupt-test
base: {BASE}
set: {{population.size: {population}, output.plots: false}}
parameters:
  {SPEED}: {{values: [{values}]}}
  {SLIP}: {{range: [0.001, 0.1], steps: 5, scale: log}}
replicates: {replicates}
seed: 3
"""


def write_sweep(directory: Path, name: str = "sweep.yaml", **changes: Any) -> Path:
    path = directory / name
    path.write_text(sweep_text(**changes), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------
# The reference: the sweep run serially, in this process, uninterrupted
# --------------------------------------------------------------------------------------------


def reference(directory: Path) -> tuple[Path, Path]:
    """(sweep file, its complete sweep directory) in `directory`; the session-scoped fixture
    `ref` in conftest.py runs it once. Treat both as read-only: copy the directory to change
    it."""
    path = write_sweep(directory)
    out = directory / "out"
    summary = run_sweep(load_sweep_file(path), out, SerialExecutor())
    assert summary.status == "complete"
    assert summary.total_runs == summary.done_now == TOTAL_RUNS
    return path, out


def results(out: Path) -> pd.DataFrame:
    """The recorded runs of the sweep in `out`, without the columns that differ by nature."""
    return load_sweep(out).drop(columns=list(PROVENANCE_COLUMNS))


def assert_identical(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same columns, dtypes and values, bit for bit (floats compared as their bytes)."""
    got = got.reset_index(drop=True)
    expected = expected.reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    for name in expected.columns:
        a, b = got[name].to_numpy(), expected[name].to_numpy()
        if a.dtype.kind in "biuf":
            assert a.tobytes() == b.tobytes(), f"column {name!r} differs in its bits"


def assert_rows_match(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Every row of `got` (some of the runs) is the row of the same run in `expected`, and
    no run is in `got` twice."""
    ids = got["run_id"].to_numpy()
    assert len(np.unique(ids)) == len(ids), "a run is recorded twice"
    assert_identical(got, expected[expected["run_id"].isin(ids)])


def snapshot(directory: Path, exclude: tuple[str, ...] = ()) -> dict[str, str]:
    """Relative path -> sha256 of each file (or "directory") under `directory`, hidden ones
    included; names in `exclude` are left out."""
    return {
        str(p.relative_to(directory)): (
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "directory"
        )
        for p in sorted(directory.rglob("*"))
        if p.name not in exclude
    }


def run_parts(out: Path) -> list[Path]:
    """The committed runs parts of the sweep in `out` (what a reader reads)."""
    runs = out / "runs"
    return sorted(runs.glob("part-*.parquet")) if runs.is_dir() else []


def temp_files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob(".tmp-*") if p.is_file())


# --------------------------------------------------------------------------------------------
# Polling
# --------------------------------------------------------------------------------------------

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    what: str,
    timeout_s: float = 120.0,
    proc: subprocess.Popen[Any] | None = None,
) -> T:
    """Poll `condition` until it returns something true, and return that. Fail after
    `timeout_s`, or as soon as `proc` (if given) has exited: it will not happen then."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: the process exited ({proc.returncode}) before that")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting until {what}")
        time.sleep(POLL_S)


# --------------------------------------------------------------------------------------------
# `caravan` as a subprocess
# --------------------------------------------------------------------------------------------


def subprocess_env() -> dict[str, str]:
    # CI=1: plain progress lines (they say how many runs a session had to run), never a bar
    pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "CI": "1", "PYTHONPATH": pythonpath}


def caravan(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run `caravan ARGS` to the end; its exit status and output."""
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        cwd=REPO,
        env=subprocess_env(),
        check=False,
    )


# Started from a terminal, a program has the default SIGINT action. A process started by one
# that ignores SIGINT (a background job of a script, nohup) inherits "ignore", and Python then
# leaves Ctrl-C ignored; so reset it before exec'ing the CLI in this same process.
_AS_FROM_A_TERMINAL = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.executable, [sys.executable, '-m', 'sim', *sys.argv[1:]])"
)


class Background:
    """A `caravan` process running in its own session (a process group of its own, with its
    worker processes), output to files."""

    def __init__(self, proc: subprocess.Popen[str], stdout: Path, stderr: Path) -> None:
        self.proc = proc
        self.pgid = proc.pid  # start_new_session: the process leads its own group
        self._stdout = stdout
        self._stderr = stderr

    @property
    def stdout(self) -> str:
        return self._stdout.read_text(encoding="utf-8")

    @property
    def stderr(self) -> str:
        return self._stderr.read_text(encoding="utf-8")

    def output(self) -> str:
        return f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}"

    def signal_group(self, signum: int) -> None:
        os.killpg(self.pgid, signum)

    def wait(self, timeout_s: float = CLI_TIMEOUT_S) -> int:
        return self.proc.wait(timeout=timeout_s)


@contextmanager
def background_caravan(log_dir: Path, *args: str | Path) -> Iterator[Background]:
    """Start `caravan ARGS` in a new session; on leaving, kill whatever is left of its group."""
    log_dir.mkdir(parents=True, exist_ok=True)
    stdout, stderr = log_dir / "stdout.txt", log_dir / "stderr.txt"
    with stdout.open("w", encoding="utf-8") as out, stderr.open("w", encoding="utf-8") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", _AS_FROM_A_TERMINAL, *map(str, args)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            text=True,
            cwd=REPO,
            env=subprocess_env(),
            start_new_session=True,
        )
    job = Background(proc, stdout, stderr)
    try:
        yield job
    finally:
        if proc.poll() is None or live_group_members(job.pgid):
            with suppress(ProcessLookupError):
                os.killpg(job.pgid, signal.SIGKILL)
        proc.wait(timeout=30)


def wait_group_gone(pgid: int, timeout_s: float = 30.0) -> None:
    """Wait until no process of group `pgid` is alive (worker processes included)."""
    deadline = time.monotonic() + timeout_s
    while members := live_group_members(pgid):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"processes of the sweep's group still alive after {timeout_s:g} s: {members}"
            )
        time.sleep(POLL_S)


def live_group_members(pgid: int) -> list[str]:
    """The processes of group `pgid` still alive (zombies, already dead, left out), each as
    "pid command line"."""
    proc_dir = Path("/proc")
    if not proc_dir.is_dir():  # not Linux: ask the kernel (counts zombies too)
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return []
        return [f"process group {pgid}"]
    members = []
    for entry in proc_dir.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # ended while we looked
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses
        state, _ppid, pgrp = stat[stat.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == pgid and state not in {"Z", "X"}:
            members.append(f"{entry.name} {cmdline.strip()}")
    return members


def read_manifest(out: Path) -> dict[str, Any]:
    content: dict[str, Any] = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return content
