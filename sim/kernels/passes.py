"""The two passes over a chunk of migrants that make one step, compiled with numba.

1. `update_statuses`: everyone whose status changes by the hour acts on it:
   - waiting: departs when its group's hour has come (route drawn once per group);
   - quarantined: deported to the nearest return point when the quarantine ends;
   - held: cleared, released, held anew, tested, gives up or slips past (`held_outcome`).
     Those let go at the place meet it at once, by night too (`meet_place`); those going back
     wait for return transport where it serves the place (`transport`), and are otherwise
     back at the place's return point at once;
   - waiting for transport: boards with the place's `board_chance` (back at once if transport
     no longer serves it); riding: back at the return point when the ride ends.
2. `move_and_count`: everyone on the road, in daylight, walks (or rides) the step's km along
   the route, and at each place reached is held (`held_on_arrival`) or meets the place: entry
   into Guatemala counted, checkpoint, health post, destination (`meet_place`), any of which
   but the entry ends the step's movement. Nobody sets out along a closed road. Then everyone
   is added to the stocks.

A migrant's update depends on its own row, its group's draws and the inputs of the step only,
so the two passes over all rows give what one pass row by row would. Each pass takes every
array once per chunk and hands only numbers and records to the rules (`sim.kernels.rules`).
Pass 1 visits only the rows pass 2 of the last step listed as able to change (`due`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.kernels.rng import uniform
from sim.kernels.rules import (
    GOES_ON,
    HOLD_GOES_BACK,
    HOLD_POSITIVE,
    HOLD_STAYS,
    HOLD_TAKEN_OVER,
    after_meeting,
    held_on_arrival,
    held_outcome,
    let_go,
    meet_place,
    speed_kmh,
)
from sim.population import (
    AWAITING_TRANSPORT,
    DEPORTED,
    DISPERSED,
    ENTERED,
    FIRST_FINAL,
    HELD_FIRST,
    IN_TRANSPORT,
    MOVING,
    QUARANTINED,
    RETURNED,
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
    NEW_BOARDED,
    NEW_DEPARTED,
    NEW_DEPORTED,
    NEW_ENTERED,
    NEW_HELD,
    NEW_POSITIVE,
    NEW_QUARANTINED,
    NEW_RETURNED,
    NEW_TESTED,
)
from sim.rng import BOARD, RIDE, ROUTE


@njit(cache=True, inline="always")
def can_change(status, depart_step, timer_step, step):  # type: ignore[no-untyped-def]
    """Whether someone whose status changes by the hour can change at `step`: waiting until
    its departure, quarantined or riding until its timer, held or waiting for transport at
    any step."""
    if status == WAITING:
        return depart_step <= step
    if status == QUARANTINED or status == IN_TRANSPORT:
        return timer_step <= step
    return True


@njit(cache=True)
def list_changeable(lo, hi, m, step, due):  # type: ignore[no-untyped-def]
    """List in `due` the rows lo..hi-1 (as offsets from lo) that can change at `step`; return
    how many. For a step that no pass 2 listed them for (the first, or one after the model
    skipped the kernel)."""
    status_a = m.status
    depart_a = m.depart_step
    timer_a = m.timer_step
    n = 0
    for i in range(lo, hi):
        status = status_a[i]
        if status != MOVING and status < FIRST_FINAL:
            if can_change(status, depart_a[i], timer_a[i], step):
                due[n] = i - lo
                n += 1
    return n


@njit(cache=True)
def update_statuses(lo, n_due, due, m, routes, places, route_cdf, place_fx, p, counts, picks):  # type: ignore[no-untyped-def]
    """Pass 1: the rows lo + due[:n_due] act on their status (everyone whose status changes by
    the hour and may change now)."""
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
    n_legs = routes.n_legs
    entry_index = places.entry_index
    return_point = places.return_point
    last_route = route_cdf.shape[0] - 1
    for k in range(n_due):
        i = lo + due[k]
        status = status_a[i]
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
            continue
        if status == QUARANTINED:
            if p.step >= timer_a[i]:
                status_a[i] = DEPORTED
                place_a[i] = return_point[here]
                counts[NEW_DEPORTED] += 1
            continue
        if status == IN_TRANSPORT:
            if p.step >= timer_a[i]:
                status_a[i] = RETURNED
                counts[NEW_RETURNED] += 1
            continue
        fx = place_fx[here]
        if status == AWAITING_TRANSPORT:
            if not fx.transport:  # transport no longer serves the place: back on their own
                status_a[i] = RETURNED
                place_a[i] = return_point[here]
                counts[NEW_RETURNED] += 1
            elif uniform(p.key, BOARD, group, p.step, 0) < fx.board_chance:
                counts[NEW_BOARDED] += 1
                place_a[i] = fx.transport_to
                status_a[i] = IN_TRANSPORT
                timer_a[i] = p.step + fx.transport_steps
                if fx.transport_steps == 0:
                    status_a[i] = RETURNED
                    counts[NEW_RETURNED] += 1
            continue
        # Held here.
        outcome, tested = held_outcome(status, flags_a[i], timer_a[i], group, i, here, fx, p)
        if tested:
            flags_a[i] |= TESTED
            counts[NEW_TESTED] += 1
        if outcome == HOLD_STAYS:
            continue
        if outcome == HOLD_TAKEN_OVER:
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
        else:
            # Let go here (released, left the road, slipped past): the place comes first.
            flag, flow = let_go(outcome)
            status_a[i] = MOVING
            flags_a[i] |= flag
            counts[flow] += 1
            flags = flags_a[i]
            entry = entry_index[here]
            if entry >= 0 and not (flags & ENTERED):
                flags_a[i] = flags | ENTERED
                entry_a[i] = entry
                counts[NEW_ENTERED] += 1
            at_end = leg_a[i] >= n_legs[route_a[i]]
            met, tested = meet_place(fx, flags, at_end, group, i, here, p)
            if tested:
                flags_a[i] |= TESTED
                counts[NEW_TESTED] += 1
            if met != GOES_ON:
                status_a[i], flow, also = after_meeting(met)
                counts[flow] += 1
                if also >= 0:
                    counts[also] += 1
                    timer_a[i] = p.step + p.quarantine_steps  # (quarantined)


@njit(cache=True)
def move_and_count(  # type: ignore[no-untyped-def]
    lo, hi, m, due, routes, places, ride_chance, place_fx, road_fx, p, counts, at_places, on_roads
):
    """Pass 2 over migrants lo..hi-1: everyone on the road moves; everyone is counted; those
    whose status may change at the next step are listed in `due` for its pass 1 (returns how
    many)."""
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
    entry_index = places.entry_index
    # A group's members are consecutive rows and share the step's ride draw: draw it once.
    ride_group = -1
    ride_u = 0.0
    n_due = 0
    for i in range(lo, hi):
        status = status_a[i]
        if status == MOVING and p.daylight:
            r = route_a[i]
            leg = leg_a[i]
            km = km_a[i]
            # Nobody sets out along a closed road; who is on it goes on. (Without road effects
            # `road_fx` is None and numba compiles a copy without these lines.)
            closed = False
            if road_fx is not None:
                closed = km == 0.0 and leg < n_legs[r] and road_fx[leg_road[r, leg]].closed
            if leg < n_legs[r] and not closed:
                group = group_a[i]
                if group != ride_group:
                    ride_group = group
                    ride_u = uniform(p.key, RIDE, group, p.step, 0)
                speed = speed_kmh(ride_u, ride_chance[route_place[r, leg + 1]], flags_a[i], p)
                if road_fx is not None:
                    speed *= road_fx[leg_road[r, leg]].speed_factor
                km += speed * p.step_h
                goes_on = True
                while km >= leg_km[r, leg]:
                    # Reaching the leg's end: held there, or meeting the place.
                    km -= leg_km[r, leg]
                    leg += 1
                    leg_a[i] = leg
                    km_a[i] = 0.0
                    here = route_place[r, leg]
                    place_a[i] = here
                    fx = place_fx[here]
                    flags = flags_a[i]
                    if held_on_arrival(fx, flags):
                        status_a[i] = HELD_FIRST - 1 + fx.hold
                        timer_a[i] = p.step
                        counts[NEW_HELD] += 1
                        goes_on = False
                        break
                    entry = entry_index[here]
                    if entry >= 0 and not (flags & ENTERED):
                        flags_a[i] = flags | ENTERED
                        entry_a[i] = entry
                        counts[NEW_ENTERED] += 1
                    met, tested = meet_place(fx, flags, leg >= n_legs[r], group, i, here, p)
                    if tested:
                        flags_a[i] |= TESTED
                        counts[NEW_TESTED] += 1
                    if met != GOES_ON:
                        status_a[i], flow, also = after_meeting(met)
                        counts[flow] += 1
                        if also >= 0:
                            counts[also] += 1
                            timer_a[i] = p.step + p.quarantine_steps  # (quarantined)
                        goes_on = False
                        break
                    if road_fx is not None:
                        if road_fx[leg_road[r, leg]].closed:
                            km = 0.0  # waits here: the road ahead is closed
                            break
                if goes_on:
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
        # Someone whose status changes by the hour: listed for the next step's pass 1 if it
        # can change then.
        if status == WAITING:
            counts[N_WAITING] += 1
        elif status == QUARANTINED:
            counts[N_QUARANTINED] += 1
        elif status == IN_TRANSPORT:
            counts[N_IN_TRANSPORT] += 1
        elif status == AWAITING_TRANSPORT:
            counts[N_AWAITING_TRANSPORT] += 1
            at_places[place_a[i], AWAITING_HERE] += 1
        else:
            counts[N_HELD_FIRST + status - HELD_FIRST] += 1
            at_places[place_a[i], AT_PLACE] += 1
            at_places[place_a[i], HELD_HERE] += 1
        if can_change(status, depart_a[i], timer_a[i], p.step + 1):
            due[n_due] = i - lo
            n_due += 1
    return n_due
