"""The counter-based generator: uniform on [0, 1), neighbouring keys unrelated, a pure function.

Bulk draws come from small njit loops that call `sim.kernels.rng.uniform` as the kernel does,
with the key as `seed_key` returns it (np.uint64). A key handed over as a Python int is checked
in a fresh process, so whatever code it makes numba compile cannot leak into other tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import numpy.typing as npt
import pytest
from numba import njit
from scipy import stats

from sim import rng
from sim.kernels import rng as jit_rng

N = 100_000
KEYS = {
    "seed 0": rng.seed_key(0),  # key of 2**63 or more
    "seed 3": rng.seed_key(3),  # key below 2**63
    "zero": np.uint64(0),
    "all ones": np.uint64(2**64 - 1),
}


@njit(cache=False)
def draws(
    key: np.uint64,
    stream: npt.NDArray[np.int64],
    ident: npt.NDArray[np.int64],
    step: npt.NDArray[np.int64],
    draw: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    out = np.empty(ident.shape[0])
    for k in range(ident.shape[0]):
        out[k] = jit_rng.uniform(key, stream[k], ident[k], step[k], draw[k])
    return out


def sample(
    key: np.uint64, stream: int = rng.RIDE, ident: object = 0, step: object = 0, draw: object = 0
) -> npt.NDArray[np.float64]:
    """N draws; each of ident, step, draw is a number or an array of N."""
    as_array = [
        np.broadcast_to(np.asarray(x, dtype=np.int64), (N,)).copy()
        for x in (stream, ident, step, draw)
    ]
    return draws(key, *as_array)


CONSECUTIVE = np.arange(N, dtype=np.int64)


@pytest.mark.parametrize("key", KEYS.values(), ids=KEYS.keys())
def test_values_lie_in_unit_interval(key: np.uint64) -> None:
    for u in (sample(key, ident=CONSECUTIVE), sample(key, step=CONSECUTIVE, ident=7)):
        assert u.min() >= 0.0
        assert u.max() < 1.0


@pytest.mark.parametrize("key", KEYS.values(), ids=KEYS.keys())
@pytest.mark.parametrize("axis", ["ident", "step", "draw"])
def test_consecutive_counters_are_uniform(key: np.uint64, axis: str) -> None:
    u = sample(key, stream=rng.CHECKPOINT, **{axis: CONSECUTIVE})
    counts, _ = np.histogram(u, bins=100, range=(0.0, 1.0))
    assert stats.chisquare(counts).pvalue > 0.001
    assert stats.kstest(u, "uniform").pvalue > 0.001
    assert abs(u.mean() - 0.5) < 0.005  # sd of the mean: 0.29 / sqrt(N) = 0.0009


@pytest.mark.parametrize("key", KEYS.values(), ids=KEYS.keys())
def test_neighbouring_keys_are_uncorrelated(key: np.uint64) -> None:
    ids = CONSECUTIVE
    base = sample(key, stream=rng.GIVE_UP, ident=ids, step=5)
    neighbours = {
        "id + 1": sample(key, stream=rng.GIVE_UP, ident=ids + 1, step=5),
        "step + 1": sample(key, stream=rng.GIVE_UP, ident=ids, step=6),
        "stream + 1": sample(key, stream=rng.GIVE_UP + 1, ident=ids, step=5),
        "draw + 1": sample(key, stream=rng.GIVE_UP, ident=ids, step=5, draw=1),
        "key ^ 1": sample(key ^ np.uint64(1), stream=rng.GIVE_UP, ident=ids, step=5),
    }
    for name, other in neighbours.items():
        assert abs(np.corrcoef(base, other)[0, 1]) < 0.02, name
        # Not just uncorrelated: the pairs fill the unit square evenly (10 x 10 cells).
        cells, _, _ = np.histogram2d(base, other, bins=10, range=[[0, 1], [0, 1]])
        assert stats.chisquare(cells.ravel()).pvalue > 0.001, name


def test_python_copy_draws_the_kernels_numbers() -> None:
    """`sim.rng.uniform` (plain Python, for rules) and the kernel's compiled copy agree on every
    key, stream and counter, large ones included."""
    rows = [
        (key, stream, ident, step, draw)
        for key in KEYS.values()
        for stream in (rng.ROUTE, rng.BREACH, rng.BOARD)
        for ident in (0, 1, 2**31 - 1, 2**40)
        for step in (0, 7, 2**20)
        for draw in (0, 3)
    ]
    compiled = [
        draws(key, *(np.array([x], dtype=np.int64) for x in counters))[0] for key, *counters in rows
    ]
    assert [rng.uniform(*row) for row in rows] == compiled


def test_same_inputs_same_number() -> None:
    key = KEYS["seed 0"]
    a = sample(key, ident=CONSECUTIVE, step=3, draw=2)
    b = sample(key, ident=CONSECUTIVE, step=3, draw=2)
    np.testing.assert_array_equal(a, b)
    # The plain Python copy (which rules call) gives the same numbers.
    for i in (0, 1, 999, 54321):
        assert rng.uniform(key, rng.RIDE, i, 3, 2) == a[i]
        assert rng.uniform(key, rng.RIDE, i, 3, 2) == rng.uniform(key, rng.RIDE, i, 3, 2)


@njit(cache=False)
def splitmix_of(seed: np.uint64) -> np.uint64:
    return jit_rng.mix64(seed + np.uint64(rng.GOLDEN))


def test_seed_key_is_a_uint64_splitmix_of_the_seed() -> None:
    for seed in [0, 1, 3, 7, 12345, 2**31, 2**40, 2**63 - 1]:
        key = rng.seed_key(seed)
        assert isinstance(key, np.uint64), seed  # never a Python int (numba would type it int64)
        assert int(key) == int(splitmix_of(np.uint64(seed))), seed
    assert rng.seed_key(3) < 2**63 <= rng.seed_key(0)  # both kinds are covered above


def test_negative_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="seed"):
        rng.seed_key(-1)


def test_seeds_give_distinct_keys() -> None:
    keys = {int(rng.seed_key(seed)) for seed in range(10_000)}
    assert len(keys) == 10_000
    assert rng.seed_key(42) == rng.seed_key(42)


def test_streams_are_distinct_numbers() -> None:
    streams = [
        rng.ROUTE,
        rng.RIDE,
        rng.GIVE_UP,
        rng.GIVE_UP_CHOICE,
        rng.SLIP,
        rng.CLEARANCE,
        rng.CHECKPOINT,
        rng.TEST,
        rng.TEST_RESULT,
        rng.INFECTION,
        rng.BREACH,
        rng.TEST_HELD,
        rng.BOARD,
    ]
    assert len(set(streams)) == len(streams)


PYTHON_INT_KEY = textwrap.dedent(
    """
    import json
    import numpy as np
    from numba import njit
    from sim import rng
    from sim.kernels import rng as jit_rng

    @njit
    def many(key, n):
        out = np.empty(n)
        for i in range(n):
            out[i] = jit_rng.uniform(key, rng.CHECKPOINT, i, 0, 0)
        return out

    key = rng.seed_key(3)  # below 2**63: as a Python int numba types it int64
    u = many(int(key), 100000)
    reference = many(key, 100000)
    print(json.dumps({
        "type": type(key).__name__,
        "min": u.min(), "max": u.max(), "mean": u.mean(),
        "same_as_uint64": bool((u == reference).all()),
    }))
    """
)


def test_key_given_as_python_int_gives_the_same_draws() -> None:
    # Regression: with an int64-typed key every SplitMix word in uniform() was int64 and the
    # draws lay in [0, 0.5) (mean 0.25).
    done = subprocess.run(
        [sys.executable, "-c", PYTHON_INT_KEY],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    found = json.loads(done.stdout)
    assert found["type"] == "uint64", found
    assert found["same_as_uint64"], found
    assert found["max"] > 0.99, found
    assert abs(found["mean"] - 0.5) < 0.005, found
