"""caravan-sim: an agent-based simulation of migrant caravans on a road network."""

from __future__ import annotations

import importlib
import importlib.util
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.calibrate.results import CalibrationResults, load_calibration
    from sim.calibrate.validate import validate
    from sim.calibrate.validation_record import Validation, load_validation
    from sim.model import CaravanModel, run
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
    "Validation": "sim.calibrate.validation_record",
    "load_validation": "sim.calibrate.validation_record",
    "validate": "sim.calibrate.validate",
    "CaravanModel": "sim.model",
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

__all__ = [
    "CalibrationResults",
    "CaravanModel",
    "Results",
    "SavedRun",
    "Scenario",
    "Validation",
    "derive",
    "load",
    "load_calibration",
    "load_compared_sets",
    "load_run",
    "load_sweep",
    "load_sweep_timeseries",
    "load_target_set",
    "load_validation",
    "package_version",
    "run",
    "validate",
    "without_authorities",
]


@cache  # read once: sweeps build many results
def package_version() -> str:
    """The installed caravan-sim version, recorded in every output; "unknown" if not installed."""
    try:
        return version("caravan-sim")
    except PackageNotFoundError:
        return "unknown"


def __getattr__(name: str) -> Any:
    """A public name, or a submodule (`sim.plots`, `sim.scenario`), imported on first use."""
    home = _HOME.get(name)
    if home is not None:
        value = getattr(importlib.import_module(home), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"sim.{name}") is not None:
        value = importlib.import_module(f"sim.{name}")
    else:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
