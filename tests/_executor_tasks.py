"""Task functions for tests/test_executors.py.

They live in a module of their own, not in the test file, because worker processes (spawned,
or Dask's) import a task function by its module name: pytest puts this `tests` directory on
`sys.path` (its default "prepend" import mode, as the directory has no __init__.py), a spawned
process starts with its parent's `sys.path`, so `_executor_tasks` imports there too.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
from pathlib import Path


class TaskFailedError(Exception):
    """Raised on purpose by `fail`."""


def square(x: int, offset: int = 0) -> int:
    return x * x + offset


def summarize(base: dict[str, list[float]], runs: list[int]) -> list[tuple[int, float]]:
    """Like a batch: one value per run, from a shared (large) base object and the run's number."""
    return [(run, sum(base[f"k{run % len(base)}"]) * run) for run in runs]


def fail(message: str) -> None:
    raise TaskFailedError(message)


def pid() -> int:
    return os.getpid()


def die() -> None:
    """Kill this worker process, as the OOM killer would."""
    os.kill(os.getpid(), signal.SIGKILL)


def die_once(marker: str, x: int) -> int:
    """The first call (over all processes) kills its own process; every later call works."""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return x * x
    os.close(fd)
    die()
    raise AssertionError("unreachable: the process was killed")


def sleep_then(seconds: float, pid_file: str, value: int) -> int:
    """Write this process's pid to `pid_file`, then sleep."""
    Path(pid_file).write_text(str(os.getpid()), encoding="utf-8")
    time.sleep(seconds)
    return value


def ignores_sigint() -> bool:
    return signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def parent_death_signal() -> int:
    """The signal this process gets when its parent dies: prctl(PR_GET_PDEATHSIG), Linux only."""
    libc = ctypes.CDLL(None, use_errno=True)
    value = ctypes.c_int(-1)
    assert libc.prctl(2, ctypes.byref(value), 0, 0, 0) == 0  # 2: PR_GET_PDEATHSIG
    return value.value
