"""The migrants: one row per person in a structure of arrays, with their states and flags.

About 24 bytes per migrant. Row i is migrant i for the whole run (a stable id). Groups are
consecutive rows; everything a group decides is drawn with the group's id, so its members stay
together until a rule acts on one person alone (a positive test).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt

from sim.results_schema import HOLD_CLASSES

if TYPE_CHECKING:
    from sim.scenario import Population

# status: where in its journey a migrant is. Statuses from FIRST_FINAL on are final. Those
# between MOVING and FIRST_FINAL change by the hour, not by walking (the kernel's first pass:
# one range check tells them apart).
MOVING = 0  # at a place or on a road, travelling
WAITING = 1  # not yet departed
QUARANTINED = 2
AWAITING_TRANSPORT = 3  # gave up, waits at a place for return transport
IN_TRANSPORT = 4  # on return transport, until it reaches its return point
GOING_BACK = 5  # gave up and makes their own way back to a return point, until they reach it
HELD_FIRST = 6  # held in hold class k (from 1): status HELD_FIRST + k - 1
HELD_BORDER = HELD_FIRST + HOLD_CLASSES.index("border")
HELD_BLOCKADE = HELD_FIRST + HOLD_CLASSES.index("blockade")
FIRST_FINAL = 16  # room for hold classes below it
RETURNED = 16  # went back to a return point of their own accord (on foot, by bus, by transport)
REMITTED = 17  # intercepted at a checkpoint and deported
DEPORTED = 18  # deported at the end of a quarantine
ARRIVED = 19  # reached a destination (a Mexican border crossing)
assert HELD_FIRST + len(HOLD_CLASSES) <= FIRST_FINAL

# flags: facts that accumulate (bits of one byte)
INFECTED = np.uint8(1)
DISPERSED = np.uint8(2)  # left the main road: slower, not held, less often intercepted
ENTERED = np.uint8(4)  # has entered Guatemala
TESTED = np.uint8(8)
SLIPPED = np.uint8(16)  # got past a blockade while it held
LET_GO = np.uint8(32)  # let go at a place this step (released, dispersed or slipped past)


class Migrants(NamedTuple):
    status: npt.NDArray[np.uint8]
    flags: npt.NDArray[np.uint8]
    group: npt.NDArray[np.int32]
    route: npt.NDArray[np.int16]  # chosen route, -1 before departure
    leg: npt.NDArray[np.int16]  # leg of the route being travelled
    km: npt.NDArray[np.float32]  # km travelled along that leg
    place: npt.NDArray[np.int16]  # place at or last passed (before departure: the origin);
    # for final statuses, where they ended
    depart_step: npt.NDArray[np.int32]  # step in which the group sets off
    timer_step: npt.NDArray[np.int32]  # step in which a hold began, or the quarantine ends

    @property
    def n(self) -> int:
        return int(self.status.shape[0])

    @property
    def nbytes(self) -> int:
        return sum(int(a.nbytes) for a in self)


def empty(n: int) -> Migrants:
    """n migrants waiting to depart, with no group, route or infection yet."""
    return Migrants(
        status=np.full(n, WAITING, dtype=np.uint8),
        flags=np.zeros(n, dtype=np.uint8),
        group=np.arange(n, dtype=np.int32),
        route=np.full(n, -1, dtype=np.int16),
        leg=np.zeros(n, dtype=np.int16),
        km=np.zeros(n, dtype=np.float32),
        place=np.zeros(n, dtype=np.int16),
        depart_step=np.zeros(n, dtype=np.int32),
        timer_step=np.zeros(n, dtype=np.int32),
    )


def create(
    population: Population,
    wave_start_h: dict[str, float],
    origin: int,
    step_h: float,
    rng: np.random.Generator,
    wave_origins: Mapping[str, int] | None = None,
) -> Migrants:
    """Form groups, give each a wave and a departure hour (on a step boundary), place them where
    their wave leaves from: `wave_origins[wave]` (a place index), else `origin`.

    Group sizes are drawn from `group_size`; a wave's last group is cut to fit its count. Groups
    of a wave with `spread_h` leave at whole steps spread evenly at random over that window;
    a group leaves in the first step that starts at or after its departure time. The draws do
    not depend on where waves leave from. Rows are in the order of the waves (`wave_rows`).
    """
    counts = population.wave_counts()
    migrants = empty(population.size)
    migrants.place[:] = origin
    wave_origins = wave_origins or {}
    sizes = np.asarray(population.group_size.sizes)
    shares = np.asarray(population.group_size.shares, dtype=np.float64)
    row = 0
    first_group = 0
    for name, wave in population.waves.items():
        count = counts[name]
        if count == 0:
            continue
        # Draw as many sizes as could be needed (all 1s), keep those that fill the wave.
        drawn = rng.choice(sizes, size=count, p=shares / shares.sum())
        n_groups = int(np.searchsorted(np.cumsum(drawn), count)) + 1
        group_sizes = drawn[:n_groups].copy()
        group_sizes[-1] -= int(group_sizes.sum()) - count
        offsets_h = np.floor(rng.random(n_groups) * wave.spread_h / step_h) * step_h
        ids = np.arange(first_group, first_group + n_groups, dtype=np.int32)
        migrants.group[row : row + count] = np.repeat(ids, group_sizes)
        depart_h = wave_start_h[name] + offsets_h
        # The first step starting at or after the departure time (times are float64 here, so
        # a wave at 73.6 h with 0.2 h steps leaves in step 368, not one early or late).
        depart_step = np.ceil(depart_h / step_h - 1e-9).astype(np.int32)
        migrants.depart_step[row : row + count] = np.repeat(depart_step, group_sizes)
        migrants.place[row : row + count] = wave_origins.get(name, origin)
        row += count
        first_group += n_groups
    return migrants


def wave_rows(population: Population) -> dict[str, slice]:
    """The rows of each wave's people in the migrants `create` makes."""
    rows: dict[str, slice] = {}
    row = 0
    for name, count in population.wave_counts().items():
        rows[name] = slice(row, row + count)
        row += count
    return rows
