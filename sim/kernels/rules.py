"""The migrant rules: what happens to one migrant in one step, as small functions of numbers and
of one place's effects, compiled with numba and inlined into the passes (`sim.kernels.passes`).

A rule takes a migrant's numbers (status, flags, timer, place) and returns them as they are
after the rule, with `flows`: a bitmask of the flow columns (`sim.results_schema`) that count
what happened. The passes read the arrays, call the rules and write the results back. The rules
are inlined into the passes (`inline="always"`) but for `by_the_hour`, compiled on its own.

Rules take numbers and records, never arrays: numba counts references to every array a function
receives, with two atomic operations per array and call even when inlined (finding 9 in
benchmarks/README.md). A record (`fx`, one place's effects from `sim.rules.effects`) is passed
as a pointer, without counting.
"""

from __future__ import annotations

import math

from numba import njit

from sim.kernels.rng import uniform
from sim.population import (
    ARRIVED,
    AWAITING_TRANSPORT,
    DEPORTED,
    DISPERSED,
    ENTERED,
    GOING_BACK,
    HELD_FIRST,
    IN_TRANSPORT,
    INFECTED,
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
    N_GOING_BACK,
    N_HELD_FIRST,
    N_IN_TRANSPORT,
    N_MOVING,
    N_MOVING_IN_GT,
    N_QUARANTINED,
    N_WAITING,
    NEW_ARRIVED,
    NEW_BOARDED,
    NEW_DEPORTED,
    NEW_DISPERSED,
    NEW_ENTERED,
    NEW_GAVE_UP_ON_ROAD,
    NEW_HELD,
    NEW_POSITIVE,
    NEW_QUARANTINED,
    NEW_RELEASED,
    NEW_REMITTED,
    NEW_RETURNED,
    NEW_RETURNED_ENTERED,
    NEW_SLIPPED,
    NEW_TESTED,
)
from sim.rng import (
    BOARD,
    CHECKPOINT,
    CLEARANCE,
    GIVE_UP,
    GIVE_UP_CHOICE,
    REROUTE,
    RESOLVE,
    SLIP,
    TEST,
    TEST_HELD,
    TEST_RESULT,
)

# One bit per flow column, for the `flows` a rule returns.
ARRIVED_FLOW = 1 << NEW_ARRIVED
BOARDED_FLOW = 1 << NEW_BOARDED
DEPORTED_FLOW = 1 << NEW_DEPORTED
DISPERSED_FLOW = 1 << NEW_DISPERSED
ENTERED_FLOW = 1 << NEW_ENTERED
GAVE_UP_ON_ROAD_FLOW = 1 << NEW_GAVE_UP_ON_ROAD
HELD_FLOW = 1 << NEW_HELD
QUARANTINED_FLOWS = (1 << NEW_POSITIVE) | (1 << NEW_QUARANTINED)
RELEASED_FLOW = 1 << NEW_RELEASED
REMITTED_FLOW = 1 << NEW_REMITTED
RETURNED_FLOW = 1 << NEW_RETURNED
RETURNED_ENTERED_FLOW = 1 << NEW_RETURNED_ENTERED
SLIPPED_FLOW = 1 << NEW_SLIPPED
TESTED_FLOW = 1 << NEW_TESTED

# What the hour brings someone held (`held_outcome`).
HOLD_STAYS = 0
HOLD_GOES_BACK = 1  # gave up (or was cleared) and goes back
HOLD_DISPERSES = 2  # gave up (or was cleared) and leaves the road
HOLD_SLIPS = 3  # gets past
HOLD_RELEASED = 4  # the hold ended or the crowd broke through
HOLD_TAKEN_OVER = 5  # another hold class holds the place now: held anew
HOLD_TESTED_POSITIVE = 6  # tested positive while held: quarantined


@njit(cache=True, inline="always")
def tests_positive(flags, key, i, step, here, sensitivity, specificity):  # type: ignore[no-untyped-def]
    """The result of testing migrant i (with these flags) at a place this step."""
    u = uniform(key, TEST_RESULT, i, step, here)
    if flags & INFECTED:
        return u < sensitivity
    return u >= specificity


@njit(cache=True, inline="always")
def can_change(status, depart_step, timer_step, step):  # type: ignore[no-untyped-def]
    """Whether someone neither on the road nor done can change at `step`: waiting until its
    departure, quarantined or on the way home until its timer, held or waiting for transport
    at any step."""
    if status == WAITING:
        return depart_step <= step
    if status == QUARANTINED or status == IN_TRANSPORT or status == GOING_BACK:
        return timer_step <= step
    return True


# --------------------------------------------------------------------------------------------
# On the road
# --------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def speed_kmh(ride_u, ride_chance, flags, p):  # type: ignore[no-untyped-def]
    """The speed of one step: a ride if the group's draw falls under the chance, else on foot;
    slower off the road."""
    speed = p.walking_speed_kmh
    if ride_u < ride_chance:
        speed = p.ride_speed_kmh
    if flags & DISPERSED:
        speed *= p.dispersed_speed_factor
    return speed


@njit(cache=True, inline="always")
def gives_up_on_road(u, group, hazard_per_h, flags, depart_step, p):  # type: ignore[no-untyped-def]
    """Whether a group whose draw is `u` gives up as it sets out along a road with this hazard
    per hour: over the step, at the hazard grown with the hours since the group left, times
    `dispersed_give_up_factor` off the main road; never if it is among the `determined_share`
    of groups (its own draw, the same all run)."""
    if p.determined_share > 0.0 and uniform(p.key, RESOLVE, group, 0, 0) < p.determined_share:
        return False
    if flags & DISPERSED:
        hazard_per_h *= p.dispersed_give_up_factor
    if p.give_up_growth_h > 0.0:
        hazard_per_h *= 1.0 + (p.step - depart_step) * p.step_h / p.give_up_growth_h
    return u < 1.0 - math.exp(-hazard_per_h * p.step_h)


# Compiled on its own and handed arrays, unlike the other rules: it runs only for someone at a
# closed road (with `route_choice.reroute_at_closures`), so the reference counting of its
# arrays (finding 9 in benchmarks/README.md) is paid there and nowhere else.
@njit(cache=True)
def reroute(r, leg, here, group, routes, route_cdf, road_fx, p):  # type: ignore[no-untyped-def]
    """The route someone at `here`, the place `leg` of route r, takes when the road ahead is
    closed: one of r's alternatives there (`sim.network.alternatives`: the same places from the
    origin to here, another road next) whose road ahead is open, drawn with the weights a group
    leaving now has (`route_cdf`), renormalised among them, with one draw per group, step and
    place; r itself (they wait) if none is open."""
    first = routes.alt_first[r, leg]
    end = routes.alt_end[r, leg]
    origin_first = routes.from_first[routes.place[r, 0]]
    total = 0.0
    for a in range(first, end):
        j = routes.alt_route[a]
        if not road_fx[routes.leg_road[j, leg]].closed:
            total += route_weight(route_cdf, j, origin_first)
    if total <= 0.0:
        return r
    below = uniform(p.key, REROUTE, group, p.step, here) * total
    chosen = r
    for a in range(first, end):
        j = routes.alt_route[a]
        if not road_fx[routes.leg_road[j, leg]].closed:
            weight = route_weight(route_cdf, j, origin_first)
            if weight > 0.0:
                chosen = j  # the last open one with a weight, should rounding leave `below` over
                below -= weight
                if below < 0.0:
                    return j
    return chosen


@njit(cache=True, inline="always")
def route_weight(route_cdf, j, origin_first):  # type: ignore[no-untyped-def]
    """Route j's weight at departure now: its step in its origin's cumulative weights."""
    if j == origin_first:
        return route_cdf[j]
    return route_cdf[j] - route_cdf[j - 1]


@njit(cache=True, inline="always")
def reach_place(flags, timer, here, fx, entry, at_end, group, i, p):  # type: ignore[no-untyped-def]
    """Someone on the road reaches `here`: held there if a hold stands, is not released this
    step and they are on the road; otherwise they meet the place."""
    if fx.hold != 0 and not (flags & DISPERSED) and not fx.release:
        return HELD_FIRST - 1 + fx.hold, flags, p.step, HELD_FLOW
    return meet_place(flags, timer, here, fx, entry, at_end, group, i, p)


@njit(cache=True, inline="always")
def meet_place(flags, timer, here, fx, entry, at_end, group, i, p):  # type: ignore[no-untyped-def]
    """Someone at `here`, past any hold: entry into Guatemala (if `entry` >= 0), a checkpoint
    (intercepted: remitted), a health post (tested; positive: quarantined), the destination
    (`at_end`: arrived). Each but the entry ends the step's movement."""
    flows = 0
    if entry >= 0 and not (flags & ENTERED):
        flags |= ENTERED
        flows = ENTERED_FLOW
    chance = fx.intercept_chance
    if chance > 0.0:
        if flags & DISPERSED:
            chance *= fx.dispersed_intercept_factor
        if uniform(p.key, CHECKPOINT, group, p.step, here) < chance:
            return REMITTED, flags, timer, flows | REMITTED_FLOW
    test_chance = fx.test_chance_arrival
    if (
        test_chance > 0.0
        and not (flags & TESTED)
        and uniform(p.key, TEST, i, p.step, here) < test_chance
    ):
        flags |= TESTED
        flows |= TESTED_FLOW
        if tests_positive(flags, p.key, i, p.step, here, p.sensitivity, p.specificity):
            return QUARANTINED, flags, p.step + p.quarantine_steps, flows | QUARANTINED_FLOWS
    if at_end:
        return ARRIVED, flags, timer, flows | ARRIVED_FLOW
    return MOVING, flags, timer, flows


# --------------------------------------------------------------------------------------------
# By the hour: everyone neither on the road nor done
# --------------------------------------------------------------------------------------------


# Compiled as a function of its own, not inlined: inlining this tree of rules into the pass
# took numba 14 s to compile (26 s for the whole kernel, against 9 s), for 1-2% of run time.
@njit(cache=True)
def by_the_hour(status, flags, timer, here, fx, home, home_km, entry, at_end, group, i, hazard, p):  # type: ignore[no-untyped-def]
    """(status, flags, timer, place, flows) after this step for someone quarantined (deported
    home when it ends), on the way home (back when the ride or walk ends), waiting for
    transport, or held. `home` is the place's return point, `home_km` the road km to it;
    `hazard`, for someone held, what the hour brings their group if nothing else does
    (`gives_up_or_slips`)."""
    if status == QUARANTINED:
        if p.step >= timer:
            return DEPORTED, flags, timer, home, DEPORTED_FLOW
        return status, flags, timer, here, 0
    if status == IN_TRANSPORT or status == GOING_BACK:
        if p.step >= timer:
            return RETURNED, flags, timer, here, RETURNED_FLOW
        return status, flags, timer, here, 0
    if status == AWAITING_TRANSPORT:
        return wait_for_transport(status, flags, timer, here, fx, home, home_km, group, p)
    return held(status, flags, timer, here, fx, home, home_km, entry, at_end, group, i, hazard, p)


@njit(cache=True, inline="always")
def go_back(flags, here, fx, home, home_km, p):  # type: ignore[no-untyped-def]
    """Someone who gave up at `here`, or was cleared from it, goes back: waits for return
    transport where it serves the place, else makes their own way (`back_on_their_own`)."""
    if fx.transport:
        return AWAITING_TRANSPORT, flags, p.step, here, 0
    return back_on_their_own(flags, home, home_km, p)


@njit(cache=True, inline="always")
def back_on_their_own(flags, home, home_km, p):  # type: ignore[no-untyped-def]
    """Someone going back with no transport: on their way to the return point `home`, `home_km`
    away, at `return_speed_kmh` (whole steps, at least one), and counted as returned when they
    reach it; without that speed, or at the return point, counted there at once."""
    if p.return_speed_kmh > 0.0 and home_km > 0.0:
        steps = max(1, math.ceil(home_km / (p.return_speed_kmh * p.step_h)))
        return GOING_BACK, flags, p.step + steps, home, 0
    return RETURNED, flags, p.step, home, RETURNED_FLOW


@njit(cache=True, inline="always")
def wait_for_transport(status, flags, timer, here, fx, home, home_km, group, p):  # type: ignore[no-untyped-def]
    """A group waiting at `here` boards with the place's chance this step and is counted as
    returned when the ride ends; if transport no longer serves the place, they go back on
    their own."""
    if not fx.transport:
        return back_on_their_own(flags, home, home_km, p)
    if uniform(p.key, BOARD, group, p.step, 0) < fx.board_chance:
        to = fx.transport_to if fx.transport_to >= 0 else home
        if fx.transport_steps == 0:
            return RETURNED, flags, timer, to, BOARDED_FLOW | RETURNED_FLOW
        return IN_TRANSPORT, flags, p.step + fx.transport_steps, to, BOARDED_FLOW
    return status, flags, timer, here, 0


@njit(cache=True, inline="always")
def held(status, flags, timer, here, fx, home, home_km, entry, at_end, group, i, hazard, p):  # type: ignore[no-untyped-def]
    """Someone held at `here`: `held_outcome` decides; whoever is let go meets the place at
    once, by night too."""
    outcome, tested = held_outcome(status, flags, group, i, here, fx, hazard, p)
    flows = 0
    if tested:
        flags |= TESTED
        flows = TESTED_FLOW
    if outcome == HOLD_STAYS:
        return status, flags, timer, here, flows
    if outcome == HOLD_TAKEN_OVER:
        return HELD_FIRST - 1 + fx.hold, flags, p.step, here, flows
    if outcome == HOLD_TESTED_POSITIVE:
        return QUARANTINED, flags, p.step + p.quarantine_steps, here, flows | QUARANTINED_FLOWS
    if outcome == HOLD_GOES_BACK:
        status, flags, timer, place, back = go_back(flags, here, fx, home, home_km, p)
        return status, flags, timer, place, flows | back
    # Let go: released, left the road, or slipped past.
    if outcome == HOLD_DISPERSES:
        flags |= DISPERSED
        flows |= DISPERSED_FLOW
    elif outcome == HOLD_SLIPS:
        flags |= SLIPPED
        flows |= SLIPPED_FLOW
    else:
        flows |= RELEASED_FLOW
    status, flags, timer, met = meet_place(flags, timer, here, fx, entry, at_end, group, i, p)
    return status, flags, timer, here, flows | met


@njit(cache=True, inline="always")
def held_outcome(status, flags, group, i, here, fx, hazard, p):  # type: ignore[no-untyped-def]
    """What the hour brings migrant i, held at `here`, and whether it was tested: cleared,
    released, held anew by another class, tested (positive: quarantined), else the group's
    `hazard` (giving up or slipping past, or staying), in that order."""
    if fx.clear:
        u = uniform(p.key, CLEARANCE, group, p.step, 0)
        return (HOLD_GOES_BACK if u < fx.clear_return_share else HOLD_DISPERSES), False
    if fx.release or fx.hold == 0:
        return HOLD_RELEASED, False
    if fx.hold != status - HELD_FIRST + 1:
        return HOLD_TAKEN_OVER, False
    tested = False
    if (
        fx.test_chance_held > 0.0
        and not (flags & TESTED)
        and uniform(p.key, TEST_HELD, i, p.step, 0) < fx.test_chance_held
    ):
        tested = True
        if tests_positive(flags, p.key, i, p.step, here, p.sensitivity, p.specificity):
            return HOLD_TESTED_POSITIVE, True
    return hazard, tested


@njit(cache=True, inline="always")
def gives_up_or_slips(key, group, step, timer, step_h, fx):  # type: ignore[no-untyped-def]
    """Giving up (go back or leave the road) on the place's Weibull hazard, else slipping past,
    else staying: the same for every member of a group held there since step `timer` (its
    draws are the group's). Held during step `timer`, so at the start of the next step the wait
    enters its first step: the hazard is applied over (0, step_h] first, then
    (step_h, 2 step_h], ..."""
    waited_h = (step - timer - 1) * step_h
    cum_now = (waited_h / fx.give_up_scale_h) ** fx.give_up_shape
    cum_next = ((waited_h + step_h) / fx.give_up_scale_h) ** fx.give_up_shape
    if uniform(key, GIVE_UP, group, step, 0) < 1.0 - math.exp(cum_now - cum_next):
        if uniform(key, GIVE_UP_CHOICE, group, step, 0) < fx.give_up_return_share:
            return HOLD_GOES_BACK
        return HOLD_DISPERSES
    if uniform(key, SLIP, group, step, 0) < fx.slip_chance:
        return HOLD_SLIPS
    return HOLD_STAYS


# --------------------------------------------------------------------------------------------
# Counting
# --------------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def as_counted(flows, flags):  # type: ignore[no-untyped-def]
    """The flows a rule returned, with the flows they imply: a return by someone who had
    entered Guatemala also counts as a return after entering."""
    if flows & RETURNED_FLOW and flags & ENTERED:
        flows |= RETURNED_ENTERED_FLOW
    return flows


@njit(cache=True, inline="always")
def stock_columns(status, flags):  # type: ignore[no-untyped-def]
    """The stock columns someone not done counts in at the end of a step (-1: none), and the
    per-place columns of the place they stand at (-1: none; someone on the road between two
    places counts on that road instead, which the pass decides)."""
    if status == MOVING:
        if flags & DISPERSED:
            return N_DISPERSED, (N_DISPERSED_IN_GT if flags & ENTERED else -1), AT_PLACE, -1
        return N_MOVING, (N_MOVING_IN_GT if flags & ENTERED else -1), AT_PLACE, -1
    if status == AWAITING_TRANSPORT:
        return N_AWAITING_TRANSPORT, -1, AWAITING_HERE, -1
    # Not yet departed, in quarantine or on the way back: counted at no place.
    if status == WAITING:
        stock = N_WAITING
    elif status == QUARANTINED:
        stock = N_QUARANTINED
    elif status == IN_TRANSPORT:
        stock = N_IN_TRANSPORT
    elif status == GOING_BACK:
        stock = N_GOING_BACK
    else:
        return N_HELD_FIRST + status - HELD_FIRST, -1, AT_PLACE, HELD_HERE
    return stock, -1, -1, -1
