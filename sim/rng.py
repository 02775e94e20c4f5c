"""Counter-based random numbers: a draw is a pure function of (seed, stream, id, step, draw).

No generator state is carried between calls, so a migrant's draws do not depend on how many
threads or workers ran, in what order, or on what other migrants did. Two scenarios that differ
only where a migrant never goes give that migrant the same numbers (common random numbers).

The mixing function is the SplitMix64 finaliser (Steele, Lea & Flood 2014), applied once per key
word so that neighbouring keys (id 7 and id 8, step 3 and step 4) give unrelated outputs.

This module is plain Python, for rules that draw once per place and step (a crowd breaking
through); the migrant kernel draws the same numbers from its compiled copy, `sim.kernels.rng`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

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
BOARD = 13
ROAD_GIVE_UP = 14
REROUTE = 15
RESOLVE = 16  # whether a group is determined never to give up on the road (once per group)

GOLDEN = 0x9E3779B97F4A7C15
M1 = 0xBF58476D1CE4E5B9
M2 = 0x94D049BB133111EB
TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
_MASK = (1 << 64) - 1


def mix64(z: int) -> int:
    """SplitMix64 finaliser on a 64-bit word (Python integers, no overflow warnings)."""
    z = ((z ^ (z >> 30)) * M1) & _MASK
    z = ((z ^ (z >> 27)) * M2) & _MASK
    return z ^ (z >> 31)


def seed_key(seed: int) -> np.uint64:
    """The 64-bit key every draw of one run starts from.

    Returned as a numpy uint64 on purpose: numba would type a plain Python int below 2**63 as a
    signed int64, and mixing signed and unsigned words silently turns the arithmetic into floats.
    """
    import numpy as np  # noqa: PLC0415 - a rule module imports this one; checks need no NumPy

    if seed < 0:
        raise ValueError(f"seed must be 0 or more, got {seed}")
    return np.uint64(mix64((seed + GOLDEN) & _MASK))


def uniform(key: np.uint64 | int, stream: int, ident: int, step: int, draw: int) -> float:
    """A uniform number in [0, 1) for this (key, stream, id, step, draw); the same number as
    the kernel's `sim.kernels.rng.uniform`."""
    z = mix64(int(key) ^ ((stream * GOLDEN) & _MASK))
    z = mix64(z ^ (ident & _MASK))
    z = mix64(z ^ ((((step & _MASK) << 32) | (draw & _MASK)) & _MASK))
    return float(z >> 11) * TO_UNIT
