"""Sweeps end to end in this process: each row is the run it claims to be; Sobol' indices match
an analytic answer; `caravan sensitivity` and `--dry-run` as a user calls them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import sim
import sim.sweep.worker
from sim.results import timeseries_table
from sim.scenario import derive
from sim.sweep.executors import SerialExecutor
from sim.sweep.plan import load_sweep_file
from sim.sweep.runner import SweepFailedError, manifest_for, run_sweep
from sim.sweep.sensitivity import sobol_indices
from sim.sweep.store import PROVENANCE_COLUMNS, SweepStore

REPO = Path(__file__).resolve().parent.parent
BASE = REPO / "scenarios" / "january-2021.yaml"
SPEED = "movement.walking_speed_kmh"
SLIP = "authorities.vado_hondo_blockade.slip_chance_per_h"
EXIT_INPUT_ERROR = 2


def write_sweep(tmp_path: Path, body: str, name: str = "sweep.yaml") -> Path:
    path = tmp_path / name
    path.write_text(
        f"name: small\nbase: {BASE}\n"
        "set: {population.size: 300, time.duration_h: 60, output.plots: false}\n" + body,
        encoding="utf-8",
    )
    return path


def caravan(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
        timeout=300,
    )


def test_each_row_is_the_run_of_its_point_and_seed(tmp_path: Path) -> None:
    path = write_sweep(
        tmp_path,
        f"""parameters:
  {SPEED}: {{values: [2.5, 4.0], label: speed_kmh}}
  {SLIP}: {{values: [0.001, 0.05]}}
replicates: 2
seed: 11
record: {{time_series: true}}
""",
    )
    sweep = load_sweep_file(path)
    out = tmp_path / "out"
    summary = run_sweep(sweep, out, SerialExecutor())
    assert (summary.status, summary.done_now, summary.total_runs) == ("complete", 8, 8)
    runs = sim.load_sweep(out)
    assert runs["run_id"].tolist() == list(range(8))
    assert runs["seed"].tolist() == [11, 12] * 4
    assert runs["speed_kmh"].tolist() == [2.5] * 4 + [4.0] * 4
    series = sim.load_sweep_timeseries(out)
    for run_id in (0, 5):
        row = runs.loc[run_id]
        scenario = derive(sweep.base, {SPEED: row["speed_kmh"], SLIP: row[SLIP]})
        direct = sim.run(scenario, seed=int(row["seed"]), threads=False)
        assert {k: int(row[k]) for k in direct.outcomes} == direct.outcomes
        expected = timeseries_table(direct).drop_columns(["replicate"]).to_pandas()
        got = series[series["run_id"] == run_id].drop(columns="run_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    # the points differ: faster walkers reach the blockade before it goes up
    assert runs.groupby("speed_kmh")["entered_guatemala"].mean().nunique() > 1 or (
        runs.groupby("speed_kmh")["reached_mexican_border"].mean().nunique() > 1
    )
    manifest = runs.attrs["manifest"]
    assert manifest["status"] == "complete"
    assert manifest["runs_done"] == manifest["runs_total"] == 8
    assert manifest["sessions"][0]["executor"] == "serial"
    assert (out / "sweep.yaml").read_text() == path.read_text()
    assert sim.load(out / "base-scenario.yaml") == sweep.base.model_copy(
        update={"source_file": str(out / "base-scenario.yaml")}
    )


def test_sobol_indices_match_an_additive_model(tmp_path: Path) -> None:
    """y = x1 + x2 with x1 ~ U(0, 1), x2 ~ U(0, 2): S1 = ST = 1/5 and 4/5."""
    path = write_sweep(
        tmp_path,
        f"""parameters:
  {SPEED}: {{range: [0.5, 1.5], label: x1}}
  {SLIP}: {{range: [0.0, 0.02], label: x2}}
design: {{kind: sobol, base_points: 1024}}
replicates: 2
""",
    )
    sweep = load_sweep_file(path)
    x1 = np.array(sweep.design.columns["x1"]) - 0.5
    x2 = np.array(sweep.design.columns["x2"]) * 100.0
    points = np.repeat(np.arange(sweep.design.n_points), 2)
    noise = np.tile([-0.5, 0.5], sweep.design.n_points)  # cancels in each point's mean
    out = tmp_path / "synthetic"
    manifest = manifest_for(sweep, sweep.fingerprints())
    manifest["runs_total"] = len(points)
    with SweepStore.create(out, manifest, {}, sweep.design.table()) as store:
        store.write_batch(
            pa.table(
                {
                    "run_id": np.arange(len(points)),
                    "point_id": points,
                    "replicate": np.tile([0, 1], sweep.design.n_points),
                    "seed": np.tile([0, 1], sweep.design.n_points),
                    "x1": x1[points] + 0.5,
                    "x2": x2[points] / 100.0,
                    "y": x1[points] + x2[points] + noise,
                    "constant": np.ones(len(points)),
                }
            )
        )
    indices = sobol_indices(out)
    assert indices.second.empty
    assert set(indices.first["outcome"]) == {"y"}
    assert indices.constant == ["constant"]
    got = indices.first.set_index("parameter")
    assert got.loc["x1", "S1"] == pytest.approx(0.2, abs=0.03)
    assert got.loc["x2", "S1"] == pytest.approx(0.8, abs=0.03)
    assert got.loc["x1", "ST"] == pytest.approx(0.2, abs=0.03)
    assert got.loc["x2", "ST"] == pytest.approx(0.8, abs=0.03)
    assert (got["S1_conf"] > 0).all()


def test_caravan_sensitivity_on_a_small_sobol_sweep(tmp_path: Path) -> None:
    path = write_sweep(
        tmp_path,
        f"""parameters:
  {SPEED}: {{range: [2.0, 5.0], label: speed_kmh}}
  movement.ride_chance_per_h.HN: {{range: [0.0, 0.4], label: ride_chance_hn}}
design: {{kind: sobol, base_points: 8}}
""",
    )
    out = tmp_path / "out"
    done = caravan("sweep", str(path), "--out", str(out), "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "complete: 32 of 32 runs" in done.stdout
    assert "Sobol' indices" in done.stdout  # printed at the end of a Sobol sweep
    first = pd.read_parquet(out / "sensitivity.parquet")
    assert set(first["parameter"]) == {"speed_kmh", "ride_chance_hn"}
    assert np.isfinite(first[["S1", "ST"]].to_numpy()).all()
    again = caravan("sensitivity", str(out), "--outcome", "entered_guatemala")
    assert again.returncode == 0, again.stderr
    assert "entered_guatemala" in again.stdout
    assert "departed" in again.stdout  # listed among the constant outcomes
    pd.testing.assert_frame_equal(pd.read_parquet(out / "sensitivity.parquet"), first)
    bad = caravan("sensitivity", str(out), "--outcome", "entered_gautemala")
    assert bad.returncode == EXIT_INPUT_ERROR
    assert "did you mean 'entered_guatemala'" in bad.stderr
    constant = caravan("sensitivity", str(out), "--outcome", "departed")
    assert constant.returncode == EXIT_INPUT_ERROR
    assert "does not vary in this sweep" in constant.stderr


def test_sensitivity_refuses_other_designs_and_unfinished_sweeps(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, f"parameters:\n  {SPEED}: {{values: [2.5, 3.0]}}\n")
    out = tmp_path / "grid"
    run_sweep(load_sweep_file(path), out, SerialExecutor())
    done = caravan("sensitivity", str(out))
    assert done.returncode == EXIT_INPUT_ERROR
    assert "a grid design; Sobol' indices need a sweep with" in done.stderr
    not_a_sweep = caravan("sensitivity", str(tmp_path))
    assert not_a_sweep.returncode == EXIT_INPUT_ERROR
    assert "not a sweep directory" in not_a_sweep.stderr


def test_dry_run_shows_the_plan_and_writes_nothing(tmp_path: Path) -> None:
    path = write_sweep(
        tmp_path,
        f"parameters:\n  {SPEED}: {{values: [2.5, 3.0, 3.5]}}\nreplicates: 4\n",
    )
    out = tmp_path / "out"
    done = caravan("sweep", str(path), "--out", str(out), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "grid design, 3 points x 4 replicates = 12 runs" in done.stdout
    assert not out.exists()


def test_provenance_is_the_only_column_that_differs_between_identical_sweeps(
    tmp_path: Path,
) -> None:
    path = write_sweep(tmp_path, f"parameters:\n  {SPEED}: {{values: [2.5, 3.0]}}\n")
    sweep = load_sweep_file(path)
    run_sweep(sweep, tmp_path / "a", SerialExecutor())
    run_sweep(sweep, tmp_path / "b", SerialExecutor(), batch_size=1)
    a = sim.load_sweep(tmp_path / "a").drop(columns=list(PROVENANCE_COLUMNS))
    b = sim.load_sweep(tmp_path / "b").drop(columns=list(PROVENANCE_COLUMNS))
    pd.testing.assert_frame_equal(a, b)


def test_a_run_that_fails_stops_the_sweep_and_keeps_what_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_sweep(tmp_path, f"parameters:\n  {SPEED}: {{values: [2.5, 3.0, 3.5]}}\n")
    sweep = load_sweep_file(path)
    real_run = sim.sweep.worker.run

    def run_or_fail(scenario: sim.Scenario, seed: int, threads: bool) -> sim.Results:
        if scenario.movement.walking_speed_kmh == 3.5:
            raise RuntimeError("a bug")
        return real_run(scenario, seed=seed, threads=threads)

    monkeypatch.setattr(sim.sweep.worker, "run", run_or_fail)
    out = tmp_path / "out"
    with pytest.raises(SweepFailedError, match=r"run 2 to 2 \(points 2-2\) failed: RuntimeError"):
        run_sweep(sweep, out, SerialExecutor(), batch_size=1)
    runs = sim.load_sweep(out)
    assert runs["run_id"].tolist() == [0, 1]
    assert runs.attrs["manifest"]["status"] == "failed"
    monkeypatch.setattr(sim.sweep.worker, "run", real_run)
    summary = run_sweep(sweep, out, SerialExecutor(), resume=True)
    assert (summary.status, summary.done_before, summary.done_now) == ("complete", 2, 1)
