"""A finished run frees its model: sweeps and calibrations run tens of thousands of models in
one worker process, so a model kept alive per run adds up to gigabytes."""

from __future__ import annotations

import gc

from conftest import ScenarioFactory

import sim


def models_alive() -> int:
    gc.collect()
    return sum(isinstance(o, sim.CaravanModel) for o in gc.get_objects())


def test_run_leaves_no_model_behind(make_scenario: ScenarioFactory) -> None:
    scenario = make_scenario({"population": {"size": 50}})
    before = models_alive()
    for seed in range(5):
        sim.run(scenario, seed=seed)
    assert models_alive() == before  # with Mesa 3.3 and no release(): before + 5
