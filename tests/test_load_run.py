"""`sim.load_run` gives back what `sim.run` returned and `write_run` wrote; a directory it cannot
read is named with what is wrong. Also `Results.step_at`, which turns a time into a step."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

import sim
from sim.errors import CaravanError
from sim.results import Results
from sim.rundir import write_run
from sim.scenario import Scenario

Run = tuple[Scenario, list[Results]]


def test_a_run_directory_reads_back_as_the_runs_written(
    small_january: Run, small_run_dir: Path
) -> None:
    scenario, runs = small_january
    saved = sim.load_run(small_run_dir)
    assert saved.path == small_run_dir
    assert saved.scenario.model_dump(exclude={"source_file"}) == scenario.model_dump(
        exclude={"source_file"}
    )
    assert saved.summary["seeds"] == [0, 1, 2]
    assert len(saved.replicates) == len(runs)
    for got, ran in zip(saved.replicates, runs, strict=True):
        assert got.seed == ran.seed
        assert got.scenario_name == ran.scenario_name
        assert got.start == ran.start
        assert got.step_h == ran.step_h
        assert got.place_ids == ran.place_ids
        assert got.road_ends == ran.road_ends
        np.testing.assert_array_equal(got.counts, ran.counts)
        np.testing.assert_array_equal(got.places, ran.places)
        np.testing.assert_array_equal(got.roads, ran.roads)
        np.testing.assert_array_equal(got.place_lat, ran.place_lat)
        np.testing.assert_array_equal(got.place_lon, ran.place_lon)
        assert got.outcomes == ran.outcomes
        assert got.events == ran.events
        assert got.times == ran.times


def copy_of(run_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(run_dir, out)
    return out


def test_not_a_run_directory(tmp_path: Path) -> None:
    with pytest.raises(CaravanError, match=r"nowhere: not a run directory \(no such directory\)"):
        sim.load_run(tmp_path / "nowhere")
    with pytest.raises(
        CaravanError, match=r": not a run directory \(it has no summary.json; `caravan run`"
    ):
        sim.load_run(tmp_path)


def test_a_missing_table_names_the_setting_that_left_it_out(
    small_run_dir: Path, tmp_path: Path
) -> None:
    run_dir = copy_of(small_run_dir, tmp_path)
    (run_dir / "places.parquet").unlink()
    with pytest.raises(CaravanError) as caught:
        sim.load_run(run_dir)
    assert str(caught.value) == (
        f"{run_dir / 'places.parquet'}: missing; the run was written with output.place_counts: "
        "false; rerun it with --set output.place_counts=true"
    )


def test_tables_of_another_run_are_refused(small_run_dir: Path, tmp_path: Path) -> None:
    run_dir = copy_of(small_run_dir, tmp_path)
    table = pq.read_table(run_dir / "roads.parquet")
    pq.write_table(table.slice(0, table.num_rows - 1), run_dir / "roads.parquet")
    with pytest.raises(CaravanError, match=r"roads.parquet: 24533 rows where scenario.yaml and"):
        sim.load_run(run_dir)


def test_a_summary_that_is_not_one(small_run_dir: Path, tmp_path: Path) -> None:
    run_dir = copy_of(small_run_dir, tmp_path)
    (run_dir / "summary.json").write_text(json.dumps({"replicates": 3}), encoding="utf-8")
    with pytest.raises(CaravanError, match=r"not a run summary \(no seeds, version, per_replicate"):
        sim.load_run(run_dir)
    (run_dir / "summary.json").write_text("{", encoding="utf-8")
    with pytest.raises(CaravanError, match="cannot read the run summary"):
        sim.load_run(run_dir)


def test_a_run_of_several_hours_per_step_reads_back(make_scenario: Any, tmp_path: Path) -> None:
    scenario = make_scenario({"population": {"size": 3}, "time": {"step_h": 2}})
    runs = [sim.run(scenario, seed=s) for s in (4, 5)]
    write_run(tmp_path / "r", scenario, runs)
    saved = sim.load_run(tmp_path / "r")
    assert [r.seed for r in saved.replicates] == [4, 5]
    np.testing.assert_array_equal(saved.replicates[1].places, runs[1].places)


# --------------------------------------------------------------------------------------------
# Results.step_at
# --------------------------------------------------------------------------------------------


def test_step_at_is_the_last_step_ended_by_then(small_january: Run) -> None:
    _, runs = small_january
    results = runs[0]
    start = results.start  # 13 January 18:00, hourly steps: step s ends at 18:00 + (s + 1) h
    assert results.step_at(start + timedelta(hours=1)) == 0
    assert results.step_at(start + timedelta(hours=1, minutes=59)) == 0
    assert results.step_at(start + timedelta(hours=2)) == 1
    assert results.step_at(start + timedelta(hours=174)) == 173
    with pytest.raises(ValueError, match="is outside the run, whose steps end from 2021-01-13"):
        results.step_at(start + timedelta(minutes=59))
    with pytest.raises(ValueError, match="is outside the run"):
        results.step_at(datetime.fromisoformat("2021-01-21T01:00:00-06:00"))
