"""Shared fixtures: small scenarios written as YAML to a temporary directory.

`make_scenario(changes, sets=...)` writes the MICRO scenario below, deep-merged with `changes`,
and loads it with `sim.scenario.load` (so the file goes through the same validation as a user's
file). In `changes`:
  - mappings merge key by key, anything else (lists, numbers) replaces;
  - the value `DROP` removes a key;
  - a wave's `at`, and an authority's `active`, may be given in hours from the scenario start
    (`at: 0`, `active: [6, 18]`); they are turned into dates before the YAML is written.
`sets` are `--set key.path=value` overrides, applied by `load` after the file is read.

The micro network is a line A - B - C (10 km + 20 km): A in Honduras (the origin, where
people are returned to), B a crossing into Guatemala, C a crossing into Mexico (the destination).
One person walking 5 km/h all day with no rides: at B after 2 h, at C after 6 h.

For the plot, loader and CLI tests there are also small real runs of the January 2021 scenario,
made once per session: `small_january` (400 people, seeds 0-2), `small_run_dir` (the same
written as a run directory), and two small sweeps, `grid_sweep_dir` and `sobol_sweep_dir`.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import _sweep_helpers
import pandas as pd
import pytest
import yaml

from sim.model import run
from sim.results import Results
from sim.rundir import write_run
from sim.scenario import Scenario, load
from sim.sweep.executors import SerialExecutor
from sim.sweep.plan import load_sweep_file
from sim.sweep.runner import run_sweep

START = datetime(2021, 1, 1, 0, 0)

MICRO = """\
name: micro
time:
  start: 2021-01-01T00:00:00
  duration_h: 12
  step_h: 1

network:
  places:
    - {id: A, country: HN, lat: 15.50, lon: -88.00, kind: [origin, return_point]}
    - {id: B, country: HN-GT, lat: 14.90, lon: -89.10, kind: [border_crossing]}
    - {id: C, country: GT-MX, lat: 14.70, lon: -92.10, kind: [border_crossing]}
  roads:
    - {between: [A, B], length_km: 10}
    - {between: [B, C], length_km: 20}

population:
  size: 1
  origin: A
  waves:
    only: {at: 2021-01-01T00:00:00, share: 1.0}
  group_size: {sizes: [1], shares: [1.0]}

movement:
  walking_speed_kmh: 5
  day_starts_h: 0
  day_ends_h: 24
  ride_chance_per_h: {HN: 0.0, GT: 0.0}
  ride_speed_kmh: 40
  dispersed_speed_factor: 0.5

route_choice:
  destinations: [C]
  detour_scale_km: 50
  max_detour_km: 0
  crowd_weight: 0

authorities: {}

health:
  prevalence: 0.0
  sensitivity: 1.0
  specificity: 1.0
  quarantine_days: 1

output: {time_series: true, place_counts: true, plots: false}
"""


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP = _Drop()


def at(hours: float) -> datetime:
    """The scenario clock `hours` after START."""
    return START + timedelta(hours=hours)


def merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge `changes` into a copy of `base` (mappings merge, the rest replaces)."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if value is DROP:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _hours_to_dates(data: dict[str, Any]) -> None:
    start = data["time"]["start"]
    for wave in data["population"]["waves"].values():
        if isinstance(wave.get("at"), int | float):
            wave["at"] = start + timedelta(hours=wave["at"])
    for spec in (data.get("authorities") or {}).values():
        active = spec.get("active")
        if isinstance(active, list | tuple):
            spec["active"] = {
                "start": start + timedelta(hours=active[0]),
                "end": start + timedelta(hours=active[1]),
            }


class ScenarioFactory:
    """Writes scenario files into one directory, each under a new name."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._numbers = itertools.count()

    def data(self, changes: Mapping[str, Any] | None = None) -> dict[str, Any]:
        data = merge(yaml.safe_load(MICRO), changes or {})
        _hours_to_dates(data)
        return data

    def write(self, changes: Mapping[str, Any] | None = None) -> Path:
        path = self.directory / f"scenario-{next(self._numbers)}.yaml"
        text = yaml.safe_dump(self.data(changes), sort_keys=False, default_flow_style=None)
        path.write_text(text, encoding="utf-8")
        return path

    def __call__(
        self, changes: Mapping[str, Any] | None = None, sets: Sequence[str] = ()
    ) -> Scenario:
        return load(self.write(changes), overrides=list(sets))


@pytest.fixture
def make_scenario(tmp_path: Path) -> ScenarioFactory:
    """Build a micro scenario with changes: `make_scenario({"population": {"size": 5}})`."""
    return ScenarioFactory(tmp_path)


@pytest.fixture(scope="session")
def session_scenarios(tmp_path_factory: pytest.TempPathFactory) -> ScenarioFactory:
    """The same factory in a session-wide directory (for hypothesis tests, which must not use
    function-scoped fixtures)."""
    return ScenarioFactory(tmp_path_factory.mktemp("scenarios"))


@pytest.fixture(scope="session")
def ref(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The interrupt and Dask tests' sweep run serially and uninterrupted: (sweep file, its
    sweep directory), run once per session."""
    return _sweep_helpers.reference(tmp_path_factory.mktemp("reference"))


@pytest.fixture(scope="session")
def expected(ref: tuple[Path, Path]) -> pd.DataFrame:
    """The reference sweep's runs, without provenance columns."""
    return _sweep_helpers.results(ref[1])


@pytest.fixture(scope="session")
def january_path() -> Path:
    return Path(__file__).resolve().parent.parent / "scenarios" / "january-2021.yaml"


# --------------------------------------------------------------------------------------------
# Small real runs and sweeps of the January 2021 scenario, for the plot, loader and CLI tests
# --------------------------------------------------------------------------------------------

SMALL_JANUARY = ["population.size=400", "output.plots=false"]
SMALL_SEEDS = (0, 1, 2)


@pytest.fixture(scope="session")
def small_january(january_path: Path) -> tuple[Scenario, list[Results]]:
    """The January 2021 scenario with 400 people (the whole week), run with seeds 0, 1, 2."""
    scenario = load(january_path, SMALL_JANUARY)
    return scenario, [run(scenario, seed=seed, threads=False) for seed in SMALL_SEEDS]


@pytest.fixture(scope="session")
def small_run_dir(
    small_january: tuple[Scenario, list[Results]], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """`small_january` written as a run directory (without PNGs). Read-only: copy to change."""
    scenario, runs = small_january
    out = tmp_path_factory.mktemp("run") / "january-small"
    write_run(out, scenario, runs)
    return out


def _small_sweep(directory: Path, january_path: Path, body: str) -> Path:
    path = directory / "sweep.yaml"
    path.write_text(
        f"name: {directory.name}\nbase: {january_path}\n"
        "set: {population.size: 400, output.plots: false}\n" + body,
        encoding="utf-8",
    )
    out = directory / "out"
    summary = run_sweep(load_sweep_file(path), out, SerialExecutor())
    assert summary.status == "complete"
    return out


@pytest.fixture(scope="session")
def grid_sweep_dir(tmp_path_factory: pytest.TempPathFactory, january_path: Path) -> Path:
    """A grid sweep: 3 blockade slip chances x 2 durations x 2 replicates = 12 runs."""
    return _small_sweep(
        tmp_path_factory.mktemp("grid"),
        january_path,
        """parameters:
  authorities.vado_hondo_blockade.slip_chance_per_h:
    {values: [0.001, 0.01, 0.1], label: slip_chance_per_h}
  authorities.vado_hondo_blockade.active.end:
    {hours_after: 2021-01-16T19:00:00-06:00, values: [12, 72], label: blockade_duration_h}
design: {kind: grid}
replicates: 2
seed: 0
""",
    )


@pytest.fixture(scope="session")
def sobol_sweep_dir(tmp_path_factory: pytest.TempPathFactory, january_path: Path) -> Path:
    """A Sobol' sweep over walking speed and checkpoint interception: 8 x (2 + 2) = 32 runs."""
    return _small_sweep(
        tmp_path_factory.mktemp("sobol"),
        january_path,
        """parameters:
  movement.walking_speed_kmh: {range: [2.5, 4.0], label: walking_speed_kmh}
  authorities.highway_checkpoints.intercept_chance: {range: [0.03, 0.3], label: intercept_chance}
design: {kind: sobol, base_points: 8}
replicates: 1
seed: 0
""",
    )
