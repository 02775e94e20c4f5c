"""The sweep executors: every task's value comes back exactly once, equal to calling the task
directly, whichever executor runs it; task errors are re-raised; dead workers are replaced;
cancelling stops running workers at once.

The task functions are in `_executor_tasks.py` (worker processes import them by module name).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _executor_tasks import (
    TaskFailedError,
    die,
    die_once,
    fail,
    ignores_sigint,
    parent_death_signal,
    sleep_then,
    square,
    summarize,
)

from sim.errors import CaravanError
from sim.sweep.executors import (
    MAX_RESTARTS,
    DaskExecutor,
    Executor,
    ExecutorError,
    Handle,
    LocalExecutor,
    SerialExecutor,
    default_workers,
    make_executor,
)

EXECUTORS: dict[str, Callable[[], Executor]] = {
    "serial": SerialExecutor,
    "local2": lambda: LocalExecutor(2),
}


@pytest.fixture(params=list(EXECUTORS))
def executor(request: pytest.FixtureRequest) -> Iterator[Executor]:
    with EXECUTORS[request.param]() as ex:
        yield ex


def run_all(
    ex: Executor, fn: Callable[..., Any], arg_lists: list[tuple[Any, ...]], window: int = 4
) -> dict[int, Any]:
    """Submit `fn(*args)` for each args, at most `window` in flight (as the runner does);
    return {index: value}, failing if any index comes back twice."""
    values: dict[int, Any] = {}
    todo = list(enumerate(arg_lists))
    in_flight: set[Handle] = set()
    while todo or in_flight:
        while todo and len(in_flight) < window:
            index, args = todo.pop(0)
            in_flight.add(ex.submit(index, fn, *args))
        for handle in ex.wait(in_flight, timeout_s=30):
            in_flight.discard(handle)
            assert handle.tag not in values, f"task {handle.tag} came back twice"
            values[handle.tag] = ex.result(handle)
    return values


def process_gone(pid: int) -> bool:
    """Whether `pid` has ended: no such process, or a zombie its new parent has not reaped."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] in {"Z", "X"}
    except (OSError, IndexError):
        return False


def test_values_equal_direct_calls(executor: Executor) -> None:
    args = [(i, 7) for i in range(40)]
    assert run_all(executor, square, args) == {i: square(*a) for i, a in enumerate(args)}


def test_shared_large_argument(executor: Executor) -> None:
    base = {f"k{i}": [float(j) / 7 for j in range(30)] for i in range(100)}  # ~30 KB pickled
    batches = [(base, list(range(start, start + 5))) for start in range(0, 50, 5)]
    expected = {i: summarize(*b) for i, b in enumerate(batches)}
    assert run_all(executor, summarize, batches) == expected


def test_task_exception_is_reraised(executor: Executor) -> None:
    bad = executor.submit("bad", fail, "boom [1]")
    good = executor.submit("good", square, 3)
    finished: list[Handle] = []
    while len(finished) < 2:
        finished += executor.wait({bad, good} - set(finished), timeout_s=30)
    assert {h.tag for h in finished} == {"bad", "good"}
    with pytest.raises(TaskFailedError, match=r"boom \[1\]"):
        executor.result(bad)
    assert executor.result(good) == 9


def test_wait_on_nothing_returns_at_once(executor: Executor) -> None:
    assert executor.wait([]) == []


def test_foreign_handle_is_refused(executor: Executor) -> None:
    handle = Handle("not submitted", square, (2,))
    with pytest.raises(ValueError, match="not submitted to this executor"):
        executor.result(handle)


def test_serial_runs_at_submit() -> None:
    calls: list[int] = []
    with SerialExecutor() as ex:
        handle = ex.submit("t", calls.append, 5)
        assert calls == [5]
        assert ex.wait([handle]) == [handle]
        assert ex.slots == 1
        assert ex.name == "serial"


def test_local_workers_ignore_sigint() -> None:
    with LocalExecutor(2) as ex:
        assert ex.slots == 2
        assert ex.name == "local x2"
        values = run_all(ex, ignores_sigint, [() for _ in range(4)])
    assert all(values.values())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_local_workers_are_killed_by_the_kernel_when_their_parent_dies() -> None:
    with LocalExecutor(2) as ex:
        values = run_all(ex, parent_death_signal, [() for _ in range(4)])
    assert set(values.values()) == {signal.SIGKILL}


# An orphan-to-be: starts a child that calls die_with_parent (the portable way, without
# prctl) and sleeps; prints the child's pid once it is watching, then sleeps itself.
_PARENT = """import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(__import__("os").getpid())],
                         stdout=subprocess.PIPE, text=True)
print(child.pid, child.stdout.readline().strip(), flush=True)
time.sleep(600)
"""
_CHILD = """import sys, time
from sim.sweep.executors import die_with_parent
die_with_parent(int(sys.argv[1]), use_prctl=False)
print("watching", flush=True)
time.sleep(600)
"""


def test_without_prctl_a_process_ends_soon_after_its_parent_is_killed() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with subprocess.Popen(
        [sys.executable, "-c", _PARENT, _CHILD], stdout=subprocess.PIPE, text=True, env=env
    ) as parent:
        try:
            assert parent.stdout is not None
            child_pid, state = parent.stdout.readline().split()
            assert state == "watching"
            assert not process_gone(int(child_pid))
        finally:
            parent.kill()  # SIGKILL: it cannot pass anything on to its child
            parent.wait(timeout=10)
    deadline = time.monotonic() + 5  # the child looks every 0.5 s
    while not process_gone(int(child_pid)):
        assert time.monotonic() < deadline, "the child outlived its parent by 5 s"
        time.sleep(0.05)


def test_local_wait_times_out(tmp_path: Path) -> None:
    with LocalExecutor(1) as ex:
        handle = ex.submit("slow", sleep_then, 60.0, str(tmp_path / "pid"), 1)
        start = time.monotonic()
        assert ex.wait([handle], timeout_s=0.3) == []
        assert time.monotonic() - start < 5
        ex.close(cancel=True)


def test_lost_worker_tasks_are_resubmitted(tmp_path: Path) -> None:
    marker = str(tmp_path / "died")
    args = [(marker, i) for i in range(30)]
    with LocalExecutor(2) as ex:
        values = run_all(ex, die_once, args, window=6)
        assert ex.restarts == 1
    assert Path(marker).exists()  # a worker really did die
    assert values == {i: i * i for i in range(30)}


def test_workers_dying_again_and_again_give_up() -> None:
    with LocalExecutor(2) as ex:
        doomed = ex.submit("doomed", die)
        with pytest.raises(ExecutorError, match=f"died {MAX_RESTARTS + 1} times.*gave up"):
            for _ in range(MAX_RESTARTS + 2):
                assert ex.wait([doomed], timeout_s=30) == []
        assert ex.restarts == MAX_RESTARTS


def test_cancel_stops_running_workers_now(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    ex = LocalExecutor(2)
    running = ex.submit("slow", sleep_then, 600.0, str(pid_file), 1)
    queued = [ex.submit(i, square, i) for i in range(20)]
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text(encoding="utf-8"):
        assert time.monotonic() < deadline, "the slow task never started"
        time.sleep(0.05)
    pid = int(pid_file.read_text(encoding="utf-8"))
    start = time.monotonic()
    ex.close(cancel=True)
    assert time.monotonic() - start < 5
    assert process_gone(pid)
    assert running.tag == "slow"
    assert len(queued) == 20
    ex.close(cancel=True)  # a second close does nothing


def test_leaving_with_an_exception_cancels(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    start = 0.0
    with pytest.raises(KeyboardInterrupt), LocalExecutor(1) as ex:
        ex.submit("slow", sleep_then, 600.0, str(pid_file), 1)
        while not pid_file.exists() or not pid_file.read_text(encoding="utf-8"):
            time.sleep(0.05)
        start = time.monotonic()
        raise KeyboardInterrupt
    assert time.monotonic() - start < 5
    assert process_gone(int(pid_file.read_text(encoding="utf-8")))


def test_polite_close_finishes_submitted_tasks(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    ex = LocalExecutor(1)
    handle = ex.submit("short", sleep_then, 0.5, str(pid_file), 42)
    ex.close()
    assert ex.result(handle) == 42


def test_make_executor_choices() -> None:
    with make_executor(1) as one:
        assert isinstance(one, SerialExecutor)
    with make_executor(3) as three:
        assert isinstance(three, LocalExecutor)
        assert three.slots == 3
    with pytest.raises(CaravanError, match="--workers"):
        make_executor(0)
    assert default_workers() >= 1


def test_scheduler_without_distributed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` fail
    with pytest.raises(CaravanError, match=r"caravan-sim\[distributed\]"):
        make_executor(4, "tcp://127.0.0.1:8786")


def test_unreachable_scheduler() -> None:
    pytest.importorskip("distributed")
    start = time.monotonic()
    with pytest.raises(
        CaravanError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:1"
    ):
        DaskExecutor("tcp://127.0.0.1:1", timeout_s=1.0)
    assert time.monotonic() - start < 10


def test_missing_scheduler_file(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    with pytest.raises(CaravanError, match="no Dask scheduler file"):
        make_executor(1, str(tmp_path / "scheduler.json"))


def test_dask_local_cluster(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    # No dashboard, and the scheduler's HTTP server (there even without one) on a port the
    # system picks: by default it takes 8787, which a user's notebook or cluster may hold.
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
    ) as cluster:
        base = {f"k{i}": [float(j) / 7 for j in range(30)] for i in range(100)}
        batches = [(base, list(range(start, start + 5))) for start in range(0, 50, 5)]
        with make_executor(1, cluster.scheduler_address) as ex:
            assert isinstance(ex, DaskExecutor)
            assert ex.slots == 2
            assert ex.name == f"dask {cluster.scheduler_address} (2 threads)"
            values = run_all(ex, summarize, batches)
            bad = ex.submit("bad", fail, "boom")
            assert ex.wait([bad], timeout_s=30) == [bad]
            with pytest.raises(TaskFailedError, match="boom"):
                ex.result(bad)
        assert values == {i: summarize(*b) for i, b in enumerate(batches)}

        # the same cluster through a scheduler file; cancelling leaves the cluster running
        scheduler_file = tmp_path / "scheduler.json"
        with distributed.Client(cluster.scheduler_address, set_as_default=False) as writer:
            writer.write_scheduler_file(str(scheduler_file))
        with make_executor(1, str(scheduler_file)) as ex:
            slow = ex.submit("slow", sleep_then, 600.0, str(tmp_path / "pid"), 1)
            assert ex.wait([slow], timeout_s=0.2) == []
            ex.close(cancel=True)
        with make_executor(1, cluster.scheduler_address) as ex:
            assert run_all(ex, square, [(3,)]) == {0: 9}
