"""Running a sweep: what is still missing, cut into batches, sent to an executor, stored.

The parent process plans and writes; workers only compute (`sim.sweep.worker.run_batch`).
Batches are cut as slots free up, largest first and smaller towards the end ("guided"
scheduling): few tasks while there is much to do, an even finish when little is left. Each
finished batch is recorded at once (`SweepStore.write_batch`), so an interruption loses at
most the batches still running, and `resume` runs exactly the runs not yet recorded.
"""

from __future__ import annotations

import math
import platform
import time
from collections import deque
from collections.abc import Callable, Generator, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pyarrow as pa

from sim import package_version
from sim.progress import ProgressReporter
from sim.scenario import Scenario
from sim.sweep.columns import ID_COLUMNS
from sim.sweep.executors import Executor, ExecutorError, Handle
from sim.sweep.plan import RunSpec, Sweep
from sim.sweep.store import DamagedPart, SweepStore, open_to_resume
from sim.sweep.worker import BatchResult, run_batch

MAX_BATCH = 16  # runs per task: enough to make per-task overhead small, few enough to balance
BATCHES_PER_SLOT = 4  # guided scheduling: a batch is at most 1/4 of a slot's remaining share
TASKS_PER_SLOT = 2  # tasks in flight per slot, so a worker never waits for the next task
MANIFEST_EVERY_S = 5.0  # how often the manifest's counts are brought up to date mid-sweep


class SweepFailedError(RuntimeError):
    """A run raised an error: a bug, or a point the checks before the sweep did not catch."""


@dataclass(frozen=True)
class SweepSummary:
    out_dir: Path
    total_runs: int
    done_before: int  # runs recorded by earlier sessions
    done_now: int  # runs recorded by this session
    status: str  # "complete" or "interrupted"
    damaged: tuple[DamagedPart, ...] = ()  # parts --resume set aside and ran again


def run_sweep(
    sweep: Sweep,
    out_dir: Path,
    executor: Executor,
    resume: bool = False,
    batch_size: int | None = None,
    progress: Callable[[str, int, int], ProgressReporter] | None = None,
) -> SweepSummary:
    """Run every run of `sweep` not yet recorded in `out_dir` and record it there.

    `resume=False` starts a new sweep and refuses a directory that holds anything; `resume=True`
    continues the sweep in `out_dir`, which must be the same sweep (file, base scenario and
    design). `progress(label, total, done)` makes the progress reporter (default: plain lines
    or a bar, whichever suits the console). Ctrl-C stops the sweep after recording every
    finished batch and re-raises KeyboardInterrupt.
    """
    store = _open_store(sweep, out_dir, resume)
    with store:
        done = store.done_run_ids()
        todo = [r for r in sweep.runs() if r.run_id not in done]
        session = {
            "started": utc_now(),
            "ended": None,
            "status": "running",
            "executor": executor.name,
            "runs": 0,
        }
        sessions = [*settled_sessions(store.manifest.get("sessions", []), len(done)), session]
        store.update_manifest(status="running", sessions=sessions)
        make_progress = progress or ProgressReporter
        status = "failed"
        last_update_s = time.monotonic()

        def record_counts() -> int:
            # Counted from the store, not from write_batch's return: a signal can land after
            # a batch is committed and before its count would have been added.
            recorded = len(store.done_run_ids()) - len(done)
            session["runs"] = recorded
            store.update_manifest(sessions=sessions, runs_done=len(done) + recorded)
            return recorded

        try:
            with (
                make_progress(sweep.name, sweep.n_runs, len(done)) as bar,
                closing(
                    execute_runs(
                        sweep.base, todo, executor, batch_size, sweep.spec.record.time_series
                    )
                ) as results,
            ):
                for result in results:
                    bar.advance(
                        store.write_batch(_with_parameters(sweep, result.runs), result.series)
                    )
                    if time.monotonic() - last_update_s > MANIFEST_EVERY_S:
                        record_counts()  # so a sweep killed outright still tells how far it got
                        last_update_s = time.monotonic()
            status = "complete" if len(store.done_run_ids()) == sweep.n_runs else "incomplete"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        except ExecutorError:
            status = "executor lost"
            raise
        finally:
            session.update(ended=utc_now(), status=status)
            recorded = record_counts()
            store.update_manifest(
                status=status, finished=session["ended"] if status == "complete" else None
            )
    return SweepSummary(out_dir, sweep.n_runs, len(done), recorded, status, store.damaged_on_open)


def settled_sessions(sessions: list[dict[str, Any]], done_now: int) -> list[dict[str, Any]]:
    """Earlier sessions, with one that never ended (its process was killed: we hold the lock it
    held) marked "killed" and credited with the runs on disk no other session recorded."""
    settled = [dict(s) for s in sessions]
    for session in settled:
        if session.get("status") == "running":
            others = sum(s["runs"] for s in settled if s is not session)
            session.update(status="killed", runs=max(0, done_now - others))
    return settled


def _open_store(sweep: Sweep, out_dir: Path, resume: bool) -> SweepStore:
    fingerprints = sweep.fingerprints()
    if not resume:
        return SweepStore.create(
            out_dir,
            manifest_for(sweep, fingerprints),
            files={"sweep.yaml": sweep.text, "base-scenario.yaml": sweep.base.to_yaml()},
            design=sweep.design.table(),
        )
    what = {
        "sweep": "the sweep file",
        "base_scenario": "the base scenario",
        "design": "the design points (scipy or SALib may have changed how they sample)",
    }
    return open_to_resume(
        out_dir,
        "caravan-sweep",
        fingerprints,
        what,
        f"resume with the same files (see {out_dir / 'sweep.yaml'}), or start a new sweep with "
        "another --out",
    )


def manifest_for(sweep: Sweep, fingerprints: dict[str, str]) -> dict[str, Any]:
    design = sweep.design
    return {
        "format": 1,
        "kind": "caravan-sweep",
        "name": sweep.name,
        "sweep_file": str(sweep.path),
        "base_scenario": sweep.base.source_file,
        "package_version": package_version(),
        "versions": library_versions(),
        "created": utc_now(),
        "finished": None,
        "status": "running",
        "design": {
            "kind": design.kind,
            "second_order": design.second_order,
            "parameters": [{"key": a.key, "label": a.label} for a in design.axes],
            "points": design.n_points,
            "points_in_file": sweep.points_in_file,  # more than "points" after --limit
            "replicates": sweep.replicates,
            "seed": sweep.spec.seed,
            "time_series": sweep.spec.record.time_series,
        },
        "command_line": list(sweep.command_line),  # --set, --replicates, --limit
        "runs_total": sweep.n_runs,
        "runs_done": 0,
        "fingerprints": fingerprints,
        "sessions": [],
    }


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("mesa", "numpy", "scipy", "numba", "SALib", "pyarrow"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def execute_runs(
    base: Scenario,
    todo: Sequence[RunSpec],
    executor: Executor,
    batch_size: int | None = None,
    time_series: bool = False,
    at_steps: Sequence[int] = (),
) -> Generator[BatchResult, None, None]:
    """Run `todo` on `executor` in batches (`run_batch`); yield each batch's result as it
    finishes, keeping every slot busy. Sweeps and calibration both run their simulations here.

    Closing the generator early (or an error) cancels what is still running."""
    queue = deque(todo)
    in_flight: list[Handle] = []
    try:  # GeneratorExit included: the consumer stopped (Ctrl-C while writing, say)
        while queue or in_flight:
            while queue and len(in_flight) < TASKS_PER_SLOT * executor.slots:
                size = batch_size or _guided_size(len(queue), executor.slots)
                batch = [queue.popleft() for _ in range(min(size, len(queue)))]
                in_flight.append(
                    executor.submit(batch, run_batch, base, batch, time_series, tuple(at_steps))
                )
            for handle in executor.wait(in_flight):
                in_flight.remove(handle)
                try:
                    result: BatchResult = executor.result(handle)
                except ExecutorError:
                    raise  # the executor is lost, not the run: the runs can be resumed
                except Exception as exc:
                    batch = handle.tag
                    raise SweepFailedError(
                        f"run {batch[0].run_id} to {batch[-1].run_id} (points "
                        f"{batch[0].point_id}-{batch[-1].point_id}) failed: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
                yield result
    except BaseException:
        executor.close(cancel=True)  # stop what is running now; finished batches are recorded
        raise


def _guided_size(remaining: int, slots: int) -> int:
    return max(1, min(MAX_BATCH, math.ceil(remaining / (slots * BATCHES_PER_SLOT))))


def _with_parameters(sweep: Sweep, runs: pa.Table) -> pa.Table:
    """The worker's rows with the varied parameters' columns after the ids."""
    design = sweep.design
    point_ids = runs.column("point_id").to_pylist()
    columns = [
        pa.array(
            [axis.column_value(design.columns[axis.label][p]) for p in point_ids],
            type=axis.arrow_type,
        )
        for axis in design.axes
    ]
    at = len(ID_COLUMNS)
    for offset, (axis, column) in enumerate(zip(design.axes, columns, strict=True)):
        runs = runs.add_column(at + offset, axis.label, column)
    return runs


DRY_RUN_SAMPLES = 3  # timed runs behind a --dry-run's estimate


@dataclass(frozen=True)
class TimeEstimate:
    """How long a sweep should take, from a few of its runs timed in this process."""

    runs: int  # runs to estimate for
    sample_s: tuple[float, ...]  # wall time of each timed run (compiled beforehand)
    workers: int  # runs at once

    @property
    def per_run_s(self) -> float:
        return sum(self.sample_s) / len(self.sample_s)

    @property
    def serial_s(self) -> float:
        return self.per_run_s * self.runs

    @property
    def wall_s(self) -> float:
        """Assuming ideal parallel efficiency: `workers` runs at a time, each as fast as alone,
        no time lost to starting workers or writing results. On a busy or small machine
        (workers sharing cores, hyper-threads) expect longer."""
        return self.serial_s / self.workers


def estimate_time(
    sweep: Sweep, workers: int, samples: int = DRY_RUN_SAMPLES, runs: int | None = None
) -> TimeEstimate:
    """Time `samples` runs of `sweep` spread evenly over its design, one after another in this
    process, after one untimed run that compiles the kernels (or loads them from the cache),
    and scale to `runs` runs (default all) on `workers` workers."""
    every = list(sweep.runs())
    picked = [every[(len(every) - 1) * k // max(1, samples - 1)] for k in range(samples)]
    run_batch(sweep.base, every[:1], time_series=False)  # compile: not what a sweep pays per run
    sample_s = []
    for spec in picked:
        started_s = time.perf_counter()
        run_batch(sweep.base, [spec], time_series=sweep.spec.record.time_series)
        sample_s.append(time.perf_counter() - started_s)
    return TimeEstimate(sweep.n_runs if runs is None else runs, tuple(sample_s), workers)
