"""Where a sweep's batches run: in this process, in local worker processes, or on a Dask cluster.

The runner submits each batch with `submit(tag, fn, *args)`, waits for some to finish with
`wait`, and collects each one's value with `result`. All three executors call `fn(*args)` with
the arguments exactly as given (pickled on the way to a worker process), so a deterministic task
gives the same value whichever executor runs it.

- `SerialExecutor` runs each task inside `submit`. A Ctrl-C lands in this process and the batch
  being run is lost, which is fine: the runner keeps what finished before.
- `LocalExecutor` runs tasks in a pool of spawned worker processes. Workers ignore SIGINT: a
  terminal's Ctrl-C goes to the whole process group, and only the parent decides what to do (it
  closes the executor with `cancel=True`, which stops the workers at once). A worker that dies
  (killed, out of memory) breaks the whole pool; `wait` then starts a new pool and submits again
  every task that had not finished, up to `MAX_RESTARTS` times, then raises ExecutorError.
  Workers also end with the parent (`die_with_parent`): a parent killed outright (kill -9)
  leaves no worker behind.
- `DaskExecutor` sends tasks to an existing Dask distributed scheduler (an optional extra).
  Dask itself reruns the tasks of a lost worker elsewhere; a lost scheduler is an ExecutorError.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import importlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Mapping
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from sim.errors import CaravanError

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    import distributed

__all__ = [
    "MAX_RESTARTS",
    "DaskExecutor",
    "Executor",
    "ExecutorError",
    "Handle",
    "LocalExecutor",
    "SerialExecutor",
    "default_workers",
    "die_with_parent",
    "make_executor",
]

MAX_RESTARTS = 3
"""How many times `LocalExecutor` replaces a pool whose worker died before giving up."""

_KILL_WAIT_S = 2.0
"""How long `close(cancel=True)` waits for a terminated worker before killing it outright."""

_DISTRIBUTED_MISSING = (
    "--scheduler needs Dask's distributed scheduler: pip install 'caravan-sim[distributed]'"
)


class ExecutorError(RuntimeError):
    """The executor cannot go on (worker processes kept dying); not caused by the user's input."""


class Handle:
    """One submitted task. Opaque to the runner, except `tag`: whatever it attached at submit."""

    __slots__ = ("_args", "_fn", "tag")

    def __init__(self, tag: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.tag = tag
        self._fn = fn
        self._args = args

    def __repr__(self) -> str:
        return f"<{type(self).__name__} tag={self.tag!r}>"


_H = TypeVar("_H", bound=Handle)


class Executor(ABC):
    """Runs tasks `fn(*args)` and hands back their values; a context manager.

    Leaving the `with` block because of an exception (Ctrl-C included) closes with
    `cancel=True`: queued tasks are dropped and running ones stopped, at once.
    """

    name: str
    """For logs and the manifest: "serial", "local x2", "dask tcp://10.0.0.5:8786 (4 threads)"."""

    @property
    @abstractmethod
    def slots(self) -> int:
        """How many tasks can run at once now (at least 1)."""

    @abstractmethod
    def submit(self, tag: Any, fn: Callable[..., Any], *args: Any) -> Handle:
        """Start `fn(*args)` (or queue it); `tag` is kept on the handle for the caller."""

    @abstractmethod
    def wait(self, handles: Collection[Handle], timeout_s: float | None = None) -> list[Handle]:
        """Block until at least one of `handles` is finished, and return every finished one
        (whether the task returned or raised). After `timeout_s` seconds, may return []; with no
        handles, returns [] at once."""

    @abstractmethod
    def result(self, handle: Handle) -> Any:
        """The value a finished task returned; re-raises the exception it raised."""

    @abstractmethod
    def close(self, cancel: bool = False) -> None:
        """Release the workers. `cancel=False` lets submitted tasks finish first; `cancel=True`
        drops queued tasks and stops running ones now. Calling it again does nothing."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close(cancel=exc_type is not None)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def _own(self, handle: Handle, kind: type[_H]) -> _H:
        if not isinstance(handle, kind):
            raise ValueError(f"{handle!r} was not submitted to this executor ({self.name})")
        return handle


# --- in this process --------------------------------------------------------------------------


class _SerialHandle(Handle):
    __slots__ = ("_error", "_value")

    def __init__(self, tag: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        super().__init__(tag, fn, args)
        self._value: Any = None
        self._error: Exception | None = None


class SerialExecutor(Executor):
    """Runs each task in this process, inside `submit`: every handle is finished at once."""

    def __init__(self) -> None:
        self.name = "serial"

    @property
    def slots(self) -> int:
        return 1

    def submit(self, tag: Any, fn: Callable[..., Any], *args: Any) -> Handle:
        handle = _SerialHandle(tag, fn, args)
        try:
            handle._value = fn(*args)
        except Exception as exc:  # the task's own error, re-raised by result()
            handle._error = exc
        return handle

    def wait(self, handles: Collection[Handle], timeout_s: float | None = None) -> list[Handle]:
        return [self._own(h, _SerialHandle) for h in handles]

    def result(self, handle: Handle) -> Any:
        own = self._own(handle, _SerialHandle)
        if own._error is not None:
            raise own._error
        return own._value

    def close(self, cancel: bool = False) -> None:
        pass


# --- local worker processes -------------------------------------------------------------------


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_PARENT_POLL_S = 0.5
"""How often a worker without PR_SET_PDEATHSIG looks whether its parent is still there."""


def _init_worker(parent_pid: int) -> None:
    """Pool initializer. A terminal's Ctrl-C reaches the whole process group: ignore it and let
    the parent act. And end with the parent: a parent killed outright (kill -9, the OOM
    killer) cannot stop its pool, whose workers would otherwise live on, ~300 MB each."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent_pid)


def die_with_parent(parent_pid: int, use_prctl: bool = True) -> None:
    """Make this process end as soon as `parent_pid`, its parent, ends, however it ends.

    On Linux the kernel does it: prctl(PR_SET_PDEATHSIG, SIGKILL). (It fires when the parent
    *thread* that started this process ends; pools are started and grown by the thread that
    submits, the main thread in `caravan`.) Elsewhere, or if prctl fails, a daemon thread polls
    os.getppid(), which changes when the parent dies and this process is adopted. Either way,
    a parent already gone before this ran is noticed at once. `use_prctl=False` takes the
    portable way on Linux too.
    """
    linux = use_prctl and sys.platform.startswith("linux")
    armed = linux and _set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the signal was armed: nobody will collect our work
    if not armed:
        threading.Thread(
            target=_exit_when_orphaned, args=(parent_pid,), name="caravan-parent-watch", daemon=True
        ).start()


def _set_parent_death_signal(signum: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)) == 0
    except (OSError, AttributeError):  # no libc to load, or no prctl in it
        return False


def _exit_when_orphaned(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_POLL_S)
    os._exit(1)


class _LocalHandle(Handle):
    __slots__ = ("_future",)

    def __init__(
        self,
        tag: Any,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        future: concurrent.futures.Future[Any],
    ) -> None:
        super().__init__(tag, fn, args)
        self._future = future


def _lost(future: concurrent.futures.Future[Any]) -> bool:
    """Whether the task did not finish because its pool broke (a worker process died)."""
    return (
        future.done()
        and not future.cancelled()
        and isinstance(future.exception(), BrokenProcessPool)
    )


def _stop_now(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Drop the pool's queued tasks and end its worker processes without waiting for them."""
    # The processes (pid -> Process) and the manager thread are private, and shutdown() forgets
    # them; hold on to them so as to reap the workers, and check the manager thread has ended.
    processes: Mapping[int, BaseProcess] | None = getattr(pool, "_processes", None)
    workers = list(processes.values()) if processes else []
    manager = getattr(pool, "_executor_manager_thread", None)
    if sys.version_info >= (3, 14):
        pool.terminate_workers()  # shutdown(wait=False, cancel_futures=True), then SIGTERM
    else:
        # Before Python 3.14 the pool has no public way to stop running tasks: shutdown() only
        # cancels queued ones and leaves the workers to finish what they run, which can take
        # hours. So terminate the processes ourselves; the pool's manager thread then sees them
        # die, fails their futures and exits.
        pool.shutdown(wait=False, cancel_futures=True)
        for process in workers:
            if process.is_alive():
                process.terminate()
    deadline = time.monotonic() + _KILL_WAIT_S
    for process in workers:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join(_KILL_WAIT_S)
    if isinstance(manager, threading.Thread):
        manager.join(_KILL_WAIT_S)


class LocalExecutor(Executor):
    """Runs tasks in `workers` spawned processes on this machine; replaces the pool when a
    worker process dies (up to `MAX_RESTARTS` times), submitting unfinished tasks again."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"LocalExecutor needs at least one worker, not {workers}")
        self.name = f"local x{workers}"
        self._workers = workers
        self._pool = self._new_pool()
        # submitted, not yet reported finished; a dict keeps the order of submission for resubmits
        self._live: dict[_LocalHandle, None] = {}
        self._restarts = 0
        self._closed = False

    def _new_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        # spawn, not fork: the parent may hold threads (progress bar, numba) and locks
        return concurrent.futures.ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(os.getpid(),),
        )

    @property
    def slots(self) -> int:
        return self._workers

    @property
    def restarts(self) -> int:
        """How many times a dead worker made this executor start a new pool."""
        return self._restarts

    def submit(self, tag: Any, fn: Callable[..., Any], *args: Any) -> Handle:
        try:
            future = self._pool.submit(fn, *args)
        except BrokenProcessPool:
            self._restart()
            future = self._pool.submit(fn, *args)
        handle = _LocalHandle(tag, fn, args, future)
        self._live[handle] = None
        return handle

    def _restart(self) -> None:
        """A worker died and broke the pool: start a new one and submit again every task that
        had not finished (tasks that finished before the break keep their value)."""
        old = self._pool
        # The broken pool's manager thread has already failed the futures and terminated the
        # other workers; joining it makes sure every old future is settled before we look.
        old.shutdown(wait=True)
        if self._restarts >= MAX_RESTARTS:
            self._closed = True
            raise ExecutorError(
                f"the local worker processes died {self._restarts + 1} times (killed, or out of "
                "memory?), so the pool gave up"
            )
        self._restarts += 1
        self._pool = self._new_pool()
        for handle in self._live:
            if _lost(handle._future) or not handle._future.done():
                handle._future = self._pool.submit(handle._fn, *handle._args)

    def wait(self, handles: Collection[Handle], timeout_s: float | None = None) -> list[Handle]:
        mine = [self._own(h, _LocalHandle) for h in handles]
        if not mine:
            return []
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            concurrent.futures.wait(
                [h._future for h in mine],
                timeout=remaining,
                return_when=concurrent.futures.FIRST_COMPLETED,
            )
            if any(_lost(h._future) for h in mine):
                self._restart()
            finished = [h for h in mine if h._future.done() and not _lost(h._future)]
            if finished:
                for handle in finished:
                    self._live.pop(handle, None)
                return [*finished]
            if deadline is not None and time.monotonic() >= deadline:
                return []

    def result(self, handle: Handle) -> Any:
        own = self._own(handle, _LocalHandle)
        self._live.pop(own, None)
        return own._future.result()

    def close(self, cancel: bool = False) -> None:
        if self._closed:
            return
        self._closed = True
        self._live.clear()
        if cancel:
            _stop_now(self._pool)
        else:
            self._pool.shutdown(wait=True)


# --- an existing Dask cluster -----------------------------------------------------------------


class _DaskHandle(Handle):
    __slots__ = ("_future",)

    def __init__(
        self,
        tag: Any,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        future: distributed.Future[Any],
    ) -> None:
        super().__init__(tag, fn, args)
        self._future = future


_DASK_FINISHED = ("finished", "error")
# "cancelled": the task will never finish (the client lost its connection to the scheduler, or
# someone cancelled it), so wait() reports it and result() says why. ("lost" is not final: the
# value was on a worker that died, and the scheduler computes it again.)
_DASK_GONE = ("cancelled",)


class DaskExecutor(Executor):
    """Sends tasks to an existing Dask distributed scheduler; never shuts that cluster down.

    `scheduler` is the scheduler's address (tcp://host:port, or host:port) or the path of a
    scheduler file (the JSON written by `dask scheduler --scheduler-file PATH`). Task functions
    travel by name, so the workers need the same caravan-sim installed.
    """

    def __init__(self, scheduler: str, timeout_s: float = 10.0) -> None:
        # Imported here: it is an optional extra. Held as Any, because parts of its API (Client,
        # wait, ...) have no type annotations, which mypy --strict would reject at each call.
        try:
            distributed: Any = importlib.import_module("distributed")
        except ImportError as exc:
            raise CaravanError(_DISTRIBUTED_MISSING) from exc
        self._distributed = distributed
        path = Path(scheduler)
        try:
            if "://" not in scheduler and path.is_file():
                self._client = distributed.Client(
                    scheduler_file=str(path), timeout=timeout_s, set_as_default=False
                )
            else:
                if path.suffix == ".json" and "://" not in scheduler:
                    raise CaravanError(f"no Dask scheduler file at {scheduler}")
                self._client = distributed.Client(
                    scheduler, timeout=timeout_s, set_as_default=False
                )
        except CaravanError:
            raise
        except Exception as exc:  # OSError, TimeoutError, a malformed address or file...
            raise CaravanError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from exc
        self._address = str(self._client.scheduler.address)
        self._live: set[_DaskHandle] = set()
        self._closed = False
        self.name = f"dask {self._address} ({self._threads()} threads)"

    def _threads(self) -> int:
        try:
            return sum(self._client.nthreads().values())
        except (OSError, TimeoutError) as exc:  # distributed's CommClosedError is an OSError
            raise ExecutorError(
                f"lost the connection to the Dask scheduler at {self._address}: {exc}"
            ) from exc

    @property
    def slots(self) -> int:
        """Total worker threads on the cluster now (workers come and go), at least 1."""
        return max(1, self._threads())

    def submit(self, tag: Any, fn: Callable[..., Any], *args: Any) -> Handle:
        # pure=False: never merge two submits into one task, whatever their arguments.
        # The arguments travel with each task; sending a shared scenario (~30 KB) once with
        # client.scatter made no measurable difference next to a batch's run time.
        future = self._client.submit(fn, *args, pure=False)
        handle = _DaskHandle(tag, fn, args, future)
        self._live.add(handle)
        return handle

    def wait(self, handles: Collection[Handle], timeout_s: float | None = None) -> list[Handle]:
        mine = [self._own(h, _DaskHandle) for h in handles]
        if not mine:
            return []
        try:
            # distributed.wait uses the current client; ours is not the process-wide default
            with self._client.as_current():
                self._distributed.wait(
                    [h._future for h in mine], timeout=timeout_s, return_when="FIRST_COMPLETED"
                )
        except TimeoutError:
            return []
        except self._distributed.client.FuturesCancelledError:
            pass  # the scheduler is lost (or someone cancelled): result() of those says so
        finished = [h for h in mine if h._future.status in _DASK_FINISHED + _DASK_GONE]
        self._live.difference_update(finished)
        return [*finished]

    def result(self, handle: Handle) -> Any:
        own = self._own(handle, _DaskHandle)
        self._live.discard(own)
        if own._future.status in _DASK_GONE:
            raise ExecutorError(
                f"lost the Dask scheduler at {self._address}: it dropped a task "
                f"({own._future.status}; the connection was lost, or someone cancelled it)"
            )
        try:
            return own._future.result()
        except OSError as exc:  # distributed's CommClosedError: fetching the result, not the run
            if own._future.status == "error":
                raise  # the task itself raised an OSError: a failed run, not a lost scheduler
            raise ExecutorError(
                f"lost the connection to the Dask scheduler at {self._address}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def close(self, cancel: bool = False) -> None:
        if self._closed:
            return
        self._closed = True
        lost = self._client.status != "running"  # nothing to cancel or wait for on a lost one
        try:
            if cancel and self._live and not lost:
                self._client.cancel([h._future for h in self._live])
            elif self._live and not lost:
                with self._client.as_current():
                    self._distributed.wait([h._future for h in self._live])
        finally:
            self._live.clear()
            self._client.close()


# --- choosing one -----------------------------------------------------------------------------


def make_executor(workers: int, scheduler: str | None = None) -> Executor:
    """The executor for `--workers N` and `--scheduler ADDRESS`.

    Without a scheduler: one worker runs in this process (`SerialExecutor`), more in local
    worker processes (`LocalExecutor`). With one, tasks go to that Dask cluster (`DaskExecutor`)
    and `workers` is ignored: the cluster decides. `scheduler` is an address (tcp://host:port,
    or host:port) or the path of an existing Dask scheduler file.
    """
    if scheduler is not None:
        return DaskExecutor(scheduler)
    if workers < 1:
        raise CaravanError(f"--workers must be at least 1, not {workers}")
    if workers == 1:
        return SerialExecutor()
    return LocalExecutor(workers)


def default_workers() -> int:
    """How many CPUs this process may use (its CPU affinity where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1
