"""A scenario as Flee 3 input files (`caravan export flee`), and what Flee cannot express.

Flee (https://flee.readthedocs.io) moves agents between locations in daily steps. Its standard
run script reads a directory laid out like this, which `build` produces:

    input_csv/locations.csv      places: the origin is a conflict zone (where agents spawn), the
                                 destinations are camps nobody leaves, every other place a town;
                                 with several origins, each is a conflict zone with its people
    input_csv/routes.csv         roads with their length, and per road the km of a day with a ride
                                 (max_move_speed) and the chance of a day on foot (walk_probability)
    input_csv/closures.csv       border forces and blockades as location closures, in days
    input_csv/conflicts.csv      the origin is a conflict zone on every day; with several, each
                                 on the days people leave from it
    input_csv/conflict_period.csv, input_csv/sim_period.csv   start date and days (Flee 3.1
                                 reads the first name, later versions the second)
    source_data/departures.csv   cumulative departures by date: Flee spawns the difference daily
    source_data/<destination>.csv, source_data/data_layout.csv   what Flee's run script compares
                                 with: zero on day 0 at each destination (there are no counts)
    simsetting.yml               move and spawn rules derived from the scenario
    notes.md, caravan-export.json   what was approximated or dropped, and the numbers written

Day t stands for the 24 hours from the scenario's start plus t days. Departures and rule changes
take effect on the first day that starts at or after them, which is what caravan-sim does at
24-hour steps (`time.step_h: 24`).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

import networkx as nx

from sim import network as network_module
from sim import package_version
from sim.rules import KINDS
from sim.rundir import discard_on_failure, new_staging, swap_into_place
from sim.scenario import Scenario, Wave

HOURS_PER_DAY = 24.0
_EPS = 1e-9
FLEE_VERSION = "3.1"


@dataclass(frozen=True)
class Note:
    """One feature of the scenario that Flee cannot express as it is."""

    feature: str  # scenario key, e.g. "authorities.vado_hondo_blockade"
    treatment: Literal["approximated", "dropped"]
    detail: str


@dataclass(frozen=True)
class RoadSpeed:
    """How fast a day on one road goes, in Flee's terms."""

    country: str  # of the road's end farther from the origin: it sets the ride chance
    walk_probability: float  # chance of a day without any ride
    ride_day_km: float  # expected km of a day with at least one ride (Flee's max_move_speed)


@dataclass(frozen=True)
class FleeExport:
    """The files of an export (relative path -> text) and what they approximate or drop."""

    files: dict[str, str]
    notes: tuple[Note, ...]
    n_days: int
    departures_by_day: tuple[int, ...]
    closures: tuple[tuple[str, str, int, int], ...]  # (authority, place, start day, end day)
    departures_by_origin: dict[str, tuple[int, ...]]  # per origin, people leaving on each day


def day_of(hour: float) -> int:
    """The first day (counted from the scenario's start) that starts at or after `hour`."""
    return max(0, math.ceil(hour / HOURS_PER_DAY - _EPS))


def n_days(scenario: Scenario) -> int:
    """Whole days that cover the scenario's duration."""
    return max(1, math.ceil(scenario.time.duration_h / HOURS_PER_DAY - _EPS))


def departures_by_day(scenario: Scenario) -> list[int]:
    """Expected people leaving on each day, from every origin (`departures_by_origin`)."""
    by_origin = departures_by_origin(scenario).values()
    return [sum(day) for day in zip(*by_origin, strict=True)]


def departures_by_origin(scenario: Scenario) -> dict[str, list[int]]:
    """Expected people leaving each origin on each day, rounded so each wave adds up.

    A group of a wave leaves at the wave's hour plus a whole number of steps drawn evenly over
    `spread_h` (as `sim.population.create` draws it), in the first step starting at or after
    that hour; its day is the first day starting at or after the step's start. The index past
    the last simulated day collects those who would leave later.
    """
    days = n_days(scenario)
    step_h = scenario.time.step_h
    population = scenario.population
    counts = population.wave_counts()
    out = {origin: [0] * (days + 1) for origin in population.origins()}
    for name, wave in population.waves.items():
        shares = _wave_day_shares(scenario.hours_since_start(wave.at), wave, step_h, days)
        total = out[population.origin_of(name)]
        for day, people in enumerate(_largest_remainder(counts[name], shares)):
            total[day] += people
    return out


def _wave_day_shares(at_h: float, wave: Wave, step_h: float, days: int) -> list[float]:
    """Share of a wave's groups leaving on each day (last index: after the simulated days)."""
    shares = [0.0] * (days + 1)
    slots = wave.spread_h / step_h  # offsets are floor(u * slots) whole steps, u in [0, 1)
    n_offsets = max(1, math.ceil(slots - _EPS))
    for k in range(n_offsets):
        chance = 1.0 if slots <= 0 else (min(k + 1.0, slots) - k) / slots
        step = math.ceil((at_h + k * step_h) / step_h - _EPS)
        shares[min(day_of(step * step_h), days)] += chance
    return shares


def _largest_remainder(count: int, shares: list[float]) -> list[int]:
    """`count` split by `shares` (adding up to 1) into integers that add up to `count`."""
    exact = [count * s for s in shares]
    out = [math.floor(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - out[i]), i))
    for i in order[: count - sum(out)]:
        out[i] += 1
    return out


def road_speeds(scenario: Scenario, graph: nx.Graph) -> list[RoadSpeed]:
    """Per road: Flee's daily speed with and without a ride, keeping caravan-sim's expected km.

    In caravan-sim a group on a road walks `walking_speed_kmh` during the day window and, each
    hour, gets a ride with the chance of the country the road leads to. Flee draws once per day:
    walk all day (`max_walk_speed`) with `walk_probability`, else move `max_move_speed` km. The
    chance of a day with no ride is (1 - p)^H for H hours of daylight; the expected km of a day
    is H (p ride + (1 - p) walk); `max_move_speed` is the expected km of the days with a ride.
    A road leads toward its end farther from the origin by road.
    """
    mv = scenario.movement
    day_h = mv.day_ends_h - mv.day_starts_h
    walk_day_km = mv.walking_speed_kmh * day_h
    from_origin = nx.single_source_dijkstra_path_length(
        graph, scenario.population.origin, weight="length_km"
    )
    countries = {p.id: p.country.split("-")[0] for p in scenario.network.places}
    speeds = []
    for road in scenario.network.roads:
        a, b = road.between
        ahead = a if from_origin[a] > from_origin[b] else b
        chance_h = mv.ride_chance_per_h[countries[ahead]]
        no_ride = (1.0 - chance_h) ** day_h
        expected_km = day_h * (
            chance_h * mv.ride_speed_kmh + (1.0 - chance_h) * mv.walking_speed_kmh
        )
        ride_day_km = walk_day_km
        if no_ride < 1.0:
            ride_day_km = (expected_km - no_ride * walk_day_km) / (1.0 - no_ride)
        speeds.append(RoadSpeed(countries[ahead], no_ride, ride_day_km))
    return speeds


def build(scenario: Scenario) -> FleeExport:
    """The Flee 3 input files for `scenario`, with notes on what they approximate or drop.

    Raises ScenarioError (as `caravan run` would) when no destination can be reached.
    """
    net = network_module.build(scenario)  # checks that the destinations can be reached
    days = n_days(scenario)
    by_origin = departures_by_origin(scenario)
    departures = departures_by_day(scenario)
    speeds = road_speeds(scenario, net.graph)
    closures = _closures(scenario)
    start_date = scenario.time.start.date()
    dates = [(start_date + timedelta(days=d)).isoformat() for d in range(days)]
    walk_day_km = scenario.movement.walking_speed_kmh * (
        scenario.movement.day_ends_h - scenario.movement.day_starts_h
    )
    period = _csv([["StartDate", dates[0]], ["Length", days]])
    destinations = scenario.route_choice.destinations
    files = {
        "input_csv/locations.csv": _locations_csv(scenario, by_origin),
        "input_csv/routes.csv": _routes_csv(scenario, speeds),
        "input_csv/closures.csv": _csv(
            [["#closure_type", "name1", "name2", "closure_start", "closure_end"]]
            + [["location", place, place, start, end] for _, place, start, end in closures]
        ),
        "input_csv/conflicts.csv": _conflicts_csv(by_origin, days),
        "input_csv/conflict_period.csv": period,
        "input_csv/sim_period.csv": period,
        "source_data/data_layout.csv": _csv(
            [["total", "departures.csv"]] + [[d, f"{d}.csv"] for d in destinations]
        ),
        "source_data/departures.csv": _csv(
            [["#Date", "departed (cumulative)"]]
            + [[date, sum(departures[: d + 1])] for d, date in enumerate(dates)]
        ),
        **{
            f"source_data/{d}.csv": _csv(
                [["#Date", "arrivals (no counts: zero at the start)"], [dates[0], 0]]
            )
            for d in destinations
        },
        "simsetting.yml": _simsetting(scenario, walk_day_km, speeds),
    }
    notes = _notes(scenario, days, departures, walk_day_km, closures)
    if len(by_origin) > 1:
        notes.insert(2, _origins_note(by_origin, days))
    export = FleeExport(
        files,
        tuple(notes),
        days,
        tuple(departures[:days]),
        tuple(closures),
        {origin: tuple(people[:days]) for origin, people in by_origin.items()},
    )
    # These two describe the export itself, so they come last.
    files["notes.md"] = _notes_md(scenario, export)
    files["caravan-export.json"] = _summary_json(scenario, export, dates[0])
    return export


def write(export: FleeExport, out_dir: Path, overwrite: bool = False) -> None:
    """Write the files into `out_dir` through a staging directory (see `sim.rundir`): a
    directory that already holds files is kept unless `overwrite`."""
    staging = new_staging(out_dir, overwrite)
    with discard_on_failure(staging):
        for relative, text in export.files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        swap_into_place(staging, out_dir)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def _csv(rows: Sequence[Sequence[object]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _number(x: float) -> str:
    """A float without trailing zeros, exact to 10 significant digits."""
    return format(x, ".10g")


def _locations_csv(scenario: Scenario, by_origin: dict[str, list[int]]) -> str:
    """The population's origin first: Flee takes the first location's country as home. Each
    origin is a conflict zone with its people as population (Flee spawns a day's departures
    among the conflict zones in proportion to it), from the first day people leave it (with
    one origin: from day 0, as every day is one)."""
    origin = scenario.population.origin
    counts = scenario.population.wave_counts()
    people = dict.fromkeys(by_origin, 0)
    for name, count in counts.items():
        people[scenario.population.origin_of(name)] += count
    first_days = {o: _first_day(by_origin, o) for o in by_origin}
    destinations = set(scenario.route_choice.destinations)
    places = sorted(scenario.network.places, key=lambda p: p.id != origin)
    rows: list[list[object]] = [
        ["#name", "region", "country", "lat", "lon", "location_type", "conflict_date", "pop/cap"]
    ]
    for p in places:
        conflict_date = ""
        if p.id in people:
            kind, population = "conflict_zone", str(people[p.id])
            conflict_date = str(first_days[p.id])
        elif p.id in destinations:
            kind, population = "camp", ""  # no capacity: never full
        else:
            kind, population = "town", ""
        country = p.country.split("-")[0]  # a crossing "HN-GT" stands in HN, as for rides
        rows.append(
            [p.id, p.name or p.id, country, _number(p.lat), _number(p.lon), kind, conflict_date,
             population]
        )  # fmt: skip
    return _csv(rows)


def _first_day(by_origin: dict[str, list[int]], origin: str) -> int:
    """The first day people leave `origin` (0 with one origin: it is a conflict zone every
    day), or the number of days if nobody leaves it within them (never a conflict zone)."""
    if len(by_origin) == 1:
        return 0
    leaving = by_origin[origin][:-1]  # the last index: after the simulated days
    return next((day for day, n in enumerate(leaving) if n > 0), len(leaving))


def _conflicts_csv(by_origin: dict[str, list[int]], days: int) -> str:
    """Conflict intensity by day: the one origin on every day; each of several origins 1 on the
    days people leave it, else 0 (Flee 3.1 adds a conflict zone when its intensity turns from
    0 to 1 and removes it when it turns back; Flee's `conflict_date` in locations.csv keeps it
    a town until its first day)."""
    origins = list(by_origin)
    if len(origins) == 1:
        return _csv([["#Day", origins[0]]] + [[d, 1] for d in range(days)])
    rows: list[list[object]] = [["#Day", *origins]]
    rows += [[d, *(int(by_origin[o][d] > 0) for o in origins)] for d in range(days)]
    return _csv(rows)


def _routes_csv(scenario: Scenario, speeds: list[RoadSpeed]) -> str:
    rows: list[list[object]] = [
        ["#name1", "name2", "distance", "forced_redirection", "max_move_speed", "walk_probability"]
    ]
    for road, speed in zip(scenario.network.roads, speeds, strict=True):
        a, b = road.between
        rows.append(
            [a, b, _number(road.length_km), 0, f"{speed.ride_day_km:.3f}",
             f"{speed.walk_probability:.6f}"]
        )  # fmt: skip
    return _csv(rows)


def _closures(scenario: Scenario) -> list[tuple[str, str, int, int]]:
    """Border forces and blockades as closures of their place, sorted by start day (so that a
    window ending on the day the next one at the same place begins reopens it first)."""
    out: list[tuple[str, str, int, int]] = []
    for name, spec in scenario.authorities.items():
        if KINDS[spec.kind].flee_closes:
            start = day_of(scenario.hours_since_start(spec.active.start))
            end = day_of(scenario.hours_since_start(spec.active.end))
            out.extend((name, place, start, end) for place in spec.place_ids())
    return sorted(out, key=lambda c: (c[2], c[3], c[0]))


def _simsetting(scenario: Scenario, walk_day_km: float, speeds: list[RoadSpeed]) -> str:
    fastest = max([walk_day_km] + [s.ride_day_km for s in speeds])
    joining = ""
    if len(scenario.population.origins()) > 1:
        # Flee makes conflict zones less attractive to move to (by 1/sqrt(10) by default); a
        # place where people join the caravan is not one that those passing avoid.
        joining = "\n  conflict_weight: 1.0            # origins on the way are not avoided"
    return f"""\
# Flee {FLEE_VERSION} settings for caravan-sim scenario '{scenario.name}' (see notes.md).
log_levels:
  agent: 0
  link: 0
  camp: 0
  init: 0
  conflict: 0
  idp_totals: 0
spawn_rules:
  take_from_population: false
  insert_day0: false              # people leaving on day 0 are spawned at the origin
  conflict_zone_spawning_only: true
move_rules:
  max_move_speed: {fastest:.3f}        # km a day; every road sets its own (routes.csv)
  max_walk_speed: {walk_day_km:.3f}         # km a day on foot: walking speed x day window
  default_movechance: 1.0         # people on the road go on every day
  conflict_movechance: 1.0
  camp_movechance: 0.0            # reaching a destination ends the journey
  awareness_level: 1{joining}
optimisations:
  hasten: 1
"""


# --------------------------------------------------------------------------------------------
# Notes: what Flee cannot express
# --------------------------------------------------------------------------------------------


def _notes(
    scenario: Scenario,
    days: int,
    departures: list[int],
    walk_day_km: float,
    closures: list[tuple[str, str, int, int]],
) -> list[Note]:
    start = scenario.time.start
    mv = scenario.movement
    later = departures[days]
    where = "the origins" if len(scenario.population.origins()) > 1 else "the origin"
    waves = (
        "the expected departures of each day (groups leave at random hours of each wave's "
        f"spread), rounded; Flee spawns them at {where} (source_data/departures.csv)"
    )
    if later:
        waves += f"; {later} people who would leave after the last day are not spawned"
    notes = [
        Note(
            "time",
            "approximated",
            f"Flee steps whole days: day t is the 24 h from {start:%H:%M} on {start:%Y-%m-%d} "
            f"plus t days; {scenario.time.duration_h:g} h become {days} days. Departures and "
            "rule changes take effect on the first day starting at or after them (as "
            "caravan-sim at time.step_h 24).",
        ),
        Note("population.waves", "approximated", waves),
        Note(
            "population.group_size",
            "dropped",
            "Flee agents travel alone: members of a group do not share routes or rides",
        ),
        Note(
            "movement",
            "approximated",
            f"a day on foot is walking_speed_kmh x (day_ends_h - day_starts_h) = "
            f"{walk_day_km:g} km (max_walk_speed); hourly rides become, per road, the chance of "
            "a day without a ride (walk_probability) and the expected km of a day with one "
            "(max_move_speed), keeping the expected km per day; the ride chance is that of the "
            "country of the road's end farther from the origin",
        ),
        Note(
            "movement.dispersed_speed_factor",
            "dropped",
            f"nobody leaves the road in Flee, so the factor {mv.dispersed_speed_factor:g} is "
            "never applied",
        ),
        Note(
            "route_choice",
            "approximated",
            "the destinations are camps nobody leaves (camp_movechance 0); Flee agents choose "
            "their next places each day by Flee's own weights (awareness_level 1), not a "
            "whole route: detour_scale_km, max_detour_km, max_routes, crowd_weight and "
            "place_preference are dropped",
        ),
    ]
    for name, place, start_day, end_day in closures:
        spec = scenario.authorities[name]
        window = f"closed from day {start_day} to day {end_day}"
        if start_day == end_day:
            window += " (no effect: the window begins and ends within one day)"
        elif start_day >= days:
            window += " (after the last simulated day)"
        kind = KINDS[spec.kind]
        note = kind.flee_note(spec, f"{place} is {window}")
        notes.append(Note(f"authorities.{name}", note.treatment, note.detail))
    for name, spec in scenario.authorities.items():
        kind = KINDS[spec.kind]
        if not kind.flee_closes:
            note = kind.flee_note(spec, "")
            notes.append(Note(f"authorities.{name}", note.treatment, note.detail))
    return notes


def _origins_note(by_origin: dict[str, list[int]], days: int) -> Note:
    """Several origins: what Flee keeps of who leaves where and when."""
    shared = [d for d in range(days) if sum(people[d] > 0 for people in by_origin.values()) > 1]
    detail = (
        f"the {len(by_origin)} places waves leave from ({', '.join(by_origin)}) are conflict "
        "zones with their people as population, each on the days people leave it "
        "(input_csv/conflicts.csv); Flee splits a day's departures among that day's conflict "
        "zones in proportion to their population, so who leaves where is kept on days people "
        "leave one origin only"
    )
    if shared:
        days_text = ("days " if len(shared) > 1 else "day ") + ", ".join(map(str, shared))
        detail += (
            f"; on {days_text}, when people leave several, the split is by their people in "
            "all, not by who leaves each that day (caravan-export.json lists those by origin "
            "and day)"
        )
    detail += "; those passing an origin do not avoid it (conflict_weight 1.0)"
    return Note("population.waves.*.origin", "approximated", detail)


def _notes_md(scenario: Scenario, export: FleeExport) -> str:
    lines = [
        f"# Flee input for caravan-sim scenario '{scenario.name}'",
        "",
        f"Written by caravan-sim {package_version()} from {scenario.source_file or 'a scenario'}"
        f" for Flee {FLEE_VERSION}: {export.n_days} days, "
        f"{sum(export.departures_by_day):,} people leaving "
        f"{', '.join(export.departures_by_origin)}. Run it with Flee's run script:",
        "",
        "    python3 run.py input_csv source_data 0 simsetting.yml > out.csv",
        "",
        "The destination files in source_data/ hold no counts (zero on day 0), so the error "
        "columns of run.py's output mean nothing; compare the sim columns.",
        "",
        "## What Flee cannot express",
        "",
        "| scenario key | treatment | how |",
        "|---|---|---|",
    ]
    lines += [f"| `{n.feature}` | {n.treatment} | {n.detail} |" for n in export.notes]
    return "\n".join(lines) + "\n"


def _summary_json(scenario: Scenario, export: FleeExport, start_date: str) -> str:
    data = {
        "exported_by": f"caravan-sim {package_version()}",
        "flee_version": FLEE_VERSION,
        "scenario": scenario.name,
        "scenario_file": scenario.source_file,
        "start": scenario.time.start.isoformat(),
        "start_date": start_date,
        "days": export.n_days,
        "origin": scenario.population.origin,
        "destinations": list(scenario.route_choice.destinations),
        "departures_by_day": list(export.departures_by_day),
        "departures_by_origin": {o: list(d) for o, d in export.departures_by_origin.items()},
        "closures": [
            {"authority": a, "place": p, "start_day": s, "end_day": e}
            for a, p, s, e in export.closures
        ],
        "notes": [asdict(n) for n in export.notes],
    }
    return json.dumps(data, indent=1) + "\n"
