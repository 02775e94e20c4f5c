"""caravan-sim: an agent-based simulation of migrant caravans on a road network."""

from typing import TYPE_CHECKING, Any

from sim.model import CaravanModel, package_version, run
from sim.results import Results
from sim.scenario import Scenario, load
from sim.sweep.store import load_sweep, load_sweep_timeseries

__all__ = [
    "CalibrationResults",
    "CaravanModel",
    "Results",
    "Scenario",
    "load",
    "load_calibration",
    "load_sweep",
    "load_sweep_timeseries",
    "package_version",
    "run",
]


if TYPE_CHECKING:
    from sim.calibrate.report import CalibrationResults, load_calibration


def __getattr__(name: str) -> Any:
    # Calibration results need matplotlib and scipy.stats; a sweep's worker process imports
    # `sim` too, and should not pay for them.
    if name in ("CalibrationResults", "load_calibration"):
        from sim.calibrate import report  # noqa: PLC0415

        return getattr(report, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
