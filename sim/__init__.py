"""caravan-sim: an agent-based simulation of migrant caravans on a road network."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.calibrate.results import CalibrationResults, load_calibration
    from sim.model import CaravanModel, package_version, run
    from sim.results import Results
    from sim.rundir import SavedRun, load_run
    from sim.scenario import Scenario, derive, load, without_authorities
    from sim.sweep.store import load_sweep, load_sweep_timeseries
    from sim.targets import load_compared_sets, load_target_set

# Each public name and the module that defines it. They are imported on first use, so that
# `caravan check` or `import sim.scenario` does not pay for numba, pandas and matplotlib.
_HOME = {
    "CalibrationResults": "sim.calibrate.results",
    "load_calibration": "sim.calibrate.results",
    "CaravanModel": "sim.model",
    "package_version": "sim.model",
    "run": "sim.model",
    "Results": "sim.results",
    "SavedRun": "sim.rundir",
    "load_run": "sim.rundir",
    "Scenario": "sim.scenario",
    "derive": "sim.scenario",
    "load": "sim.scenario",
    "without_authorities": "sim.scenario",
    "load_sweep": "sim.sweep.store",
    "load_sweep_timeseries": "sim.sweep.store",
    "load_compared_sets": "sim.targets",
    "load_target_set": "sim.targets",
}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
