"""The migrant rules, written once as per-migrant code and compiled with numba.

`step_migrants` advances every migrant by one time step. Migrants are split into fixed chunks
of CHUNK rows; each chunk writes its own row of counters, and the model sums the rows. Chunks,
not threads, define the sums, so results are identical with one thread or many.

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
from sim.network import PlaceArrays, RouteArrays
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
    t_h: float  # hours from the start at the beginning of this step
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


def _step_migrants(
    m: Migrants,
    routes: RouteArrays,
    places: PlaceArrays,
    route_cdf: npt.NDArray[np.float64],
    policy: Policy,
    p: StepParams,
    tallies: Tallies,
) -> None:
    n = m.status.shape[0]
    n_chunks = tallies.counts.shape[0]
    for c in prange(n_chunks):
        counts = tallies.counts[c]
        at_places = tallies.places[c]
        on_roads = tallies.roads[c]
        picks = tallies.route_picks[c]
        counts[:] = 0
        at_places[:] = 0
        on_roads[:] = 0
        picks[:] = 0
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            _step_one(i, m, routes, places, route_cdf, policy, p, counts, picks)
            _tally_one(i, m, routes, counts, at_places, on_roads)


@njit(cache=True)
def _step_one(i, m, routes, places, route_cdf, policy, p, counts, picks):  # type: ignore[no-untyped-def]
    status = m.status[i]
    if status >= FIRST_FINAL:
        return
    group = m.group[i]
    if status == WAITING:
        if m.depart_step[i] > p.step:
            return
        # The route is drawn once per group, at step 0, so it does not depend on when they leave.
        r = np.searchsorted(route_cdf, rng.uniform(p.key, rng.ROUTE, group, 0, 0), side="right")
        r = min(r, route_cdf.shape[0] - 1)
        m.route[i] = r
        m.leg[i] = 0
        m.km[i] = 0.0
        m.status[i] = MOVING
        counts[NEW_DEPARTED] += 1
        picks[r] += 1
    elif status == QUARANTINED:
        if p.step >= m.timer_step[i]:
            m.status[i] = DEPORTED
            m.place[i] = places.return_point[m.place[i]]
            counts[NEW_DEPORTED] += 1
        return
    elif status == HELD_BORDER or status == HELD_BLOCKADE:
        if not _resolve_hold(i, m, routes, places, policy, p, counts):
            return
    _move(i, m, routes, places, policy, p, counts)


@njit(cache=True)
def _resolve_hold(i, m, routes, places, policy, p, counts):  # type: ignore[no-untyped-def]
    """One step of being held. True if the migrant moves on this step."""
    here = m.place[i]
    group = m.group[i]
    if policy.clearance[here]:
        if (
            rng.uniform(p.key, rng.CLEARANCE, group, p.step, 0)
            < policy.clearance_return_share[here]
        ):
            _return_home(i, m, places, counts)
            return False
        _disperse(i, m, counts)
        return _after_hold(i, m, routes, places, policy, p, counts)
    hold = policy.hold[here]
    if policy.release[here] or hold == NO_HOLD:
        m.status[i] = MOVING
        counts[NEW_RELEASED] += 1
        return _after_hold(i, m, routes, places, policy, p, counts)
    if (hold == BORDER_FORCE) != (m.status[i] == HELD_BORDER):
        # Another authority took over the place (a force ended as a blockade began): held anew.
        m.status[i] = HELD_BORDER if hold == BORDER_FORCE else HELD_BLOCKADE
        m.timer_step[i] = p.step
        return False
    if policy.test_chance_held[here] > 0.0 and not (m.flags[i] & TESTED):
        if rng.uniform(p.key, rng.TEST_HELD, i, p.step, 0) < policy.test_chance_held[here]:
            if _test(i, m, p, counts, here):
                return False
    # Held during step timer_step, so at the start of the next step the wait is about to enter
    # its first step: the hazard is applied over (0, step_h] first, then (step_h, 2 step_h], ...
    waited_h = (p.step - m.timer_step[i] - 1) * p.step_h
    scale_h = policy.give_up_scale_h[here]
    shape = policy.give_up_shape[here]
    # Weibull hazard: chance of giving up in (w, w + dt] given not yet given up at w.
    cum_now = (waited_h / scale_h) ** shape
    cum_next = ((waited_h + p.step_h) / scale_h) ** shape
    if rng.uniform(p.key, rng.GIVE_UP, group, p.step, 0) < 1.0 - math.exp(cum_now - cum_next):
        share = policy.give_up_return_share[here]
        if rng.uniform(p.key, rng.GIVE_UP_CHOICE, group, p.step, 0) < share:
            _return_home(i, m, places, counts)
            return False
        _disperse(i, m, counts)
        return _after_hold(i, m, routes, places, policy, p, counts)
    if rng.uniform(p.key, rng.SLIP, group, p.step, 0) < policy.slip_chance[here]:
        m.status[i] = MOVING
        m.flags[i] |= SLIPPED
        counts[NEW_SLIPPED] += 1
        return _after_hold(i, m, routes, places, policy, p, counts)
    return False


@njit(cache=True)
def _move(i, m, routes, places, policy, p, counts):  # type: ignore[no-untyped-def]
    """Walk or ride along the route for one step, handling each place reached."""
    if not p.daylight:
        return
    group = m.group[i]
    speed_kmh = p.walking_speed_kmh
    r = m.route[i]
    leg = m.leg[i]
    heading_to = routes.place[r, leg + 1]
    if rng.uniform(p.key, rng.RIDE, group, p.step, 0) < p.ride_chance[heading_to]:
        speed_kmh = p.ride_speed_kmh
    if m.flags[i] & DISPERSED:
        speed_kmh *= p.dispersed_speed_factor
    km = m.km[i] + speed_kmh * p.step_h
    while km >= routes.leg_km[r, leg]:
        km -= routes.leg_km[r, leg]
        leg += 1
        m.leg[i] = leg
        m.km[i] = 0.0
        m.place[i] = routes.place[r, leg]
        if not _arrive(i, m, routes, places, policy, p, counts):
            return
    m.km[i] = km


@njit(cache=True)
def _arrive(i, m, routes, places, policy, p, counts):  # type: ignore[no-untyped-def]
    """Reaching a place. True if the migrant goes on this step."""
    here = m.place[i]
    hold = policy.hold[here]
    if hold != NO_HOLD and not (m.flags[i] & DISPERSED) and not policy.release[here]:
        m.status[i] = HELD_BORDER if hold == BORDER_FORCE else HELD_BLOCKADE
        m.timer_step[i] = p.step
        counts[NEW_HELD] += 1
        return False
    return _after_hold(i, m, routes, places, policy, p, counts)


@njit(cache=True)
def _after_hold(i, m, routes, places, policy, p, counts):  # type: ignore[no-untyped-def]
    """What happens at a place once past any hold. True if the migrant goes on."""
    here = m.place[i]
    flags = m.flags[i]
    entry = places.entry_index[here]
    if entry >= 0 and not (flags & ENTERED):
        m.flags[i] = flags | ENTERED
        m.entry[i] = entry
        counts[NEW_ENTERED] += 1
    chance = policy.intercept_chance[here]
    if chance > 0.0:
        if flags & DISPERSED:
            chance *= policy.dispersed_intercept_factor[here]
        if rng.uniform(p.key, rng.CHECKPOINT, m.group[i], p.step, here) < chance:
            m.status[i] = REMITTED
            counts[NEW_REMITTED] += 1
            return False
    test_chance = policy.test_chance_arrival[here]
    if test_chance > 0.0 and not (flags & TESTED):
        if rng.uniform(p.key, rng.TEST, i, p.step, here) < test_chance:
            if _test(i, m, p, counts, here):
                return False
    if m.leg[i] >= routes.n_legs[m.route[i]]:
        m.status[i] = ARRIVED
        counts[NEW_ARRIVED] += 1
        return False
    return True


@njit(cache=True)
def _test(i, m, p, counts, here):  # type: ignore[no-untyped-def]
    """Test one person. A positive result starts a quarantine; True if positive."""
    m.flags[i] |= TESTED
    counts[NEW_TESTED] += 1
    u = rng.uniform(p.key, rng.TEST_RESULT, i, p.step, here)
    if m.flags[i] & INFECTED:
        positive = u < p.sensitivity
    else:
        positive = u >= p.specificity
    if positive:
        m.status[i] = QUARANTINED
        m.timer_step[i] = p.step + p.quarantine_steps
        counts[NEW_POSITIVE] += 1
        counts[NEW_QUARANTINED] += 1
    return positive


@njit(cache=True)
def _return_home(i, m, places, counts):  # type: ignore[no-untyped-def]
    m.status[i] = RETURNED
    m.place[i] = places.return_point[m.place[i]]
    counts[NEW_RETURNED] += 1


@njit(cache=True)
def _disperse(i, m, counts):  # type: ignore[no-untyped-def]
    m.status[i] = MOVING
    m.flags[i] |= DISPERSED
    counts[NEW_DISPERSED] += 1


@njit(cache=True)
def _tally_one(i, m, routes, counts, at_places, on_roads):  # type: ignore[no-untyped-def]
    """Add migrant i to the stocks at the end of its step."""
    status = m.status[i]
    if status == WAITING:
        counts[N_WAITING] += 1
    elif status == MOVING:
        if m.flags[i] & DISPERSED:
            counts[N_DISPERSED] += 1
            if m.flags[i] & ENTERED:
                counts[N_DISPERSED_IN_GT] += 1
        else:
            counts[N_MOVING] += 1
            if m.flags[i] & ENTERED:
                counts[N_MOVING_IN_GT] += 1
        if m.km[i] > 0.0:
            on_roads[routes.leg_road[m.route[i], m.leg[i]]] += 1
        else:
            at_places[m.place[i], AT_PLACE] += 1
    elif status == HELD_BORDER or status == HELD_BLOCKADE:
        counts[N_HELD_BORDER if status == HELD_BORDER else N_HELD_BLOCKADE] += 1
        at_places[m.place[i], AT_PLACE] += 1
        at_places[m.place[i], HELD_HERE] += 1
    elif status == QUARANTINED:
        counts[N_QUARANTINED] += 1


# The same rules compiled twice: threads over chunks, and one thread. Both give identical results.
step_migrants_parallel = njit(cache=True, parallel=True)(_step_migrants)
step_migrants_serial = njit(cache=True)(_step_migrants)


def infect(m: Migrants, key: np.uint64, prevalence: float) -> None:
    """Mark each migrant infected at departure with chance `prevalence` (own draw per person)."""
    _infect(m.flags, key, prevalence)


@njit(cache=True)
def _infect(flags, key, prevalence):  # type: ignore[no-untyped-def]
    for i in range(flags.shape[0]):
        if rng.uniform(key, rng.INFECTION, i, 0, 0) < prevalence:
            flags[i] |= INFECTED
