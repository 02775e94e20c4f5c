"""`caravan sweep` shrunk or changed from the command line: `--set` (the base scenario),
`--replicates`, `--limit N` (the design's first N points), and `--dry-run`, which times a few
runs and estimates the whole sweep's wall time. Each is stated in the output and the manifest,
and a sweep so changed resumes only with the same flags.

The sweep is the interrupt tests' (`ref`: 20 points x 10 replicates of the January 2021
scenario with 300 people); results are compared with its serial run (`expected`).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from _sweep_helpers import (
    EXIT_INPUT_ERROR,
    REPLICATES,
    SLIP,
    SPEED,
    TOTAL_RUNS,
    assert_identical,
    read_manifest,
    results,
)

from sim.cli import main
from sim.sweep.plan import load_sweep_file
from sim.sweep.runner import TimeEstimate

POINTS = TOTAL_RUNS // REPLICATES


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    """`caravan ARGS` run by `sim.cli.main` here: its exit status and output."""
    capsys.readouterr()
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, status, captured.out, captured.err)


def by_point_and_replicate(runs: pd.DataFrame) -> pd.DataFrame:
    """Rows keyed by what they are, not by run id (which depends on the replicate count)."""
    return (
        runs.drop(columns=["run_id"]).sort_values(["point_id", "replicate"]).reset_index(drop=True)
    )


def test_limit_keeps_the_first_points_of_the_design(ref: tuple[Path, Path]) -> None:
    full = load_sweep_file(ref[0])
    limited = load_sweep_file(ref[0], limit=3)
    assert (limited.design.n_points, limited.points_in_file, limited.limited) == (3, POINTS, True)
    assert limited.n_runs == 3 * REPLICATES
    assert [r.values for r in limited.runs()] == [r.values for r in list(full.runs())[:30]]
    assert not load_sweep_file(ref[0], limit=POINTS + 5).limited  # more than there are: all


def test_a_limited_sweep_runs_the_first_points_and_says_so(
    tmp_path: Path,
    ref: tuple[Path, Path],
    expected: pd.DataFrame,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    done = cli(capsys, "sweep", ref[0], "--out", out, "--workers", "1", "--limit", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        f"grid design, 2 points (the first 2 of {POINTS}) x {REPLICATES} replicates = "
        f"{2 * REPLICATES} runs" in done.stdout
    )
    manifest = read_manifest(out)
    assert (manifest["design"]["points"], manifest["design"]["points_in_file"]) == (2, POINTS)
    assert manifest["command_line"] == ["--limit 2"]
    assert manifest["runs_total"] == 2 * REPLICATES
    assert_identical(results(out), expected[expected["point_id"] < 2])


def test_replicates_from_the_command_line(
    tmp_path: Path,
    ref: tuple[Path, Path],
    expected: pd.DataFrame,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out"
    args = ("sweep", ref[0], "--out", out, "--workers", "1", "--limit", "1")
    done = cli(capsys, *args, "--replicates", "2")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 points (the first 1 of 20) x 2 replicates = 2 runs" in done.stdout
    manifest = read_manifest(out)
    assert manifest["command_line"] == ["--replicates 2", "--limit 1"]
    assert manifest["design"]["replicates"] == 2
    # replicates r = 0, 1 of point 0 use seeds seed + r, as in the reference
    want = expected[(expected["point_id"] == 0) & (expected["replicate"] < 2)]
    assert_identical(by_point_and_replicate(results(out)), by_point_and_replicate(want))


def test_set_from_the_command_line_changes_the_base_scenario(
    tmp_path: Path, ref: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    args = ("sweep", ref[0], "--out", out, "--workers", "1", "--limit", "1")
    done = cli(capsys, *args, "--replicates", "1", "--set", "population.size=400")
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = read_manifest(out)
    assert manifest["command_line"] == ["--set population.size=400", "--replicates 1", "--limit 1"]
    base = yaml.safe_load((out / "base-scenario.yaml").read_text(encoding="utf-8"))
    assert base["population"]["size"] == 400  # the command line's value, not the file's 300
    assert base["output"]["plots"] is False  # the rest of the file's set still applies


def test_the_command_lines_set_wins_over_the_files(ref: tuple[Path, Path]) -> None:
    sweep = load_sweep_file(ref[0], sets=("population.size=400",))
    assert sweep.base.population.size == 400  # the file sets 300
    assert load_sweep_file(ref[0]).base.population.size == 300


def test_set_of_a_varied_key_is_refused(
    tmp_path: Path, ref: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    done = cli(capsys, "sweep", ref[0], "--out", tmp_path / "out", "--set", f"{SPEED}=3")
    assert done.returncode == EXIT_INPUT_ERROR
    assert done.stderr.strip() == (
        f"error: --set {SPEED}=3: {SPEED}: is varied by the sweep's parameters; vary it or fix "
        "it, not both"
    )
    assert not (tmp_path / "out").exists()


def test_resume_needs_the_same_flags(
    tmp_path: Path, ref: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    first = cli(capsys, "sweep", ref[0], "--out", out, "--workers", "1", "--limit", "1")
    assert first.returncode == 0, first.stderr
    same = cli(capsys, "sweep", ref[0], "--out", out, "--workers", "1", "--limit", "1", "--resume")
    assert same.returncode == 0, same.stderr
    assert "(0 by this session" in same.stdout
    other = cli(capsys, "sweep", ref[0], "--out", out, "--limit", "2", "--resume")
    assert other.returncode == EXIT_INPUT_ERROR
    assert "cannot resume: the design points" in other.stderr


def test_sobol_indices_refuse_a_limited_design(
    tmp_path: Path, sobol_sweep_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "sobol"
    shutil.copytree(sobol_sweep_dir, copy)
    manifest = read_manifest(copy)  # as a sweep run with --limit 32 writes it
    manifest["design"]["points_in_file"] = 64
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    done = cli(capsys, "sensitivity", copy)
    assert done.returncode == EXIT_INPUT_ERROR
    assert done.stderr.strip() == (
        f"error: {copy}: ran only the first 32 of the design's 64 points (--limit); Sobol' "
        "indices need them all"
    )


def test_the_estimate_is_the_mean_run_time_times_the_runs_over_the_workers() -> None:
    estimate = TimeEstimate(runs=200, sample_s=(0.02, 0.03, 0.04), workers=4)
    assert estimate.per_run_s == pytest.approx(0.03)
    assert estimate.serial_s == pytest.approx(6.0)
    assert estimate.wall_s == pytest.approx(1.5)


def test_dry_run_times_a_few_runs_and_writes_nothing(
    tmp_path: Path, ref: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    done = cli(capsys, "sweep", ref[0], "--out", out, "--workers", "2", "--dry-run")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == "timing 3 runs, one after another, after one that compiles..."
    timed = re.fullmatch(
        r"(\d+\.\d\d) s a run \(timed: (\d+\.\d\d), (\d+\.\d\d), (\d+\.\d\d) s\); "
        rf"{TOTAL_RUNS} runs take (\d+) s one after another",
        lines[2],
    )
    assert timed, lines
    mean_s, *samples_s, serial_s = (float(x) for x in timed.groups())
    assert mean_s == pytest.approx(sum(samples_s) / 3, abs=0.01)
    assert serial_s == pytest.approx(mean_s * TOTAL_RUNS, abs=0.5 + TOTAL_RUNS * 0.005)
    wall = re.fullmatch(
        r"estimated wall time with --workers 2: (\d+) s, assuming ideal parallel efficiency "
        r"\(2 runs at once, each as fast as alone; workers sharing cores make it longer\)",
        lines[3],
    )
    assert wall, lines
    assert float(wall.group(1)) == pytest.approx(serial_s / 2, abs=1)
    assert lines[4:] == ["dry run: nothing was written"]
    assert not out.exists()
    assert SLIP in lines[0]


def test_dry_run_with_resume_estimates_what_is_left(
    tmp_path: Path, ref: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    shutil.copytree(ref[1], out)
    manifest = read_manifest(out)
    manifest["runs_done"] = TOTAL_RUNS - 30  # as a sweep stopped 30 runs short says
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    done = cli(capsys, "sweep", ref[0], "--out", out, "--resume", "--dry-run", "--workers", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"; 30 runs still to run take \d+ s one after another", done.stdout)
