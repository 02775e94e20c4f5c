"""`CaravanModel`: a Mesa model with places and authorities as agents and migrants in arrays."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any, Literal

import mesa
import numpy as np
import numpy.typing as npt

from sim import kernels, network, package_version, population, rng
from sim.kernels import StepInputs, StepParams, cache
from sim.results import Recorder, Results, layout_of
from sim.results_schema import (
    AT_PLACE,
    AWAITING_HERE,
    COUNTERS,
    FIRST_PLACE_FLOW,
    HELD_HERE,
    HOLD_CLASSES,
    N_AWAITING_TRANSPORT,
    N_FLOWS,
    N_GOING_BACK,
    N_HELD_FIRST,
    N_IN_TRANSPORT,
    N_QUARANTINED,
    N_WAITING,
)
from sim.rules import KINDS, Effects, Event, Rule, RuleSpec, StepContext
from sim.scenario import Scenario
from sim.schedule import RuleSchedule


@dataclass(frozen=True)
class Phase:
    """One phase of a step: the model's method `_<name>` runs it."""

    name: str
    doc: str


PHASES: tuple[Phase, ...] = (
    Phase(
        "rule_changes",
        "rule changes due by the start of the step are applied: each authority's window opens "
        "or closes (sim.schedule); closing undoes what opening wrote, and a blockade's closing "
        "clears whoever it still holds",
    ),
    Phase(
        "authorities",
        "every authority in force writes its requests for this step (a crowd breaks through, "
        "return transport has seats)",
    ),
    Phase(
        "route_weights",
        "route weights follow the crowd: base weight x (1 + crowd_weight x share of people "
        "who took the route so far)",
    ),
    Phase(
        "migrants",
        "the migrant kernel advances every migrant one step under the effects in force "
        "(order in sim.kernels.passes), unless it is night and nobody is due to leave, held, "
        "in quarantine, or waiting for or riding return transport: then nobody changes",
    ),
    Phase(
        "record",
        "the step's counts are summed over chunks and recorded; the DataCollector collects",
    ),
)
"""The phases of `CaravanModel.step`, in order: the one description of a step."""


def describe_step() -> str:
    """The phases of a step as a numbered list."""
    return "\n".join(f"{i}. {p.name}: {p.doc}" for i, p in enumerate(PHASES, start=1))


# Stocks in which people can change on a night step (they decide by the hour, not by walking).
_NIGHT_ACTIVE_STOCKS = (
    *range(N_HELD_FIRST, N_HELD_FIRST + len(HOLD_CLASSES)),
    N_QUARANTINED,
    N_AWAITING_TRANSPORT,
    N_IN_TRANSPORT,
    N_GOING_BACK,
)


class CaravanModel(mesa.Model):  # type: ignore[misc]
    """The caravan on the road network under the scenario's rules.

    `step()` runs the phases of `PHASES` in order (`describe_step()` prints them).

    Randomness: the migrants' and authorities' draws come from the counter-based generator
    keyed by `seed` (`sim.rng`); group formation at set-up uses Mesa's `self.rng`, seeded with
    the same `seed`.

    `kernel` chooses the compiled step: "auto" runs the chunks on numba's threads when there
    are several and `threads` is true, "serial" or "parallel" always that one (benchmarks).
    With `profile=True`, `profile_rows` gets one row per step: its daylight, whether the kernel
    ran, and the seconds of each phase.
    """

    # Night steps in which nobody can change skip the kernel (see `_nobody_changes`). Results
    # are the same either way; False steps every migrant every step (tests, benchmarks).
    skip_idle_steps = True

    def __init__(
        self,
        scenario: Scenario,
        seed: int = 0,
        threads: bool = True,
        kernel: Literal["auto", "serial", "parallel"] = "auto",
        profile: bool = False,
    ) -> None:
        super().__init__(rng=seed)
        # Not `self.scenario`: Mesa 3.5 reserves that name for its own scenario objects.
        self.caravan_scenario = scenario
        self.seed = seed
        self.key = rng.seed_key(seed)
        self.step_h = scenario.time.step_h
        self.n_steps = scenario.n_steps
        self.network = network.build(scenario)
        self.layout = layout_of(scenario)
        net = self.network
        self.effects = Effects(net.n_places, net.n_roads)
        self.locations = [Location(self, i) for i in range(net.n_places)]
        self.authorities = [
            Authority(self, self._make_rule(name, spec))
            for name, spec in scenario.authorities.items()
        ]
        self.rule_schedule = RuleSchedule(a.rule for a in self.authorities)

        waves_h = {
            name: scenario.hours_since_start(w.at) for name, w in scenario.population.waves.items()
        }
        wave_origins = {
            name: net.index(scenario.population.origin_of(name))
            for name in scenario.population.waves
        }
        self.migrants = population.create(
            scenario.population, waves_h, net.origin, self.step_h, self.rng, wave_origins
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
        parallel = uses_parallel_kernel(self.migrants.n, threads)
        if kernel != "auto":
            parallel = kernel == "parallel"
        self._kernel = kernels.step_migrants_parallel if parallel else kernels.step_migrants_serial
        self.route_picks = np.zeros(len(net.routes), dtype=np.int64)
        self.place_counts = np.zeros((net.n_places, self.tallies.places.shape[2]), dtype=np.int64)
        self.recorder = Recorder(self.n_steps, net.n_places, net.n_roads)
        stocks = tuple(c for c in self.layout.columns if c.startswith("n_"))
        self.datacollector = StockCollector(self.recorder, stocks)
        self.idle_steps: list[int] = []  # steps in which nobody could change: kernel skipped
        self.profile_rows: list[dict[str, Any]] | None = [] if profile else None
        self._route_cdf_at_picks = -1  # total of route_picks the cached cdf was computed for
        self._route_cdf_cached = np.zeros(0)
        self._route_cdf_now = self._route_cdf_cached  # this step's, set by the route phase
        self._step_index = 0
        self._t_h = 0.0
        self._ctx: StepContext | None = None
        self.running = True

    def _make_rule(self, name: str, spec: RuleSpec) -> Rule:
        window = spec.active
        window_h = (
            self.caravan_scenario.hours_since_start(window.start),
            self.caravan_scenario.hours_since_start(window.end),
        )
        return KINDS[spec.kind](
            name,
            spec,
            self.network.place_index,
            window_h,
            self.network.road_ends,
            self.caravan_scenario.behaviour,
            self.network.road_km,
        )

    # ----------------------------------------------------------------------------------------
    # One step: the phases of PHASES
    # ----------------------------------------------------------------------------------------

    def step(self) -> None:
        self._step_index = self.steps - 1  # Mesa has already counted this step
        self._t_h = self._step_index * self.step_h
        self.effects.start_step()
        self._ctx = StepContext(
            self.key, self._step_index, self._t_h, self.step_h, self.place_counts.copy()
        )
        if self.profile_rows is None:
            for phase in PHASES:
                getattr(self, f"_{phase.name}")()
        else:
            seconds = {}
            for phase in PHASES:
                t0 = time.perf_counter()
                getattr(self, f"_{phase.name}")()
                seconds[phase.name] = time.perf_counter() - t0
            self.profile_rows.append(
                {
                    "step": self._step_index,
                    "daylight": self._daylight(),
                    "kernel": not self.idle_steps or self.idle_steps[-1] != self._step_index,
                    "seconds": seconds,
                }
            )
        if self.steps >= self.n_steps:
            self.running = False

    def _rule_changes(self) -> None:
        assert self._ctx is not None
        for change in self.rule_schedule.due(self._t_h):
            rule = change.rule
            if change.action == "begin":
                self._log(rule.begin(self.effects, self._ctx))
            else:
                self._log(rule.end(self.effects, self._ctx))

    def _authorities(self) -> None:
        assert self._ctx is not None
        for authority in self.authorities:
            if authority.rule.active:
                self._log(authority.rule.before_step(self.effects, self._ctx))

    def _route_weights(self) -> None:
        self._route_cdf_now = self.route_cdf()

    def _migrants(self) -> None:
        params = self._params()
        if self._nobody_changes(params.daylight):
            # The last step's stocks stand (kept in the tallies); nothing flows.
            self.idle_steps.append(self._step_index)
            self.tallies.counts[:, :N_FLOWS] = 0
            self.tallies.places[:, :, FIRST_PLACE_FLOW:] = 0
            self.tallies.route_picks[:] = 0
            return
        fx = self.effects
        ride_chance = self._ride_chance_per_step * fx.place["ride_factor"]
        # Without road effects the kernel is compiled without reading them (~3% of a step).
        road_fx = fx.road if fx.on_roads() else None
        inputs = StepInputs(self._route_cdf_now, ride_chance, fx.place, road_fx)
        self._kernel(
            self.migrants,
            self.network.route_arrays,
            self.network.places_arrays,
            inputs,
            params,
            self.tallies,
        )

    def _record(self) -> None:
        counts = self.tallies.counts.sum(axis=0)
        self.place_counts = self.tallies.places.sum(axis=0)
        self.route_picks += self.tallies.route_picks.sum(axis=0)
        self.recorder.record(
            self._step_index, counts, self.place_counts, self.tallies.roads.sum(axis=0)
        )
        self.datacollector.collect(self)

    # ----------------------------------------------------------------------------------------

    def _daylight(self) -> bool:
        sc = self.caravan_scenario
        clock_h = (sc.time.start.hour + sc.time.start.minute / 60 + self._t_h) % 24.0
        return bool(sc.movement.day_starts_h <= clock_h < sc.movement.day_ends_h)

    def _params(self) -> StepParams:
        sc = self.caravan_scenario
        mv = sc.movement
        return StepParams(
            key=self.key,
            step=self._step_index,
            step_h=self.step_h,
            daylight=self._daylight(),
            walking_speed_kmh=mv.walking_speed_kmh,
            ride_speed_kmh=mv.ride_speed_kmh,
            dispersed_speed_factor=mv.dispersed_speed_factor,
            sensitivity=sc.health.sensitivity,
            specificity=sc.health.specificity,
            quarantine_steps=self._quarantine_steps,
            give_up_growth_h=mv.give_up_on_road_growth_h or 0.0,
            dispersed_give_up_factor=(
                1.0 if mv.dispersed_give_up_factor is None else mv.dispersed_give_up_factor
            ),
            determined_share=mv.determined_share or 0.0,
            return_speed_kmh=mv.return_speed_kmh or 0.0,
            reroute_at_closures=sc.route_choice.reroute_at_closures,
        )

    def _nobody_changes(self, daylight: bool) -> bool:
        """True for a night step in which the kernel would change no migrant: nobody's departure
        is due, and nobody is held, in quarantine, or waiting for or riding return transport
        (each of these can end at any hour). Travellers walk only in daylight, so everyone
        stays as they are."""
        step = self._step_index
        if daylight or step == 0 or not self.skip_idle_steps:
            return False
        last = self.recorder.counts[step - 1]
        if any(last[column] for column in _NIGHT_ACTIVE_STOCKS):
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

    def route_cdf(self) -> npt.NDArray[np.float64]:
        """The cumulative route weights a group leaving now draws from, origin by origin (the
        routes from each origin are consecutive): base weight times (1 + crowd_weight * share
        of those who left that origin who chose the route so far), normalised to end at 1 for
        each origin.

        Picks only grow, so an unchanged total means unchanged picks: the cdf is reused (most
        steps, once everyone has left)."""
        total = int(self.route_picks.sum())
        if total == self._route_cdf_at_picks:
            return self._route_cdf_cached
        base = self.network.base_weights
        cdf = np.empty_like(base)
        crowd_weight = self.caravan_scenario.route_choice.crowd_weight
        for first, end in self.network.origin_routes:
            weights = base[first:end]
            picks = self.route_picks[first:end]
            taken = int(picks.sum())
            if taken > 0:
                weights = weights * (1.0 + crowd_weight * (picks / taken))
            cumulative = np.cumsum(weights)
            cdf[first:end] = cumulative / cumulative[-1]
        self._route_cdf_at_picks = total
        self._route_cdf_cached = np.asarray(cdf, dtype=np.float64)
        return self._route_cdf_cached

    def departed_by_origin(self) -> dict[str, int]:
        """People who have left so far, by the place their wave leaves from."""
        waves = self.caravan_scenario.population
        departed = dict.fromkeys(waves.origins(), 0)
        for name, rows in population.wave_rows(waves).items():
            left = int(np.count_nonzero(self.migrants.status[rows] != population.WAITING))
            departed[waves.origin_of(name)] += left
        return departed

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
        layout = self.layout
        counts = rec.counts[:done][:, list(layout.counter_indices)]
        places = rec.places[:done][:, :, list(layout.place_indices)]
        outcomes = layout.compute(
            counts,
            places,
            net.place_ids,
            self.departed_by_origin(),
        )
        return Results(
            scenario_name=self.caravan_scenario.name,
            seed=self.seed,
            version=package_version(),
            start=self.caravan_scenario.time.start,
            step_h=self.step_h,
            place_ids=net.place_ids,
            road_ends=net.road_ends,
            counts=counts,
            places=places,
            roads=rec.roads[:done],
            events=list(rec.events),
            outcomes=outcomes,
            layout=layout,
            place_lat=net.lat,
            place_lon=net.lon,
        )


class Location(mesa.Agent):  # type: ignore[misc]
    """A town, junction or crossing of the road network, and its state at the end of the last
    step: who is there, who is held, and which rules are in force (for views of the model)."""

    def __init__(self, model: CaravanModel, index: int) -> None:
        super().__init__(model)
        graph_node = model.network.graph.nodes[model.network.place_ids[index]]
        self.index = index
        self.place_id: str = model.network.place_ids[index]
        self.country: str = graph_node["country"]
        self.kinds: tuple[str, ...] = graph_node["kind"]
        self.lat: float = graph_node["lat"]
        self.lon: float = graph_node["lon"]

    @property
    def present(self) -> int:
        """Travelling migrants at this place at the end of the last step (held included)."""
        return int(self.model.place_counts[self.index, AT_PLACE])

    @property
    def held(self) -> int:
        """Migrants held here by a border force or blockade at the end of the last step."""
        return int(self.model.place_counts[self.index, HELD_HERE])

    @property
    def awaiting_transport(self) -> int:
        """Migrants waiting here for return transport at the end of the last step."""
        return int(self.model.place_counts[self.index, AWAITING_HERE])

    @property
    def rules_in_force(self) -> list[str]:
        """The names of the authorities in force here now."""
        return [
            a.rule.name
            for a in self.model.authorities
            if a.rule.active and self.index in a.rule.places
        ]


class Authority(mesa.Agent):  # type: ignore[misc]
    """An authority of the scenario as a Mesa agent; what it does is its `rule`
    (`sim.rules`), which the model runs in the phases of a step."""

    def __init__(self, model: CaravanModel, rule: Rule) -> None:
        super().__init__(model)
        self.rule = rule

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def kind(self) -> str:
        return self.rule.kind


class StockCollector(mesa.DataCollector):  # type: ignore[misc]
    """Mesa's DataCollector of the stocks (`n_waiting`, `n_moving`, ...) at the end of each step.

    It reads the row the model has just recorded: Mesa's own `collect` calls a reporter per
    variable and deep-copies each value, which costs more than the step it records (finding 8
    in benchmarks/README.md); these values are plain ints, read straight into `model_vars`."""

    def __init__(self, recorder: Recorder, stocks: tuple[str, ...]) -> None:
        self._recorder = recorder
        wanted = set(stocks)
        self._columns = [(c.column, j) for j, c in enumerate(COUNTERS) if c.column in wanted]
        super().__init__(model_reporters={name: name for name, _ in self._columns})

    def collect(self, model: mesa.Model) -> None:
        row = self._recorder.counts[self._recorder.n_recorded - 1]
        for name, column in self._columns:
            self.model_vars[name].append(int(row[column]))


def uses_parallel_kernel(n_migrants: int, threads: bool) -> bool:
    """Whether a model of `n_migrants` moves them with the parallel kernel: given threads, and
    more than one chunk of migrants. One chunk gives threads nothing to share, and idle numba
    threads spin on a busy core."""
    return threads and math.ceil(n_migrants / kernels.CHUNK) > 1


def kernel_is_compiled(scenario: Scenario, threads: bool = True) -> bool:
    """Whether numba's cache holds the compiled kernel that `run(scenario, threads=threads)`
    calls; if not, the run compiles it first (tens of seconds, once: see the README)."""
    parallel = uses_parallel_kernel(scenario.population.size, threads)
    return cache.is_compiled("step_migrants_parallel" if parallel else "step_migrants_serial")


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
    stays in memory (mesa issue #3179, fixed in later releases), which adds up to gigabytes in
    a worker that runs a sweep or a calibration. Later Mesas have no such dict, and this does
    nothing."""
    ids = getattr(mesa.Agent, "_ids", None)
    if isinstance(ids, dict):
        ids.pop(model, None)


__all__ = [
    "PHASES",
    "Authority",
    "CaravanModel",
    "Location",
    "Phase",
    "StockCollector",
    "describe_step",
    "kernel_is_compiled",
    "release",
    "run",
    "uses_parallel_kernel",
]
