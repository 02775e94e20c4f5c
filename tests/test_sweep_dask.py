"""A sweep on a real Dask cluster, one of whose workers is killed mid-sweep, records every run
exactly once, and gives the same results, bit for bit, as the same sweep run serially and with
two local worker processes. A calibration on the cluster gives the serial calibration's result.

The cluster is a scheduler and two worker processes started here as `dask scheduler` and
`dask worker --no-nanny` on 127.0.0.1: with no nanny to restart it, killing a worker's process
really loses the worker and the tasks it held.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from _calibration_helpers import Setup, assert_same, calibrate, comparable
from _sweep_helpers import (
    EXIT_INPUT_ERROR,
    REPO,
    TOTAL_RUNS,
    assert_identical,
    background_caravan,
    caravan,
    read_manifest,
    results,
    run_parts,
    subprocess_env,
    wait_until,
    write_sweep,
)

from sim.sweep.store import load_sweep

distributed = pytest.importorskip(
    "distributed", reason="needs Dask's distributed scheduler (pip install 'dask[distributed]')"
)

START_TIMEOUT_S = 60.0


@dataclass
class Cluster:
    scheduler_file: Path
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]
    addresses: dict[int, str]  # worker pid -> its address at the scheduler
    logs: list[Path]

    def client(self) -> Any:
        return distributed.Client(
            scheduler_file=str(self.scheduler_file), timeout=30, set_as_default=False
        )

    def log_tails(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in self.logs
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    proc.wait(timeout=30)


def _scheduler_address(path: Path) -> str | None:
    try:
        address = json.loads(path.read_text(encoding="utf-8"))["address"]
    except (OSError, ValueError, KeyError):  # not written yet, or half written
        return None
    return str(address)


@contextmanager
def running_cluster(directory: Path, n_workers: int = 2) -> Iterator[Cluster]:
    """A scheduler and `n_workers` worker processes on 127.0.0.1, on ports the system picks,
    HTTP included, and without dashboards (no fixed port: see test_no_fixed_port_is_needed);
    torn down on leaving, even if a test fails."""
    directory.mkdir(parents=True, exist_ok=True)
    scheduler_file = directory / "scheduler.json"
    logs: list[Path] = []

    def dask(stack: ExitStack, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = directory / f"{name}.log"
        logs.append(log)
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dask", *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env=subprocess_env(),
            )
        stack.callback(_stop, proc)  # torn down even if the test fails
        return proc

    with ExitStack() as stack:
        # Both exit by themselves should this test process die without tearing them down.
        scheduler = dask(
            stack,
            "scheduler",
            "scheduler",
            "--host=127.0.0.1",
            "--port=0",
            f"--scheduler-file={scheduler_file}",
            "--no-dashboard",
            # it serves HTTP (metrics) even without a dashboard, by default on port 8787
            "--dashboard-address=127.0.0.1:0",
            "--idle-timeout=600",
        )
        workers = [
            dask(
                stack,
                f"worker-{i}",
                "worker",
                f"--scheduler-file={scheduler_file}",
                "--nthreads=1",
                "--nworkers=1",
                "--no-nanny",
                "--no-dashboard",
                "--host=127.0.0.1",
                "--death-timeout=60",
            )
            for i in range(n_workers)
        ]
        procs = [scheduler, *workers]

        def started() -> bool:
            for proc in procs:
                assert proc.poll() is None, f"a Dask process exited ({proc.returncode}):\n" + (
                    "\n".join(log.read_text(errors="replace") for log in logs)
                )
            return _scheduler_address(scheduler_file) is not None

        wait_until(started, "the scheduler writes its file", timeout_s=START_TIMEOUT_S)
        with distributed.Client(
            scheduler_file=str(scheduler_file), timeout=START_TIMEOUT_S, set_as_default=False
        ) as client:
            wait_until(
                lambda: started() and len(client.nthreads()) == n_workers,
                "every worker is registered",
                timeout_s=START_TIMEOUT_S,
            )
            addresses = {pid: address for address, pid in client.run(os.getpid).items()}
            info = client.scheduler_info(n_workers=-1)["workers"]
        # no nanny: the processes registered are the ones we started, and can kill
        assert sorted(addresses) == sorted(w.pid for w in workers)
        assert [w["nanny"] for w in info.values()] == [None] * n_workers
        yield Cluster(scheduler_file, scheduler, workers, addresses, logs)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("dask")) as started:
        yield started


@pytest.fixture(scope="module")
def local2(tmp_path_factory: pytest.TempPathFactory, ref: tuple[Path, Path]) -> pd.DataFrame:
    """The same sweep file with two local worker processes."""
    out = tmp_path_factory.mktemp("local2") / "out"
    done = caravan("sweep", ref[0], "--out", out, "--workers", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert read_manifest(out)["sessions"][0]["executor"] == "local x2"
    return results(out)


def test_serial_and_two_local_workers_give_identical_results(
    local2: pd.DataFrame, expected: pd.DataFrame
) -> None:
    assert list(expected["run_id"]) == list(range(TOTAL_RUNS))
    assert_identical(local2, expected)


def test_a_calibration_on_the_cluster_is_the_serial_one(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Calibration sends its simulations through the same executors: on the cluster (both
    workers alive; this test runs before the one that kills a worker) the result is the same as
    in this process."""
    setup = Setup(tmp_path_factory.mktemp("calibration"))
    reference = setup.directory / "serial"
    calibrate(setup.plan(short=True), reference)
    out = setup.directory / "dask"
    done = caravan(*setup.cli_args(out, short=True), "--scheduler", cluster.scheduler_file)
    assert done.returncode == 0, done.stdout + done.stderr + cluster.log_tails()
    assert_same(comparable(out), comparable(reference))
    [session] = read_manifest(out)["sessions"]
    assert session["executor"] == f"dask {_scheduler_address(cluster.scheduler_file)} (2 threads)"


def test_a_sweep_survives_a_killed_dask_worker_each_run_once_identical_to_local(
    cluster: Cluster,
    tmp_path: Path,
    ref: tuple[Path, Path],
    expected: pd.DataFrame,
    local2: pd.DataFrame,
) -> None:
    sweep_path, _ = ref
    out = tmp_path / "out"
    victim, survivor = cluster.workers
    victim_address = cluster.addresses[victim.pid]
    args = ("--out", out, "--scheduler", cluster.scheduler_file, "--batch-size", "2")

    with (
        cluster.client() as client,
        background_caravan(tmp_path / "log", "sweep", sweep_path, *args) as job,
    ):

        def victim_busy_mid_sweep() -> bool:
            if len(run_parts(out)) < 3:
                return False
            return bool(client.processing(workers=[victim_address]).get(victim_address))

        wait_until(
            victim_busy_mid_sweep,
            "some batches are recorded and the victim holds a task",
            timeout_s=120,
            proc=job.proc,
        )
        victim.kill()  # SIGKILL: the worker and the tasks it held are lost
        assert victim.wait(timeout=30) < 0
        recorded_after_kill = len(load_sweep(out))  # at least as many as at the kill
        status = job.wait()
        assert status == 0, job.output() + cluster.log_tails()
        # the scheduler saw the worker go; the sweep went on on the other one
        assert list(client.nthreads()) == [cluster.addresses[survivor.pid]]

    assert recorded_after_kill < TOTAL_RUNS  # the worker died with the sweep unfinished
    assert cluster.scheduler.poll() is None  # the sweep does not shut the cluster down
    assert f"complete: {TOTAL_RUNS} of {TOTAL_RUNS} runs recorded" in job.stdout, job.output()

    # every run exactly once: count the rows of the files, not what a reader makes of them
    assert sum(pq.read_metadata(p).num_rows for p in run_parts(out)) == TOTAL_RUNS
    got = results(out)
    assert list(got["run_id"]) == list(range(TOTAL_RUNS))
    assert_identical(got, expected)
    assert_identical(got, local2)

    manifest = read_manifest(out)
    assert manifest["status"] == "complete"
    assert manifest["runs_done"] == TOTAL_RUNS
    [session] = manifest["sessions"]
    assert session["runs"] == TOTAL_RUNS
    assert session["executor"] == f"dask {_scheduler_address(cluster.scheduler_file)} (2 threads)"


def test_a_lost_scheduler_ends_with_exit_2_and_the_whole_resume_command(
    tmp_path: Path, ref: tuple[Path, Path], expected: pd.DataFrame
) -> None:
    """The scheduler is killed mid-sweep: the sweep says so, keeps what it recorded and prints
    the command that continues it (--scheduler included); run with local workers instead, the
    rest of the sweep completes it."""
    sweep_path, _ = ref
    out = tmp_path / "out"
    with running_cluster(tmp_path / "dask", n_workers=1) as lost:
        args = ("sweep", sweep_path, "--out", out, "--scheduler", lost.scheduler_file)
        with background_caravan(tmp_path / "log", *args, "--batch-size", "2") as job:
            wait_until(lambda: run_parts(out), "a batch is recorded", proc=job.proc)
            lost.scheduler.kill()
            status = job.wait()
    assert status == EXIT_INPUT_ERROR, job.output()
    command = shlex.join(["caravan", *map(str, args), "--batch-size", "2", "--resume"])
    recorded = len(load_sweep(out))
    assert 0 < recorded < TOTAL_RUNS
    assert re.fullmatch(
        r"error: lost the (connection to the )?Dask scheduler at tcp://127\.0\.0\.1:\d+: .*; "
        rf"{recorded} of {TOTAL_RUNS} runs are recorded in {re.escape(str(out))}; continue "
        rf"with: {re.escape(command)}",
        job.stderr.strip().splitlines()[-1],  # after whatever Dask logged while reconnecting
    ), job.output()
    assert read_manifest(out)["status"] == "executor lost"

    # the scheduler is gone for good: continue on local workers (the results do not depend on
    # where runs run)
    resumed = caravan("sweep", sweep_path, "--out", out, "--workers", "2", "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert_identical(results(out), expected)


def test_no_fixed_port_is_needed(tmp_path: Path) -> None:
    """Port 8787 (Dask's dashboard, or a notebook's) taken: the tests' cluster starts, and a
    sweep runs on it and on a LocalCluster as the executor tests make one; warnings are errors
    in the suite, so a dashboard that could not bind would fail this test."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        try:
            held.bind(("127.0.0.1", 8787))
            held.listen()
        except OSError:  # taken by someone else already: as good for this test
            pass
        sweep_path = write_sweep(tmp_path, replicates=1)
        with running_cluster(tmp_path / "dask", n_workers=1) as small:
            done = caravan(
                "sweep", sweep_path, "--out", tmp_path / "a", "--scheduler", small.scheduler_file
            )
            assert done.returncode == 0, done.stdout + done.stderr + small.log_tails()
            # a Dask process that wanted 8787 moves elsewhere with a warning in its log
            assert "8787" not in small.log_tails(), small.log_tails()
        with distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # as in test_executors
        ) as local:
            done = caravan(
                "sweep", sweep_path, "--out", tmp_path / "b", "--scheduler", local.scheduler_address
            )
            assert done.returncode == 0, done.stdout + done.stderr
    assert len(load_sweep(tmp_path / "a")) == len(load_sweep(tmp_path / "b")) == TOTAL_RUNS // 10
