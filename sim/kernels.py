"""The migrant rules, written once as per-migrant code and compiled with numba.

`step_migrants_parallel` (or `_serial`) advances every migrant one step. Migrants are split
into fixed chunks of CHUNK rows; each chunk writes its own row of counters, and the model sums
the rows. Chunks, not threads, define the sums, so results are identical on any number of
threads.

Order of one migrant's update:
  1. final statuses are skipped;
  2. waiting: departs when its group's hour has come (route drawn for the group);
  3. quarantined: deported to the nearest return point when the quarantine ends;
  4. held (border or blockade): clearance, release (breach or lifted), a test while held,
     giving up (return or disperse), slipping past; otherwise stays held;
  5. moving, in daylight: walks (or rides) its km budget along the route, and at each place it
     reaches: held by a force or blockade, entry into Guatemala counted, checkpoint, health post,
     destination. Any of these can end its movement for the step.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit, prange

from sim import rng
from sim.population import (
    ARRIVED,
    DEPORTED,
    DISPERSED,
    ENTERED,
    FIRST_FINAL,
    HELD_BLOCKADE,
    HELD_BORDER,
    INFECTED,
    MOVING,
    QUARANTINED,
    REMITTED,
    RETURNED,
    SLIPPED,
    TESTED,
    WAITING,
    Migrants,
)

CHUNK = 16384

# Hold kinds a place can have (Policy.hold)
NO_HOLD = 0
BORDER_FORCE = 1
BLOCKADE = 2

# Counter columns: flows this step (new_*), then stocks at the end of the step (n_*).
FLOWS = (
    "departed",
    "held",
    "released",
    "slipped",
    "entered_guatemala",
    "returned_voluntarily",
    "dispersed",
    "remitted",
    "tested",
    "tested_positive",
    "quarantined",
    "deported_after_quarantine",
    "reached_mexican_border",
)
STOCKS = (
    "waiting",
    "moving",
    "moving_in_guatemala",
    "dispersed",
    "dispersed_in_guatemala",
    "held_border",
    "held_blockade",
    "quarantined",
)
(
    NEW_DEPARTED,
    NEW_HELD,
    NEW_RELEASED,
    NEW_SLIPPED,
    NEW_ENTERED,
    NEW_RETURNED,
    NEW_DISPERSED,
    NEW_REMITTED,
    NEW_TESTED,
    NEW_POSITIVE,
    NEW_QUARANTINED,
    NEW_DEPORTED,
    NEW_ARRIVED,
) = range(len(FLOWS))
(
    N_WAITING,
    N_MOVING,
    N_MOVING_IN_GT,
    N_DISPERSED,
    N_DISPERSED_IN_GT,
    N_HELD_BORDER,
    N_HELD_BLOCKADE,
    N_QUARANTINED,
) = range(len(FLOWS), len(FLOWS) + len(STOCKS))
N_COUNTERS = len(FLOWS) + len(STOCKS)

# Place counter columns
AT_PLACE = 0  # travelling migrants standing at the place (held included)
HELD_HERE = 1
N_PLACE_COUNTERS = 2


class Policy(NamedTuple):
    """What the authorities ask of each place this step. Written by authorities, read here."""

    hold: npt.NDArray[np.uint8]  # NO_HOLD, BORDER_FORCE or BLOCKADE
    release: npt.NDArray[np.uint8]  # 1: those held here go on this step (crowd broke through)
    clearance: npt.NDArray[np.uint8]  # 1: the blockade is cleared this step
    clearance_return_share: npt.NDArray[np.float64]
    give_up_scale_h: npt.NDArray[np.float64]
    give_up_shape: npt.NDArray[np.float64]
    give_up_return_share: npt.NDArray[np.float64]
    slip_chance: npt.NDArray[np.float64]  # per step
    intercept_chance: npt.NDArray[np.float64]  # per pass
    dispersed_intercept_factor: npt.NDArray[np.float64]
    test_chance_arrival: npt.NDArray[np.float64]  # per pass
    test_chance_held: npt.NDArray[np.float64]  # per step while held


def empty_policy(n_places: int) -> Policy:
    """A policy with no rule in force anywhere."""
    return Policy(
        hold=np.zeros(n_places, dtype=np.uint8),
        release=np.zeros(n_places, dtype=np.uint8),
        clearance=np.zeros(n_places, dtype=np.uint8),
        clearance_return_share=np.zeros(n_places),
        give_up_scale_h=np.ones(n_places),
        give_up_shape=np.ones(n_places),
        give_up_return_share=np.ones(n_places),
        slip_chance=np.zeros(n_places),
        intercept_chance=np.zeros(n_places),
        dispersed_intercept_factor=np.ones(n_places),
        test_chance_arrival=np.zeros(n_places),
        test_chance_held=np.zeros(n_places),
    )


class StepParams(NamedTuple):
    """Scalars for one step."""

    key: np.uint64
    step: int
    step_h: float
    daylight: bool  # groups travel only in the day window
    walking_speed_kmh: float
    ride_chance: npt.NDArray[np.float64]  # [place] per step, on a road leading to that place
    ride_speed_kmh: float
    dispersed_speed_factor: float
    sensitivity: float
    specificity: float
    quarantine_steps: int  # whole steps, at least the quarantine's length


class Tallies(NamedTuple):
    """Per-chunk counters written by one kernel call; the model sums over axis 0."""

    counts: npt.NDArray[np.int64]  # [chunk, N_COUNTERS]
    places: npt.NDArray[np.int64]  # [chunk, place, N_PLACE_COUNTERS]
    roads: npt.NDArray[np.int64]  # [chunk, road] travelling migrants on each road
    route_picks: npt.NDArray[np.int64]  # [chunk, route] groups' members choosing each route


def empty_tallies(n_migrants: int, n_places: int, n_roads: int, n_routes: int) -> Tallies:
    n_chunks = max(1, -(-n_migrants // CHUNK))
    return Tallies(
        counts=np.zeros((n_chunks, N_COUNTERS), dtype=np.int64),
        places=np.zeros((n_chunks, n_places, N_PLACE_COUNTERS), dtype=np.int64),
        roads=np.zeros((n_chunks, n_roads), dtype=np.int64),
        route_picks=np.zeros((n_chunks, n_routes), dtype=np.int64),
    )


# What happens to someone held who is neither cleared, released nor tested positive.
HOLD_STAYS = 0
HOLD_RETURNS = 1
HOLD_DISPERSES = 2
HOLD_SLIPS = 3


@njit(cache=True)
def _step_chunk_at(c, m, routes, places, route_cdf, policy, p, tallies):  # type: ignore[no-untyped-def]
    """Zero chunk c's counters and advance its migrants."""
    n = m.status.shape[0]
    counts = tallies.counts[c]
    at_places = tallies.places[c]
    on_roads = tallies.roads[c]
    picks = tallies.route_picks[c]
    counts[:] = 0
    at_places[:] = 0
    on_roads[:] = 0
    picks[:] = 0
    _step_chunk(
        c * CHUNK,
        min(n, (c + 1) * CHUNK),
        m,
        routes,
        places,
        route_cdf,
        policy,
        p,
        counts,
        at_places,
        on_roads,
        picks,
    )


# Two entry points with the same arguments: chunks on threads, or one after another. They are
# separate functions, not one compiled twice, because numba keys its on-disk cache by function
# name and signature, not by `parallel=`: one function compiled both ways would load whichever
# variant was cached first for both.
@njit(cache=True, parallel=True)
def step_migrants_parallel(m, routes, places, route_cdf, policy, p, tallies):  # type: ignore[no-untyped-def]
    """Advance every migrant one step, chunks spread over numba's threads."""
    for c in prange(tallies.counts.shape[0]):
        _step_chunk_at(c, m, routes, places, route_cdf, policy, p, tallies)


@njit(cache=True)
def step_migrants_serial(m, routes, places, route_cdf, policy, p, tallies):  # type: ignore[no-untyped-def]
    """Advance every migrant one step on the calling thread (results identical to parallel)."""
    for c in range(tallies.counts.shape[0]):
        _step_chunk_at(c, m, routes, places, route_cdf, policy, p, tallies)


# Performance: the loop over migrants is one function, with every array taken out of its
# NamedTuple once per chunk, and its helpers take numbers only. numba counts references to
# arrays: a helper that receives arrays costs an atomic incref and decref of each at every call,
# even inlined (findings 1, 3 and 9 in benchmarks/README.md).
@njit(cache=True)
def _step_chunk(  # type: ignore[no-untyped-def]
    lo, hi, m, routes, places, route_cdf, policy, p, counts, at_places, on_roads, picks
):
    status_a = m.status
    flags_a = m.flags
    group_a = m.group
    route_a = m.route
    leg_a = m.leg
    km_a = m.km
    place_a = m.place
    depart_a = m.depart_step
    timer_a = m.timer_step
    entry_a = m.entry
    route_place = routes.place
    leg_km = routes.leg_km
    leg_road = routes.leg_road
    n_legs = routes.n_legs
    entry_index = places.entry_index
    return_point = places.return_point
    hold = policy.hold
    release = policy.release
    intercept_chance = policy.intercept_chance
    dispersed_intercept_factor = policy.dispersed_intercept_factor
    test_chance_arrival = policy.test_chance_arrival
    clearance = policy.clearance
    test_chance_held = policy.test_chance_held
    clearance_return_share = policy.clearance_return_share
    give_up_scale_h = policy.give_up_scale_h
    give_up_shape = policy.give_up_shape
    give_up_return_share = policy.give_up_return_share
    slip_chance = policy.slip_chance
    ride_chance = p.ride_chance
    key = p.key
    step = p.step
    step_h = p.step_h
    sensitivity = p.sensitivity
    specificity = p.specificity
    quarantine_steps = p.quarantine_steps
    last_route = route_cdf.shape[0] - 1
    # A group's members are consecutive rows and share the step's ride draw: draw it once.
    ride_group = -1
    ride_u = 0.0
    for i in range(lo, hi):
        status = status_a[i]
        if status < FIRST_FINAL:
            group = group_a[i]
            move = status == MOVING  # walks this step (if daylight)
            past_hold = False  # let go by a hold this step: the place is handled first
            if status == WAITING:
                # The route is drawn once per group, at step 0, so it does not depend on when
                # they leave.
                if depart_a[i] <= step:
                    u = rng.uniform(key, rng.ROUTE, group, 0, 0)
                    r = min(np.searchsorted(route_cdf, u, side="right"), last_route)
                    route_a[i] = r
                    leg_a[i] = 0
                    km_a[i] = 0.0
                    status_a[i] = MOVING
                    counts[NEW_DEPARTED] += 1
                    picks[r] += 1
                    move = True
            elif status == QUARANTINED:
                if step >= timer_a[i]:
                    status_a[i] = DEPORTED
                    place_a[i] = return_point[place_a[i]]
                    counts[NEW_DEPORTED] += 1
            elif status == HELD_BORDER or status == HELD_BLOCKADE:
                here = place_a[i]
                outcome = HOLD_STAYS
                if clearance[here]:
                    u = rng.uniform(key, rng.CLEARANCE, group, step, 0)
                    outcome = HOLD_RETURNS if u < clearance_return_share[here] else HOLD_DISPERSES
                elif release[here] or hold[here] == NO_HOLD:
                    status_a[i] = MOVING
                    counts[NEW_RELEASED] += 1
                    past_hold = True
                elif (hold[here] == BORDER_FORCE) != (status == HELD_BORDER):
                    # Another authority took over the place (a force ended as a blockade
                    # began): held anew.
                    status_a[i] = HELD_BORDER if hold[here] == BORDER_FORCE else HELD_BLOCKADE
                    timer_a[i] = step
                else:
                    tested_positive = False
                    if test_chance_held[here] > 0.0 and not (flags_a[i] & TESTED):
                        u = rng.uniform(key, rng.TEST_HELD, i, step, 0)
                        if u < test_chance_held[here]:
                            flags_a[i] |= TESTED
                            counts[NEW_TESTED] += 1
                            tested_positive = _tests_positive(
                                flags_a[i], key, i, step, here, sensitivity, specificity
                            )
                            if tested_positive:
                                status_a[i] = QUARANTINED
                                timer_a[i] = step + quarantine_steps
                                counts[NEW_POSITIVE] += 1
                                counts[NEW_QUARANTINED] += 1
                    if not tested_positive:
                        # Held during step timer_step, so at the start of the next step the
                        # wait is about to enter its first step: the hazard is applied over
                        # (0, step_h] first, then (step_h, 2 step_h], ...
                        outcome = _hold_outcome(
                            key,
                            group,
                            step,
                            (step - timer_a[i] - 1) * step_h,
                            step_h,
                            give_up_scale_h[here],
                            give_up_shape[here],
                            give_up_return_share[here],
                            slip_chance[here],
                        )
                if outcome == HOLD_RETURNS:
                    status_a[i] = RETURNED
                    place_a[i] = return_point[here]
                    counts[NEW_RETURNED] += 1
                elif outcome == HOLD_DISPERSES:
                    status_a[i] = MOVING
                    flags_a[i] |= DISPERSED
                    counts[NEW_DISPERSED] += 1
                    past_hold = True
                elif outcome == HOLD_SLIPS:
                    status_a[i] = MOVING
                    flags_a[i] |= SLIPPED
                    counts[NEW_SLIPPED] += 1
                    past_hold = True
            # Let go at a place (past_hold): what the place does comes first. Then, in daylight,
            # walk or ride along the route for one step, handling each place reached. The place
            # code is written once, in this loop rather than in a helper (see above).
            walking = (move or past_hold) and p.daylight
            if past_hold or walking:
                r = route_a[i]
                leg = leg_a[i]
                here = place_a[i]
                km = 0.0
                # (Let go at the route's last place, there is no next leg: it arrives there.)
                if walking and leg < n_legs[r]:
                    # The step's km: one ride draw per group and step, shared by its members
                    # (consecutive rows).
                    if group != ride_group:
                        ride_group = group
                        ride_u = rng.uniform(key, rng.RIDE, group, step, 0)
                    speed_kmh = p.walking_speed_kmh
                    if ride_u < ride_chance[route_place[r, leg + 1]]:
                        speed_kmh = p.ride_speed_kmh
                    if flags_a[i] & DISPERSED:
                        speed_kmh *= p.dispersed_speed_factor
                    km = km_a[i] + speed_kmh * step_h
                at_place = past_hold
                goes_on = True
                while at_place or (walking and km >= leg_km[r, leg]):
                    if not at_place:
                        # Reaching the leg's end: held by a force or blockade, or at the place.
                        km -= leg_km[r, leg]
                        leg += 1
                        leg_a[i] = leg
                        km_a[i] = 0.0
                        here = route_place[r, leg]
                        place_a[i] = here
                        kind = hold[here]
                        if kind != NO_HOLD and not (flags_a[i] & DISPERSED) and not release[here]:
                            status_a[i] = HELD_BORDER if kind == BORDER_FORCE else HELD_BLOCKADE
                            timer_a[i] = step
                            counts[NEW_HELD] += 1
                            goes_on = False
                            break
                    at_place = False
                    # Past any hold: entry into Guatemala, checkpoint, health post, destination.
                    # Each but the entry ends the step's movement.
                    flags = flags_a[i]
                    entry = entry_index[here]
                    if entry >= 0 and not (flags & ENTERED):
                        flags_a[i] = flags | ENTERED
                        entry_a[i] = entry
                        counts[NEW_ENTERED] += 1
                    chance = intercept_chance[here]
                    if chance > 0.0:
                        if flags & DISPERSED:
                            chance *= dispersed_intercept_factor[here]
                        if rng.uniform(key, rng.CHECKPOINT, group, step, here) < chance:
                            status_a[i] = REMITTED
                            counts[NEW_REMITTED] += 1
                            goes_on = False
                            break
                    test_chance = test_chance_arrival[here]
                    if (
                        test_chance > 0.0
                        and not (flags & TESTED)
                        and rng.uniform(key, rng.TEST, i, step, here) < test_chance
                    ):
                        flags_a[i] |= TESTED
                        counts[NEW_TESTED] += 1
                        if _tests_positive(flags, key, i, step, here, sensitivity, specificity):
                            status_a[i] = QUARANTINED
                            timer_a[i] = step + quarantine_steps
                            counts[NEW_POSITIVE] += 1
                            counts[NEW_QUARANTINED] += 1
                            goes_on = False
                            break
                    if leg >= n_legs[r]:
                        status_a[i] = ARRIVED
                        counts[NEW_ARRIVED] += 1
                        goes_on = False
                        break
                if walking and goes_on:
                    km_a[i] = km
        # Add migrant i to the stocks at the end of its step.
        status = status_a[i]
        if status == WAITING:
            counts[N_WAITING] += 1
        elif status == MOVING:
            if flags_a[i] & DISPERSED:
                counts[N_DISPERSED] += 1
                if flags_a[i] & ENTERED:
                    counts[N_DISPERSED_IN_GT] += 1
            else:
                counts[N_MOVING] += 1
                if flags_a[i] & ENTERED:
                    counts[N_MOVING_IN_GT] += 1
            if km_a[i] > 0.0:
                on_roads[leg_road[route_a[i], leg_a[i]]] += 1
            else:
                at_places[place_a[i], AT_PLACE] += 1
        elif status == HELD_BORDER or status == HELD_BLOCKADE:
            counts[N_HELD_BORDER if status == HELD_BORDER else N_HELD_BLOCKADE] += 1
            at_places[place_a[i], AT_PLACE] += 1
            at_places[place_a[i], HELD_HERE] += 1
        elif status == QUARANTINED:
            counts[N_QUARANTINED] += 1


@njit(cache=True, inline="always")
def _hold_outcome(  # type: ignore[no-untyped-def]
    key, group, step, waited_h, step_h, scale_h, shape, return_share, slip_chance
):
    """Giving up (return or disperse) on a Weibull hazard, else slipping past, else staying."""
    # Weibull hazard: chance of giving up in (w, w + dt] given not yet given up at w.
    cum_now = (waited_h / scale_h) ** shape
    cum_next = ((waited_h + step_h) / scale_h) ** shape
    if rng.uniform(key, rng.GIVE_UP, group, step, 0) < 1.0 - math.exp(cum_now - cum_next):
        if rng.uniform(key, rng.GIVE_UP_CHOICE, group, step, 0) < return_share:
            return HOLD_RETURNS
        return HOLD_DISPERSES
    if rng.uniform(key, rng.SLIP, group, step, 0) < slip_chance:
        return HOLD_SLIPS
    return HOLD_STAYS


@njit(cache=True, inline="always")
def _tests_positive(flags, key, i, step, here, sensitivity, specificity):  # type: ignore[no-untyped-def]
    """The result of testing migrant i (with these flags) at a place this step."""
    u = rng.uniform(key, rng.TEST_RESULT, i, step, here)
    if flags & INFECTED:
        return u < sensitivity
    return u >= specificity


def infect(m: Migrants, key: np.uint64, prevalence: float) -> None:
    """Mark each migrant infected at departure with chance `prevalence` (own draw per person)."""
    _infect(m.flags, key, prevalence)


@njit(cache=True)
def _infect(flags, key, prevalence):  # type: ignore[no-untyped-def]
    for i in range(flags.shape[0]):
        if rng.uniform(key, rng.INFECTION, i, 0, 0) < prevalence:
            flags[i] |= INFECTED
