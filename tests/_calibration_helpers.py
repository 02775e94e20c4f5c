"""Shared by the calibration tests: a small scenario whose calibration has a known answer.

2,000 people walk the micro line A - B - C; at B a checkpoint intercepts each with chance
`intercept` and a health post tests half of those passing, with a perfect test, for an
infection of prevalence `prevalence`. Simulations at chosen values give the "observed" figures
(the median of 21 runs), written as a target set.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import yaml
from conftest import ScenarioFactory

import sim
from sim.calibrate.plan import CalibrationPlan, plan_calibration
from sim.calibrate.report import write_report
from sim.calibrate.runner import CalibrationOutcome, run_calibration
from sim.progress import ProgressReporter
from sim.scenario import derive
from sim.sweep.executors import SerialExecutor
from sim.sweep.store import load_sweep

TRUTH = {"authorities.stops.intercept_chance": 0.2, "health.prevalence": 0.3}
PARAMETERS = {  # the free parameters and their priors, labelled
    "authorities.stops.intercept_chance": {
        "prior": "uniform",
        "range": [0.02, 0.6],
        "label": "intercept",
    },
    "health.prevalence": {"prior": "uniform", "range": [0.02, 0.8], "label": "prevalence"},
}
TRUTH_SEED = 123
TRUTH_RUNS = 21
SHORT_PARTICLES, SHORT_GENERATIONS = 30, 3

SCENARIO = {
    "population": {"size": 2000},
    "authorities": {
        "stops": {
            "kind": "checkpoints",
            "places": ["B"],
            "active": [0, 12],
            "intercept_chance": 0.1,
            "dispersed_intercept_factor": 0.5,
        },
        "tests": {
            "kind": "health_posts",
            "places": ["B"],
            "active": [0, 12],
            "test_chance_on_arrival": 0.5,
        },
    },
    "health": {"prevalence": 0.1, "sensitivity": 1.0, "specificity": 1.0, "quarantine_days": 1},
    "calibration": {
        "parameters": PARAMETERS,
        "particles": 100,
        "generations": 8,
        "budget": 4000,
        "predictive_draws": 20,
        "point_candidates": 5,
        "point_replicates": 4,
        "check_replicates": 5,
    },
}


def targets_text(observed: dict[str, int]) -> str:
    """A target set of the truth run's figures."""
    return yaml.safe_dump(
        {
            "name": "truth",
            "description": "figures of one simulation at known parameter values",
            "targets": [
                {
                    "id": "remitted",
                    "outcome": ["remitted"],
                    "observed": observed["remitted"],
                    "source": "ap",
                    "note": "simulated",
                    "tolerance": {"relative": 0.05},
                },
                {
                    "id": "tested",
                    "outcome": ["tested"],
                    "observed": observed["tested"],
                    "source": "ap",
                    "note": "simulated",
                    "tolerance": {"relative": 0.05},
                },
                {
                    "id": "tested_positive",
                    "outcome": ["tested_positive"],
                    "observed": observed["tested_positive"],
                    "source": "ap",
                    "note": "simulated",
                    "tolerance": {"binomial_of": "tested"},
                },
            ],
        },
        sort_keys=False,
    )


class Setup:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.scenario = ScenarioFactory(directory).write(SCENARIO)
        at_truth = derive(sim.load(self.scenario), TRUTH)
        runs = [sim.run(at_truth, seed=TRUTH_SEED + r).outcomes for r in range(TRUTH_RUNS)]
        # the figures are the runs' medians: what the values give, not one run's luck
        self.observed = {k: round(float(np.median([o[k] for o in runs]))) for k in runs[0]}
        self.targets = directory / "truth.yaml"
        self.targets.write_text(targets_text(self.observed), encoding="utf-8")

    def plan(self, short: bool = False) -> CalibrationPlan:
        """The calibration; `short`, a few generations of a few particles, for the tests of
        how it runs (interrupted, resumed, on workers) rather than of what it finds."""
        if not short:
            return plan_calibration(self.scenario, self.targets, seed=5)
        return plan_calibration(
            self.scenario,
            self.targets,
            seed=5,
            particles=SHORT_PARTICLES,
            generations=SHORT_GENERATIONS,
        )

    def cli_args(self, out: Path, short: bool = False) -> list[str | Path]:
        args: list[str | Path] = ["calibrate", self.scenario, "--targets", self.targets]
        args += ["--out", out, "--seed", "5"]
        if short:
            args += ["--particles", str(SHORT_PARTICLES), "--generations", str(SHORT_GENERATIONS)]
        return args


def quiet(*args: Any, **kwargs: Any) -> ProgressReporter:
    return ProgressReporter(*args, **kwargs, plain=True, every_s=1e9)


def assert_recovers_the_truth(summary: dict[str, Any], narrower_than: float) -> None:
    """Each parameter's 90% credible interval holds the truth and is narrower than this share
    of its prior's range (the figures say more than the prior)."""
    for key, prior in PARAMETERS.items():
        p = summary["parameters"][prior["label"]]
        assert p["p05"] <= TRUTH[key] <= p["p95"], (prior["label"], p)
        lo, hi = p["prior"]["range"]
        assert p["p95"] - p["p05"] < narrower_than * (hi - lo), (prior["label"], p)


def calibrate(
    plan: CalibrationPlan,
    out: Path,
    resume: bool = False,
    progress: Callable[..., ProgressReporter] = quiet,
) -> tuple[CalibrationOutcome, dict[str, Any]]:
    outcome = run_calibration(plan, out, SerialExecutor(), resume=resume, progress=progress)
    return outcome, write_report(plan, outcome)


def comparable(out: Path) -> dict[str, Any]:
    """Everything a calibration computed, without timings and provenance."""
    sims = load_sweep(out).drop(columns=["elapsed_s"]).sort_values("run_id", ignore_index=True)
    summary = yaml.safe_load((out / "summary.json").read_text())
    return {
        "simulations": sims,
        "generations": pq.read_table(out / "generations.parquet").to_pandas(),
        "posterior": pq.read_table(out / "posterior.parquet").to_pandas(),
        "summary": summary,
    }


def assert_same(got: dict[str, Any], expected: dict[str, Any]) -> None:
    for key in ("simulations", "generations", "posterior"):
        pd.testing.assert_frame_equal(got[key], expected[key], check_exact=True)
    assert got["summary"] == expected["summary"]


class Interrupt:
    """A progress reporter that raises KeyboardInterrupt (as Ctrl-C would) once `after`
    simulations are recorded (under a bar whose label starts with `bar`, if given)."""

    def __init__(self, after: int, bar: str = "") -> None:
        self.after = after
        self.bar = bar

    def __call__(self, *args: Any, **kwargs: Any) -> ProgressReporter:
        reporter = quiet(*args, **kwargs)
        if not str(args[0]).startswith(self.bar):
            return reporter
        advance = reporter.advance

        def advance_then_stop(n: int = 1) -> None:
            advance(n)
            if reporter.done >= self.after:
                raise KeyboardInterrupt

        reporter.advance = advance_then_stop  # type: ignore[method-assign]
        return reporter
