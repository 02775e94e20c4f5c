"""The compiled copy of `sim.rng.uniform`, for the migrant kernel (same numbers)."""

from __future__ import annotations

import numpy as np
from numba import njit

from sim import rng

_GOLDEN = np.uint64(rng.GOLDEN)
_M1 = np.uint64(rng.M1)
_M2 = np.uint64(rng.M2)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S32 = np.uint64(32)
_TO_UNIT = rng.TO_UNIT


@njit(cache=True, inline="always")
def mix64(z: np.uint64) -> np.uint64:
    """SplitMix64 finaliser: a bijection on 64-bit words with strong avalanche."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def uniform(key: np.uint64, stream: int, ident: int, step: int, draw: int) -> float:
    """A uniform number in [0, 1) for this (key, stream, id, step, draw)."""
    z = mix64(np.uint64(key) ^ (np.uint64(stream) * _GOLDEN))
    z = mix64(z ^ np.uint64(ident))
    z = mix64(z ^ ((np.uint64(step) << _S32) | np.uint64(draw)))
    return float(z >> _S11) * _TO_UNIT
