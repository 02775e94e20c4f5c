"""`CaravanModel`: a Mesa model with places and authorities as agents and migrants in arrays."""

from __future__ import annotations

import math
from dataclasses import asdict

import mesa
import numpy as np
import numpy.typing as npt

from sim import kernels, network, package_version, population, rng
from sim.authorities import KINDS, Authority, Event, StepContext
from sim.authorities import Blockade as BlockadeAuthority
from sim.authorities import BorderControl as BorderControlAuthority
from sim.kernels import (
    HELD_HERE,
    N_HELD_BLOCKADE,
    N_HELD_BORDER,
    N_PLACE_COUNTERS,
    N_QUARANTINED,
    N_WAITING,
    StepParams,
)
from sim.locations import Location
from sim.results import Recorder, Results, compute_outcomes
from sim.scenario import AuthoritySpec, Scenario
from sim.schedule import RuleSchedule


class CaravanModel(mesa.Model):  # type: ignore[misc]
    """The caravan on the road network under the scenario's rules.

    One step (`step()`), in this order:
      1. rule changes due by the start of the step are applied (windows open and close;
         a blockade's closing clears whoever it still holds);
      2. every authority in force makes its requests for this step (a crowd breaks through);
      3. route weights are updated from the choices made so far (following the crowd);
      4. the migrant kernel advances every migrant one step (order in `sim.kernels`), unless
         it is night and nobody is due to leave, held or in quarantine: then nobody changes;
      5. the step's counts are summed over chunks and recorded; the DataCollector collects.

    Randomness: the migrants' and authorities' draws come from the counter-based generator
    keyed by `seed` (`sim.rng`); group formation at set-up uses Mesa's `self.rng`, seeded with
    the same `seed`.
    """

    # Night steps in which nobody can change skip the kernel (see `_nobody_changes`). Results
    # are the same either way; False steps every migrant every step (tests, benchmarks).
    skip_idle_steps = True

    def __init__(self, scenario: Scenario, seed: int = 0, threads: bool = True) -> None:
        super().__init__(rng=seed)
        # Not `self.scenario`: Mesa 3.5 reserves that name for its own scenario objects.
        self.caravan_scenario = scenario
        self.seed = seed
        self.key = rng.seed_key(seed)
        self.step_h = scenario.time.step_h
        self.n_steps = scenario.n_steps
        self.network = network.build(scenario)
        net = self.network
        self.locations = [Location(self, i) for i in range(net.n_places)]
        self.policy = kernels.empty_policy(net.n_places)
        self.authorities = [
            self._make_authority(name, spec) for name, spec in scenario.authorities.items()
        ]
        self.rule_schedule = RuleSchedule(self.authorities)

        waves_h = {
            name: scenario.hours_since_start(w.at) for name, w in scenario.population.waves.items()
        }
        self.migrants = population.create(
            scenario.population, waves_h, net.origin, self.step_h, self.rng
        )
        kernels.infect(self.migrants, self.key, scenario.health.prevalence)
        # The steps in which someone leaves, and how many have left by the end of each (a few
        # numbers, not one per migrant).
        self._departure_steps, leaving = np.unique(self.migrants.depart_step, return_counts=True)
        self._departed_by = np.cumsum(leaving)
        self._ride_chance_per_step = self._ride_chances()
        self._quarantine_steps = math.ceil(
            scenario.health.quarantine_days * 24.0 / self.step_h - 1e-9
        )
        self.tallies = kernels.empty_tallies(
            self.migrants.n, net.n_places, net.n_roads, len(net.routes)
        )
        # One chunk gives threads nothing to share, and idle numba threads spin on a busy core.
        parallel = threads and self.tallies.counts.shape[0] > 1
        self._kernel = kernels.step_migrants_parallel if parallel else kernels.step_migrants_serial
        self.route_picks = np.zeros(len(net.routes), dtype=np.int64)
        self.place_counts = np.zeros((net.n_places, N_PLACE_COUNTERS), dtype=np.int64)
        self.recorder = Recorder(self.n_steps, net.n_places, net.n_roads)
        self.datacollector = StockCollector(self.recorder)
        self._route_cdf_at_picks = -1  # total of route_picks the cached cdf was computed for
        self._route_cdf_cached = np.zeros(0)
        self.running = True

    def _make_authority(self, name: str, spec: AuthoritySpec) -> Authority:
        places = [self.network.index(p) for p in spec.place_ids()]
        window = spec.active
        window_h = (
            self.caravan_scenario.hours_since_start(window.start),
            self.caravan_scenario.hours_since_start(window.end),
        )
        return KINDS[spec.kind](self, name, spec, places, window_h)

    @property
    def held_by_place(self) -> npt.NDArray[np.int64]:
        return self.place_counts[:, HELD_HERE]

    def step(self) -> None:
        step = self.steps - 1  # Mesa has already counted this step
        t_h = step * self.step_h
        policy = self.policy
        policy.release[:] = 0
        policy.clearance[:] = 0
        # 1. rule changes
        for change in self.rule_schedule.due(t_h):
            authority = change.authority
            if change.action == "begin":
                self._log(authority.begin(policy, t_h))
            else:
                self._log(authority.end(policy, t_h))
        # 2. requests of the authorities in force
        ctx = StepContext(self.key, step, t_h, self.step_h, self.held_by_place.copy())
        for authority in self.authorities:
            if authority.active:
                self._log(authority.before_step(policy, ctx))
        # 3. following the crowd
        route_cdf = self._route_cdf()
        # 4. migrants
        params = self._params(step, t_h)
        if self._nobody_changes(step, params.daylight):
            # The last step's stocks stand (kept in the tallies); nothing flows.
            self.tallies.counts[:, : len(kernels.FLOWS)] = 0
            self.tallies.route_picks[:] = 0
        else:
            self._kernel(
                self.migrants,
                self.network.route_arrays,
                self.network.places_arrays,
                route_cdf,
                policy,
                params,
                self.tallies,
            )
        # 5. record
        counts = self.tallies.counts.sum(axis=0)
        self.place_counts = self.tallies.places.sum(axis=0)
        self.route_picks += self.tallies.route_picks.sum(axis=0)
        self.recorder.record(step, counts, self.place_counts, self.tallies.roads.sum(axis=0))
        self.datacollector.collect(self)
        if self.steps >= self.n_steps:
            self.running = False

    def _params(self, step: int, t_h: float) -> StepParams:
        sc = self.caravan_scenario
        mv = sc.movement
        clock_h = (sc.time.start.hour + sc.time.start.minute / 60 + t_h) % 24.0
        return StepParams(
            key=self.key,
            step=step,
            step_h=self.step_h,
            daylight=bool(mv.day_starts_h <= clock_h < mv.day_ends_h),
            walking_speed_kmh=mv.walking_speed_kmh,
            ride_chance=self._ride_chance_per_step,
            ride_speed_kmh=mv.ride_speed_kmh,
            dispersed_speed_factor=mv.dispersed_speed_factor,
            sensitivity=sc.health.sensitivity,
            specificity=sc.health.specificity,
            quarantine_steps=self._quarantine_steps,
        )

    def _nobody_changes(self, step: int, daylight: bool) -> bool:
        """True for a night step in which the kernel would change no migrant: nobody's departure
        is due, nobody is held (a hold can end, or be given up, at any hour) and nobody is in
        quarantine. Travellers walk only in daylight, so everyone stays as they are. About
        two steps in five of an hourly run without authorities; in January 2021, where people
        are held or in quarantine on most nights, 13 of 174."""
        if daylight or step == 0 or not self.skip_idle_steps:
            return False
        last = self.recorder.counts[step - 1]
        if last[N_HELD_BORDER] or last[N_HELD_BLOCKADE] or last[N_QUARANTINED]:
            return False
        departed = self.migrants.n - int(last[N_WAITING])
        due_steps = int(np.searchsorted(self._departure_steps, step, side="right"))
        due = int(self._departed_by[due_steps - 1]) if due_steps else 0
        return due == departed

    def _ride_chances(self) -> npt.NDArray[np.float64]:
        """Per place: chance per step of a ride on a road leading there (by its country)."""
        per_h = self.caravan_scenario.movement.ride_chance_per_h
        countries = [self.network.graph.nodes[p]["country"] for p in self.network.place_ids]
        hourly = np.array([per_h.get(c.split("-")[0], 0.0) for c in countries])
        return np.asarray(1.0 - (1.0 - hourly) ** self.step_h, dtype=np.float64)

    def _route_cdf(self) -> npt.NDArray[np.float64]:
        """Route weights: base weight times (1 + crowd_weight * share who chose it so far).

        Picks only grow, so an unchanged total means unchanged picks: the cdf is reused (most
        steps, once everyone has left)."""
        total = int(self.route_picks.sum())
        if total == self._route_cdf_at_picks:
            return self._route_cdf_cached
        weights = self.network.base_weights
        if total > 0:
            share = self.route_picks / total
            weights = weights * (1.0 + self.caravan_scenario.route_choice.crowd_weight * share)
        cdf = np.cumsum(weights)
        self._route_cdf_at_picks = total
        self._route_cdf_cached = np.asarray(cdf / cdf[-1], dtype=np.float64)
        return self._route_cdf_cached

    def _log(self, events: list[Event]) -> None:
        self.recorder.events.extend(asdict(e) for e in events)

    def run(self) -> Results:
        """Run every step of the scenario and return the results."""
        while self.running:
            self.step()
        return self.results()

    def results(self) -> Results:
        rec = self.recorder
        done = rec.n_recorded
        net = self.network
        entries = np.bincount(
            self.migrants.entry[self.migrants.entry >= 0], minlength=len(net.entry_crossings)
        )
        hold_places = [
            (a.place_name(p), p)
            for a in self.authorities
            if isinstance(a, BlockadeAuthority | BorderControlAuthority)
            for p in a.places
        ]
        outcomes = compute_outcomes(
            rec.counts[:done],
            rec.places[:done],
            dict(zip(net.entry_crossings, entries.tolist(), strict=True)),
            hold_places,
        )
        return Results(
            scenario_name=self.caravan_scenario.name,
            seed=self.seed,
            version=package_version(),
            start=self.caravan_scenario.time.start,
            step_h=self.step_h,
            place_ids=net.place_ids,
            road_ends=net.road_ends,
            counts=rec.counts[:done],
            places=rec.places[:done],
            roads=rec.roads[:done],
            events=list(rec.events),
            outcomes=outcomes,
            place_lat=net.lat,
            place_lon=net.lon,
        )


class StockCollector(mesa.DataCollector):  # type: ignore[misc]
    """Mesa's DataCollector of the stocks (`n_waiting`, `n_moving`, ...) at the end of each step.

    It reads the row the model has just recorded. Mesa's own `collect` calls a reporter per
    variable and deep-copies each value, about a tenth of a January 2021 run; these values are
    plain ints, read straight into `model_vars`."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self._columns = [(f"n_{s}", len(kernels.FLOWS) + j) for j, s in enumerate(kernels.STOCKS)]
        super().__init__(model_reporters={name: name for name, _ in self._columns})

    def collect(self, model: mesa.Model) -> None:
        row = self._recorder.counts[self._recorder.n_recorded - 1]
        for name, column in self._columns:
            self.model_vars[name].append(int(row[column]))


def run(scenario: Scenario, seed: int = 0, threads: bool = True) -> Results:
    """Build a model for `scenario` with `seed` and run it to the end."""
    model = CaravanModel(scenario, seed=seed, threads=threads)
    try:
        return model.run()
    finally:
        release(model)


def release(model: mesa.Model) -> None:
    """Let a finished model be freed. Mesa 3.3 numbers agents with a counter per model kept in
    a dict on the Agent class, keyed by the model itself, so every model that ever had an agent
    stays in memory (mesa issue #3179, fixed in later releases): about 0.6 MB per January 2021
    run, gigabytes in a worker that runs a sweep or a calibration. Later Mesas have no such
    dict, and this does nothing."""
    ids = getattr(mesa.Agent, "_ids", None)
    if isinstance(ids, dict):
        ids.pop(model, None)


__all__ = ["CaravanModel", "StockCollector", "release", "run"]
