"""`caravan export csv`: each Parquet table of a run directory as CSV that reads back to the
same values, every column described with its unit in columns.csv, and the input errors."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest

from sim.cli import main
from sim.export import tables

EXIT_INPUT_ERROR = 2
TABLES = ["timeseries", "places", "roads", "events"]


def caravan(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out.replace("\n", ""), err.replace("\n", " ").strip()


@pytest.fixture(scope="module")
def csv_dir(small_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("csv") / "january"
    assert main(["export", "csv", str(small_run_dir), "--out", str(out)]) == 0
    return out


def read_columns(csv_dir: Path) -> list[dict[str, str]]:
    with (csv_dir / "columns.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_every_table_reads_back_to_the_parquet_values(csv_dir: Path, small_run_dir: Path) -> None:
    assert sorted(p.name for p in csv_dir.iterdir()) == sorted(
        [f"{name}.csv" for name in TABLES] + ["columns.csv"]
    )
    for name in TABLES:
        parquet = pq.read_table(small_run_dir / f"{name}.parquet").replace_schema_metadata(None)
        options = pa_csv.ConvertOptions(column_types=parquet.schema)
        back = pa_csv.read_csv(csv_dir / f"{name}.csv", convert_options=options)
        assert back.schema == parquet.schema, name
        assert back.equals(parquet), name
        assert back.num_rows > 0, name


def test_times_keep_the_scenarios_offset(csv_dir: Path) -> None:
    with (csv_dir / "timeseries.csv").open(encoding="utf-8", newline="") as f:
        first = next(csv.DictReader(f))
    assert (first["step"], first["hour"], first["time"]) == (
        "1",
        "1",
        "2021-01-13 19:00:00.000-0600",
    )


def test_every_column_of_every_file_is_described_with_its_unit(csv_dir: Path) -> None:
    described = read_columns(csv_dir)
    for name in TABLES:
        with (csv_dir / f"{name}.csv").open(encoding="utf-8", newline="") as f:
            header = next(csv.reader(f))
        assert [r["column"] for r in described if r["file"] == f"{name}.csv"] == header
    assert all(r["label"] and r["description"] for r in described)
    assert not [r for r in described if "not described" in r["description"]]
    by_key = {(r["file"], r["column"]): r for r in described}
    assert by_key[("timeseries.csv", "hour")]["unit"] == "h"
    assert by_key[("timeseries.csv", "time")]["unit"] == "local time (UTC-06:00)"
    assert by_key[("timeseries.csv", "new_held")] == {
        "file": "timeseries.csv",
        "column": "new_held",
        "unit": "people",
        "label": "held",
        "description": "stopped by a border force or blockade (during the step)",
    }
    assert by_key[("timeseries.csv", "cum_held")]["label"] == "held (running total)"
    assert by_key[("places.csv", "n_held")]["description"] == (
        "held at the place by a border force or blockade (at the step's end)"
    )
    counts = [r for r in described if r["column"].startswith(("new_", "cum_", "n_"))]
    assert counts
    assert {r["unit"] for r in counts} == {"people"}


def test_an_unknown_column_is_said_to_be_undescribed() -> None:
    assert tables.describe("new_column_of_the_future", pa.int64()) == (
        "",
        "new_column_of_the_future",
        "not described by this version of caravan-sim",
    )


def test_a_directory_with_files_is_replaced_only_with_overwrite(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, small_run_dir: Path
) -> None:
    out = tmp_path / "csv"
    out.mkdir()
    (out / "mine.txt").write_text("mine", encoding="utf-8")
    code, _, err = caravan(capsys, "export", "csv", small_run_dir, "--out", out)
    assert (code, err) == (
        EXIT_INPUT_ERROR,
        f"error: {out}: already holds results; choose another --out, or pass --overwrite to "
        "replace them",
    )
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    code, printed, _ = caravan(capsys, "export", "csv", small_run_dir, "--out", out, "--overwrite")
    assert code == 0
    assert printed.startswith(f"wrote {out / 'timeseries.csv'}, ")
    assert not (out / "mine.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["csv"]  # no staging left


def test_a_bad_run_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    code, _, err = caravan(capsys, "export", "csv", missing, "--out", tmp_path / "out")
    assert (code, err) == (
        EXIT_INPUT_ERROR,
        f"error: {missing}: not a run directory (no such directory)",
    )
    code, _, err = caravan(capsys, "export", "csv", tmp_path, "--out", tmp_path / "out")
    assert (code, err) == (
        EXIT_INPUT_ERROR,
        f"error: {tmp_path}: not a run directory (it has no summary.json; `caravan run` writes "
        "one)",
    )
    assert not (tmp_path / "out").exists()


def test_a_damaged_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, small_run_dir: Path
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(small_run_dir, run_dir)
    (run_dir / "events.parquet").write_bytes(b"not parquet")
    code, _, err = caravan(capsys, "export", "csv", run_dir, "--out", tmp_path / "out")
    assert code == EXIT_INPUT_ERROR
    assert err.startswith(f"error: {run_dir / 'events.parquet'}: cannot read this table: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # nothing half-written
