"""A sweep's output directory: results that survive interruption and are never recorded twice.

Layout of a sweep directory DIR::

    DIR/
      .lock                         fcntl lock held by the one writer; holds its pid
      manifest.json                 sweep file, package version, start and end, counts
      sweep.yaml, base-scenario.yaml, ...   texts given at create (the `files`)
      design.parquet                one row per design point
      runs/part-<id>.parquet        one file per written batch: one row per run
      timeseries/part-<id>.parquet  same <id>, when the batch carried time series
      damaged/                      parts whose bytes did not match their checksum (`open`)

Only the parent process of a sweep writes here, through one `SweepStore` holding the lock.
Workers return their results to it; `load_sweep` reads without the lock, even while a sweep runs.

Commit protocol. Every file is written as `<dir>/.tmp-<name>`, flushed and fsynced, then renamed
to its final name with `os.replace` (atomic on POSIX), and the directory is fsynced so the rename
itself survives a power cut. Readers only read `part-*.parquet`, so a half-written file (a
`.tmp-*` left by a crash) is never read as data. A batch writes its time series part first and
its runs part last: the runs part is the commit point. A time series part without the runs part
of the same id is an orphan of a crash between the two renames; readers ignore it and `open`
deletes it (with any stale `.tmp-*`), so the batch's runs are simply missing and run again on
`--resume`.

Checksums. The manifest's `part_checksums` holds the sha256 of every committed part's bytes,
by folder and name (`{"runs": {name: sha256}, "timeseries": {...}}`). A batch's checksums are
written to the manifest before its parts are renamed into place, so every part a reader can see
has its checksum; an entry whose part never arrived (a crash in between) is dropped by `open`.
Reading a part checks its bytes first: a part with flipped bytes or cut short is named in the
error, never read as numbers. `open` (resuming) moves such a part, with the time series part of
the same batch, into `damaged/` and forgets its runs, so the resumed job runs them again. A
store written before checksums existed has no `part_checksums`: it loads as before (a part that
Parquet can read is trusted), and the first `open` records the checksums of its readable parts.

Why no run is recorded twice. One writer at a time (the lock). The writer knows every run id
already recorded (read from the runs parts when it opens the directory, then kept up to date),
and `write_batch` drops rows whose run id is already recorded, or repeated within the batch,
before writing, so a retried task or a resumed sweep cannot add a second row for a run. A run
becomes "recorded" exactly when the runs part holding it is renamed into place, the same moment
at which a reader can first see it. Files copied by hand could still duplicate a run; `load_sweep`
then refuses to guess which to keep.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import CaravanError, OutputExistsError

MANIFEST = "manifest.json"
DESIGN = "design.parquet"
LOCK = ".lock"
RUNS_DIR = "runs"
TIMESERIES_DIR = "timeseries"
TMP_PREFIX = ".tmp-"
PART_GLOB = "part-*.parquet"
DAMAGED_DIR = "damaged"
PART_CHECKSUMS = "part_checksums"  # manifest key: {"runs": {name: sha256}, "timeseries": {...}}
PART_DIRS = (RUNS_DIR, TIMESERIES_DIR)

# Columns that legitimately differ between two runs of the same sweep (timings, not results).
PROVENANCE_COLUMNS: tuple[str, ...] = ("elapsed_s",)

# The columns of an empty sweep's runs table, so code reading it finds the keys it expects.
_KEY_COLUMNS = ("run_id", "point_id", "replicate", "seed")

# Names a `files` entry may not take: they are the store's own.
_RESERVED = frozenset({MANIFEST, DESIGN, LOCK, RUNS_DIR, TIMESERIES_DIR, DAMAGED_DIR})

# Lock descriptors held by this process. A forked child (a worker) closes its copies at once, so
# the lock dies with the writer even if workers outlive it: flock belongs to the open file
# description, which stays locked while any process still has a descriptor for it.
_HELD_LOCK_FDS: set[int] = set()


def _close_inherited_locks() -> None:
    for fd in _HELD_LOCK_FDS:
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD_LOCK_FDS.clear()


os.register_at_fork(after_in_child=_close_inherited_locks)


class SweepStore:
    """A sweep's output directory, held by one writer (this process) through a lock."""

    dir: Path

    def __init__(self, out_dir: Path, lock_fd: int, manifest: dict[str, Any]) -> None:
        # Use `create` or `open`; this only assembles a store whose lock is already held.
        self.dir = out_dir
        self._lock_fd: int | None = lock_fd
        self._owner_pid = os.getpid()
        self._manifest = manifest
        self._done: set[int] = set()
        self._last_part_ns = 0
        self._n_parts_written = 0
        # What `open` removed: half-written temp files and orphan time series parts.
        self.removed_on_open: tuple[Path, ...] = ()
        # What `open` moved into damaged/: parts whose bytes do not match their checksum.
        self.damaged_on_open: tuple[DamagedPart, ...] = ()

    # ----------------------------------------------------------------------------------------
    # Opening and closing
    # ----------------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        out_dir: Path,
        manifest: Mapping[str, Any],
        files: Mapping[str, str],
        design: pa.Table,
    ) -> SweepStore:
        """Start a new sweep in `out_dir`, which must not exist or be an empty directory.

        Creates parents, takes the lock, writes `files` (name -> text), design.parquet and,
        last, manifest.json (its presence marks a complete sweep directory), each atomically.
        """
        out_dir = Path(out_dir)
        for name in files:
            _check_file_name(name)
        _check_new(out_dir, ignore=())
        out_dir.mkdir(parents=True, exist_ok=True)
        lock_fd = _acquire_lock(out_dir)
        written: list[Path] = []
        try:
            # Another `caravan sweep` may have started here between the check and the lock.
            _check_new(out_dir, ignore=(LOCK,))
            for name, text in files.items():
                written.append(write_bytes_atomic(out_dir / name, text.encode("utf-8")))
            written.append(write_parquet_atomic(out_dir / DESIGN, design))
            (out_dir / RUNS_DIR).mkdir()
            written.append(out_dir / RUNS_DIR)
            _fsync_dir(out_dir)
            content = _json_roundtrip({**manifest, PART_CHECKSUMS: {d: {} for d in PART_DIRS}})
            written.append(write_bytes_atomic(out_dir / MANIFEST, _manifest_bytes(content)))
        except BaseException:
            # The directory was empty: everything in it but the lock is ours to take back.
            for path in reversed(written):
                _remove_quietly(path)
            _release_lock(lock_fd)
            raise
        return cls(out_dir, lock_fd, content)

    @classmethod
    def open(cls, out_dir: Path) -> SweepStore:
        """Open an existing sweep to resume it.

        Takes the lock, then removes stale temp files and orphan time series parts (left by a
        crash), and reads the run ids already recorded.
        """
        out_dir = Path(out_dir)
        if not out_dir.exists():
            raise CaravanError(f"{out_dir}: does not exist; nothing to resume")
        _check_sweep_dir(out_dir)
        lock_fd = _acquire_lock(out_dir)
        try:
            content = read_manifest(out_dir)
            removed = _remove_debris(out_dir)
            store = cls(out_dir, lock_fd, content)
            store.removed_on_open = tuple(removed)
            store.damaged_on_open = tuple(store._set_aside_damaged())
            store._done = set(_recorded_run_ids(out_dir))
        except BaseException:
            _release_lock(lock_fd)
            raise
        return store

    def _set_aside_damaged(self) -> list[DamagedPart]:
        """Check every part against its checksum; move a damaged one, with the other part of
        its batch, into damaged/ so its runs count as not done. Record the checksums of a
        store written before there were any, and forget those of parts never renamed in."""
        recorded = self._manifest.get(PART_CHECKSUMS)
        checksums: dict[str, dict[str, str]] = {d: {} for d in PART_DIRS}
        damaged: list[DamagedPart] = []
        for folder in PART_DIRS:
            for path in _parts(self.dir / folder):
                data = path.read_bytes()
                digest = hashlib.sha256(data).hexdigest()
                expected = None if recorded is None else recorded.get(folder, {}).get(path.name)
                problem = _part_problem(data, digest, expected, recorded is not None)
                if problem is None:
                    checksums[folder][path.name] = digest
                else:
                    damaged.append(DamagedPart(path, problem))
        for bad in damaged:
            for folder in PART_DIRS:
                checksums[folder].pop(bad.path.name, None)
                _move_to_damaged(self.dir, self.dir / folder / bad.path.name)
        self.update_manifest(**{PART_CHECKSUMS: checksums})
        return damaged

    def close(self) -> None:
        """Release the lock. Idempotent."""
        fd, self._lock_fd = self._lock_fd, None
        # In a forked child the descriptor was already closed (and its number may be reused).
        if fd is not None and os.getpid() == self._owner_pid:
            _release_lock(fd)

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ----------------------------------------------------------------------------------------
    # Reading
    # ----------------------------------------------------------------------------------------

    @property
    def manifest(self) -> dict[str, Any]:
        """The manifest as on disk (a copy: change it with `update_manifest`)."""
        return copy.deepcopy(self._manifest)

    def read_text(self, name: str) -> str:
        """One of the `files` given at create."""
        _check_file_name(name)
        return (self.dir / name).read_text(encoding="utf-8")

    def design(self) -> pa.Table:
        """The design table given at create: one row per design point."""
        return pq.read_table(self.dir / DESIGN)

    def done_run_ids(self) -> set[int]:
        """Run ids already recorded (a copy)."""
        return set(self._done)

    # ----------------------------------------------------------------------------------------
    # Writing
    # ----------------------------------------------------------------------------------------

    def update_manifest(self, **changes: Any) -> None:
        """Merge `changes` into the manifest's top-level keys and replace manifest.json."""
        self._check_writable()
        content = _json_roundtrip({**self._manifest, **changes})
        write_bytes_atomic(self.dir / MANIFEST, _manifest_bytes(content))
        self._manifest = content

    def write_batch(self, runs: pa.Table, series: pa.Table | None = None) -> int:
        """Record a batch of finished runs; return how many runs were newly recorded.

        `runs` has one row per run and an integer `run_id` column; `series`, if given, has a
        `run_id` column too and many rows per run. Runs already recorded, and repeats within
        the batch (the first row is kept), are dropped from both tables, as are series rows of
        runs not in `runs`. Nothing is written when no run is new.
        """
        self._check_writable()
        runs = _with_int64_run_id(runs, "runs")
        keep = _first_rows(runs, ["run_id"])
        ids = _run_id_array(runs)
        keep = keep[~np.isin(ids[keep], np.fromiter(self._done, np.int64, len(self._done)))]
        if len(keep) == 0:
            return 0
        runs = runs.take(pa.array(keep))
        new_ids = _run_id_array(runs)

        part = f"part-{self._next_part_id()}.parquet"
        contents = {RUNS_DIR: parquet_bytes(runs)}
        if series is not None:
            series = _with_int64_run_id(series, "series")
            series = series.filter(pa.array(np.isin(_run_id_array(series), new_ids)))
            if "step" in series.column_names:
                series = series.take(pa.array(_first_rows(series, ["run_id", "step"])))
            if series.num_rows > 0:
                contents[TIMESERIES_DIR] = parquet_bytes(series)
        # The checksums first: a part is never visible without its checksum.
        checksums = self._manifest.get(PART_CHECKSUMS) or {d: {} for d in PART_DIRS}
        for folder, data in contents.items():
            checksums = {**checksums, folder: {**checksums.get(folder, {}), part: _sha256(data)}}
        self.update_manifest(**{PART_CHECKSUMS: checksums})
        if TIMESERIES_DIR in contents:
            ts_dir = self.dir / TIMESERIES_DIR
            if not ts_dir.is_dir():
                ts_dir.mkdir()
                _fsync_dir(self.dir)
            # Before the runs part: series never become visible without their runs.
            write_bytes_atomic(ts_dir / part, contents[TIMESERIES_DIR])
        _write_atomic(
            self.dir / RUNS_DIR / part,
            lambda f: f.write(contents[RUNS_DIR]),
            on_commit=self._mark_done(new_ids),
        )
        return len(new_ids)

    def _mark_done(self, ids: npt.NDArray[np.int64]) -> Callable[[], None]:
        def mark() -> None:
            self._done.update(int(i) for i in ids)

        return mark

    def _next_part_id(self) -> str:
        # Strictly increasing even if the clock steps back, so ids sort in write order.
        ns = max(time.time_ns(), self._last_part_ns + 1)
        self._last_part_ns = ns
        self._n_parts_written += 1
        return f"{ns:020d}-{os.getpid()}-{self._n_parts_written:06d}"

    def _check_writable(self) -> None:
        if self._lock_fd is None:
            raise RuntimeError(f"{self.dir}: the sweep store is closed")
        if os.getpid() != self._owner_pid:
            raise RuntimeError(f"{self.dir}: only the process that opened the store may write")


# --------------------------------------------------------------------------------------------
# Reading a sweep (no lock needed)
# --------------------------------------------------------------------------------------------


def open_to_resume(
    out_dir: Path,
    kind: str,
    fingerprints: Mapping[str, str],
    what: Mapping[str, str],
    advice: str,
) -> SweepStore:
    """Open `out_dir` to continue the job started there, which must be of `kind` (the
    manifest's) and have the same `fingerprints` (hashes of what determines its results);
    otherwise raise, naming what changed (`what`: fingerprint -> words) and the `advice`."""
    store = SweepStore.open(out_dir)
    found = store.manifest.get("kind")
    if found != kind:
        store.close()
        raise CaravanError(f"{out_dir}: holds a {found}, not a {kind}; nothing to resume")
    stored = store.manifest.get("fingerprints", {})
    changed = [k for k, v in fingerprints.items() if stored.get(k) != v]
    if changed:
        store.close()
        raise CaravanError(
            f"{out_dir}: cannot resume: {', '.join(what[k] for k in changed)} differ from what "
            f"was started there; {advice}"
        )
    return store


def load_sweep(path: str | Path) -> pd.DataFrame:
    """Every recorded run of the sweep in `path`: one row per run, sorted by run_id.

    Reads without the lock, so it works while the sweep runs (it sees the batches committed so
    far). `df.attrs["manifest"]` is the manifest. Parts may have different columns (outcomes
    can differ between design points): the result has every column, null where a part lacks it.
    """
    sweep_dir = Path(path)
    _check_sweep_dir(sweep_dir)
    listed = _parts(sweep_dir / RUNS_DIR)
    manifest = read_manifest(sweep_dir)  # after listing: it has the checksum of every part listed
    checksums = _checksums(manifest, RUNS_DIR)
    parts = [(p, _read_part(p, checksums=checksums)) for p in listed]
    _check_unique(sweep_dir, [(p, _run_id_array(t)) for p, t in parts])
    if not parts:
        df = pd.DataFrame({name: pd.Series(dtype="int64") for name in _KEY_COLUMNS})
    else:
        table = _concat(sweep_dir, [t for _, t in parts]).sort_by("run_id")
        df = _to_pandas(table)
    df.attrs["manifest"] = manifest
    return df


def load_sweep_timeseries(path: str | Path) -> pd.DataFrame:
    """The time series of the sweep in `path`: one row per run and step, sorted by run_id then
    step, only for runs in the runs table (series of a batch that never committed are left out).
    """
    sweep_dir = Path(path)
    _check_sweep_dir(sweep_dir)
    ts_parts = _parts(sweep_dir / TIMESERIES_DIR)
    if not ts_parts:
        raise CaravanError(
            f"{sweep_dir}: this sweep recorded no time series (none of its finished runs kept "
            "them; the scenario's output.time_series setting decides)"
        )
    # The runs parts first: a series part counts only if its runs part was there when we looked.
    run_parts = {p.name: p for p in _parts(sweep_dir / RUNS_DIR)}
    manifest = read_manifest(sweep_dir)  # after listing: it has the checksum of every part listed
    run_sums, ts_sums = _checksums(manifest, RUNS_DIR), _checksums(manifest, TIMESERIES_DIR)
    ids_by_part = {
        name: _run_id_array(_read_part(p, ["run_id"], run_sums)) for name, p in run_parts.items()
    }
    _check_unique(sweep_dir, [(run_parts[n], ids) for n, ids in ids_by_part.items()])
    tables = []
    for ts_path in ts_parts:
        ids = ids_by_part.get(ts_path.name)
        if ids is None:
            continue  # orphan of an interrupted batch
        try:
            table = _read_part(ts_path, checksums=ts_sums)
        except FileNotFoundError:
            continue  # removed by a writer's `open` since we listed it
        tables.append(table.filter(pa.array(np.isin(_run_id_array(table), ids))))
    if not tables:
        raise CaravanError(f"{sweep_dir}: no finished run of this sweep has time series yet")
    table = _concat(sweep_dir, tables)
    keys = [k for k in ("run_id", "step") if k in table.column_names]
    return _to_pandas(table.sort_by([(k, "ascending") for k in keys]))


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _check_new(out_dir: Path, ignore: Iterable[str]) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputExistsError(f"{out_dir}: exists and is not a directory; choose another --out")
    ignored = set(ignore)
    if out_dir.is_dir() and any(p.name not in ignored for p in out_dir.iterdir()):
        raise OutputExistsError(
            f"{out_dir}: already exists and is not empty; pass --resume to continue that sweep, "
            "or choose another --out"
        )


def _check_sweep_dir(sweep_dir: Path) -> None:
    if not sweep_dir.is_dir():
        raise CaravanError(f"{sweep_dir}: not a sweep directory (no such directory)")
    if not (sweep_dir / MANIFEST).is_file():
        raise CaravanError(
            f"{sweep_dir}: not a sweep directory (it has no {MANIFEST}; a sweep interrupted while "
            "starting leaves none: remove the directory and start again)"
        )


def _check_file_name(name: str) -> None:
    # `files` are plain names in DIR; never ours, never hidden (temp files are), never a path.
    if (
        not name
        or name in _RESERVED
        or name.startswith(".")
        or "/" in name
        or os.sep in name
        or (os.altsep is not None and os.altsep in name)
    ):
        raise ValueError(f"not a valid sweep file name: {name!r}")


def read_manifest(sweep_dir: Path) -> dict[str, Any]:
    """A sweep directory's manifest, read without the lock."""
    path = sweep_dir / MANIFEST
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CaravanError(f"{path}: cannot read the sweep manifest: {e}") from e
    if not isinstance(content, dict):
        raise CaravanError(f"{path}: the sweep manifest is not a JSON object")
    return content


def _json_roundtrip(data: Mapping[str, Any]) -> dict[str, Any]:
    # What is kept in memory is exactly what a later `open` reads back (datetimes as strings).
    content: dict[str, Any] = json.loads(_manifest_bytes(data))
    return content


def _manifest_bytes(data: Mapping[str, Any]) -> bytes:
    text = json.dumps(data, indent=2, sort_keys=False, default=str, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def _parts(directory: Path) -> list[Path]:
    """Committed parts in write order (part ids sort by time). Temp files start with a dot."""
    if not directory.is_dir():
        return []
    return sorted(directory.glob(PART_GLOB))


def _read_part(
    path: Path, columns: list[str] | None = None, checksums: Mapping[str, str] | None = None
) -> pa.Table:
    """A part's table, its bytes checked against `checksums` (name -> sha256; None: a store
    written before checksums, whose parts are trusted if Parquet can read them)."""
    data = path.read_bytes()  # FileNotFoundError: moved or removed by a writer since listed
    expected = None if checksums is None else checksums.get(path.name)
    problem = _part_problem(data, _sha256(data), expected, checksums is not None)
    if problem is not None:
        raise CaravanError(
            f"{path}: {problem}; its runs are run again by resuming the sweep or calibration "
            "that wrote it (the same command with --resume), which moves it into "
            f"{DAMAGED_DIR}/"
        )
    try:
        table = pq.read_table(pa.BufferReader(data), columns=columns)
    except (OSError, ValueError, pa.ArrowException) as e:
        raise CaravanError(f"{path}: cannot read this part of the sweep: {e}") from e
    if "run_id" not in table.column_names:
        raise CaravanError(f"{path}: has no run_id column; not a part written by caravan sweep")
    return table


class DamagedPart:
    """A part whose bytes are not what was written (`SweepStore.open` moved it aside)."""

    __slots__ = ("path", "problem")

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path  # where it was found, under runs/ or timeseries/
        self.problem = problem

    def __repr__(self) -> str:
        return f"DamagedPart({str(self.path)!r}, {self.problem!r})"


def parquet_bytes(table: pa.Table) -> bytes:
    """`table` as the bytes of a Parquet file."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _checksums(manifest: Mapping[str, Any], folder: str) -> dict[str, str] | None:
    recorded = manifest.get(PART_CHECKSUMS)
    if not isinstance(recorded, dict):
        return None  # written before checksums
    sums = recorded.get(folder, {})
    return sums if isinstance(sums, dict) else {}


def _part_problem(data: bytes, digest: str, expected: str | None, checked: bool) -> str | None:
    """What is wrong with a part's bytes, or None. `checked`: the store records checksums."""
    if checked and expected is None:
        return "not written by this sweep: the manifest records no checksum for it (copied in?)"
    if expected is not None and digest != expected:
        return (
            f"damaged: its sha256 is {digest[:12]}..., not the {expected[:12]}... recorded "
            "when it was written (bytes changed, or the file was cut short)"
        )
    if expected is None:  # an old store: trust what Parquet can read
        try:
            pq.read_metadata(pa.BufferReader(data))
        except (OSError, ValueError, pa.ArrowException) as e:  # a bad footer: UnicodeDecodeError
            return f"cannot be read as Parquet ({e})"
    return None


def _move_to_damaged(sweep_dir: Path, path: Path) -> None:
    if not path.exists():
        return
    target = sweep_dir / DAMAGED_DIR / path.parent.name / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)
    _fsync_dir(path.parent)
    _fsync_dir(target.parent)


def _recorded_run_ids(sweep_dir: Path) -> npt.NDArray[np.int64]:
    listed = _parts(sweep_dir / RUNS_DIR)
    checksums = _checksums(read_manifest(sweep_dir), RUNS_DIR)
    parts = [(p, _run_id_array(_read_part(p, ["run_id"], checksums))) for p in listed]
    _check_unique(sweep_dir, parts)
    if not parts:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([ids for _, ids in parts])


def _check_unique(sweep_dir: Path, parts: list[tuple[Path, npt.NDArray[np.int64]]]) -> None:
    """Refuse a sweep where a run id is in two rows (files copied by hand): which is right?"""
    if not parts:
        return
    all_ids = np.concatenate([ids for _, ids in parts])
    unique, counts = np.unique(all_ids, return_counts=True)
    repeated = unique[counts > 1]
    if len(repeated) == 0:
        return
    shown = [int(i) for i in repeated[:10]]
    more = f" and {len(repeated) - len(shown)} more" if len(repeated) > len(shown) else ""
    files = [str(p.relative_to(sweep_dir)) for p, ids in parts if np.isin(ids, repeated).any()]
    raise CaravanError(
        f"{sweep_dir}: run ids {', '.join(map(str, shown))}{more} are recorded more than once, "
        f"in {', '.join(files)}; a caravan sweep never writes a run twice, so these files were "
        "copied by hand: remove the copies"
    )


def _concat(sweep_dir: Path, tables: list[pa.Table]) -> pa.Table:
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except pa.ArrowException as e:
        raise CaravanError(f"{sweep_dir}: parts of this sweep do not fit together: {e}") from e


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    # Pandas metadata of the first part (its index) does not describe the concatenated table.
    df: pd.DataFrame = table.replace_schema_metadata(None).to_pandas()
    return df.reset_index(drop=True)


def _with_int64_run_id(table: pa.Table, what: str) -> pa.Table:
    if "run_id" not in table.column_names:
        raise ValueError(f"{what}: no run_id column")
    column = table.column("run_id")
    if not pa.types.is_integer(column.type):
        raise ValueError(f"{what}: run_id must be an integer column, not {column.type}")
    if column.null_count:
        raise ValueError(f"{what}: run_id has missing values")
    if column.type != pa.int64():
        index = table.column_names.index("run_id")
        table = table.set_column(index, "run_id", column.cast(pa.int64()))
    return table


def _run_id_array(table: pa.Table) -> npt.NDArray[np.int64]:
    ids: npt.NDArray[np.int64] = table.column("run_id").to_numpy().astype(np.int64, copy=False)
    return ids


def _first_rows(table: pa.Table, keys: list[str]) -> npt.NDArray[np.int64]:
    """Indices, ascending, of the first row of each distinct value of `keys`."""
    row = "__caravan_row__"
    numbered = table.select(keys).append_column(row, pa.array(np.arange(table.num_rows)))
    firsts = numbered.group_by(keys, use_threads=False).aggregate([(row, "min")])
    out: npt.NDArray[np.int64] = np.sort(firsts.column(f"{row}_min").to_numpy())
    return out


def _remove_debris(sweep_dir: Path) -> list[Path]:
    """Remove what a crash leaves: temp files, and time series parts whose batch never committed."""
    removed: list[Path] = []
    for directory in (sweep_dir, sweep_dir / RUNS_DIR, sweep_dir / TIMESERIES_DIR):
        if not directory.is_dir():
            continue
        for path in directory.glob(f"{TMP_PREFIX}*"):
            if path.is_file():
                path.unlink()
                removed.append(path)
    for path in _parts(sweep_dir / TIMESERIES_DIR):
        if not (sweep_dir / RUNS_DIR / path.name).exists():
            path.unlink()
            removed.append(path)
    for directory in {p.parent for p in removed}:
        _fsync_dir(directory)
    return removed


def write_parquet_atomic(
    path: Path, table: pa.Table, on_commit: Callable[[], None] | None = None
) -> Path:
    """Write a Parquet file whole or not at all (see `_write_atomic`)."""
    return _write_atomic(path, lambda f: pq.write_table(table, f), on_commit)


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    return _write_atomic(path, lambda f: f.write(data), None)


def _write_atomic(
    path: Path, write: Callable[[IO[bytes]], object], on_commit: Callable[[], None] | None
) -> Path:
    """Write `path` whole or not at all: temp file, fsync, rename, fsync the directory.

    `on_commit` runs right after the rename, before anything that could be interrupted, so
    in-memory state follows what is on disk.
    """
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}")
    try:
        with tmp.open("wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise
    if on_commit is not None:
        on_commit()
    _fsync_dir(path.parent)
    return path


def _fsync_dir(directory: Path) -> None:
    """Make renames in `directory` durable; some platforms cannot open a directory: skip."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        if path.is_dir():
            path.rmdir()
        else:
            path.unlink()


def _acquire_lock(sweep_dir: Path) -> int:
    """Lock `sweep_dir` for this process, or say who holds it. The kernel releases the lock
    when the holder dies, so a killed sweep never leaves a stale lock."""
    path = sweep_dir / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        holder = _read_pid(fd)
        os.close(fd)
        if e.errno in {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES}:
            raise CaravanError(
                f"{sweep_dir}: another caravan process (pid {holder}) is writing this sweep; "
                "wait for it to finish or stop it"
            ) from None
        raise CaravanError(f"{path}: cannot lock the sweep directory: {e}") from e
    except BaseException:
        os.close(fd)
        raise
    _HELD_LOCK_FDS.add(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        os.fsync(fd)
    except BaseException:
        _release_lock(fd)
        raise
    return fd


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
    except OSError:
        text = ""
    return text if text.isdigit() else "unknown"


def _release_lock(fd: int) -> None:
    _HELD_LOCK_FDS.discard(fd)
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
