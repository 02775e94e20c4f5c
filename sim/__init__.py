"""caravan-sim: an agent-based simulation of migrant caravans on a road network."""

from sim.calibrate.results import CalibrationResults, load_calibration
from sim.model import CaravanModel, package_version, run
from sim.results import Results
from sim.rundir import SavedRun, load_run
from sim.scenario import Scenario, derive, load, without_authorities
from sim.sweep.store import load_sweep, load_sweep_timeseries
from sim.targets import load_compared_sets, load_target_set

__all__ = [
    "CalibrationResults",
    "CaravanModel",
    "Results",
    "SavedRun",
    "Scenario",
    "derive",
    "load",
    "load_calibration",
    "load_compared_sets",
    "load_run",
    "load_sweep",
    "load_sweep_timeseries",
    "load_target_set",
    "package_version",
    "run",
    "without_authorities",
]
