"""The migrant rules, one small function each, compiled with numba and inlined into the passes
of `sim.kernels.passes`.

They take numbers and records, never arrays: numba counts references to every array a function
receives, with two atomic operations per array and call even when inlined, which cost a fifth
of the kernel's time when these rules took arrays (finding 9 in benchmarks/README.md). A record
(`fx`, one place's effects) is passed as a pointer, without counting. Each rule returns what
happens to the migrant; the passes write it into the migrant arrays and the counters.
"""

from __future__ import annotations

import math

from numba import njit

from sim.kernels.rng import uniform
from sim.population import (
    ARRIVED,
    DISPERSED,
    HELD_FIRST,
    INFECTED,
    QUARANTINED,
    REMITTED,
    SLIPPED,
    TESTED,
)
from sim.results_schema import (
    NEW_ARRIVED,
    NEW_DISPERSED,
    NEW_POSITIVE,
    NEW_QUARANTINED,
    NEW_RELEASED,
    NEW_REMITTED,
    NEW_SLIPPED,
)
from sim.rng import (
    CHECKPOINT,
    CLEARANCE,
    GIVE_UP,
    GIVE_UP_CHOICE,
    SLIP,
    TEST,
    TEST_HELD,
    TEST_RESULT,
)

# What happens this step to someone held (`held_outcome`).
HOLD_STAYS = 0
HOLD_GOES_BACK = 1  # gave up (or was cleared) and goes back
HOLD_DISPERSES = 2  # gave up (or was cleared) and leaves the road
HOLD_SLIPS = 3  # gets past
HOLD_RELEASED = 4  # the hold ended or the crowd broke through
HOLD_TAKEN_OVER = 5  # another hold class holds the place now: held anew
HOLD_POSITIVE = 6  # tested positive while held: quarantined

# What a migrant meets at a place past any hold (`meet_place`, then `after_meeting`).
GOES_ON = 0
INTERCEPTED = 1
QUARANTINED_HERE = 2
ARRIVES = 3


@njit(cache=True, inline="always")
def tests_positive(flags, key, i, step, here, sensitivity, specificity):  # type: ignore[no-untyped-def]
    """The result of testing migrant i (with these flags) at a place this step."""
    u = uniform(key, TEST_RESULT, i, step, here)
    if flags & INFECTED:
        return u < sensitivity
    return u >= specificity


@njit(cache=True, inline="always")
def gives_up_or_slips(key, group, step, waited_h, step_h, fx):  # type: ignore[no-untyped-def]
    """Giving up (go back or leave the road) on the place's Weibull hazard, else slipping past,
    else staying. Held during step `timer`, so at the start of the next step the wait enters
    its first step: the hazard is applied over (0, step_h] first, then (step_h, 2 step_h], ..."""
    cum_now = (waited_h / fx.give_up_scale_h) ** fx.give_up_shape
    cum_next = ((waited_h + step_h) / fx.give_up_scale_h) ** fx.give_up_shape
    if uniform(key, GIVE_UP, group, step, 0) < 1.0 - math.exp(cum_now - cum_next):
        if uniform(key, GIVE_UP_CHOICE, group, step, 0) < fx.give_up_return_share:
            return HOLD_GOES_BACK
        return HOLD_DISPERSES
    if uniform(key, SLIP, group, step, 0) < fx.slip_chance:
        return HOLD_SLIPS
    return HOLD_STAYS


@njit(cache=True, inline="always")
def held_outcome(status, flags, timer, group, i, here, fx, p):  # type: ignore[no-untyped-def]
    """What happens this step to migrant i, held at `here` since step `timer`, and whether it
    was tested: cleared, released, held anew by another class, tested (positive: quarantined),
    giving up or slipping past, in that order."""
    if fx.clear:
        u = uniform(p.key, CLEARANCE, group, p.step, 0)
        return (HOLD_GOES_BACK if u < fx.clear_return_share else HOLD_DISPERSES), False
    if fx.release or fx.hold == 0:
        return HOLD_RELEASED, False
    if fx.hold != status - HELD_FIRST + 1:
        return HOLD_TAKEN_OVER, False
    tested = False
    if fx.test_chance_held > 0.0 and not (flags & TESTED):
        if uniform(p.key, TEST_HELD, i, p.step, 0) < fx.test_chance_held:
            tested = True
            if tests_positive(flags, p.key, i, p.step, here, p.sensitivity, p.specificity):
                return HOLD_POSITIVE, True
    waited_h = (p.step - timer - 1) * p.step_h
    return gives_up_or_slips(p.key, group, p.step, waited_h, p.step_h, fx), tested


@njit(cache=True, inline="always")
def held_on_arrival(fx, flags):  # type: ignore[no-untyped-def]
    """Whether someone reaching a place is held there: a hold stands, is not released this
    step, and they are on the road."""
    return fx.hold != 0 and not (flags & DISPERSED) and not fx.release


@njit(cache=True, inline="always")
def meet_place(fx, flags, at_destination, group, i, here, p):  # type: ignore[no-untyped-def]
    """What migrant i meets at a place past any hold: a checkpoint (intercepted?), a health
    post (tested? positive?), the destination. Returns the outcome and whether it was tested."""
    chance = fx.intercept_chance
    if chance > 0.0:
        if flags & DISPERSED:
            chance *= fx.dispersed_intercept_factor
        if uniform(p.key, CHECKPOINT, group, p.step, here) < chance:
            return INTERCEPTED, False
    tested = False
    test_chance = fx.test_chance_arrival
    if (
        test_chance > 0.0
        and not (flags & TESTED)
        and uniform(p.key, TEST, i, p.step, here) < test_chance
    ):
        tested = True
        if tests_positive(flags, p.key, i, p.step, here, p.sensitivity, p.specificity):
            return QUARANTINED_HERE, True
    if at_destination:
        return ARRIVES, tested
    return GOES_ON, tested


@njit(cache=True, inline="always")
def let_go(outcome):  # type: ignore[no-untyped-def]
    """The flag a migrant let go from a hold gets (0: none) and the flow that counts it."""
    if outcome == HOLD_DISPERSES:
        return DISPERSED, NEW_DISPERSED
    if outcome == HOLD_SLIPS:
        return SLIPPED, NEW_SLIPPED
    return 0, NEW_RELEASED


@njit(cache=True, inline="always")
def after_meeting(met):  # type: ignore[no-untyped-def]
    """The status of a migrant whose step a place ended, the flow that counts it, and a second
    flow (-1: none; a positive test counts as positive and as quarantined)."""
    if met == INTERCEPTED:
        return REMITTED, NEW_REMITTED, -1
    if met == ARRIVES:
        return ARRIVED, NEW_ARRIVED, -1
    return QUARANTINED, NEW_POSITIVE, NEW_QUARANTINED


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
