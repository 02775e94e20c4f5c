"""An interrupted sweep keeps every finished run; `--resume` runs only what is missing; no run
is recorded twice; a half-written file is never read as data.

`caravan sweep --workers 2` runs as a subprocess in a session of its own, so a signal reaches
its whole process group (it and its worker processes) as a terminal's Ctrl-C or a batch
system's stop would. Every result is compared, bit for bit but for the timing columns, with the
same sweep run serially and uninterrupted (the `ref` fixture in conftest.py).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _sweep_helpers import (
    CLI_TIMEOUT_S,
    EXIT_INPUT_ERROR,
    EXIT_INTERRUPTED,
    REPLICATES,
    TOTAL_RUNS,
    assert_identical,
    assert_rows_match,
    background_caravan,
    caravan,
    live_group_members,
    read_manifest,
    results,
    run_parts,
    snapshot,
    temp_files,
    wait_group_gone,
    wait_until,
    write_sweep,
)

from sim.cli import main
from sim.sweep.executors import MAX_RESTARTS
from sim.sweep.store import load_sweep


def copy_of(sweep_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(sweep_dir, out)
    return out


# --------------------------------------------------------------------------------------------
# Ctrl-C (SIGINT) and a batch system's stop (SIGTERM)
# --------------------------------------------------------------------------------------------


@dataclass
class Signalled:
    out: Path
    status: int
    stdout: str
    output: str  # for failure messages
    recorded: pd.DataFrame
    rows_on_disk: int  # rows in the committed parts, as the files say
    manifest: dict[str, Any]


@pytest.fixture(scope="module", params=[signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def signalled(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    ref: tuple[Path, Path],
) -> Signalled:
    """`caravan sweep --workers 2` sent SIGINT (a terminal's Ctrl-C) or SIGTERM (a batch
    system's stop), to its whole process group, once its first batch is recorded."""
    directory = tmp_path_factory.mktemp("signalled")
    out = directory / "out"
    args = ("sweep", ref[0], "--out", out, "--workers", "2")
    with background_caravan(directory / "log", *args) as job:
        wait_until(lambda: run_parts(out), "the first batch is recorded", proc=job.proc)
        job.signal_group(request.param)  # as a terminal does: the CLI and its workers
        status = job.wait()
        assert status == EXIT_INTERRUPTED, job.output()
        wait_group_gone(job.pgid)  # the CLI stopped its worker processes before exiting
    return Signalled(
        out=out,
        status=status,
        stdout=job.stdout,
        output=job.output(),
        recorded=results(out),
        rows_on_disk=sum(pq.read_metadata(p).num_rows for p in run_parts(out)),
        manifest=read_manifest(out),
    )


def test_a_signalled_sweep_stops_keeping_every_finished_run_and_no_worker(
    signalled: Signalled, expected: pd.DataFrame
) -> None:
    s = signalled
    assert s.status == EXIT_INTERRUPTED  # and no process of its group is left (the fixture)
    assert "interrupted" in s.stdout, s.output
    # the whole command line, --workers included, and --resume
    assert f"--out {s.out} --workers 2 --resume" in s.stdout, s.output
    assert s.manifest["status"] == "interrupted"
    assert s.manifest["finished"] is None
    assert [x["status"] for x in s.manifest["sessions"]] == ["interrupted"]
    assert 0 < len(s.recorded) == s.rows_on_disk < TOTAL_RUNS
    assert_rows_match(s.recorded, expected)
    assert temp_files(s.out) == []  # the batch being written when the signal came was removed


def test_the_message_and_manifest_count_every_recorded_run(signalled: Signalled) -> None:
    s = signalled
    message = re.search(r"interrupted: (\d+) of (\d+) runs are recorded in ", s.stdout)
    assert message is not None, s.output
    assert int(message.group(2)) == s.manifest["runs_total"] == TOTAL_RUNS
    assert int(message.group(1)) == s.manifest["runs_done"] == s.rows_on_disk
    assert s.manifest["sessions"][-1]["runs"] == s.rows_on_disk


# --------------------------------------------------------------------------------------------
# A killed sweep (SIGKILL to the whole job), then --resume
# --------------------------------------------------------------------------------------------


@dataclass
class KilledAndResumed:
    out: Path
    kill_status: int
    before: pd.DataFrame  # what the killed sweep recorded
    before_with_planted: pd.DataFrame  # what a reader saw with stale temp files in runs/
    planted: list[Path]
    parts_before: dict[str, str]
    resume: Any  # subprocess.CompletedProcess[str]
    after: pd.DataFrame
    parts_after: dict[str, str]
    manifest: dict[str, Any]


def plant_temp_files(out: Path, expected: pd.DataFrame, missing: list[int]) -> list[Path]:
    """What a crash while writing leaves in runs/: a complete-looking temp part holding wrong
    rows for runs not yet recorded (read as data, those runs would count as done and never
    run), and a half-written one."""
    runs = out / "runs"
    wrong = expected[expected["run_id"].isin(missing[:3])].copy()
    for column in wrong.columns.drop(["run_id", "point_id", "replicate", "seed"]):
        wrong[column] = -1
    whole = runs / ".tmp-part-09999999999999999999-1-000001.parquet"
    pq.write_table(pa.Table.from_pandas(wrong, preserve_index=False), whole)
    half = runs / ".tmp-part-09999999999999999999-1-000002.parquet"
    data = run_parts(out)[0].read_bytes()
    half.write_bytes(data[: len(data) // 2])
    return [whole, half]


@pytest.fixture(scope="module")
def killed_and_resumed(
    tmp_path_factory: pytest.TempPathFactory, ref: tuple[Path, Path], expected: pd.DataFrame
) -> KilledAndResumed:
    sweep_path, _ = ref
    directory = tmp_path_factory.mktemp("killed")
    out = directory / "out"
    args = ("sweep", sweep_path, "--out", out, "--workers", "2")
    with background_caravan(directory / "log", *args) as job:
        wait_until(lambda: len(run_parts(out)) >= 2, "two batches are recorded", proc=job.proc)
        job.signal_group(signal.SIGKILL)  # the job is killed: no chance to clean up
        kill_status = job.wait()
        wait_group_gone(job.pgid)

    before = results(out)
    parts_before = snapshot(out / "runs")
    missing = sorted(set(range(TOTAL_RUNS)) - set(before["run_id"]))
    planted = plant_temp_files(out, expected, missing)
    before_with_planted = results(out)

    resume = caravan("sweep", sweep_path, "--out", out, "--workers", "2", "--resume")
    return KilledAndResumed(
        out=out,
        kill_status=kill_status,
        before=before,
        before_with_planted=before_with_planted,
        planted=planted,
        parts_before=parts_before,
        resume=resume,
        after=results(out) if resume.returncode == 0 else pd.DataFrame(),
        parts_after=snapshot(out / "runs"),
        manifest=read_manifest(out),
    )


def test_a_killed_sweep_keeps_the_runs_it_finished(
    killed_and_resumed: KilledAndResumed, expected: pd.DataFrame
) -> None:
    k = killed_and_resumed
    assert k.kill_status == -signal.SIGKILL
    assert 0 < len(k.before) < TOTAL_RUNS
    assert_rows_match(k.before, expected)


def test_resume_runs_only_the_missing_runs_and_completes_as_if_never_killed(
    killed_and_resumed: KilledAndResumed, expected: pd.DataFrame
) -> None:
    k = killed_and_resumed
    n_before = len(k.before)
    output = f"--- stdout\n{k.resume.stdout}--- stderr\n{k.resume.stderr}"
    assert k.resume.returncode == 0, output
    # the runner planned the missing runs only, not all of them
    assert f"{n_before}/{TOTAL_RUNS} runs already done, {TOTAL_RUNS - n_before} to run" in (
        k.resume.stderr
    ), output
    assert f"complete: {TOTAL_RUNS} of {TOTAL_RUNS} runs recorded" in k.resume.stdout, output
    assert f"({TOTAL_RUNS - n_before} by this session" in k.resume.stdout, output

    # complete, each run once, identical to the uninterrupted sweep
    assert list(k.after["run_id"]) == list(range(TOTAL_RUNS))
    assert_identical(k.after, expected)

    # the killed session's parts are untouched; the new ones hold exactly the missing runs
    assert {n: h for n, h in k.parts_after.items() if n in k.parts_before} == k.parts_before
    new_ids = [
        run_id
        for name in set(k.parts_after) - set(k.parts_before)
        for run_id in pq.read_table(k.out / "runs" / name, columns=["run_id"])["run_id"].to_pylist()
    ]
    assert sorted(new_ids) == sorted(set(range(TOTAL_RUNS)) - set(k.before["run_id"]))

    assert k.manifest["status"] == "complete"
    assert k.manifest["runs_done"] == TOTAL_RUNS
    assert k.manifest["finished"] is not None
    resumed = k.manifest["sessions"][-1]
    assert len(k.manifest["sessions"]) == 2
    assert (resumed["status"], resumed["runs"]) == ("complete", TOTAL_RUNS - n_before)
    assert resumed["executor"] == "local x2"


def test_stale_temp_files_are_never_read_and_are_removed_on_resume(
    killed_and_resumed: KilledAndResumed,
) -> None:
    k = killed_and_resumed
    assert all(p.name.startswith(".tmp-part-") for p in k.planted)
    # a reader ignored them (the half-written one would not even parse) ...
    pd.testing.assert_frame_equal(k.before_with_planted, k.before, check_exact=True)
    # ... and so did the resumed sweep (its rows are the reference's, checked above), which
    # removed them
    assert not any(p.exists() for p in k.planted)
    assert temp_files(k.out) == []


def test_the_manifest_sessions_account_for_every_run(
    killed_and_resumed: KilledAndResumed,
) -> None:
    sessions = killed_and_resumed.manifest["sessions"]
    assert sum(s["runs"] for s in sessions) == TOTAL_RUNS
    assert sessions[0]["runs"] == len(killed_and_resumed.before)
    assert [s["status"] for s in sessions] == ["killed", "complete"]


# --------------------------------------------------------------------------------------------
# What --resume and a new sweep refuse, and a resume with nothing to do
#
# These call the CLI's `main` in this process (the same code `caravan` runs, without the
# seconds a new process spends importing): nothing here needs a process of its own.
# --------------------------------------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    """`caravan ARGS` run by `sim.cli.main` here: its exit status and output."""
    capsys.readouterr()
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, status, captured.out, captured.err)


def test_resuming_a_complete_sweep_runs_nothing_and_changes_no_part(
    tmp_path: Path,
    ref: tuple[Path, Path],
    expected: pd.DataFrame,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sweep_path, ref_out = ref
    out = copy_of(ref_out, tmp_path)
    parts = snapshot(out / "runs")
    sessions = read_manifest(out)["sessions"]

    done = cli(capsys, "sweep", sweep_path, "--out", out, "--workers", "2", "--resume")

    assert done.returncode == 0, done.stderr
    assert f"all {TOTAL_RUNS} runs already done" in done.stderr
    assert f"complete: {TOTAL_RUNS} of {TOTAL_RUNS} runs recorded" in done.stdout
    assert "(0 by this session" in done.stdout
    assert snapshot(out / "runs") == parts
    manifest = read_manifest(out)
    assert manifest["sessions"][:-1] == sessions
    assert (manifest["sessions"][-1]["status"], manifest["sessions"][-1]["runs"]) == (
        "complete",
        0,
    )
    assert_identical(results(out), expected)


@pytest.mark.parametrize(
    ("edit", "named", "not_named"),
    [
        ({"replicates": 11}, ["the sweep file"], ["the base scenario", "the design points"]),
        ({"speeds": (2.5, 3.0, 3.5, 4.5)}, ["the sweep file", "the design points"], []),
        ({"population": 301}, ["the sweep file", "the base scenario"], ["the design points"]),
    ],
    ids=["replicates", "a-value", "the-base"],
)
def test_resuming_with_an_edited_sweep_file_is_refused_naming_what_differs(
    edit: dict[str, Any],
    named: list[str],
    not_named: list[str],
    tmp_path: Path,
    ref: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, ref_out = ref
    out = copy_of(ref_out, tmp_path)
    edited = write_sweep(tmp_path, **edit)
    before = snapshot(out, exclude=(".lock",))  # the lock file holds its last holder's pid

    refused = cli(capsys, "sweep", edited, "--out", out, "--workers", "2", "--resume")

    assert refused.returncode == EXIT_INPUT_ERROR, refused.stdout + refused.stderr
    assert "cannot resume" in refused.stderr
    for what in named:
        assert what in refused.stderr
    for what in not_named:
        assert what not in refused.stderr
    assert snapshot(out, exclude=(".lock",)) == before


@pytest.mark.parametrize("holding", ["a-sweep", "other-files"])
def test_a_new_sweep_into_a_non_empty_directory_is_refused_and_leaves_it_alone(
    holding: str, tmp_path: Path, ref: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sweep_path, ref_out = ref
    if holding == "a-sweep":
        out = copy_of(ref_out, tmp_path)
    else:
        out = tmp_path / "out"
        out.mkdir()
        (out / "notes.txt").write_text("not a sweep\n", encoding="utf-8")
    before = snapshot(out)

    refused = cli(capsys, "sweep", sweep_path, "--out", out, "--workers", "2")

    assert refused.returncode == EXIT_INPUT_ERROR, refused.stdout + refused.stderr
    assert "not empty" in refused.stderr
    assert "--resume" in refused.stderr
    assert snapshot(out) == before
    if holding == "a-sweep":
        assert len(load_sweep(out)) == TOTAL_RUNS


# --------------------------------------------------------------------------------------------
# Nothing left behind, nothing trusted that is damaged, and the way back after a lost pool
# --------------------------------------------------------------------------------------------


def worker_pids(pgid: int) -> set[int]:
    """The pool's worker processes in the sweep's process group (not its resource tracker)."""
    return {int(member.split()[0]) for member in live_group_members(pgid) if "spawn_main" in member}


def test_workers_end_when_their_sweep_is_killed_outright(
    tmp_path: Path, ref: tuple[Path, Path]
) -> None:
    """kill -9 of the `caravan sweep` process alone (not its group): it cannot stop its pool,
    so the workers must end by themselves."""
    out = tmp_path / "out"
    args = ("sweep", ref[0], "--out", out, "--workers", "2")
    with background_caravan(tmp_path / "log", *args) as job:
        workers = wait_until(
            lambda: len(worker_pids(job.pgid)) == 2 and run_parts(out) and worker_pids(job.pgid),
            "two workers run and a batch is recorded",
            proc=job.proc,
        )
        os.kill(job.proc.pid, signal.SIGKILL)
        assert job.wait() == -signal.SIGKILL
        wait_until(lambda: not (worker_pids(job.pgid) & workers), "the workers end", timeout_s=5.0)
        wait_group_gone(job.pgid, timeout_s=10.0)  # the resource tracker too


def test_a_damaged_part_is_set_aside_and_its_runs_run_again_on_resume(
    tmp_path: Path,
    ref: tuple[Path, Path],
    expected: pd.DataFrame,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sweep_path, ref_out = ref
    out = copy_of(ref_out, tmp_path)
    damaged = run_parts(out)[1]
    held = pq.read_table(damaged, columns=["run_id"])["run_id"].to_pylist()
    data = bytearray(damaged.read_bytes())
    data[len(data) // 3] ^= 0xFF
    damaged.write_bytes(bytes(data))

    refused = cli(capsys, "plot", out, "--out", tmp_path / "plots")
    assert refused.returncode == EXIT_INPUT_ERROR
    assert refused.stderr.startswith(f"error: {damaged}: damaged: its sha256 is ")

    done = cli(capsys, "sweep", sweep_path, "--out", out, "--workers", "1", "--resume")

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"note: {damaged}: damaged: its sha256 is " in done.stdout
    assert f"({len(held)} by this session" in done.stdout
    assert (out / "damaged" / "runs" / damaged.name).is_file()
    assert_identical(results(out), expected)


def test_a_pool_that_gives_up_ends_with_exit_2_and_the_whole_resume_command(
    tmp_path: Path,
) -> None:
    """Worker processes killed again and again (as by the OOM killer): the pool gives up after
    MAX_RESTARTS + 1 deaths; the message says so, how far the sweep got and the command that
    continues it, which then finishes it."""
    sweep_path = write_sweep(tmp_path, replicates=REPLICATES * 2)  # time to kill 4 workers
    out = tmp_path / "out"
    args = ("sweep", sweep_path, "--out", out, "--workers", "2")
    seen: set[int] = set()
    with background_caravan(tmp_path / "log", *args) as job:
        deadline = time.monotonic() + CLI_TIMEOUT_S
        while job.proc.poll() is None:  # kill each new pool's first worker until it gives up
            assert time.monotonic() < deadline, job.output()
            fresh = worker_pids(job.pgid) - seen
            if fresh:
                seen |= worker_pids(job.pgid)  # the rest of that pool dies with the pool
                with suppress(ProcessLookupError):  # a broken pool's worker, ending anyway
                    os.kill(min(fresh), signal.SIGKILL)
            time.sleep(0.02)
        status = job.wait()
        stderr = job.stderr
    assert status == EXIT_INPUT_ERROR, job.output()
    command = f"caravan sweep {sweep_path} --out {out} --workers 2 --resume"
    pattern = (
        rf"error: the local worker processes died {MAX_RESTARTS + 1} times \(killed, or out of "
        rf"memory\?\), so the pool gave up; (\d+) of {TOTAL_RUNS * 2} runs are recorded in "
        rf"{re.escape(str(out))}; continue with: {re.escape(command)}\n"
    )
    match = re.search(pattern, stderr)
    assert match, stderr
    manifest = read_manifest(out)
    assert manifest["status"] == "executor lost"
    assert int(match.group(1)) == manifest["runs_done"] == len(load_sweep(out))

    resumed = caravan(*command.split()[1:])
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    runs = results(out)
    assert list(runs["run_id"]) == list(range(TOTAL_RUNS * 2))
