"""The same scenario and seed give the same results: run twice, on one thread or many, with any
number of numba threads; written files are identical. Different seeds give different results.

The last tests run fresh interpreters: a seed's results must not depend on what else ran before
it in the same process (regression: the run key once reached numba as a Python int, typed int64
or uint64 by its value, which confined draws to [0, 0.5) for half the seeds, made results depend
on the seeds run before, and crashed a uint64 seed after an int64 one).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pyarrow.parquet as pq
import pytest

from sim import kernels
from sim.model import CaravanModel, run
from sim.rundir import write_run
from sim.scenario import Scenario, load

REPO = Path(__file__).resolve().parent.parent
SMALL = ["population.size=2000", "output.plots=false"]
# More people than one chunk of the kernel (CHUNK rows), so several chunks are summed.
BIG = ["population.size=33000", "time.duration_h=80"]
TABLES = ("timeseries", "places", "roads", "events")


@pytest.fixture(scope="module")
def small(january_path: Path) -> Scenario:
    return load(january_path, SMALL)


@pytest.fixture(scope="module")
def big(january_path: Path) -> Scenario:
    scenario = load(january_path, BIG)
    assert scenario.population.size > 2 * kernels.CHUNK
    return scenario


def assert_same_run(a: CaravanModel, b: CaravanModel) -> None:
    ra, rb = a.results(), b.results()
    assert ra.outcomes == rb.outcomes
    np.testing.assert_array_equal(ra.counts, rb.counts)
    np.testing.assert_array_equal(ra.places, rb.places)
    np.testing.assert_array_equal(ra.roads, rb.roads)
    assert ra.events == rb.events
    for name, column in a.migrants._asdict().items():
        np.testing.assert_array_equal(column, getattr(b.migrants, name), err_msg=name)


def finished(scenario: Scenario, seed: int, threads: bool = True) -> CaravanModel:
    model = CaravanModel(scenario, seed=seed, threads=threads)
    model.run()
    return model


@pytest.fixture(scope="module")
def small_twice(small: Scenario) -> tuple[CaravanModel, CaravanModel]:
    return finished(small, seed=7), finished(small, seed=7)


def test_same_seed_twice_gives_identical_files(
    small: Scenario, small_twice: tuple[CaravanModel, CaravanModel], tmp_path: Path
) -> None:
    runs = [model.results() for model in small_twice]
    assert runs[0].outcomes == runs[1].outcomes
    summaries = [write_run(tmp_path / name, small, [r]) for name, r in zip("ab", runs, strict=True)]
    on_disk = [json.loads((tmp_path / name / "summary.json").read_text()) for name in "ab"]
    for summary in (*summaries, *on_disk):
        assert summary["outcomes"] == on_disk[0]["outcomes"]
        assert summary["per_replicate"] == on_disk[0]["per_replicate"]
        assert summary["seeds"] == [7]
    for table in TABLES:
        a = pq.read_table(tmp_path / "a" / f"{table}.parquet")
        b = pq.read_table(tmp_path / "b" / f"{table}.parquet")
        assert a.num_rows > 0, table
        assert a.equals(b), table
    assert (tmp_path / "a" / "scenario.yaml").read_text() == (
        tmp_path / "b" / "scenario.yaml"
    ).read_text()


def test_same_seed_twice_gives_identical_migrants(
    small_twice: tuple[CaravanModel, CaravanModel],
) -> None:
    assert_same_run(*small_twice)


def test_different_seeds_differ(
    small: Scenario, small_twice: tuple[CaravanModel, CaravanModel]
) -> None:
    a, b = small_twice[0].results(), run(small, seed=8)
    assert a.outcomes["departed"] == b.outcomes["departed"] == 2000
    assert a.outcomes != b.outcomes
    assert not np.array_equal(a.counts, b.counts)


@pytest.fixture(scope="module")
def big_threaded(big: Scenario) -> CaravanModel:
    return finished(big, seed=2, threads=True)


def test_threads_or_not_identical(big: Scenario, big_threaded: CaravanModel) -> None:
    assert big_threaded.tallies.counts.shape[0] >= 3  # several chunks summed
    assert_same_run(big_threaded, finished(big, seed=2, threads=False))


def test_numba_thread_count_does_not_matter(big: Scenario, big_threaded: CaravanModel) -> None:
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba has a single thread here")
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = finished(big, seed=2, threads=True)
        numba.set_num_threads(2)
        two = finished(big, seed=2, threads=True)
    finally:
        numba.set_num_threads(before)
    assert_same_run(one, two)
    assert_same_run(one, big_threaded)


# --------------------------------------------------------------------------------------------
# Fresh interpreters: nothing compiled or run before in the process
# --------------------------------------------------------------------------------------------

RUN_SEEDS = textwrap.dedent(
    """
    import json, sys
    import sim
    scenario = sim.scenario.load(sys.argv[1], sys.argv[3:])
    out = {}
    for seed in json.loads(sys.argv[2]):
        out[seed] = sim.run(scenario, seed=seed).outcomes
    print(json.dumps(out))
    """
)


def outcomes_in_fresh_process(
    scenario: Path, seeds: list[int], sets: list[str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUN_SEEDS, str(scenario), json.dumps(seeds), *sets],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        timeout=300,
        check=False,
    )


CHECKPOINT_EVERYONE_PASSES = {
    "population": {"size": 4000},
    "authorities": {
        "checks": {
            "kind": "checkpoints",
            "places": ["B"],
            "active": [-1, 100],
            "intercept_chance": 0.3,
            "dispersed_intercept_factor": 1.0,
        }
    },
}


def test_intercept_share_matches_its_chance_in_a_fresh_process(make_scenario: Any) -> None:
    # Seed 3's key is below 2**63: as a Python int it used to make numba compile int64 code
    # whose draws lie in [0, 0.5), and a 30% checkpoint remitted 60%.
    path = make_scenario.write(CHECKPOINT_EVERYONE_PASSES)
    done = outcomes_in_fresh_process(path, [3], [])
    assert done.returncode == 0, done.stderr
    remitted = json.loads(done.stdout)["3"]["remitted"]
    # Binomial(4000 people in groups of 1, 0.3): sd about 29; 0.3 +- 0.03 is > 4 sd.
    assert abs(remitted / 4000 - 0.3) < 0.03


def test_a_seed_gives_the_same_results_whatever_ran_before(january_path: Path) -> None:
    # Seed 0's key is 2**63 or more, seed 3's below.
    alone = outcomes_in_fresh_process(january_path, [3], SMALL)
    after_zero = outcomes_in_fresh_process(january_path, [0, 3], SMALL)
    assert alone.returncode == 0, alone.stderr
    assert after_zero.returncode == 0, after_zero.stderr
    assert json.loads(alone.stdout)["3"] == json.loads(after_zero.stdout)["3"]


def test_seeds_can_run_in_any_order_in_one_process(january_path: Path) -> None:
    # Used to fail with OverflowError (int too big to convert) in kernels._infect.
    done = outcomes_in_fresh_process(january_path, [3, 0], SMALL)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("sets", [[], ["authorities={}"]], ids=["january-2021", "no-authorities"])
def test_skipping_idle_night_steps_changes_no_result(january_path: Path, sets: list[str]) -> None:
    """The kernel skipped on nights when nobody can change (`CaravanModel._nobody_changes`)
    leaves every migrant, count, place and road series as stepping everyone would."""
    scenario = load(january_path, ["population.size=3000", *sets])
    skipping = CaravanModel(scenario, seed=4, threads=False)
    stepping = CaravanModel(scenario, seed=4, threads=False)
    stepping.skip_idle_steps = False
    a, b = skipping.run(), stepping.run()
    for name in ("counts", "places", "roads"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.events == b.events
    for x, y in zip(skipping.migrants, stepping.migrants, strict=True):
        np.testing.assert_array_equal(x, y)
