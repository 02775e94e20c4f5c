"""`caravan validate`: a scenario's replicates against a target set, checked by hand.

The scenario: 200 people leave A on the micro line A - B - C over 6 hours (a group per person,
at random whole hours), walk 5 km/h, and a checkpoint at B intercepts each with chance 0.2; the
run lasts 12 hourly steps. The target set has a figure the model matches exactly (200
departed), one far from it (100 remitted, where about 40 are), and one dated mid-run (between
80 and 120 at the Mexican border by 08:30, where about 100 are at 09:00 and about 160 at the
end). The expected numbers come from `sim.run` with the same seeds and the run's time series.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from conftest import ScenarioFactory

import sim
from sim import figures, plots
from sim.calibrate.validate import (
    plan_validation,
    run_validation,
    validation_of,
    write_validation,
)
from sim.calibrate.validation_record import (
    VALIDATION_JSON,
    VALIDATION_PNG,
    Validation,
    load_validation,
)
from sim.cli import main
from sim.progress import ProgressReporter
from sim.sweep.executors import SerialExecutor

REPLICATES = 5
SEED = 3  # replicate r runs with seed 3 + r
BY_STEP = 8  # 08:30 falls in step 8 (08:00-09:00): read at 09:00

SCENARIO = {
    "population": {"size": 200, "waves": {"only": {"spread_h": 6}}},
    "authorities": {
        "stops": {
            "kind": "checkpoints",
            "places": ["B"],
            "active": [0, 12],
            "intercept_chance": 0.2,
            "dispersed_intercept_factor": 0.5,
        }
    },
}


def target(
    tid: str, outcome: str, tolerance: dict[str, object], **more: object
) -> dict[str, object]:
    return {
        "id": tid,
        "outcome": [outcome],
        **more,
        "source": "ap",
        "note": "a test figure",
        "tolerance": tolerance,
    }


TARGETS = [
    target("departed", "departed", {"relative": 0.05}, observed=200),
    target("remitted", "remitted", {"relative": 0.1}, observed=100),
    target(
        "at_the_border",
        "reached_mexican_border",
        {"range": [80, 120]},
        by="2021-01-01T08:30",
    ),
]


def write_targets(path: Path, targets: list[dict[str, object]]) -> Path:
    data = {"name": "micro-figures", "description": "figures for the micro scenario"}
    path.write_text(yaml.safe_dump({**data, "targets": targets}, sort_keys=False))
    return path


def quiet(*args: Any, **kwargs: Any) -> ProgressReporter:
    return ProgressReporter(*args, **kwargs, plain=True, every_s=1e9)


class Setup:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.scenario = ScenarioFactory(directory).write(SCENARIO)
        self.targets = write_targets(directory / "figures.yaml", TARGETS)
        self.plan = plan_validation(self.scenario, self.targets, replicates=REPLICATES, seed=SEED)
        self.validation = run_validation(self.plan, SerialExecutor(), progress=quiet)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    return Setup(tmp_path_factory.mktemp("validate"))


@pytest.fixture(scope="module")
def by_other_means(setup: Setup) -> dict[str, np.ndarray]:
    """Each figure's value in each replicate, from `sim.run` with seeds 3..7 and, for the dated
    figure, the run's cumulative count at the end of step 8."""
    runs = [sim.run(sim.load(setup.scenario), seed=SEED + r) for r in range(REPLICATES)]
    return {
        "departed": np.array([r.outcomes["departed"] for r in runs]),
        "remitted": np.array([r.outcomes["remitted"] for r in runs]),
        "at_the_border": np.array(
            [r.series()["cum_reached_mexican_border"][BY_STEP] for r in runs]
        ),
        "at_the_end": np.array([r.outcomes["reached_mexican_border"] for r in runs]),
    }


def test_each_figure_against_the_replicates(
    setup: Setup, by_other_means: dict[str, np.ndarray]
) -> None:
    v = setup.validation
    assert v.seeds == (3, 4, 5, 6, 7)
    assert [r.step for r in setup.plan.readings] == [None, None, BY_STEP]
    assert [c.id for c in v.checks] == ["departed", "remitted", "at_the_border"]
    for check in v.checks:
        expected = by_other_means[check.id]
        assert check.values == tuple(float(x) for x in expected)
        p05, median, p95 = np.percentile(expected, [5, 50, 95])
        assert (check.p05, check.median, check.p95) == (p05, median, p95)
    departed, remitted, at_border = v.checks
    # the exact match: every replicate has 200
    assert (departed.median, departed.p05, departed.p95) == (200, 200, 200)
    assert (departed.discrepancy, departed.inside, departed.within_tolerance) == (0, True, True)
    # far off: about 40 remitted against 100, 10% tolerance
    assert remitted.p95 < 100
    assert remitted.discrepancy == pytest.approx(abs(remitted.median - 100) / 10)
    assert (remitted.inside, remitted.within_tolerance) == (False, False)
    assert remitted.relative_difference == pytest.approx(abs(remitted.median - 100) / 100)
    # dated: read at 09:00, inside the range then, though not at the end of the run
    assert at_border.read_at == "2021-01-01T09:00:00"
    assert 80 <= at_border.median <= 120 and at_border.discrepancy == 0
    assert (at_border.inside, at_border.within_tolerance) == (True, True)
    assert by_other_means["at_the_end"].min() > 120
    assert at_border.reported is None and at_border.relative_difference is None


def test_the_summaries(setup: Setup) -> None:
    v = setup.validation
    remitted = v.checks[1]
    # over the two figures with a number (the range has none): 0 and |median - 100| / 100
    assert v.mean_relative_difference == pytest.approx((0 + abs(remitted.median - 100) / 100) / 2)
    assert v.share_inside == pytest.approx(2 / 3)


def test_a_range_with_no_number_is_inside_when_the_interval_overlaps_it(setup: Setup) -> None:
    """Five replicates with 90, 95, 100, 110 and 116 at the border at 09:00: their 90% interval
    is 91-114.8 (numpy's linear percentiles), which overlaps [30, 96] but not [30, 90] or
    [117, 300]."""
    values = [{"reached_mexican_border@8": x} for x in (90, 95, 100, 110, 116)]
    for rng, inside in (([30, 96], True), ([30, 90], False), ([117, 300], False)):
        changed = [TARGETS[2] | {"tolerance": {"range": rng}}]
        path = write_targets(setup.directory / "range.yaml", changed)
        plan = plan_validation(setup.scenario, path, replicates=5)
        (check,) = validation_of(plan, values).checks
        assert (check.p05, check.p95) == (91.0, 114.8)
        assert check.inside is inside


def test_a_binomial_count_is_taken_out_of_the_models_median_trials(
    setup: Setup, tmp_path: Path
) -> None:
    """20 positives of 100 tested reported; the model's medians 32 of 160: the same share, so
    the discrepancy is 0 (out of the reported 100 it would be 1.18, outside the tolerance)."""
    figures = [
        target("tested", "tested", {"relative": 0.1}, observed=100),
        target("positive", "tested_positive", {"binomial_of": "tested"}, observed=20),
    ]
    plan = plan_validation(setup.scenario, write_targets(tmp_path / "t.yaml", figures), (), 3)
    rows = [{"tested": n, "tested_positive": k} for n, k in ((150, 30), (160, 32), (170, 40))]
    tested, positive = validation_of(plan, rows).checks
    assert (tested.median, positive.median) == (160, 32)
    assert positive.discrepancy == 0.0 and positive.within_tolerance
    assert tested.discrepancy == pytest.approx(6.0) and not tested.within_tolerance


def test_sim_validate_plans_runs_and_compares_in_one_call(setup: Setup, tmp_path: Path) -> None:
    """`sim.validate` gives what planning and running give, in this process or on two workers.
    A behaviour file merged over the scenario sets its keys (no interceptions at B: nobody is
    remitted), and overrides come after it (`--set` puts the chance back: the same validation)."""
    for workers in (1, 2):
        got = sim.validate(
            setup.scenario,
            setup.targets,
            replicates=REPLICATES,
            seed=SEED,
            workers=workers,
            progress=quiet,
        )
        assert (got.checks, got.seeds, got.behaviour) == (
            setup.validation.checks,
            setup.validation.seeds,
            None,
        )
    behaviour = tmp_path / "no-interceptions.yaml"
    behaviour.write_text("authorities:\n  stops:\n    intercept_chance: 0.0\n", encoding="utf-8")
    common = {"replicates": REPLICATES, "seed": SEED, "behaviour": behaviour, "progress": quiet}
    without = sim.validate(setup.scenario, setup.targets, **common)
    assert without.behaviour == str(behaviour)
    assert without.checks[1].values == (0.0,) * REPLICATES
    assert without.checks[0] == setup.validation.checks[0]  # everyone still departs
    back = ["authorities.stops.intercept_chance=0.2"]
    again = sim.validate(setup.scenario, setup.targets, overrides=back, **common)
    assert again.checks == setup.validation.checks


def test_two_workers_give_the_same_validation_and_the_files(
    setup: Setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`caravan validate --workers 2 --out DIR`: the same numbers as one process, a table, the
    summaries, and validation.json and validation.png."""
    out = tmp_path / "out"
    args = ["validate", setup.scenario, "--targets", setup.targets, "--replicates", "5"]
    args += ["--seed", "3", "--workers", "2", "--out", out]
    assert main([str(a) for a in args]) == 0
    stdout = capsys.readouterr().out
    got = load_validation(out)
    assert got.checks == setup.validation.checks
    assert got.seeds == setup.validation.seeds
    assert "micro against 'micro-figures': 5 replicates" in stdout
    assert "200 [200-200]" in stdout
    assert "inside the model's 90% interval: 2 of 3 figures (67%)" in stdout
    mean = setup.validation.mean_relative_difference
    assert f"reported: {mean:.1%} over the 2 figures with a number" in stdout
    assert sorted(p.name for p in out.iterdir()) == [VALIDATION_JSON, VALIDATION_PNG]


def test_caravan_plot_redraws_a_validation_directory(
    setup: Setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    write_validation(setup.validation, out)
    assert figures.directory_kind(out) == "caravan-validation"
    assert main(["plot", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out / 'plots' / VALIDATION_PNG}"
    drawn = figures.directory_figures(out).figures[VALIDATION_PNG]
    labels = [t.get_text() for t in drawn.axes[0].get_yticklabels()]
    assert len(labels) == len(setup.validation.checks)


def test_the_json_round_trip(setup: Setup, tmp_path: Path) -> None:
    v = setup.validation
    assert Validation.from_json(json.loads(json.dumps(v.to_json()))) == v
    written = write_validation(v, tmp_path / "out")
    assert written == [tmp_path / "out" / VALIDATION_JSON, tmp_path / "out" / VALIDATION_PNG]
    assert load_validation(tmp_path / "out") == v
    data = json.loads(written[0].read_text())
    assert (data["scenario"], data["target_set"], data["replicates"], data["seed"]) == (
        "micro",
        "micro-figures",
        5,
        3,
    )
    assert data["version"] == sim.package_version()
    assert set(data["versions"]) >= {"python", "numpy", "numba", "mesa"}
    assert data["summary"] == {
        "mean_relative_difference": v.mean_relative_difference,
        "figures_with_number": 2,
        "share_inside": 2 / 3,
        "inside": 2,
        "figures": 3,
    }
    assert data["checks"][2]["values"] == list(v.checks[2].values)
    assert data["checks"][2]["band"] == [80, 120]


def test_out_is_not_written_over(
    setup: Setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("mine\n")
    args = ["validate", str(setup.scenario), "--targets", str(setup.targets), "--out", str(out)]
    assert main([*args, "--workers", "1"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {out}: already holds results; choose another --out, or pass --overwrite to "
        "replace them"
    )
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


def test_a_date_outside_the_run(
    setup: Setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changed = [*TARGETS[:2], TARGETS[2] | {"by": "2021-01-01T13:00"}]
    path = write_targets(tmp_path / "late.yaml", changed)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "by:" in text)
    assert main(["validate", str(setup.scenario), "--targets", str(path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {path}:{line}: targets[2].by: 2021-01-01T13:00:00 is after the run's end; the "
        "run covers 2021-01-01T00:00:00 to 2021-01-01T12:00:00 (12 steps of 1 h)"
    )


def test_an_unknown_target_set(setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(setup.scenario), "--targets", "oficial"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: oficial: unknown target set (did you mean 'official'?); expected one of: "
        "igm-january-2021, october-2020, official, seed-article, or a path to a YAML file"
    )


def test_the_figure_has_a_row_per_figure_relative_to_it(setup: Setup) -> None:
    v = setup.validation
    fig = plots.validation_intervals(v)
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "Departed",
        "Remitted (intercepted)",
        "Reached the Mexican border, by 01 Jan 08:30",
    ]
    texts = [t.get_text() for t in ax.texts]
    assert texts[0] == "200  |  200 [200-200]"
    assert texts[2].startswith("80-120  |  ")
    # the remitted row: the model's interval as a share of the reported 100
    remitted = v.checks[1]
    drawn = [list(line.get_xdata()) for line in ax.lines if list(line.get_ydata()) == [1, 1]]
    assert [remitted.p05 / 100, remitted.p95 / 100] in drawn


def test_a_median_outside_a_range_is_not_within_its_tolerance(setup: Setup) -> None:
    """A range accepts what lies in it, no more: a median of 100 is within [30, 100], but not
    within [30, 96] or [101, 300], though its discrepancy there (a fraction of a half-width
    outside) is below 1."""
    values = [{"reached_mexican_border@8": x} for x in (90, 95, 100, 110, 116)]
    for rng, within in (([30, 100], True), ([30, 96], False), ([101, 300], False)):
        changed = [TARGETS[2] | {"tolerance": {"range": rng}}]
        path = write_targets(setup.directory / "range.yaml", changed)
        plan = plan_validation(setup.scenario, path, replicates=5)
        (check,) = validation_of(plan, values).checks
        assert check.median == 100.0
        assert check.within_tolerance is within, rng
    assert 0 < check.discrepancy < 1
