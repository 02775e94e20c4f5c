"""Counter-based random numbers: a draw is a pure function of (seed, stream, id, step, draw).

No generator state is carried between calls, so a migrant's draws do not depend on how many
threads or workers ran, in what order, or on what other migrants did. Two scenarios that differ
only where a migrant never goes give that migrant the same numbers (common random numbers).

The mixing function is the SplitMix64 finaliser (Steele, Lea & Flood 2014), applied once per key
word so that neighbouring keys (id 7 and id 8, step 3 and step 4) give unrelated outputs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Streams: one per kind of decision, so adding a rule never shifts another rule's numbers.
ROUTE = 1
RIDE = 2
GIVE_UP = 3
GIVE_UP_CHOICE = 4
SLIP = 5
CLEARANCE = 6
CHECKPOINT = 7
TEST = 8
TEST_RESULT = 9
INFECTION = 10
BREACH = 11
TEST_HELD = 12

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S32 = np.uint64(32)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, inline="always")
def mix64(z: np.uint64) -> np.uint64:
    """SplitMix64 finaliser: a bijection on 64-bit words with strong avalanche."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def seed_key(seed: int) -> np.uint64:
    """The 64-bit key every draw of one run starts from.

    Returned as a numpy uint64 on purpose: numba would type a plain Python int below 2**63 as a
    signed int64, and mixing signed and unsigned words silently turns the arithmetic into floats.
    """
    if seed < 0:
        raise ValueError(f"seed must be 0 or more, got {seed}")
    return np.uint64(_mix64_py(seed))


def _mix64_py(seed: int) -> int:
    """seed -> key with the SplitMix64 finaliser, in Python integers (no overflow warnings)."""
    mask = (1 << 64) - 1
    z = (seed + int(_GOLDEN)) & mask
    z = ((z ^ (z >> 30)) * int(_M1)) & mask
    z = ((z ^ (z >> 27)) * int(_M2)) & mask
    return z ^ (z >> 31)


@njit(cache=True, inline="always")
def uniform(key: np.uint64, stream: int, ident: int, step: int, draw: int) -> float:
    """A uniform number in [0, 1) for this (key, stream, id, step, draw)."""
    z = mix64(np.uint64(key) ^ (np.uint64(stream) * _GOLDEN))
    z = mix64(z ^ np.uint64(ident))
    z = mix64(z ^ ((np.uint64(step) << _S32) | np.uint64(draw)))
    return float(z >> _S11) * _TO_UNIT
