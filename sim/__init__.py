"""caravan-sim: an agent-based simulation of migrant caravans on a road network."""

from sim.model import CaravanModel, package_version, run
from sim.results import Results
from sim.scenario import Scenario, load
from sim.sweep.store import load_sweep, load_sweep_timeseries

__all__ = [
    "CaravanModel",
    "Results",
    "Scenario",
    "load",
    "load_sweep",
    "load_sweep_timeseries",
    "package_version",
    "run",
]
