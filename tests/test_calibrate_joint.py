"""Joint calibration: one parameter set fitted to two (scenario, target set) pairs at once.

Two micro caravans (A - B - C) share one behaviour file, which holds the prevalence of
infection and the calibration section, and differ in context: the first has 2,000 people and a
checkpoint at B that intercepts each group with chance `intercept`; the second 1,000 people, the
same checkpoint and a health post at B that tests half of those passing. The first caravan's
figure (interceptions) pins `intercept`; the second's (positive tests, about
1,000 x (1 - intercept) x 0.5 x prevalence) only fixes a product of the two: prevalence is
identified by both together only.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from _calibration_helpers import (
    PARAMETERS,
    TRUTH,
    Interrupt,
    assert_recovers_the_truth,
    assert_same,
    calibrate,
    comparable,
    quiet,
)
from conftest import ScenarioFactory

import sim
from sim.calibrate.plan import CalibrationPlan, plan_calibration
from sim.calibrate.report import CALIBRATED_BEHAVIOUR, companions, write_report
from sim.calibrate.results import phase_rows
from sim.calibrate.runner import PAIR_STRIDE, run_calibration
from sim.cli import main
from sim.scenario import derive
from sim.sweep.executors import LocalExecutor, SerialExecutor
from sim.sweep.store import load_sweep

RELATIVE = 0.05  # every figure's tolerance: ±5%

BEHAVIOUR = {
    "health": {"prevalence": 0.1, "sensitivity": 1.0, "specificity": 1.0, "quarantine_days": 1},
    "calibration": {
        "parameters": PARAMETERS,
        "particles": 40,
        "generations": 4,
        "budget": 600,
        "predictive_draws": 10,
        "point_candidates": 0,  # the calibrated behaviour sets the posterior medians
        "check_replicates": 3,
    },
}
STOPS = {
    "kind": "checkpoints",
    "places": ["B"],
    "active": [0, 12],
    "intercept_chance": 0.1,
    "dispersed_intercept_factor": 0.5,
}
TESTS = {"kind": "health_posts", "places": ["B"], "active": [0, 12], "test_chance_on_arrival": 0.5}


def _context(factory: ScenarioFactory, name: str, changes: dict[str, Any]) -> dict[str, Any]:
    data = factory.data(changes)
    del data["health"]  # the behaviour's
    return {"extends": "behaviour.yaml", **data, "name": name}


def _target_set(name: str, figures: dict[str, int]) -> str:
    targets = [
        {
            "id": key,
            "outcome": [key],
            "observed": value,
            "source": "ap",
            "note": "simulated",
            "tolerance": {"relative": RELATIVE},
        }
        for key, value in figures.items()
    ]
    return yaml.safe_dump({"name": name, "description": "simulated", "targets": targets})


class Caravans:
    """The behaviour, the two contexts and their target sets, made from runs at the truth."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        factory = ScenarioFactory(directory)
        (directory / "behaviour.yaml").write_text(yaml.safe_dump(BEHAVIOUR), encoding="utf-8")
        contexts = {
            "first": {"population": {"size": 2000}, "authorities": {"stops": STOPS}},
            "second": {
                "population": {"size": 1000},
                "authorities": {"stops": STOPS, "tests": TESTS},
            },
        }
        self.paths: dict[str, Path] = {}
        for name, changes in contexts.items():
            path = directory / f"{name}.yaml"
            text = yaml.safe_dump(_context(factory, name, changes), sort_keys=False)
            path.write_text(text, encoding="utf-8")
            self.paths[name] = path
        figures = {"first": ["remitted"], "second": ["tested_positive"]}
        self.targets: dict[str, Path] = {}
        for name, keys in figures.items():
            at_truth = derive(sim.load(self.paths[name]), TRUTH)
            runs = [sim.run(at_truth, seed=100 + r).outcomes for r in range(11)]
            observed = {k: round(float(np.median([o[k] for o in runs]))) for k in keys}
            self.targets[name] = directory / f"{name}-figures.yaml"
            self.targets[name].write_text(_target_set(f"{name}-figures", observed), "utf-8")

    def plan(self, **changes: Any) -> CalibrationPlan:
        return plan_calibration(
            self.paths["first"],
            self.targets["first"],
            seed=3,
            also=[(self.paths["second"], self.targets["second"])],
            **changes,
        )


@pytest.fixture(scope="module")
def caravans(tmp_path_factory: pytest.TempPathFactory) -> Caravans:
    return Caravans(tmp_path_factory.mktemp("joint"))


@pytest.fixture(scope="module")
def joint(caravans: Caravans) -> tuple[Path, dict[str, Any]]:
    out = caravans.directory / "joint"
    _, summary = calibrate(caravans.plan(), out)
    return out, summary


def test_both_caravans_together_recover_the_truth(joint: tuple[Path, dict[str, Any]]) -> None:
    _, summary = joint
    assert_recovers_the_truth(summary, narrower_than=0.4)
    # each caravan's figure, named by its caravan, with the caravan's own runs
    assert set(summary["targets"]) == {"first/remitted", "second/tested_positive"}
    assert [p["target_set"] for p in summary["also"]] == ["second-figures"]


def test_the_second_caravan_alone_leaves_the_interception_chance_open(
    caravans: Caravans, joint: tuple[Path, dict[str, Any]]
) -> None:
    """Its positive tests fix only a product of interception and prevalence: alone, the
    interception chance stays spread over much of its prior; with the first caravan, it does
    not (so prevalence, tied to it by the product, is pinned by the two together)."""
    plan = plan_calibration(caravans.paths["second"], caravans.targets["second"], seed=3)
    _, alone = calibrate(plan, caravans.directory / "second-alone")
    _, together = joint
    lo, hi = alone["parameters"]["intercept"]["prior"]["range"]
    spread_alone = alone["parameters"]["intercept"]["p95"] - alone["parameters"]["intercept"]["p05"]
    spread_joint = (
        together["parameters"]["intercept"]["p95"] - together["parameters"]["intercept"]["p05"]
    )
    assert spread_alone > 0.6 * (hi - lo)
    assert spread_joint < 0.5 * spread_alone
    # one caravan's calibration keeps its calibrated scenario, and gives its behaviour too
    # (leave one out: fit one caravan, validate another with --behaviour)
    alone_dir = caravans.directory / "second-alone"
    assert "extends: ../second.yaml" in (alone_dir / "calibrated.yaml").read_text()
    behaviour = alone_dir / CALIBRATED_BEHAVIOUR
    assert "calibrated to the target set 'second-figures'." in behaviour.read_text()
    first = sim.load(caravans.paths["first"], behaviour=behaviour)
    calibrated = alone["parameters"]["prevalence"]["calibrated_value"]
    assert first.health.prevalence == calibrated
    assert first.population.size == 2000


def test_every_particle_runs_every_caravan_with_the_same_values_and_seed(
    joint: tuple[Path, dict[str, Any]],
) -> None:
    out, _ = joint
    sims = load_sweep(out)
    first = sims[sims["caravan"] == 0].set_index("run_id")
    second = sims[sims["caravan"] == 1].set_index("run_id")
    assert len(first) == len(second) > 0
    second.index = second.index - PAIR_STRIDE
    assert (first.index == second.index).all()
    for column in ("seed", "phase", "generation", "index", "intercept", "prevalence"):
        assert (first[column] == second[column]).all(), column
    assert (second["departed"] == 1000).all()
    assert (first["departed"] == 2000).all()


def test_the_distance_combines_both_caravans_targets(
    caravans: Caravans, joint: tuple[Path, dict[str, Any]]
) -> None:
    """A particle's distance is the root mean square of every target's discrepancy, over both
    target sets: here one figure each, so sqrt((d1^2 + d2^2) / 2) with d = |v - o| / (5% o)."""
    out, _ = joint
    sims = load_sweep(out).set_index("run_id")
    observed = {
        name: yaml.safe_load(path.read_text())["targets"][0]["observed"]
        for name, path in caravans.targets.items()
    }
    particles = pq.read_table(out / "posterior.parquet").to_pandas()
    for _, particle in particles.head(5).iterrows():
        run = int(particle["run_id"])
        remitted = sims.loc[run, "remitted"]
        positives = sims.loc[run + PAIR_STRIDE, "tested_positive"]
        d1 = abs(remitted - observed["first"]) / (RELATIVE * observed["first"])
        d2 = abs(positives - observed["second"]) / (RELATIVE * observed["second"])
        assert particle["distance"] == pytest.approx(math.sqrt((d1**2 + d2**2) / 2), rel=1e-12)
        # each row's own distance is its caravan's alone
        assert sims.loc[run, "distance"] == pytest.approx(d1, rel=1e-12)


def test_the_calibrated_behaviour_gives_a_context_the_posterior_medians(
    caravans: Caravans, joint: tuple[Path, dict[str, Any]]
) -> None:
    out, summary = joint
    behaviour = out / CALIBRATED_BEHAVIOUR
    assert not (out / "calibrated.yaml").exists()  # no copy of one caravan
    text = behaviour.read_text()
    assert "extends: ../behaviour.yaml" in text
    assert "the target sets 'first-figures' and 'second-figures' at once." in text
    medians = {label: p["median"] for label, p in summary["parameters"].items()}
    assert summary["point"]["chosen"] == "the posterior medians"
    for name in ("first", "second"):
        scenario = sim.load(caravans.paths[name], behaviour=behaviour)
        assert scenario.health.prevalence == float(f"{medians['prevalence']:.4g}")
        # a key the context sets itself is replaced too: the behaviour is merged over it
        stops = scenario.authorities["stops"]
        assert stops.intercept_chance == float(f"{medians['intercept']:.4g}")  # type: ignore[attr-defined]
        assert scenario.population.size == {"first": 2000, "second": 1000}[name]


def test_the_same_seed_gives_the_same_joint_calibration_on_two_workers(
    caravans: Caravans, joint: tuple[Path, dict[str, Any]]
) -> None:
    out, _ = joint
    parallel = caravans.directory / "two-workers"
    plan = caravans.plan()
    with LocalExecutor(2) as executor:
        outcome = run_calibration(plan, parallel, executor, progress=quiet)
    write_report(plan, outcome)
    assert_same(comparable(parallel), comparable(out))


def calibrate_first_also(caravans: Caravans, also: str) -> int:
    """`caravan calibrate` of the first caravan with `--also ALSO`, into `refused/`."""
    first = ["calibrate", str(caravans.paths["first"]), "--targets", str(caravans.targets["first"])]
    return main([*first, "--also", also, "--out", str(caravans.directory / "refused")])


def test_a_caravan_lacking_a_free_key_is_refused(
    caravans: Caravans, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load(caravans.paths["second"].read_text())
    del data["authorities"]["stops"]
    lacking = caravans.directory / "no-stops.yaml"
    lacking.write_text(yaml.safe_dump(data), encoding="utf-8")
    status = calibrate_first_also(caravans, f"{lacking}={caravans.targets['second']}")
    assert status == 2
    err = " ".join(capsys.readouterr().err.split())
    behaviour = caravans.directory / "behaviour.yaml"
    line = behaviour.read_text().splitlines().index("    authorities.stops.intercept_chance:") + 1
    assert (
        f"{behaviour}:{line}: calibration.parameters.authorities.stops.intercept_chance: in "
        f"{lacking}, which is calibrated jointly (--also): 'authorities.stops.intercept_chance' "
        "is not a key of the scenario"
    ) in err
    assert not (caravans.directory / "refused").exists()


def test_an_unknown_target_set_of_another_caravan_is_refused(
    caravans: Caravans, capsys: pytest.CaptureFixture[str]
) -> None:
    status = calibrate_first_also(caravans, f"{caravans.paths['second']}=october-2021")
    assert status == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "october-2021: unknown target set (did you mean 'october-2020'?)" in err


def test_a_malformed_pair_is_a_usage_error(caravans: Caravans) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["calibrate", str(caravans.paths["first"]), "--targets", "x", "--also", "y.yaml"])
    assert exc.value.code == 2


def test_an_interrupted_joint_calibration_resumes_to_the_same_result(
    caravans: Caravans, joint: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """Stopped in generation 1, part way through a round of both caravans' runs, and resumed:
    nothing is run twice and everything computed is as for the run never stopped."""
    reference, _ = joint
    out = tmp_path / "interrupted"
    particles = BEHAVIOUR["calibration"]["particles"]
    with pytest.raises(KeyboardInterrupt):
        calibrate(caravans.plan(), out, progress=Interrupt(after=2 * particles + 15))
    manifest = yaml.safe_load((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    recorded = len(load_sweep(out))
    assert 2 * particles + 15 <= recorded < len(load_sweep(reference))
    outcome, _ = calibrate(caravans.plan(), out, resume=True)
    assert outcome.simulations_now == len(load_sweep(out)) - recorded  # nothing run twice
    assert_same(comparable(out), comparable(reference))


def test_a_shipped_behaviour_carries_its_summary_posterior_and_predictive_draws(
    caravans: Caravans, joint: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """`--write-behaviour fits/both.yaml` (write_report's behaviour_out): the behaviour, and
    beside it what reading the fit needs without the calibration directory."""
    out, summary = joint
    plan = caravans.plan()
    shipped = tmp_path / "fits" / "both.yaml"
    shipped.parent.mkdir()
    outcome = run_calibration(plan, out, SerialExecutor(), resume=True, progress=quiet)
    write_report(plan, outcome, behaviour_out=shipped)
    there = yaml.safe_load((out / CALIBRATED_BEHAVIOUR).read_text())
    here = yaml.safe_load(shipped.read_text())
    behaviour = caravans.directory / "behaviour.yaml"
    assert here.pop("extends") == os.path.relpath(behaviour, shipped.parent)
    assert there.pop("extends") == "../behaviour.yaml"
    assert here == there
    files = companions(shipped)
    assert [p.name for p in files.values()] == [
        "both.summary.json",
        "both.posterior.parquet",
        "both.predictive.parquet",
    ]
    assert json.loads(files["summary"].read_text()) == json.loads(
        (out / "summary.json").read_text()
    )
    posterior = pq.read_table(files["posterior"]).to_pandas()
    pd.testing.assert_frame_equal(posterior, pq.read_table(out / "posterior.parquet").to_pandas())
    draws = pq.read_table(files["predictive"]).to_pandas()
    sims = load_sweep(out)
    final = summary["generations"][-1]["generation"]
    first = phase_rows(sims, "predictive", final)
    first = first[first["run_id"] < PAIR_STRIDE].sort_values("run_id")
    assert len(draws) == BEHAVIOUR["calibration"]["predictive_draws"] == len(first)
    assert draws["run_id"].tolist() == first["run_id"].tolist()
    assert draws["intercept"].tolist() == first["intercept"].tolist()
    # every target of both caravans, one draw a row: the second's from the same particle
    assert [c for c in draws.columns if c.startswith("target.")] == [
        f"target.{key}" for key in summary["targets"]
    ]
    second = sims[sims["run_id"] == first["run_id"].iloc[0] + PAIR_STRIDE].iloc[0]
    assert draws["target.second/tested_positive"].iloc[0] == second["target.tested_positive"]
