"""ABC-SMC's pieces against hand-computed values: priors in fit space, proposals, importance
weights, tolerances, weighted quantiles, and the discrepancy of each kind of tolerance."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.calibrate import abc
from sim.calibrate.abc import Generation
from sim.calibrate.priors import PriorSet
from sim.calibrate.runner import combined_distance
from sim.scenario.calibration import CalibrationSection, FreeParameter
from sim.targets import Z_90, Target, TargetSet, Tolerance


def priors(**parameters: dict[str, object]) -> PriorSet:
    section = CalibrationSection.model_validate({"parameters": parameters})
    return PriorSet.from_section(section.parameters)


def generation(fit: list[list[float]], weights: list[float], tolerance: float = 1.0) -> Generation:
    n = len(fit)
    return Generation(
        index=1,
        tolerance=tolerance,
        fit=np.array(fit, dtype=np.float64),
        weights=np.array(weights, dtype=np.float64),
        distances=np.linspace(0.0, 1.0, n),
        run_ids=np.arange(n, dtype=np.int64),
        simulations=2 * n,
        within_tolerance=n,
    )


# --- priors -----------------------------------------------------------------------------------


def test_loguniform_prior_lives_on_the_log_scale() -> None:
    ps = priors(x={"prior": "loguniform", "range": [0.01, 1.0]})
    (prior,) = ps.priors
    assert prior.bounds == pytest.approx((math.log(0.01), 0.0))
    assert prior.value(math.log(0.1)) == pytest.approx(0.1)
    # uniform density on [log 0.01, log 1]: 1 / log(100)
    assert prior.logpdf(np.array([math.log(0.1)]))[0] == pytest.approx(-math.log(math.log(100)))
    assert prior.quantiles_of_values([0.5]) == pytest.approx([0.1])  # the geometric middle


def test_normal_prior_is_cut_to_its_range() -> None:
    ps = priors(x={"prior": "normal", "mean": 0.2, "sd": 0.1, "range": [0.1, 0.5]})
    (prior,) = ps.priors
    inside = prior.logpdf(np.array([0.2]))[0]
    mass = stats.norm.cdf(3.0) - stats.norm.cdf(-1.0)  # (0.5-0.2)/0.1 and (0.1-0.2)/0.1
    assert inside == pytest.approx(stats.norm.logpdf(0.2, 0.2, 0.1) - math.log(mass))
    assert prior.logpdf(np.array([0.05]))[0] == -math.inf


def test_integer_parameter_rounds_inside_its_range() -> None:
    ps = priors(n={"prior": "uniform", "range": [7000.2, 9000.8], "integer": True})
    (prior,) = ps.priors
    assert prior.value(7000.2) == 7001  # the nearest whole number in the range
    assert prior.value(8123.5) == 8124
    assert isinstance(prior.value(8000.0), int)


def test_a_tied_parameter_sets_every_key() -> None:
    ps = priors(**{"a.b": {"prior": "uniform", "range": [0, 1], "also": ["c.d", "e.f"]}})
    assert ps.scenario_values(np.array([0.25])) == {"a.b": 0.25, "c.d": 0.25, "e.f": 0.25}
    assert ps.values(np.array([0.25])) == {"a.b": 0.25}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"prior": "uniform", "range": [1, 1]}, "low < high"),
        ({"prior": "loguniform", "range": [0, 1]}, "needs a range above 0"),
        ({"prior": "normal", "range": [0, 1]}, "needs 'mean' and 'sd'"),
        ({"prior": "uniform", "range": [0, 1], "mean": 0.5}, "are for a normal prior"),
        ({"prior": "uniform", "range": [0.2, 0.8], "integer": True}, "no whole number"),
    ],
)
def test_impossible_priors_are_rejected(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FreeParameter.model_validate(spec)


def test_one_key_set_by_two_parameters_is_rejected() -> None:
    with pytest.raises(ValueError, match="'c' is set by both 'a' and 'b'"):
        priors(
            a={"prior": "uniform", "range": [0, 1], "also": ["c"]},
            b={"prior": "uniform", "range": [0, 1], "also": ["c"]},
        )


# --- proposals and weights --------------------------------------------------------------------


def test_proposals_depend_only_on_seed_generation_and_index() -> None:
    ps = priors(x={"prior": "uniform", "range": [0, 1]}, y={"prior": "uniform", "range": [0, 1]})
    prev = generation([[0.2, 0.3], [0.6, 0.7], [0.5, 0.5]], [0.2, 0.3, 0.5])
    forward = [abc.propose(ps, prev, 7, 2, i) for i in range(20)]
    backward = [abc.propose(ps, prev, 7, 2, i) for i in reversed(range(20))][::-1]
    assert all(np.array_equal(a, b) for a, b in zip(forward, backward, strict=True))
    assert not np.array_equal(forward[0], abc.propose(ps, prev, 8, 2, 0))  # another seed
    assert not np.array_equal(forward[0], abc.propose(ps, prev, 7, 3, 0))  # another generation
    assert all(ps.inside(p) for p in forward)
    assert abc.simulation_seed(7, 2, 0) == abc.simulation_seed(7, 2, 0)
    assert abc.simulation_seed(7, 2, 0) != abc.simulation_seed(7, 2, 1)


def test_generation_zero_draws_from_the_prior() -> None:
    ps = priors(x={"prior": "uniform", "range": [2, 4]})
    draws = np.array([abc.propose(ps, None, 0, 0, i)[0] for i in range(2000)])
    assert draws.min() >= 2 and draws.max() <= 4
    # a uniform on [2, 4]: mean 3, sd 2/sqrt(12) = 0.577; 2000 draws put the mean within 0.04
    assert abs(draws.mean() - 3.0) < 0.04


def test_importance_weights_by_hand() -> None:
    """One parameter, uniform prior on [0, 1], previous population {0.2 (w 0.25), 0.6 (0.75)}:
    the weight of x is 1 / sum_j w_j N(x; x_j, 2 var), with var the weighted variance."""
    ps = priors(x={"prior": "uniform", "range": [0, 1]})
    prev = generation([[0.2], [0.6]], [0.25, 0.75])
    mean = 0.25 * 0.2 + 0.75 * 0.6
    # numpy's weighted covariance with aweights, as the kernel uses: the unbiased estimator
    var = (0.25 * (0.2 - mean) ** 2 + 0.75 * (0.6 - mean) ** 2) / (1 - (0.25**2 + 0.75**2))
    sd = math.sqrt(2 * var)
    assert prev.kernel_cov[0, 0] == pytest.approx(2 * var)
    xs = np.array([[0.3], [0.5], [0.9]])
    raw = [
        1 / (0.25 * stats.norm.pdf(x, 0.2, sd) + 0.75 * stats.norm.pdf(x, 0.6, sd))
        for x in xs[:, 0]
    ]
    expected = np.array(raw) / sum(raw)
    assert abc.importance_weights(ps, xs, prev) == pytest.approx(expected, rel=1e-9)


def test_next_tolerance_is_a_quantile_with_a_floor() -> None:
    prev = generation([[0.1]] * 5, [0.2] * 5)  # distances 0, 0.25, 0.5, 0.75, 1
    assert abc.next_tolerance(prev, 0.5, 0.0) == pytest.approx(0.5)
    assert abc.next_tolerance(prev, 0.5, 0.6) == pytest.approx(0.6)


def test_weighted_quantiles() -> None:
    values = np.array([3.0, 1.0, 2.0, 10.0])
    weights = np.array([0.1, 0.1, 0.7, 0.1])
    # sorted 1 (0.1), 2 (0.8), 3 (0.9), 10 (1.0)
    assert abc.weighted_quantiles(values, weights, (0.05, 0.5, 0.85, 0.95)) == [1, 2, 3, 10]


def test_effective_sample_size() -> None:
    assert generation([[0.0]] * 4, [0.25] * 4).effective_size == pytest.approx(4.0)
    assert generation([[0.0]] * 2, [1.0, 0.0]).effective_size == pytest.approx(1.0)


# --- discrepancies ----------------------------------------------------------------------------


def target(observed: float | None, **tolerance: object) -> Target:
    return Target.model_validate(
        {
            "id": "t",
            "outcome": ["tested_positive"],
            "observed": observed,
            "source": "x",
            "note": "n",
            "tolerance": Tolerance.model_validate(tolerance),
        }
    )


@pytest.mark.parametrize(
    ("observed", "tolerance", "value", "expected"),
    [
        (5000, {"relative": 0.05}, 5125, 0.5),
        (5000, {"relative": 0.05}, 4500, 2.0),
        (None, {"range": [2000, 6000]}, 4000, 0.0),
        (None, {"range": [2000, 6000]}, 1000, 0.5),  # 1,000 below, in half-widths of 2,000
        (None, {"range": [0, 200]}, 300, 1.0),
        (21, {"range": [21, math.inf]}, 14, 1 / 3),  # open above: in units of the bound
        (21, {"poisson": True}, 21 + Z_90 * math.sqrt(21), 1.0),
        (21, {"poisson": True}, 21, 0.0),
    ],
)
def test_discrepancy_by_hand(
    observed: float | None, tolerance: dict[str, object], value: float, expected: float
) -> None:
    assert target(observed, **tolerance).discrepancy(value) == pytest.approx(expected)


def test_binomial_discrepancy_is_a_two_sample_test_of_proportions() -> None:
    t = target(21, binomial_of="tested")
    assert t.discrepancy(21, (104, 104)) == 0.0
    pooled = 63 / 208
    z = (42 / 104 - 21 / 104) / math.sqrt(pooled * (1 - pooled) * (2 / 104))
    assert t.discrepancy(42, (104, 104)) == pytest.approx(z / Z_90)
    # the model tested nobody: compared with a proportion of 0
    assert t.discrepancy(0, (104, 0)) == pytest.approx(
        (21 / 104) / (Z_90 * math.sqrt(21 / 104 * (83 / 104) / 104))
    )


def test_target_set_finds_the_trials_of_a_binomial_target() -> None:
    tested = Target.model_validate(
        {
            "id": "tested",
            "outcome": ["tested"],
            "observed": 100,
            "source": "x",
            "note": "n",
            "tolerance": {"relative": 0.1},
        }
    )
    positive = target(20, binomial_of="tested")
    ts = TargetSet(name="s", description="d", targets=[tested, positive])
    got = ts.discrepancies({"tested": 110, "t": 22})
    assert got["tested"] == pytest.approx(1.0)
    assert got["t"] == pytest.approx(positive.discrepancy(22, (100, 110)))


def test_combined_distance_is_the_root_mean_square() -> None:
    assert combined_distance([3.0, 4.0]) == pytest.approx(math.sqrt(12.5))
    assert combined_distance([1.0, math.nan]) == math.inf


@pytest.mark.parametrize(
    ("observed", "tolerance", "band"),
    [
        (5000, {"relative": 0.05}, (4750, 5250)),
        (None, {"range": [0, 200]}, (0, 200)),
        (21, {"poisson": True}, (21 - Z_90 * math.sqrt(21), 21 + Z_90 * math.sqrt(21))),
        (21, {"binomial_of": "tested"}, None),
    ],
)
def test_band_is_what_the_tolerance_accepts(
    observed: float | None, tolerance: dict[str, object], band: tuple[float, float] | None
) -> None:
    t = target(observed, **tolerance)
    assert t.band() == (pytest.approx(band) if band else None)
    if band is not None:
        edge = 0.0 if "range" in tolerance else 1.0  # a range has no preferred value inside
        assert t.discrepancy(band[1]) == pytest.approx(edge)
        assert t.discrepancy(band[1] + 1) > edge
