"""Run Flee on a directory written by `caravan export flee`, timing it from inside (run by
bench_compare.py in Flee's own virtual environment, never imported by the project).

It does what Flee's run script does each day (conflict zones, spawning from the departure
counts, closures, `Ecosystem.evolve`), without its per-day output of errors against data. Timed:
  setup  reading the input files into an `Ecosystem` and a `RefugeeTable`;
  loop   all days (spawning included, as Flee spawns agents inside the day loop);
  evolve the `evolve()` calls alone.
Imports and interpreter start-up are not timed. Python's and numpy's generators are seeded.

Usage (Flee's interpreter):
    python flee_driver.py EXPORT_DIR OUT.json [--seed 0] [--days D]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
from _common import peak_rss_bytes, rss_bytes
from flee import InputGeography, flee, spawning
from flee.datamanager import handle_refugee_data, read_period
from flee.SimulationSettings import SimulationSettings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("export_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--days", type=int, help="fewer days than the export's")
    args = parser.parse_args()
    random.seed(args.seed)
    np.random.seed(args.seed)  # noqa: NPY002 - Flee draws from numpy's global generator
    os.chdir(args.export_dir)  # Flee looks for optional demographics files in ./input_csv
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    start_date, days = read_period.read_conflict_period("input_csv/conflict_period.csv")
    days = min(days, args.days or days)
    SimulationSettings.ReadFromYML("simsetting.yml")
    SimulationSettings.ConflictInputFile = "input_csv/conflicts.csv"
    e = flee.Ecosystem()
    geography = InputGeography.InputGeography()
    geography.ReadConflictInputCSV(SimulationSettings.ConflictInputFile)
    geography.ReadLocationsFromCSV("input_csv/locations.csv")
    geography.ReadLinksFromCSV("input_csv/routes.csv")
    geography.ReadClosuresFromCSV("input_csv/closures.csv")
    e, by_name = geography.StoreInputGeographyInEcosystem(e)
    departures = handle_refugee_data.RefugeeTable(
        csvformat="generic",
        data_directory="source_data",
        start_date=start_date,
        data_layout="data_layout.csv",
    )
    t1 = time.perf_counter()
    evolve_s = 0.0
    agent_steps = 0
    agents_by_day = []
    for t in range(days):
        geography.AddNewConflictZones(e, t)
        spawning.spawn_daily_displaced(e, t, departures)
        spawning.refresh_spawn_weights(e)
        e.enact_border_closures(t)
        agents_by_day.append(len(e.agents))
        agent_steps += len(e.agents)
        k0 = time.perf_counter()
        e.evolve()
        evolve_s += time.perf_counter() - k0
    t2 = time.perf_counter()
    camps = {name: by_name[name].numAgents for name in e.get_camp_names()}
    on_links = sum(1 for a in e.agents if a.travelling)
    result = {
        "side": "Flee 3.1",
        "flee_file": flee.__file__,
        "agents": len(e.agents),
        "days": days,
        "steps": days,
        "step_h": 24.0,
        "agent_steps": agent_steps,
        "agents_by_day": agents_by_day,
        "arrived": camps,
        "on_roads_at_end": on_links,
        "setup_s": t1 - t0,
        "loop_s": t2 - t1,
        "evolve_s": evolve_s,
        "rss_before_setup_bytes": rss0,
        "max_rss_bytes": peak_rss_bytes(),
        "python": sys.version.split()[0],
    }
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
