"""The baseline for bench_compare.py: caravan-sim's movement rules written the usual Mesa way,
one `mesa.Agent` per migrant, stepped by `model.agents.do("step")`.

Rules (those of `sim.kernels` without authorities or health):
  - departure: a group leaves at its step (groups and steps from `sim.population.create`, as in
    caravan-sim); the first member to leave draws the group's route from the route weights of
    this step, the others take the same;
  - route weights: base weight (detour, place preferences; `sim.network`) times
    1 + crowd_weight x share of departed people who took the route, updated once per step;
  - movement: only in the day window; each step a group gets a ride with the per-step chance of
    the country of the place its road leads to (one draw per group and step), else walks;
    km are carried along the route's legs, place by place;
  - arrival: reaching the route's last place (a destination) ends the journey.
It uses Mesa API that Mesa 3.3 and 3.5 share. Not part of the project: a yardstick only.
"""

from __future__ import annotations

import bisect
import itertools
from typing import Any

import mesa
import numpy as np

from sim import network as network_module
from sim import population
from sim.scenario import Scenario

WAITING, MOVING, ARRIVED = 0, 1, 2


class Migrant(mesa.Agent):  # type: ignore[misc]
    """One person: waits, then follows their group's route to a destination."""

    def __init__(self, model: MesaCaravan, group: int, depart_step: int) -> None:
        super().__init__(model)
        self.group = group
        self.depart_step = depart_step
        self.status = WAITING
        self.route = -1
        self.leg = 0
        self.km = 0.0

    def step(self) -> None:
        model = self.model
        if self.status == WAITING:
            if model.step_index < self.depart_step:
                return
            self.route = model.route_of(self.group)
            self.status = MOVING
        if self.status != MOVING or not model.daylight:
            return
        places = model.route_places[self.route]
        legs_km = model.route_legs_km[self.route]
        speed_kmh = model.walking_speed_kmh
        if model.ride_draw(self.group) < model.ride_chance[places[self.leg + 1]]:
            speed_kmh = model.ride_speed_kmh
        km = self.km + speed_kmh * model.step_h
        while km >= legs_km[self.leg]:
            km -= legs_km[self.leg]
            self.leg += 1
            if self.leg == len(legs_km):
                self.status = ARRIVED
                model.arrived[places[-1]] += 1
                self.km = 0.0
                return
        self.km = km


class MesaCaravan(mesa.Model):  # type: ignore[misc]
    """The caravan's movement with one agent per migrant."""

    def __init__(self, scenario: Scenario, seed: int = 0) -> None:
        super().__init__(rng=seed)
        self.step_h = scenario.time.step_h
        self.n_steps = scenario.n_steps
        self.start_clock_h = scenario.time.start.hour + scenario.time.start.minute / 60
        mv = scenario.movement
        self.day_h = (mv.day_starts_h, mv.day_ends_h)
        self.walking_speed_kmh = mv.walking_speed_kmh
        self.ride_speed_kmh = mv.ride_speed_kmh
        self.crowd_weight = scenario.route_choice.crowd_weight
        net = network_module.build(scenario)
        self.place_ids = net.place_ids
        self.route_places = [[net.index(p) for p in r.places] for r in net.routes]
        self.route_legs_km = [
            [float(net.graph.edges[a, b]["length_km"]) for a, b in itertools.pairwise(r.places)]
            for r in net.routes
        ]
        self.base_weights = [r.base_weight for r in net.routes]
        countries = [net.graph.nodes[p]["country"].split("-")[0] for p in net.place_ids]
        per_h = mv.ride_chance_per_h
        self.ride_chance = [1.0 - (1.0 - per_h[c]) ** self.step_h for c in countries]
        self.picks = [0] * len(net.routes)
        self.arrived = dict.fromkeys(range(len(net.place_ids)), 0)
        self._group_route: dict[int, int] = {}
        self._rides: dict[int, float] = {}
        self.step_index = 0
        self.daylight = False
        self._cdf: list[float] = []
        waves_h = {
            name: scenario.hours_since_start(w.at) for name, w in scenario.population.waves.items()
        }
        rows = population.create(
            scenario.population, waves_h, net.origin, self.step_h, np.random.default_rng(seed)
        )
        for group, depart in zip(rows.group.tolist(), rows.depart_step.tolist(), strict=True):
            Migrant(self, group, depart)

    def route_of(self, group: int) -> int:
        """The group's route: drawn by its first member to leave, shared by the others."""
        route = self._group_route.get(group)
        if route is None:
            u = self.random.random() * self._cdf[-1]
            route = min(bisect.bisect_right(self._cdf, u), len(self._cdf) - 1)
            self._group_route[group] = route
        self.picks[route] += 1
        return route

    def ride_draw(self, group: int) -> float:
        """One uniform draw per group and step: a group rides (or walks) together."""
        u = self._rides.get(group)
        if u is None:
            u = self._rides[group] = self.random.random()
        return u

    def step(self) -> None:
        self.step_index = self.steps - 1  # Mesa has already counted this step
        clock_h = (self.start_clock_h + self.step_index * self.step_h) % 24.0
        self.daylight = self.day_h[0] <= clock_h < self.day_h[1]
        total = sum(self.picks)
        weights = [
            w * (1.0 + self.crowd_weight * p / total) if total else w
            for w, p in zip(self.base_weights, self.picks, strict=True)
        ]
        self._cdf = list(itertools.accumulate(weights))
        self._rides = {}
        self.agents.do("step")

    def run(self, steps: int | None = None) -> dict[str, Any]:
        """Run all steps (or the first `steps`); what was simulated, for the comparison."""
        n = self.n_steps if steps is None else min(steps, self.n_steps)
        for _ in range(n):
            self.step()
        statuses = [a.status for a in self.agents]
        return {
            "agents": len(statuses),
            "steps": n,
            "departed": sum(s != WAITING for s in statuses),
            "arrived": {self.place_ids[p]: c for p, c in self.arrived.items() if c},
        }
