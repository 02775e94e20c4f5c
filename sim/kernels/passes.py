"""The two passes over a chunk of migrants that make one step, compiled with numba. They move
data; what happens to a migrant is decided by the rules of `sim.kernels.rules`.

1. `update_statuses`: the rows listed as able to change now, whose status changes by the hour
   (`by_the_hour`): groups whose hour has come depart (the route drawn once per group); the
   quarantined are deported home when it ends; those riding or walking home arrive; those
   waiting for transport board; the held are cleared, released, held anew, tested, give up or
   slip past, and whoever is let go meets the place at once, by night too.
2. `move_and_count`: everyone on the road, in daylight, gives up on the road's hazard and
   goes back as from the place last passed (`gives_up_on_road`), or walks (or rides) the
   step's km along the route, and at each place reached is held or meets it (`reach_place`);
   nobody sets out along a closed road: at one, a group may take another route from there
   (`reroute`, with `route_choice.reroute_at_closures`), else it waits. Then everyone is
   counted in the stocks (`stock_columns`), and those who can change at the next step are
   listed for its pass 1 (`can_change`).

A migrant's update depends on its own row, its group's draws and the step's inputs only, so
two passes over the rows give what one pass row by row would. Each pass takes every array once
per chunk and hands only numbers and records to the rules.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.kernels.rng import uniform
from sim.kernels.rules import (
    ENTERED_FLOW,
    GAVE_UP_ON_ROAD_FLOW,
    HOLD_STAYS,
    RETURNED_FLOW,
    as_counted,
    by_the_hour,
    can_change,
    gives_up_on_road,
    gives_up_or_slips,
    go_back,
    reach_place,
    reroute,
    speed_kmh,
    stock_columns,
)
from sim.population import DISPERSED, FIRST_FINAL, HELD_FIRST, MOVING, WAITING
from sim.results_schema import ENTERED_HERE, N_FLOWS, NEW_DEPARTED, RETURNED_HERE
from sim.rng import RIDE, ROAD_GIVE_UP, ROUTE


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
def update_statuses(  # type: ignore[no-untyped-def]
    lo, n_due, due, m, routes, places, route_cdf, place_fx, p, counts, at_places, picks
):
    """Pass 1: the rows lo + due[:n_due] act on their status."""
    status_a = m.status
    flags_a = m.flags
    group_a = m.group
    route_a = m.route
    leg_a = m.leg
    km_a = m.km
    place_a = m.place
    timer_a = m.timer_step
    n_legs = routes.n_legs
    entry_index = places.entry_index
    return_point = places.return_point
    return_km = places.return_km
    route_group = -1
    group_route = 0
    hazard_of = (-1, -1, -1)  # (group, timer, place) the hazard was computed for
    hazard = HOLD_STAYS
    for k in range(n_due):
        i = lo + due[k]
        status = status_a[i]
        group = group_a[i]
        if status == WAITING:  # listed: its departure is due
            # The route is drawn once per group, with step 0, so it does not depend on when
            # they leave; among the routes from where they wait (each origin's cdf ends at 1).
            if group != route_group:
                route_group = group
                u = uniform(p.key, ROUTE, group, 0, 0)
                first = routes.from_first[place_a[i]]
                last = routes.from_end[place_a[i]] - 1
                drawn = np.searchsorted(route_cdf[first : last + 1], u, side="right")
                group_route = first + min(drawn, last - first)
            r = group_route
            route_a[i] = r
            leg_a[i] = 0
            km_a[i] = 0.0
            status_a[i] = MOVING
            counts[NEW_DEPARTED] += 1
            picks[r] += 1
            continue
        here = place_a[i]
        timer = timer_a[i]
        fx = place_fx[here]
        if status >= HELD_FIRST and (group, timer, here) != hazard_of:
            # A group held together shares its hazard's draws: compute it once per group.
            hazard_of = (group, timer, here)
            hazard = gives_up_or_slips(p.key, group, p.step, timer, p.step_h, fx)
        entry = entry_index[here]
        at_end = leg_a[i] >= n_legs[route_a[i]]
        status, flags, timer, place, flows = by_the_hour(
            status, flags_a[i], timer, here, fx, return_point[here], return_km[here], entry,
            at_end, group, i, hazard, p,
        )  # fmt: skip
        status_a[i] = status
        flags_a[i] = flags
        timer_a[i] = timer
        place_a[i] = place
        if flows:
            flows = as_counted(flows, flags)
            if flows & ENTERED_FLOW:
                at_places[here, ENTERED_HERE] += 1
            if flows & RETURNED_FLOW:
                at_places[place, RETURNED_HERE] += 1
            for j in range(N_FLOWS):
                counts[j] += (flows >> j) & 1


@njit(cache=True)
def move_and_count(  # type: ignore[no-untyped-def]
    lo, hi, m, due, routes, places, route_cdf, ride_chance, place_fx, road_fx, p, counts,
    at_places, on_roads,
):  # fmt: skip
    """Pass 2 over rows lo..hi-1: everyone on the road moves; everyone not done is counted; those
    who can change at the next step are listed in `due` for its pass 1 (returns how many).
    Without road effects `road_fx` is None, and numba compiles a copy without their lines."""
    status_a = m.status
    flags_a = m.flags
    group_a = m.group
    route_a = m.route
    leg_a = m.leg
    km_a = m.km
    place_a = m.place
    timer_a = m.timer_step
    depart_a = m.depart_step
    route_place = routes.place
    leg_km = routes.leg_km
    leg_road = routes.leg_road
    n_legs = routes.n_legs
    entry_index = places.entry_index
    return_point = places.return_point
    return_km = places.return_km
    # A group's members are consecutive rows and share the step's draws (a ride, giving up on
    # the road): draw each once per group. Whether it gives up is decided once for members
    # with the same inputs (group, road, off the road or not, departure step).
    ride_group = -1
    ride_u = 0.0
    quit_of = (-1, -1, -1, -1)
    quits = False
    n_due = 0
    for i in range(lo, hi):
        status = status_a[i]
        if status >= FIRST_FINAL:
            continue
        r = route_a[i]
        sets_out = status == MOVING and p.daylight
        if sets_out:
            leg = leg_a[i]
            km = km_a[i]
            sets_out = leg < n_legs[r]
            # Nobody sets out along a closed road (but may take another route from there);
            # who is on it goes on.
            if sets_out and road_fx is not None:
                sets_out = km > 0.0 or not road_fx[leg_road[r, leg]].closed
                if not sets_out and p.reroute_at_closures:
                    here = place_a[i]
                    r = reroute(r, leg, here, group_a[i], routes, route_cdf, road_fx, p)
                    route_a[i] = r
                    sets_out = not road_fx[leg_road[r, leg]].closed
        if sets_out and road_fx is not None and road_fx[leg_road[r, leg]].give_up_per_h > 0.0:
            group = group_a[i]
            road = leg_road[r, leg]
            inputs = (int(group), int(road), int(flags_a[i] & DISPERSED), int(depart_a[i]))
            if inputs != quit_of:
                quit_of = inputs
                u = uniform(p.key, ROAD_GIVE_UP, group, p.step, 0)
                hazard_per_h = road_fx[road].give_up_per_h
                quits = gives_up_on_road(u, group, hazard_per_h, flags_a[i], depart_a[i], p)
            if quits:
                # Goes back as from the place last passed; does not move this step.
                sets_out = False
                here = place_a[i]
                status, flags, timer, place, flows = go_back(
                    flags_a[i], here, place_fx[here], return_point[here], return_km[here], p
                )
                flows = as_counted(flows | GAVE_UP_ON_ROAD_FLOW, flags)
                status_a[i] = status
                timer_a[i] = timer
                place_a[i] = place
                km_a[i] = 0.0
                if flows & RETURNED_FLOW:
                    at_places[place, RETURNED_HERE] += 1
                for j in range(N_FLOWS):
                    counts[j] += (flows >> j) & 1
                if status >= FIRST_FINAL:
                    continue
        if sets_out:
            group = group_a[i]
            if group != ride_group:
                ride_group = group
                ride_u = uniform(p.key, RIDE, group, p.step, 0)
            speed = speed_kmh(ride_u, ride_chance[route_place[r, leg + 1]], flags_a[i], p)
            if road_fx is not None:
                speed *= road_fx[leg_road[r, leg]].speed_factor
            km += speed * p.step_h
            flags = flags_a[i]
            timer = timer_a[i]
            while status == MOVING and km >= leg_km[r, leg]:
                km -= leg_km[r, leg]
                leg += 1
                here = route_place[r, leg]
                status, flags, timer, flows = reach_place(
                    flags, timer, here, place_fx[here], entry_index[here], leg >= n_legs[r],
                    group, i, p,
                )  # fmt: skip
                if flows:
                    if flows & ENTERED_FLOW:
                        at_places[here, ENTERED_HERE] += 1
                    for j in range(N_FLOWS):
                        counts[j] += (flows >> j) & 1
                if road_fx is not None and status == MOVING:
                    if road_fx[leg_road[r, leg]].closed and p.reroute_at_closures:
                        r = reroute(r, leg, here, group, routes, route_cdf, road_fx, p)
                        route_a[i] = r
                    if road_fx[leg_road[r, leg]].closed:
                        km = 0.0  # waits here: the road ahead is closed
            # Written back only where changed: most walk on along their road.
            km_a[i] = km if status == MOVING else 0.0
            if leg != leg_a[i]:
                leg_a[i] = leg
                place_a[i] = route_place[r, leg]
                flags_a[i] = flags
                if status != MOVING:
                    status_a[i] = status
                    timer_a[i] = timer
                    if status >= FIRST_FINAL:
                        continue
        # Counted in the stocks at the end of the step.
        stock, also, at, also_at = stock_columns(status, flags_a[i])
        counts[stock] += 1
        if also >= 0:
            counts[also] += 1
        if status == MOVING and km_a[i] > 0.0:
            on_roads[leg_road[r, leg_a[i]]] += 1
        elif at >= 0:
            at_places[place_a[i], at] += 1
            if also_at >= 0:
                at_places[place_a[i], also_at] += 1
        if status != MOVING and can_change(status, depart_a[i], timer_a[i], p.step + 1):
            due[n_due] = i - lo
            n_due += 1
    return n_due
