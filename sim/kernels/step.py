"""The kernel's entry points: one step of every migrant, chunk by chunk, on one thread or many.

Migrants are split into fixed chunks of CHUNK rows; each chunk writes its own row of counters,
and the model sums the rows. Chunks, not threads, define the sums, so results are identical on
any number of threads.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from sim.kernels import rng as jit_rng
from sim.kernels.passes import list_changeable, move_and_count, update_statuses
from sim.population import INFECTED, Migrants
from sim.results_schema import N_COUNTERS, N_PLACE_COUNTERS
from sim.rng import INFECTION

CHUNK = 16384


class StepParams(NamedTuple):
    """The numbers of one step (numbers only: the rules receive it whole)."""

    key: np.uint64
    step: int
    step_h: float
    daylight: bool  # groups travel only in the day window
    walking_speed_kmh: float
    ride_speed_kmh: float
    dispersed_speed_factor: float
    sensitivity: float
    specificity: float
    quarantine_steps: int  # whole steps, at least the quarantine's length
    give_up_growth_h: float  # the road give-up hazard grows by itself over these hours; 0: not
    dispersed_give_up_factor: float  # multiplies the road give-up hazard off the main road
    determined_share: float  # share of groups that never give up on the road
    return_speed_kmh: float  # on one's own way back to a return point; 0: there at once
    reroute_at_closures: bool  # at a closed road, take another route from there if one is open


class StepInputs(NamedTuple):
    """The arrays one step reads besides the migrants."""

    route_cdf: npt.NDArray[np.float64]  # [route] cumulative route weights of each origin's
    # routes (sim.network.RouteArrays.from_first), each origin's ending at 1
    ride_chance: npt.NDArray[np.float64]  # [place] per step, on a road leading there, with
    # the place's `ride_factor` applied
    place_fx: npt.NDArray[np.void]  # [place] effects (sim.rules.effects.PLACE_EFFECT)
    road_fx: npt.NDArray[np.void] | None  # [road] effects (ROAD_EFFECT); None if none is set


class Tallies(NamedTuple):
    """Per-chunk counters written by one kernel call (the model sums over axis 0), and per chunk
    the rows whose status may change at the next step (kept from step to step)."""

    counts: npt.NDArray[np.int64]  # [chunk, counter] as sim.results_schema.COUNTERS
    places: npt.NDArray[np.int64]  # [chunk, place, counter] as PLACE_COUNTERS
    roads: npt.NDArray[np.int64]  # [chunk, road] travelling migrants on each road
    route_picks: npt.NDArray[np.int64]  # [chunk, route] groups' members choosing each route
    due: npt.NDArray[
        np.uint16
    ]  # [chunk, k] offsets of the rows pass 1 visits, from the chunk's first
    n_due: npt.NDArray[np.int64]  # [chunk, (how many listed, the step they are listed for)]


def empty_tallies(n_migrants: int, n_places: int, n_roads: int, n_routes: int) -> Tallies:
    n_chunks = max(1, -(-n_migrants // CHUNK))
    return Tallies(
        counts=np.zeros((n_chunks, N_COUNTERS), dtype=np.int64),
        places=np.zeros((n_chunks, n_places, N_PLACE_COUNTERS), dtype=np.int64),
        roads=np.zeros((n_chunks, n_roads), dtype=np.int64),
        route_picks=np.zeros((n_chunks, n_routes), dtype=np.int64),
        due=np.zeros((n_chunks, CHUNK), dtype=np.uint16),
        n_due=np.full((n_chunks, 2), -1, dtype=np.int64),
    )


@njit(cache=True)
def _step_chunk(c, m, routes, places, inputs, p, tallies):  # type: ignore[no-untyped-def]
    """Zero chunk c's counters and advance its migrants."""
    lo = c * CHUNK
    hi = min(m.status.shape[0], (c + 1) * CHUNK)
    counts = tallies.counts[c]
    at_places = tallies.places[c]
    on_roads = tallies.roads[c]
    picks = tallies.route_picks[c]
    counts[:] = 0
    at_places[:] = 0
    on_roads[:] = 0
    picks[:] = 0
    due = tallies.due[c]
    n_due = tallies.n_due[c]
    if n_due[1] != p.step:  # not listed by the last step's pass 2: list everyone who may change
        n_due[0] = list_changeable(lo, hi, m, p.step, due)
    update_statuses(
        lo, n_due[0], due, m, routes, places, inputs.route_cdf, inputs.place_fx, p, counts,
        at_places, picks,
    )  # fmt: skip
    n_due[0] = move_and_count(
        lo,
        hi,
        m,
        due,
        routes,
        places,
        inputs.route_cdf,
        inputs.ride_chance,
        inputs.place_fx,
        inputs.road_fx,
        p,
        counts,
        at_places,
        on_roads,
    )
    n_due[1] = p.step + 1


# Two entry points with the same arguments: chunks on threads, or one after another. They are
# separate functions, not one compiled twice, because numba keys its on-disk cache by function
# name and signature, not by `parallel=`: one function compiled both ways would load whichever
# variant was cached first for both.
@njit(cache=True, parallel=True)
def step_migrants_parallel(m, routes, places, inputs, p, tallies):  # type: ignore[no-untyped-def]
    """Advance every migrant one step, chunks spread over numba's threads."""
    for c in prange(tallies.counts.shape[0]):
        _step_chunk(c, m, routes, places, inputs, p, tallies)


@njit(cache=True)
def step_migrants_serial(m, routes, places, inputs, p, tallies):  # type: ignore[no-untyped-def]
    """Advance every migrant one step on the calling thread (results identical to parallel)."""
    for c in range(tallies.counts.shape[0]):
        _step_chunk(c, m, routes, places, inputs, p, tallies)


def infect(m: Migrants, key: np.uint64, prevalence: float) -> None:
    """Mark each migrant infected at departure with chance `prevalence` (own draw per person)."""
    _infect(m.flags, key, prevalence)


@njit(cache=True)
def _infect(flags, key, prevalence):  # type: ignore[no-untyped-def]
    for i in range(flags.shape[0]):
        if jit_rng.uniform(key, INFECTION, i, 0, 0) < prevalence:
            flags[i] |= INFECTED
