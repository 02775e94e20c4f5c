"""What a researcher scripting `CaravanModel` step by step reads off the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import sim
from sim.model import CaravanModel, release


def test_datacollector_holds_each_steps_stocks(january_path: Path) -> None:
    scenario = sim.load(january_path, ["population.size=400"])
    model = CaravanModel(scenario, seed=3, threads=False)
    try:
        for _ in range(60):
            model.step()
        frame = model.datacollector.get_model_vars_dataframe()
        stocks = [c for c in model.layout.columns if c.startswith("n_")]
        assert list(frame.columns) == stocks
        assert len(frame) == 60
        recorded = model.results().series()
        np.testing.assert_array_equal(
            frame.to_numpy(), np.stack([recorded[c] for c in stocks], axis=1)
        )
        # not a column of zeros: by step 60 people are on the road or held at Vado Hondo
        assert frame["n_moving"].iloc[-1] + frame["n_held_blockade"].iloc[-1] > 0
    finally:
        release(model)


def test_route_weights_follow_the_crowd_until_everyone_has_chosen(january_path: Path) -> None:
    scenario = sim.load(january_path, ["population.size=400"])
    model = CaravanModel(scenario, seed=0, threads=False)
    try:
        before = model.route_cdf().copy()
        while model.running:
            model.step()
        picks = model.route_picks
        assert picks.sum() == 400
        # recomputed from the picks, not left at the first step's weights
        crowd = scenario.route_choice.crowd_weight
        weights = model.network.base_weights * (1.0 + crowd * picks / picks.sum())
        expected = np.cumsum(weights) / weights.sum()
        np.testing.assert_allclose(model.route_cdf(), expected, rtol=0, atol=1e-15)
        assert crowd > 0
        assert not np.array_equal(before, model.route_cdf())
    finally:
        release(model)
