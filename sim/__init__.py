"""caravan-sim: an agent-based simulation of migrant caravans on a road network."""

from sim.model import CaravanModel, package_version, run
from sim.results import Results
from sim.scenario import Scenario, load

__all__ = ["CaravanModel", "Results", "Scenario", "load", "package_version", "run"]
