"""The two passes over a chunk of migrants that make one step, compiled with numba.

1. `update_statuses`: everyone not on the road and not yet done acts on their status:
   - waiting: departs when its group's hour has come (route drawn once per group);
   - quarantined: deported to the nearest return point when the quarantine ends;
   - held: cleared, released, held anew, tested, gives up or slips past (`held_outcome`);
     those going back wait for return transport where it serves the place (`transport`), and
     are otherwise back at the place's return point at once;
   - waiting for transport: boards with the place's `board_chance` (back at once if transport
     no longer serves it); riding: back at the return point when the ride ends.
2. `move_and_count`: everyone on the road, in daylight, walks (or rides) the step's km along
   the route; at each place reached: held (`held_on_arrival`), entry into Guatemala counted,
   checkpoint, health post, destination (`meet_place`), any of which but the entry ends the
   step's movement; nobody sets out along a closed road. Someone let go at a place in pass 1
   meets that place first, by night too. Then everyone is added to the stocks.

A migrant's update depends on its own row, its group's draws and the inputs of the step only,
so the two passes over all rows give what one pass row by row would. Each pass takes every
array once per chunk and hands only numbers and records to the rules (`sim.kernels.rules`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.kernels.rng import uniform
from sim.kernels.rules import (
    ARRIVES,
    GOES_ON,
    HOLD_DISPERSES,
    HOLD_GOES_BACK,
    HOLD_POSITIVE,
    HOLD_RELEASED,
    HOLD_SLIPS,
    HOLD_TAKEN_OVER,
    INTERCEPTED,
    held_on_arrival,
    held_outcome,
    meet_place,
    speed_kmh,
)
from sim.population import (
    ARRIVED,
    AWAITING_TRANSPORT,
    DEPORTED,
    DISPERSED,
    ENTERED,
    FIRST_FINAL,
    HELD_FIRST,
    IN_TRANSPORT,
    LET_GO,
    MOVING,
    QUARANTINED,
    REMITTED,
    RETURNED,
    SLIPPED,
    TESTED,
    WAITING,
)
from sim.results_schema import (
    AT_PLACE,
    AWAITING_HERE,
    HELD_HERE,
    N_AWAITING_TRANSPORT,
    N_DISPERSED,
    N_DISPERSED_IN_GT,
    N_HELD_FIRST,
    N_IN_TRANSPORT,
    N_MOVING,
    N_MOVING_IN_GT,
    N_QUARANTINED,
    N_WAITING,
    NEW_ARRIVED,
    NEW_BOARDED,
    NEW_DEPARTED,
    NEW_DEPORTED,
    NEW_DISPERSED,
    NEW_ENTERED,
    NEW_HELD,
    NEW_POSITIVE,
    NEW_QUARANTINED,
    NEW_RELEASED,
    NEW_REMITTED,
    NEW_RETURNED,
    NEW_SLIPPED,
    NEW_TESTED,
)
from sim.rng import BOARD, RIDE, ROUTE

BLOCK_BITS = 6  # pass 1 skips blocks of 2**BLOCK_BITS rows in which nobody can change yet
NEVER = np.iinfo(np.int32).max  # the wake step of a block in which nobody will change


@njit(cache=True)
def update_statuses(lo, hi, m, wake, return_point, route_cdf, place_fx, p, counts, picks):  # type: ignore[no-untyped-def]
    """Pass 1 over migrants lo..hi-1: everyone whose status changes by the hour acts on it.
    A block of rows is visited only from its `wake` step on: the first step in which pass 2
    found that one of its rows could change (nothing else skips a row)."""
    status_a = m.status
    flags_a = m.flags
    group_a = m.group
    route_a = m.route
    leg_a = m.leg
    km_a = m.km
    place_a = m.place
    depart_a = m.depart_step
    timer_a = m.timer_step
    last_route = route_cdf.shape[0] - 1
    for block in range(lo >> BLOCK_BITS, ((hi - 1) >> BLOCK_BITS) + 1):
        if wake[block] <= p.step:
            for i in range(max(lo, block << BLOCK_BITS), min(hi, (block + 1) << BLOCK_BITS)):
                status = status_a[i]
                if status == MOVING or status >= FIRST_FINAL:  # (MOVING is 0: one range check)
                    continue
                group = group_a[i]
                here = place_a[i]
                if status == WAITING:
                    # The route is drawn once per group, at step 0, so it does not depend on when
                    # they leave.
                    if depart_a[i] <= p.step:
                        u = uniform(p.key, ROUTE, group, 0, 0)
                        r = min(np.searchsorted(route_cdf, u, side="right"), last_route)
                        route_a[i] = r
                        leg_a[i] = 0
                        km_a[i] = 0.0
                        status_a[i] = MOVING
                        counts[NEW_DEPARTED] += 1
                        picks[r] += 1
                elif status == QUARANTINED:
                    if p.step >= timer_a[i]:
                        status_a[i] = DEPORTED
                        place_a[i] = return_point[here]
                        counts[NEW_DEPORTED] += 1
                elif status == AWAITING_TRANSPORT:
                    fx = place_fx[here]
                    if not fx.transport:
                        status_a[i] = RETURNED
                        place_a[i] = return_point[here]
                        counts[NEW_RETURNED] += 1
                    elif uniform(p.key, BOARD, group, p.step, 0) < fx.board_chance:
                        counts[NEW_BOARDED] += 1
                        place_a[i] = fx.transport_to
                        if fx.transport_steps > 0:
                            status_a[i] = IN_TRANSPORT
                            timer_a[i] = p.step + fx.transport_steps
                        else:
                            status_a[i] = RETURNED
                            counts[NEW_RETURNED] += 1
                elif status == IN_TRANSPORT:
                    if p.step >= timer_a[i]:
                        status_a[i] = RETURNED
                        counts[NEW_RETURNED] += 1
                else:  # held
                    fx = place_fx[here]
                    outcome, tested = held_outcome(
                        status, flags_a[i], timer_a[i], group, i, here, fx, p
                    )
                    if tested:
                        flags_a[i] |= TESTED
                        counts[NEW_TESTED] += 1
                    if outcome == HOLD_RELEASED:
                        status_a[i] = MOVING
                        flags_a[i] |= LET_GO
                        counts[NEW_RELEASED] += 1
                    elif outcome == HOLD_TAKEN_OVER:
                        status_a[i] = HELD_FIRST - 1 + fx.hold
                        timer_a[i] = p.step
                    elif outcome == HOLD_POSITIVE:
                        status_a[i] = QUARANTINED
                        timer_a[i] = p.step + p.quarantine_steps
                        counts[NEW_POSITIVE] += 1
                        counts[NEW_QUARANTINED] += 1
                    elif outcome == HOLD_GOES_BACK:
                        if fx.transport:
                            status_a[i] = AWAITING_TRANSPORT
                            timer_a[i] = p.step
                        else:
                            status_a[i] = RETURNED
                            place_a[i] = return_point[here]
                            counts[NEW_RETURNED] += 1
                    elif outcome == HOLD_DISPERSES:
                        status_a[i] = MOVING
                        flags_a[i] |= DISPERSED | LET_GO
                        counts[NEW_DISPERSED] += 1
                    elif outcome == HOLD_SLIPS:
                        status_a[i] = MOVING
                        flags_a[i] |= SLIPPED | LET_GO
                        counts[NEW_SLIPPED] += 1


@njit(cache=True)
def move_and_count(  # type: ignore[no-untyped-def]
    lo,
    hi,
    m,
    wake,
    routes,
    entry_index,
    ride_chance,
    place_fx,
    road_fx,
    p,
    counts,
    at_places,
    on_roads,
):
    """Pass 2 over migrants lo..hi-1: everyone on the road moves; everyone is counted, and each
    block of rows gets the step in which pass 1 next has something to do there (`wake`)."""
    status_a = m.status
    flags_a = m.flags
    group_a = m.group
    route_a = m.route
    leg_a = m.leg
    km_a = m.km
    place_a = m.place
    timer_a = m.timer_step
    depart_a = m.depart_step
    entry_a = m.entry
    route_place = routes.place
    leg_km = routes.leg_km
    leg_road = routes.leg_road
    n_legs = routes.n_legs
    # A group's members are consecutive rows and share the step's ride draw: draw it once.
    ride_group = -1
    ride_u = 0.0
    wake[lo >> BLOCK_BITS : ((hi - 1) >> BLOCK_BITS) + 1] = NEVER
    for i in range(lo, hi):
        status = status_a[i]
        if status == MOVING:
            let_go = flags_a[i] & LET_GO
            if let_go or p.daylight:
                if let_go:
                    flags_a[i] &= ~LET_GO
                r = route_a[i]
                leg = leg_a[i]
                here = place_a[i]
                km = km_a[i]
                walking = p.daylight
                # Nobody sets out along a closed road; who is on it goes on.
                if p.road_effects and walking and km == 0.0 and leg < n_legs[r]:
                    walking = not road_fx[leg_road[r, leg]].closed
                if let_go or walking:
                    group = group_a[i]
                    # (Let go at the route's last place, there is no next leg: it arrives there.)
                    if walking and leg < n_legs[r]:
                        if group != ride_group:
                            ride_group = group
                            ride_u = uniform(p.key, RIDE, group, p.step, 0)
                        ahead = route_place[r, leg + 1]
                        speed = speed_kmh(ride_u, ride_chance[ahead], flags_a[i], p)
                        if p.road_effects:
                            speed *= road_fx[leg_road[r, leg]].speed_factor
                        km = km + speed * p.step_h
                    at_place = let_go != 0
                    goes_on = True
                    while at_place or (walking and km >= leg_km[r, leg]):
                        if not at_place:
                            # Reaching the leg's end: held there, or at the place.
                            km -= leg_km[r, leg]
                            leg += 1
                            leg_a[i] = leg
                            km_a[i] = 0.0
                            here = route_place[r, leg]
                            place_a[i] = here
                            fx = place_fx[here]
                            if held_on_arrival(fx, flags_a[i]):
                                status_a[i] = HELD_FIRST - 1 + fx.hold
                                timer_a[i] = p.step
                                counts[NEW_HELD] += 1
                                goes_on = False
                                break
                        at_place = False
                        flags = flags_a[i]
                        entry = entry_index[here]
                        if entry >= 0 and not (flags & ENTERED):
                            flags_a[i] = flags | ENTERED
                            entry_a[i] = entry
                            counts[NEW_ENTERED] += 1
                        outcome, tested = meet_place(
                            place_fx[here], flags, leg >= n_legs[r], group, i, here, p
                        )
                        if tested:
                            flags_a[i] |= TESTED
                            counts[NEW_TESTED] += 1
                        if outcome != GOES_ON:
                            if outcome == INTERCEPTED:
                                status_a[i] = REMITTED
                                counts[NEW_REMITTED] += 1
                            elif outcome == ARRIVES:
                                status_a[i] = ARRIVED
                                counts[NEW_ARRIVED] += 1
                            else:
                                status_a[i] = QUARANTINED
                                timer_a[i] = p.step + p.quarantine_steps
                                counts[NEW_POSITIVE] += 1
                                counts[NEW_QUARANTINED] += 1
                            goes_on = False
                            break
                        if p.road_effects and walking and road_fx[leg_road[r, leg]].closed:
                            km = 0.0  # waits here: the road ahead is closed
                            break
                    if walking and goes_on:
                        km_a[i] = km
            status = status_a[i]
        # Add migrant i to the stocks at the end of its step.
        if status == MOVING:
            flags = flags_a[i]
            if flags & DISPERSED:
                counts[N_DISPERSED] += 1
                if flags & ENTERED:
                    counts[N_DISPERSED_IN_GT] += 1
            else:
                counts[N_MOVING] += 1
                if flags & ENTERED:
                    counts[N_MOVING_IN_GT] += 1
            if km_a[i] > 0.0:
                on_roads[leg_road[route_a[i], leg_a[i]]] += 1
            else:
                at_places[place_a[i], AT_PLACE] += 1
            continue
        if status >= FIRST_FINAL:
            continue
        # Someone whose status changes by the hour: when can it next change?
        block = i >> BLOCK_BITS
        if status == WAITING:
            counts[N_WAITING] += 1
            wake[block] = min(wake[block], depart_a[i])
        elif status >= HELD_FIRST:
            counts[N_HELD_FIRST + status - HELD_FIRST] += 1
            at_places[place_a[i], AT_PLACE] += 1
            at_places[place_a[i], HELD_HERE] += 1
            wake[block] = min(wake[block], p.step + 1)
        elif status == QUARANTINED:
            counts[N_QUARANTINED] += 1
            wake[block] = min(wake[block], timer_a[i])
        elif status == AWAITING_TRANSPORT:
            counts[N_AWAITING_TRANSPORT] += 1
            at_places[place_a[i], AWAITING_HERE] += 1
            wake[block] = min(wake[block], p.step + 1)
        else:  # IN_TRANSPORT
            counts[N_IN_TRANSPORT] += 1
            wake[block] = min(wake[block], timer_a[i])
