"""The sweep store keeps every finished run, never records one twice, never reads half a file,
and never writes over a directory that already holds something."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.errors import CaravanError, OutputExistsError
from sim.sweep.store import (
    MANIFEST,
    PROVENANCE_COLUMNS,
    SweepStore,
    load_sweep,
    load_sweep_timeseries,
)

ROOT = Path(__file__).resolve().parent.parent

SWEEP_YAML = "name: test sweep\nvary:\n  waves.0.size: [100, 200]\nreplicates: 2\n"
BASE_YAML = "name: micro\ntime:\n  duration_h: 12\n"
FILES = {"sweep.yaml": SWEEP_YAML, "base-scenario.yaml": BASE_YAML}
MANIFEST_CONTENT: dict[str, Any] = {
    "sweep_file": "sweep.yaml",
    "version": "0.1.0",
    "started": datetime(2024, 5, 1, 12, 30),
    "counts": {"points": 2, "runs": 4},
}


def design_table() -> pa.Table:
    return pa.table(
        {
            "point_id": pa.array([0, 1], pa.int64()),
            "waves.0.size": pa.array([100, 200], pa.int64()),
        }
    )


def runs_table(run_ids: Sequence[int], **extra: Sequence[Any]) -> pa.Table:
    """One row per run, values derived from the run id so each row can be checked."""
    ids = np.asarray(run_ids, dtype=np.int64)
    columns: dict[str, Any] = {
        "run_id": pa.array(ids, pa.int64()),
        "point_id": pa.array(ids // 2, pa.int64()),
        "replicate": pa.array(ids % 2, pa.int32()),
        "seed": pa.array(1000 + ids, pa.int64()),
        "waves.0.size": pa.array(100 * (ids // 2 + 1), pa.int64()),
        "departed": pa.array(10 * ids, pa.int64()),
        "share_returned": pa.array(ids / 10.0, pa.float64()),
        "blockade_held": pa.array(ids % 3 == 0, pa.bool_()),
        "scenario": pa.array([f"s{i}" for i in ids], pa.string()),
        "elapsed_s": pa.array(np.full(len(ids), 0.5), pa.float64()),
    }
    columns.update({name: pa.array(values) for name, values in extra.items()})
    return pa.table(columns)


def series_table(run_ids: Sequence[int], n_steps: int = 3) -> pa.Table:
    ids = np.repeat(np.asarray(run_ids, dtype=np.int64), n_steps)
    steps = np.tile(np.arange(1, n_steps + 1, dtype=np.int32), len(run_ids))
    return pa.table(
        {
            "run_id": pa.array(ids, pa.int64()),
            "step": pa.array(steps, pa.int32()),
            "n_moving": pa.array(ids * 100 + steps, pa.int64()),
        }
    )


def new_store(out: Path) -> SweepStore:
    return SweepStore.create(out, MANIFEST_CONTENT, FILES, design_table())


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "sweeps" / "s1"


@pytest.fixture
def store(out: Path) -> Iterator[SweepStore]:
    s = new_store(out)
    yield s
    s.close()


def part_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


# --------------------------------------------------------------------------------------------
# create / open
# --------------------------------------------------------------------------------------------


def test_create_writes_the_layout_in_a_new_directory_with_parents(out: Path) -> None:
    with new_store(out) as s:
        assert s.dir == out
        assert s.read_text("sweep.yaml") == SWEEP_YAML
        assert s.read_text("base-scenario.yaml") == BASE_YAML
        assert s.design().equals(design_table())
        assert s.done_run_ids() == set()
    assert (out / "sweep.yaml").read_text(encoding="utf-8") == SWEEP_YAML
    assert pq.read_table(out / "design.parquet").equals(design_table())
    on_disk = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert on_disk["started"] == "2024-05-01 12:30:00"
    assert on_disk["counts"] == {"points": 2, "runs": 4}
    assert (out / MANIFEST).read_text(encoding="utf-8").endswith("}\n")
    # nothing half-written is left behind
    assert not list(out.rglob(".tmp-*"))


def test_create_accepts_an_empty_directory(tmp_path: Path) -> None:
    with new_store(tmp_path) as s:
        assert s.manifest["version"] == "0.1.0"


def test_create_refuses_a_non_empty_directory_and_leaves_it_alone(tmp_path: Path) -> None:
    (tmp_path / "results.csv").write_text("precious\n", encoding="utf-8")
    with pytest.raises(OutputExistsError) as info:
        new_store(tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message
    assert "--resume" in message
    assert "--out" in message
    assert part_files(tmp_path) == ["results.csv"]
    assert (tmp_path / "results.csv").read_text(encoding="utf-8") == "precious\n"


def test_create_refuses_an_existing_sweep(out: Path) -> None:
    new_store(out).close()
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    with pytest.raises(OutputExistsError, match="--resume"):
        new_store(out)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_create_refuses_a_file(tmp_path: Path) -> None:
    path = tmp_path / "out"
    path.write_text("not a directory\n", encoding="utf-8")
    with pytest.raises(OutputExistsError, match="not a directory"):
        new_store(path)
    assert path.read_text(encoding="utf-8") == "not a directory\n"


@pytest.mark.parametrize("name", [MANIFEST, "design.parquet", ".lock", "runs", "../x", ".hidden"])
def test_create_refuses_file_names_that_are_not_plain_or_are_the_stores_own(
    tmp_path: Path, name: str
) -> None:
    with pytest.raises(ValueError, match="not a valid sweep file name"):
        SweepStore.create(tmp_path / "s", MANIFEST_CONTENT, {name: "x"}, design_table())
    assert not (tmp_path / "s").exists()


def test_open_refuses_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(CaravanError, match="nothing to resume"):
        SweepStore.open(tmp_path / "missing")


def test_open_refuses_a_directory_without_manifest_and_does_not_touch_it(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine\n", encoding="utf-8")
    with pytest.raises(CaravanError, match="not a sweep directory"):
        SweepStore.open(tmp_path)
    assert part_files(tmp_path) == ["notes.txt"]


def test_close_is_idempotent_and_a_closed_store_refuses_to_write(store: SweepStore) -> None:
    store.close()
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        store.write_batch(runs_table([0]))
    with pytest.raises(RuntimeError, match="closed"):
        store.update_manifest(finished=True)


# --------------------------------------------------------------------------------------------
# Writing and reading back
# --------------------------------------------------------------------------------------------


def test_batches_round_trip_values_and_dtypes(store: SweepStore, out: Path) -> None:
    assert store.write_batch(runs_table([3, 1])) == 2
    assert store.write_batch(runs_table([0, 2])) == 2
    df = load_sweep(out)

    expected = runs_table([0, 1, 2, 3]).to_pandas()
    pd.testing.assert_frame_equal(df, expected)
    assert list(df.index) == [0, 1, 2, 3]
    assert df["run_id"].dtype == np.int64
    assert df["replicate"].dtype == np.int32
    assert df["share_returned"].dtype == np.float64
    assert df["blockade_held"].dtype == np.bool_
    assert pd.api.types.is_string_dtype(df["scenario"])
    assert df.attrs["manifest"] == json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert store.done_run_ids() == {0, 1, 2, 3}


def test_each_batch_is_one_runs_part_and_part_names_sort_in_write_order(
    store: SweepStore, out: Path
) -> None:
    for k in range(5):
        store.write_batch(runs_table([10 - k]))
    names = part_files(out / "runs")
    assert len(names) == 5
    assert all(n.startswith("part-") and n.endswith(".parquet") for n in names)
    # sorted names give the batches in the order they were written
    firsts = [int(pq.read_table(out / "runs" / n)["run_id"][0].as_py()) for n in names]
    assert firsts == [10, 9, 8, 7, 6]


def test_empty_sweep_loads_as_empty_frame_with_key_columns(store: SweepStore, out: Path) -> None:
    df = load_sweep(out)
    assert list(df.columns) == ["run_id", "point_id", "replicate", "seed"]
    assert len(df) == 0
    assert df.attrs["manifest"]["version"] == "0.1.0"


def test_runs_already_recorded_are_dropped_and_not_counted(store: SweepStore, out: Path) -> None:
    assert store.write_batch(runs_table([0, 1, 2])) == 3
    # a retried task delivers runs 1 and 2 again, next to new run 3; run 3 twice in the batch
    retried = runs_table([1, 2, 3, 3], departed=[-1, -1, 30, -1])
    assert store.write_batch(retried) == 1
    df = load_sweep(out)
    assert list(df["run_id"]) == [0, 1, 2, 3]
    # the first row recorded for each run is kept: nothing is overwritten
    assert list(df["departed"]) == [0, 10, 20, 30]
    assert store.done_run_ids() == {0, 1, 2, 3}


def test_a_batch_with_nothing_new_writes_nothing(store: SweepStore, out: Path) -> None:
    store.write_batch(runs_table([0, 1]), series_table([0, 1]))
    before = part_files(out / "runs") + part_files(out / "timeseries")
    assert store.write_batch(runs_table([1, 0]), series_table([1, 0])) == 0
    assert store.write_batch(runs_table([])) == 0
    assert part_files(out / "runs") + part_files(out / "timeseries") == before


def test_recorded_runs_are_still_dropped_after_reopening(out: Path) -> None:
    with new_store(out) as s:
        s.write_batch(runs_table([0, 1]))
    with SweepStore.open(out) as s:
        assert s.done_run_ids() == {0, 1}
        assert s.write_batch(runs_table([1, 2], departed=[-1, 20])) == 1
        assert s.done_run_ids() == {0, 1, 2}
    with SweepStore.open(out) as s:
        assert s.done_run_ids() == {0, 1, 2}
        assert s.write_batch(runs_table([0, 1, 2])) == 0
    df = load_sweep(out)
    assert list(df["run_id"]) == [0, 1, 2]
    assert list(df["departed"]) == [0, 10, 20]


def test_run_id_of_another_integer_type_is_stored_as_int64(store: SweepStore, out: Path) -> None:
    runs = runs_table([0, 1]).set_column(0, "run_id", pa.array([0, 1], pa.int32()))
    assert store.write_batch(runs) == 2
    assert load_sweep(out)["run_id"].dtype == np.int64


def test_write_batch_rejects_tables_without_an_integer_run_id(store: SweepStore) -> None:
    with pytest.raises(ValueError, match="no run_id"):
        store.write_batch(pa.table({"point_id": [0]}))
    with pytest.raises(ValueError, match="integer"):
        store.write_batch(pa.table({"run_id": ["a"]}))
    with pytest.raises(ValueError, match="series: no run_id"):
        store.write_batch(runs_table([0]), pa.table({"step": [1]}))
    assert store.done_run_ids() == set()


def test_parts_with_different_columns_load_as_their_union(store: SweepStore, out: Path) -> None:
    store.write_batch(runs_table([0, 1], held_at_B_peak=[5, 6]))
    store.write_batch(runs_table([2], held_at_C_peak=[7.5]))
    df = load_sweep(out)
    assert list(df["run_id"]) == [0, 1, 2]
    assert {"held_at_B_peak", "held_at_C_peak", "departed"} <= set(df.columns)
    assert df["held_at_B_peak"].iloc[:2].tolist() == [5, 6]
    assert pd.isna(df["held_at_B_peak"].iloc[2])
    assert pd.isna(df["held_at_C_peak"].iloc[0])
    assert df["held_at_C_peak"].iloc[2] == 7.5
    assert df["departed"].tolist() == [0, 10, 20]


# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------


def test_manifest_updates_merge_and_survive_reopening(out: Path) -> None:
    with new_store(out) as s:
        s.update_manifest(finished=datetime(2024, 5, 1, 13, 0), counts={"done": 4, "failed": 0})
        assert s.manifest["finished"] == "2024-05-01 13:00:00"
        assert s.manifest["version"] == "0.1.0"
        # the property is a copy: changing it does not change the manifest
        s.manifest["version"] = "changed"
        assert s.manifest["version"] == "0.1.0"
        kept = s.manifest
    with SweepStore.open(out) as s:
        assert s.manifest == kept
        assert s.manifest["counts"] == {"done": 4, "failed": 0}
        s.update_manifest(resumed=1)
    assert load_sweep(out).attrs["manifest"]["resumed"] == 1
    assert not list(out.glob(".tmp-*"))


def test_provenance_columns_name_timings() -> None:
    assert "elapsed_s" in PROVENANCE_COLUMNS


# --------------------------------------------------------------------------------------------
# Crashes: temp files, orphans, copies by hand
# --------------------------------------------------------------------------------------------


def test_temp_files_and_orphan_series_are_ignored_by_readers_and_removed_by_open(
    out: Path,
) -> None:
    with new_store(out) as s:
        s.write_batch(runs_table([0, 1]), series_table([0, 1]))
    part = part_files(out / "runs")[0]
    # what a crash leaves: half-written files, and a batch whose series landed but not its runs
    (out / "runs" / f".tmp-{part}").write_bytes(b"PAR1 half a file")
    (out / ".tmp-manifest.json").write_text("{", encoding="utf-8")
    orphan = out / "timeseries" / "part-99999999999999999999-1-000001.parquet"
    pq.write_table(series_table([0, 7]), orphan)

    df = load_sweep(out)
    assert list(df["run_id"]) == [0, 1]
    ts = load_sweep_timeseries(out)
    assert sorted(set(ts["run_id"])) == [0, 1]
    assert len(ts) == 6

    with SweepStore.open(out) as s:
        assert set(s.removed_on_open) == {
            out / "runs" / f".tmp-{part}",
            out / ".tmp-manifest.json",
            orphan,
        }
        assert s.done_run_ids() == {0, 1}
    assert not orphan.exists()
    assert not list(out.rglob(".tmp-*"))
    assert part_files(out / "runs") == [part]
    assert part_files(out / "timeseries") == [part]


def test_interrupted_batch_leaves_only_an_orphan_and_resume_records_it_once(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with new_store(out) as s:
        s.write_batch(runs_table([0]), series_table([0]))
        real_replace = os.replace
        renamed: list[str] = []

        def interrupted(source: Any, target: Any) -> None:
            renamed.append(Path(target).name)
            # the manifest with the checksums, then the series part, then the runs part
            if len(renamed) == 3:
                raise KeyboardInterrupt
            real_replace(source, target)

        monkeypatch.setattr(os, "replace", interrupted)
        with pytest.raises(KeyboardInterrupt):
            s.write_batch(runs_table([1, 2]), series_table([1, 2]))
        monkeypatch.undo()

        # the batch was not recorded: not in memory, not readable, no temp file left
        assert s.done_run_ids() == {0}
        assert list(load_sweep(out)["run_id"]) == [0]
        assert sorted(set(load_sweep_timeseries(out)["run_id"])) == [0]
        assert not list(out.rglob(".tmp-*"))
        assert len(part_files(out / "timeseries")) == 2  # one orphan

    with SweepStore.open(out) as s:
        assert len(s.removed_on_open) == 1
        assert s.write_batch(runs_table([1, 2]), series_table([1, 2])) == 2
    assert list(load_sweep(out)["run_id"]) == [0, 1, 2]
    ts = load_sweep_timeseries(out)
    assert list(zip(ts["run_id"], ts["step"], strict=True)) == [
        (r, k) for r in (0, 1, 2) for k in (1, 2, 3)
    ]


def test_a_part_copied_by_hand_is_refused_naming_the_runs_and_files(
    store: SweepStore, out: Path
) -> None:
    store.write_batch(runs_table([4, 5]))
    store.write_batch(runs_table([6]))
    first = part_files(out / "runs")[0]
    shutil.copy(out / "runs" / first, out / "runs" / "part-copy.parquet")
    with pytest.raises(CaravanError) as info:
        load_sweep(out)
    assert str(info.value).startswith(
        f"{out / 'runs' / 'part-copy.parquet'}: not written by this sweep: the manifest records "
        "no checksum for it (copied in?); "
    )
    store.close()
    with SweepStore.open(out) as reopened:  # resuming sets the copy aside
        assert [d.path.name for d in reopened.damaged_on_open] == ["part-copy.parquet"]
        assert reopened.done_run_ids() == {4, 5, 6}
    assert (out / "damaged" / "runs" / "part-copy.parquet").is_file()
    assert list(load_sweep(out)["run_id"]) == [4, 5, 6]


def test_a_store_without_checksums_still_loads_and_open_records_them(out: Path) -> None:
    """A sweep directory written before checksums: readable parts are trusted."""
    with new_store(out) as s:
        s.write_batch(runs_table([0, 1]), series_table([0, 1]))
        s.update_manifest(part_checksums=None)
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    manifest.pop("part_checksums")
    (out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    assert list(load_sweep(out)["run_id"]) == [0, 1]
    assert sorted(set(load_sweep_timeseries(out)["run_id"])) == [0, 1]
    with SweepStore.open(out) as s:
        assert s.damaged_on_open == ()
        recorded = s.manifest["part_checksums"]
    part = part_files(out / "runs")[0]
    assert recorded == {
        folder: {part: hashlib.sha256((out / folder / part).read_bytes()).hexdigest()}
        for folder in ("runs", "timeseries")
    }


# --------------------------------------------------------------------------------------------
# Time series
# --------------------------------------------------------------------------------------------


def test_timeseries_are_sorted_and_only_for_recorded_runs(store: SweepStore, out: Path) -> None:
    # series rows for run 9, which is not in this batch's runs, are not kept
    assert store.write_batch(runs_table([2, 0]), series_table([9, 2, 0])) == 2
    assert store.write_batch(runs_table([1]), series_table([1])) == 1
    # a retried run's series are not recorded twice
    assert store.write_batch(runs_table([1, 3]), series_table([1, 3])) == 1
    ts = load_sweep_timeseries(out)
    assert list(ts["run_id"]) == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    assert list(ts["step"]) == [1, 2, 3] * 4
    assert list(ts["n_moving"]) == [r * 100 + k for r in range(4) for k in (1, 2, 3)]
    assert ts["step"].dtype == np.int32
    assert list(ts.index) == list(range(12))


def test_batches_without_series_write_no_timeseries_part(store: SweepStore, out: Path) -> None:
    store.write_batch(runs_table([0]), series_table([0]))
    store.write_batch(runs_table([1]))
    assert len(part_files(out / "runs")) == 2
    assert len(part_files(out / "timeseries")) == 1
    assert sorted(set(load_sweep_timeseries(out)["run_id"])) == [0]


def test_timeseries_of_a_sweep_without_them_is_a_clear_error(store: SweepStore, out: Path) -> None:
    store.write_batch(runs_table([0, 1]))
    with pytest.raises(CaravanError, match="recorded no time series"):
        load_sweep_timeseries(out)


# --------------------------------------------------------------------------------------------
# Not a sweep
# --------------------------------------------------------------------------------------------


def test_loading_something_that_is_not_a_sweep_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x\n", encoding="utf-8")
    for path in (tmp_path, tmp_path / "missing", tmp_path / "a.txt"):
        with pytest.raises(CaravanError, match="not a sweep directory"):
            load_sweep(path)
        with pytest.raises(CaravanError, match="not a sweep directory"):
            load_sweep_timeseries(str(path))
    assert part_files(tmp_path) == ["a.txt"]


# --------------------------------------------------------------------------------------------
# One writer at a time
# --------------------------------------------------------------------------------------------


def test_a_second_writer_in_the_same_process_is_refused(store: SweepStore, out: Path) -> None:
    with pytest.raises(CaravanError) as info:
        SweepStore.open(out)
    assert "another caravan process" in str(info.value)
    assert f"pid {os.getpid()}" in str(info.value)
    assert str(out) in str(info.value)
    # the refused open did not disturb the writer
    assert store.write_batch(runs_table([0])) == 1
    store.close()
    with SweepStore.open(out) as s:
        assert s.done_run_ids() == {0}


def python(script: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-W", "ignore", "-c", textwrap.dedent(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


WRITER = """
    import sys
    from pathlib import Path
    import pyarrow as pa
    from sim.sweep.store import SweepStore

    store = SweepStore.open(Path({out!r}))
    store.write_batch(pa.table({{"run_id": pa.array([{run_id}], pa.int64())}}))
    print("written", flush=True)
"""


def test_another_process_holding_the_lock_is_named(out: Path) -> None:
    new_store(out).close()
    proc = python(WRITER.format(out=str(out), run_id=5) + "    sys.stdin.read()\n")
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "written\n", proc.stderr
        with pytest.raises(CaravanError) as info:
            SweepStore.open(out)
        assert f"another caravan process (pid {proc.pid})" in str(info.value)
        with pytest.raises(OutputExistsError):
            new_store(out)
        # readers need no lock: the other process's finished batch is visible
        assert list(load_sweep(out)["run_id"]) == [5]
    finally:
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    with SweepStore.open(out) as s:
        assert s.done_run_ids() == {5}


def test_a_killed_writer_keeps_its_runs_and_leaves_no_stale_lock(out: Path) -> None:
    new_store(out).close()
    proc = python(WRITER.format(out=str(out), run_id=3) + "    import time; time.sleep(60)\n")
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "written\n"
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with SweepStore.open(out) as s:
        assert s.done_run_ids() == {3}
        assert s.write_batch(runs_table([3, 4])) == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_workers_do_not_keep_the_lock_after_the_writer_dies(out: Path) -> None:
    new_store(out).close()
    script = f"""
        import os, time
        from pathlib import Path
        from sim.sweep.store import SweepStore

        store = SweepStore.open(Path({str(out)!r}))
        child = os.fork()
        if child == 0:
            # let go of the test's pipes, as a worker would hold its own
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            time.sleep(60)
            os._exit(0)
        print(child, flush=True)
        os._exit(0)  # the writer dies without closing the store; its worker lives on
    """
    proc = python(script)
    try:
        assert proc.stdout is not None
        child = int(proc.stdout.readline())
    finally:
        proc.communicate(timeout=30)
    try:
        os.kill(child, 0)  # the worker is alive ...
        with SweepStore.open(out) as s:  # ... and the lock is free
            assert s.done_run_ids() == set()
    finally:
        os.kill(child, signal.SIGKILL)


# --------------------------------------------------------------------------------------------
# Checksums: a damaged part is named, never read as numbers, and run again on resume
# --------------------------------------------------------------------------------------------


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0xFF  # inside the column data, not the footer
    path.write_bytes(bytes(data))


def cut_short(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])


def recorded_checksums(out: Path) -> dict[str, dict[str, str]]:
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    checksums: dict[str, dict[str, str]] = manifest["part_checksums"]
    return checksums


def test_every_part_has_the_sha256_of_its_bytes_in_the_manifest(out: Path) -> None:
    with new_store(out) as s:
        s.write_batch(runs_table([0, 1]), series_table([0, 1]))
        s.write_batch(runs_table([2]))
    runs, series = part_files(out / "runs"), part_files(out / "timeseries")
    assert recorded_checksums(out) == {
        "runs": {p: hashlib.sha256((out / "runs" / p).read_bytes()).hexdigest() for p in runs},
        "timeseries": {
            series[0]: hashlib.sha256((out / "timeseries" / series[0]).read_bytes()).hexdigest()
        },
    }
    assert len(runs) == 2


@pytest.mark.parametrize("folder", ["runs", "timeseries"])
@pytest.mark.parametrize("damage", [flip_a_byte, cut_short], ids=["flipped", "truncated"])
def test_a_damaged_part_is_named_on_load_and_run_again_on_resume(
    out: Path, damage: Any, folder: str
) -> None:
    with new_store(out) as s:
        s.write_batch(runs_table([0, 1]), series_table([0, 1]))
        s.write_batch(runs_table([2, 3]), series_table([2, 3]))
    first = part_files(out / folder)[0]
    path = out / folder / first
    expected = recorded_checksums(out)[folder][first]
    damage(path)
    found = hashlib.sha256(path.read_bytes()).hexdigest()

    with pytest.raises(CaravanError) as info:
        load_sweep(out) if folder == "runs" else load_sweep_timeseries(out)
    assert str(info.value) == (
        f"{path}: damaged: its sha256 is {found[:12]}..., not the {expected[:12]}... recorded "
        "when it was written (bytes changed, or the file was cut short); its runs are run "
        "again by resuming the sweep or calibration that wrote it (the same command with "
        "--resume), which moves it into damaged/"
    )

    with SweepStore.open(out) as s:
        assert [d.path for d in s.damaged_on_open] == [path]
        assert s.done_run_ids() == {2, 3}  # the batch's runs are to be run again
        assert s.write_batch(runs_table([0, 1, 2, 3]), series_table([0, 1, 2, 3])) == 2
    for f in ("runs", "timeseries"):  # the whole batch, both parts, is set aside
        assert (out / "damaged" / f / first).is_file()
        assert first not in part_files(out / f)
        assert first not in recorded_checksums(out)[f]
    assert list(load_sweep(out)["run_id"]) == [0, 1, 2, 3]
    assert sorted(set(load_sweep_timeseries(out)["run_id"])) == [0, 1, 2, 3]
    pd.testing.assert_frame_equal(
        load_sweep(out), runs_table([0, 1, 2, 3]).to_pandas(), check_like=False
    )


@pytest.mark.parametrize("damage", ["column-name", "cut-short"])
def test_an_old_store_with_a_damaged_footer_is_refused_cleanly_and_resumed(
    out: Path, damage: str
) -> None:
    """Without checksums only Parquet can tell: a column name in the footer that is no longer
    UTF-8, or a file cut short, is a located error (not a UnicodeDecodeError from deep in
    pyarrow), and open sets the part aside."""
    with new_store(out) as s:
        s.write_batch(runs_table([0, 1]))
        s.write_batch(runs_table([2]))
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    manifest.pop("part_checksums")
    (out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    first = out / "runs" / part_files(out / "runs")[0]
    if damage == "cut-short":
        cut_short(first)
    else:
        data = bytearray(first.read_bytes())
        data[data.find(b"departed")] ^= 0xFF  # a column name in the footer: no longer UTF-8
        first.write_bytes(bytes(data))
    with pytest.raises(CaravanError, match=f"^{re.escape(str(first))}: "):
        load_sweep(out)
    with SweepStore.open(out) as s:
        assert [d.path for d in s.damaged_on_open] == [first]
        assert s.done_run_ids() == {2}
