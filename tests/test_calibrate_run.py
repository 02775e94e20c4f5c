"""Calibration end to end, on a small scenario whose answer is known (`_calibration_helpers`):
calibrating to figures made at chosen values recovers them; the same calibration interrupted
and resumed, or run on two local worker processes, gives the same result.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import signal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from _calibration_helpers import (
    SHORT_GENERATIONS,
    SHORT_PARTICLES,
    Interrupt,
    Setup,
    assert_recovers_the_truth,
    assert_same,
    calibrate,
    comparable,
)
from _sweep_helpers import background_caravan, caravan, run_parts, wait_until

import sim
from sim import plots
from sim.calibrate.plan import plan_calibration
from sim.calibrate.results import phase_rows
from sim.calibrate.runner import CalibrationOutcome, run_calibration
from sim.errors import CaravanError
from sim.sweep.executors import SerialExecutor
from sim.sweep.store import load_sweep


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    return Setup(tmp_path_factory.mktemp("calibration"))


@pytest.fixture(scope="module")
def reference(setup: Setup) -> tuple[CalibrationOutcome, dict[str, Any]]:
    """The calibration run serially and uninterrupted."""
    return calibrate(setup.plan(), setup.directory / "reference")


@pytest.fixture(scope="module")
def short_reference(setup: Setup) -> Path:
    """The short calibration run serially and uninterrupted: its directory."""
    out = setup.directory / "short"
    calibrate(setup.plan(short=True), out)
    return out


def test_calibration_recovers_the_values_that_made_the_figures(
    reference: tuple[CalibrationOutcome, dict[str, Any]],
) -> None:
    outcome, summary = reference
    assert len(outcome.generations) >= 3
    assert_recovers_the_truth(summary, narrower_than=0.25)
    tolerances = [g["tolerance"] for g in summary["generations"][1:]]
    assert tolerances == sorted(tolerances, reverse=True)


def test_every_simulation_is_recorded_once_and_counted(
    setup: Setup, reference: tuple[CalibrationOutcome, dict[str, Any]]
) -> None:
    outcome, summary = reference
    sims = load_sweep(setup.directory / "reference")
    assert sims["run_id"].is_unique
    by_phase = sims["phase"].value_counts().to_dict()
    assert by_phase == {
        "abc": sum(g.simulations for g in outcome.generations),
        "predictive": 20,
        "candidate": 6 * 4,  # the medians and the 5 closest particles, 4 seeds each
        "check": 5,
    }
    assert summary["simulations"] == {**by_phase, "total": len(sims)}
    # the kept particles are simulations within their generation's tolerance
    for g in outcome.generations:
        kept = sims.set_index("run_id").loc[g.run_ids]
        assert (kept["distance"] <= g.tolerance).all()
        assert (kept["generation"] == g.index).all()


def test_the_calibrated_scenario_reproduces_its_check_runs(
    setup: Setup, reference: tuple[CalibrationOutcome, dict[str, Any]]
) -> None:
    """calibrated.yaml extends the scenario with the chosen point; running it with seeds 0-4
    gives exactly the rows the report summarises as "calibrated scenario"."""
    out = setup.directory / "reference"
    text = (out / "calibrated.yaml").read_text()
    assert "# calibrated (truth): posterior median " in text
    calibrated = sim.load(out / "calibrated.yaml")
    _, summary = reference
    assert (
        calibrated.authorities["stops"].intercept_chance
        == (  # type: ignore[union-attr]
            summary["parameters"]["intercept"]["calibrated_value"]
        )
    )
    check = load_sweep(out)
    final = summary["generations"][-1]["generation"]
    check = phase_rows(check, "check", final).sort_values("replicate")
    for r, row in enumerate(check.itertuples()):
        outcomes = sim.run(calibrated, seed=r).outcomes
        assert row.remitted == outcomes["remitted"]
        assert row.tested_positive == outcomes["tested_positive"]


def test_the_calibrations_files_name_the_package_version(short_reference: Path) -> None:
    version = sim.package_version()
    summary = json.loads((short_reference / "summary.json").read_text(encoding="utf-8"))
    manifest = json.loads((short_reference / "manifest.json").read_text(encoding="utf-8"))
    assert summary["package_version"] == manifest["package_version"] == version
    report = (short_reference / "report.md").read_text(encoding="utf-8")
    assert f", caravan-sim {version}. ABC-SMC with" in report
    calibrated = (short_reference / "calibrated.yaml").read_text(encoding="utf-8")
    header = " ".join(line.lstrip("# ") for line in calibrated.splitlines() if line[:1] == "#")
    assert f" by caravan-sim {version}): " in header


def test_an_interrupted_calibration_resumes_to_the_same_result(
    setup: Setup, tmp_path: Path, short_reference: Path
) -> None:
    out = tmp_path / "out"
    plan = setup.plan(short=True)
    with pytest.raises(KeyboardInterrupt):
        calibrate(plan, out, progress=Interrupt(after=SHORT_PARTICLES + 10))  # in generation 1
    manifest = yaml.safe_load((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    recorded = len(load_sweep(out))
    assert SHORT_PARTICLES + 10 <= recorded < len(load_sweep(short_reference))
    with pytest.raises(Exception, match="cannot resume: the calibration settings or the seed"):
        run_calibration(
            plan_calibration(
                setup.scenario,
                setup.targets,
                seed=6,
                particles=SHORT_PARTICLES,
                generations=SHORT_GENERATIONS,
            ),
            out,
            SerialExecutor(),
            resume=True,
        )
    outcome, _ = calibrate(plan, out, resume=True)
    assert outcome.simulations_now == len(load_sweep(out)) - recorded  # nothing run twice
    assert_same(comparable(out), comparable(short_reference))
    sessions = yaml.safe_load((out / "manifest.json").read_text())["sessions"]
    assert [s["status"] for s in sessions] == ["interrupted", "complete"]


def test_the_command_interrupted_on_two_workers_and_resumed(
    setup: Setup, tmp_path: Path, short_reference: Path
) -> None:
    """`caravan calibrate --workers 2`, stopped by Ctrl-C once simulations are recorded, then
    resumed: the same result as the serial, uninterrupted reference."""
    out = tmp_path / "out"
    args = [*setup.cli_args(out, short=True), "--workers", "2"]
    with background_caravan(tmp_path / "log", *args) as job:
        wait_until(lambda: len(run_parts(out)) >= 3, "simulations are recorded", proc=job.proc)
        job.signal_group(signal.SIGINT)
        status = job.wait()
    assert status == 130, job.output
    assert "continue with: caravan calibrate" in job.stdout
    assert f"--out {out} --seed 5" in job.stdout.replace("\n", "")
    assert job.stdout.replace("\n", "").rstrip().endswith("--workers 2 --resume")  # all of it
    done = caravan(*args, "--resume")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "calibrated to truth" in done.stdout
    assert_same(comparable(out), comparable(short_reference))


def test_a_damaged_part_is_simulated_again_on_resume(
    setup: Setup, tmp_path: Path, short_reference: Path
) -> None:
    """A part of a finished calibration with a flipped byte: --resume sets it aside, runs its
    simulations again, and ends with the result of the undamaged calibration."""
    out = tmp_path / "out"
    shutil.copytree(short_reference, out)
    damaged = run_parts(out)[2]
    data = bytearray(damaged.read_bytes())
    data[len(data) // 3] ^= 0xFF
    damaged.write_bytes(bytes(data))
    with pytest.raises(CaravanError, match=f"{re.escape(str(damaged))}: damaged: "):
        load_sweep(out)
    outcome, _ = calibrate(setup.plan(short=True), out, resume=True)
    assert [d.path for d in outcome.damaged] == [damaged]
    held = pq.read_metadata(short_reference / "runs" / damaged.name).num_rows
    assert outcome.simulations_now == held  # only what the damaged part held
    assert_same(comparable(out), comparable(short_reference))


def test_the_calibrated_scenario_is_not_written_over(setup: Setup, tmp_path: Path) -> None:
    target = tmp_path / "calibrated.yaml"
    target.write_text("mine\n")
    done = caravan(*setup.cli_args(tmp_path / "out"), "--write-scenario", target)
    assert done.returncode == 2
    assert f"{target} exists; pass --overwrite" in done.stderr
    assert target.read_text() == "mine\n"
    assert not (tmp_path / "out").exists()


def test_the_report_plots_show_the_posterior_and_the_figures(
    setup: Setup, reference: tuple[CalibrationOutcome, dict[str, Any]]
) -> None:
    out = setup.directory / "reference"
    _, summary = reference
    sims = load_sweep(out)
    predictive = sims[sims["phase"] == "predictive"]
    fig = plots.predictive_check(summary["targets"], predictive)
    shown = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_title() for ax in shown] == [
        "Remitted (intercepted); tolerance ±5%",
        "Tested; tolerance ±5%",
        "Tested positive; tolerance binomial, of tested",
    ]
    assert [ax.get_xlabel() for ax in shown] == ["People"] * 3  # the lowest of each column
    for ax, target_id in zip(shown, ("remitted", "tested", "tested_positive"), strict=True):
        (observed,) = [line for line in ax.lines if line.get_label() == "Observed"]
        assert observed.get_xdata()[0] == setup.observed[target_id]
        (bars,) = ax.containers
        assert sum(bar.get_height() for bar in bars) == len(predictive)  # every draw is shown
    posterior = pq.read_table(out / "posterior.parquet").to_pandas()
    fig = plots.posterior_pairs(posterior, ["intercept", "prevalence"], summary["parameters"])
    visible = [ax for ax in fig.axes if ax.axison]
    assert len(visible) == 3  # two histograms and one pair
    assert [ax.get_xlabel() for ax in visible[-2:]] == ["Intercept", "Prevalence"]
    (pair,) = [ax for ax in visible if ax.collections]
    assert len(pair.collections[0].get_offsets()) == len(posterior)
    assert (out / "pairs.png").stat().st_size > 0 and (out / "predictive.png").stat().st_size > 0


def test_posteriors_of_two_target_sets_on_the_prior_scale() -> None:
    """Positions are shares of the prior range: the median 5 of uniform [0, 10] sits at 0.5,
    and so does the median 10 of loguniform [1, 100] (halfway on the log scale)."""

    def summary(a: tuple[float, float, float], b: tuple[float, float, float]) -> dict[str, Any]:
        return {
            "parameters": {
                "a": {
                    "prior": {"prior": "uniform", "range": [0, 10]},
                    **dict(zip(("p05", "median", "p95"), a, strict=True)),
                },
                "b": {
                    "prior": {"prior": "loguniform", "range": [1, 100]},
                    **dict(zip(("p05", "median", "p95"), b, strict=True)),
                },
            }
        }

    fig = plots.compare_posteriors(
        {"one": summary((2, 5, 8), (1, 10, 100)), "two": summary((0, 1, 3), (10, 50, 90))}
    )
    (ax,) = fig.axes
    one, two = ax.containers
    assert list(one.lines[0].get_xdata()) == pytest.approx([0.5, 0.5])
    assert list(two.lines[0].get_xdata()) == pytest.approx([0.1, math.log10(50) / 2])
    segments = one.lines[2][0].get_segments()  # the interval of 'a' under "one"
    assert [x for x, _ in segments[0]] == pytest.approx([0.2, 0.8])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "B"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["one", "two"]
    assert ax.get_xlabel().startswith("Position in the prior range")


def test_caravan_plot_draws_a_calibration_directory(
    setup: Setup, tmp_path: Path, reference: tuple[CalibrationOutcome, dict[str, Any]]
) -> None:
    out = tmp_path / "figures"
    done = caravan("plot", setup.directory / "reference", "--out", out)
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["pairs.png", "predictive.png"]
    results = sim.load_calibration(setup.directory / "reference")
    assert results.labels == ["intercept", "prevalence"]
    assert len(results.predictive) == 20
    assert set(results.posterior.columns) >= {"intercept", "prevalence", "weight"}


def test_the_calibrated_point_is_the_candidate_closest_to_the_figures(
    setup: Setup, reference: tuple[CalibrationOutcome, dict[str, Any]]
) -> None:
    """Every candidate ran with the same seeds 0-3; the chosen one has the smallest median
    distance, and the calibrated scenario sets its values."""
    outcome, summary = reference
    sims = load_sweep(setup.directory / "reference")
    final = summary["generations"][-1]["generation"]
    candidates = phase_rows(sims, "candidate", final)
    by_candidate = candidates.groupby(candidates["index"] // 1000)
    assert by_candidate["seed"].apply(sorted).tolist() == [[0, 1, 2, 3]] * 6
    medians = by_candidate["distance"].median().tolist()
    assert medians == pytest.approx(summary["point"]["median_distances"])
    assert summary["point"]["candidate"] == medians.index(min(medians))
    chosen = by_candidate.get_group(summary["point"]["candidate"]).iloc[0]
    assert outcome.point.values == {
        "intercept": chosen["intercept"],
        "prevalence": chosen["prevalence"],
    }


def test_a_behaviour_cannot_be_written_for_a_scenario_that_extends_none(
    setup: Setup, tmp_path: Path
) -> None:
    done = caravan(*setup.cli_args(tmp_path / "out"), "--write-behaviour", tmp_path / "b.yaml")
    assert done.returncode == 2
    assert done.stderr.strip().endswith(
        "--write-behaviour writes the calibrated behaviour, the file the scenario extends; "
        "this one extends none"
    )
    assert not (tmp_path / "out").exists()


def test_a_file_beside_the_calibrated_scenario_is_not_written_over(
    setup: Setup, tmp_path: Path
) -> None:
    beside = tmp_path / "calibrated.summary.json"
    beside.write_text("mine\n")
    done = caravan(
        *setup.cli_args(tmp_path / "out"), "--write-scenario", tmp_path / "calibrated.yaml"
    )
    assert done.returncode == 2
    assert f"{beside} exists; pass --overwrite" in done.stderr
    assert beside.read_text() == "mine\n"
