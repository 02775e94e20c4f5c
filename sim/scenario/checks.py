"""Checks that need more than one key of a scenario: the places and roads its sections name
exist, no two rules write one effect at one place at once, every country has a ride chance,
times agree on carrying a UTC offset; and, once those hold, a destination can be reached from
every origin."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

from pydantic import ValidationError, create_model

from sim.errors import Problem, ScenarioError, ScenarioWarning
from sim.rules import KINDS, RuleSpec, Window
from sim.rules.effects import PLACE_EFFECTS, effect
from sim.scenario.routes import route_places
from sim.scenario.schema import Scenario
from sim.schema import MAX_SPAN_H
from sim.targets import COMPARED_SETS, available_target_sets
from sim.validation import did_you_mean
from sim.yamlio import Document, KeyPath, dotted


def reference_problems(scenario: Scenario, doc: Document) -> list[Problem]:
    """Every place and road a section names must exist; no two rules that write one effect
    stand at one place at once; every country has a ride chance; no wave leaves before the
    start."""
    return [
        *_place_problems(scenario, doc),
        *_road_problems(scenario, doc),
        *_overlap_problems(scenario, doc),
        *_ride_chance_problems(scenario, doc),
        *_time_problems(scenario, doc),
        *_reaction_problems(scenario, doc),
        *_road_reaction_problems(scenario, doc),
        *_compare_with_problems(scenario, doc),
        *_repeat_problems(scenario, doc),
    ]


def _repeat_problems(scenario: Scenario, doc: Document) -> list[Problem]:
    """A destination, group size, or place or road of one rule listed twice: a repeat would
    count twice (a destination's routes, a size's share of the draws) or say nothing new."""
    lists: list[tuple[KeyPath, list[tuple[KeyPath, object]]]] = [
        (
            ("route_choice", "destinations"),
            [((i,), d) for i, d in enumerate(scenario.route_choice.destinations)],
        ),
        (
            ("population", "group_size", "sizes"),
            [((i,), s) for i, s in enumerate(scenario.population.group_size.sizes)],
        ),
    ]
    for name, spec in scenario.authorities.items():
        roads = spec.named_roads()  # a rule on roads names each road's places, shared by roads
        items: list[tuple[KeyPath, object]] = [(k, frozenset(ends)) for k, ends in roads]
        if not roads:
            items = list(zip(spec.place_keys(), spec.place_ids(), strict=True))
        lists.append((("authorities", name), items))
    problems = []
    for at, items in lists:
        first: dict[object, KeyPath] = {}
        for key, item in items:
            if item in first:
                shown = " and ".join(sorted(item)) if isinstance(item, frozenset) else item
                message = f"{shown} is listed twice (first as {dotted((*at, *first[item]))})"
                problems.append(doc.problem((*at, *key), message))
            first.setdefault(item, key)
    return problems


def _compare_with_problems(scenario: Scenario, doc: Document) -> list[Problem]:
    """Every target set the run is compared with is shipped, or a YAML file that exists."""
    shipped = available_target_sets()
    return [
        doc.problem(
            ("output", "compare_with", i),
            f"unknown target set '{name}'{did_you_mean(name, set(shipped))}; expected one of: "
            f"{', '.join(shipped)}, or a path to a YAML file",
        )
        for i, name in enumerate(scenario.output.compare_with)
        # The default sets are shipped (tests/test_targets.py); a copy of the package without
        # seeds/ still loads scenarios that do not name others.
        if name not in COMPARED_SETS and name not in shipped and not Path(name).is_file()
    ]


def _reaction_problems(scenario: Scenario, doc: Document) -> list[Problem]:
    """A reaction a rule's entry leaves out must be in the scenario's behaviour (a road
    reaction with a default need not)."""
    problems = []
    for name, spec in scenario.authorities.items():
        kind = KINDS[spec.kind]
        for key in (*kind.reactions, *kind.road_reactions):
            if kind.reaction_of(spec, key, scenario.behaviour) is None:
                if key in kind.road_reactions:
                    shared = f"behaviour.on_the_road.{kind.kind}.{key}"
                    everyone = f"on the roads under every {kind.kind} rule"
                else:
                    shared = f"behaviour.when_held.{kind.holds_as}.{key}"
                    everyone = f"held at a {kind.holds_as}"
                problems.append(
                    doc.problem(
                        ("authorities", name),
                        f"missing '{key}': give it in this entry, or as {shared} for everyone "
                        f"{everyone}",
                    )
                )
    return problems


def _road_reaction_problems(scenario: Scenario, doc: Document) -> list[Problem]:
    """`behaviour.on_the_road` names rule kinds with reactions on the road, and only their
    reactions, each a value its entries would accept."""
    kinds = sorted(k for k, rule in KINDS.items() if rule.road_reactions)
    problems = []
    for kind_name, reactions in scenario.behaviour.on_the_road.items():
        at: KeyPath = ("behaviour", "on_the_road", kind_name)
        rule = KINDS.get(kind_name)
        if rule is None or not rule.road_reactions:
            problems.append(
                doc.problem(
                    at,
                    f"no rule kind '{kind_name}' with reactions on the road"
                    f"{did_you_mean(kind_name, set(kinds))}; expected one of: {', '.join(kinds)}",
                )
            )
            continue
        for key, value in reactions.items():
            if key not in rule.road_reactions:
                expected = sorted(rule.road_reactions)
                problems.append(
                    doc.problem(
                        (*at, key),
                        f"'{kind_name}' has no reaction on the road '{key}'"
                        f"{did_you_mean(key, set(expected))}; expected one of: "
                        f"{', '.join(expected)}",
                    )
                )
                continue
            # the value as the kind's own entries would take it (type and range)
            field = rule.Spec.model_fields[key]
            assert field.annotation is not None
            check = create_model("RoadReaction", value=(field.annotation, field))
            try:
                check.model_validate({"value": value})
            except ValidationError as error:
                problems.append(doc.problem((*at, key), error.errors()[0]["msg"]))
    return problems


def _place_problems(scenario: Scenario, doc: Document) -> list[Problem]:
    """Every place the population, route choice and authorities name is a place of the
    network."""
    known = {p.id for p in scenario.network.places}
    named: list[tuple[KeyPath, str]] = [(("population", "origin"), scenario.population.origin)]
    named += [
        (("population", "waves", name, "origin"), wave.origin)
        for name, wave in scenario.population.waves.items()
        if wave.origin is not None
    ]
    named += [
        (("route_choice", "destinations", i), dest)
        for i, dest in enumerate(scenario.route_choice.destinations)
    ]
    named += [
        (("route_choice", "place_preference", place), place)
        for place in scenario.route_choice.place_preference
    ]
    for name, spec in scenario.authorities.items():
        named += [(("authorities", name, *key), place) for key, place in spec.named_places()]
    return [
        doc.problem(path, f"unknown place '{place}'{did_you_mean(place, known)}")
        for path, place in named
        if place not in known
    ]


def _road_problems(scenario: Scenario, doc: Document) -> list[Problem]:
    """Every road a rule names (by the two places it joins) is a road of the network; a pair
    naming an unknown place is left to `_place_problems`."""
    known = {p.id for p in scenario.network.places}
    roads = {frozenset(r.between) for r in scenario.network.roads}
    problems = []
    for name, spec in scenario.authorities.items():
        for key, ends in spec.named_roads():
            if set(ends) <= known and frozenset(ends) not in roads:
                problems.append(
                    doc.problem(
                        ("authorities", name, *key),
                        f"no road between {' and '.join(ends)} in the network",
                    )
                )
    return problems


def route_problems(scenario: Scenario, doc: Document) -> list[Problem]:
    """A destination can be reached from every place waves leave from, without passing another
    destination. On a connected network (which `network_problems` checks) the nearest
    destination always can, unless the place is a destination itself: so that is the check,
    blamed on the key that first names the place (a wave's `origin`, or `population.origin`
    for waves that name none). Then the route set is searched as a run searches it, so that
    whatever a run would refuse, the loader refuses first, at route_choice.destinations."""
    problems = _origin_problems(scenario, doc)
    if problems:
        return problems
    try:
        route_places(scenario)
    except ScenarioError as error:
        return [doc.problem(("route_choice", "destinations"), p.message) for p in error.problems]
    return []


def _origin_problems(scenario: Scenario, doc: Document) -> list[Problem]:
    """Places waves leave from that are destinations."""
    population = scenario.population
    destinations = scenario.route_choice.destinations
    problems: list[Problem] = []
    seen: set[str] = set()
    for name, wave in population.waves.items():
        origin = population.origin_of(name)
        if origin in seen:
            continue
        seen.add(origin)
        if origin not in destinations:
            continue
        key: KeyPath = ("population", "origin")
        if wave.origin is not None:
            key = ("population", "waves", name, "origin")
        problems.append(
            doc.problem(
                key,
                f"{origin} is a destination (route_choice.destinations): no journey can start "
                "where it ends",
            )
        )
    return problems


def _ride_chance_problems(scenario: Scenario, doc: Document) -> list[Problem]:
    """Every country of the network has a ride chance (a road's ride chance is that of the
    country it leads to: the first code of a crossing's "A-B"), and a ride chance for a code
    close to one of them is a misspelling, not silently ignored (another code is a country the
    network does not reach: a warning)."""
    countries = _ride_countries(scenario)
    given = scenario.movement.ride_chance_per_h
    problems = [
        doc.problem(
            ("movement", "ride_chance_per_h", code),
            f"no place of the network is in '{code}'{hint}; expected one of: "
            f"{', '.join(countries)}",
        )
        for code in given
        if code not in countries and (hint := did_you_mean(code, set(countries)))
    ]
    missing = [c for c in countries if c not in given]
    if missing:
        problems.append(
            doc.problem(
                ("movement", "ride_chance_per_h"),
                f"no ride chance for {', '.join(missing)}; expected one per country of the "
                f"network ({', '.join(countries)})",
            )
        )
    return problems


def _time_problems(scenario: Scenario, doc: Document) -> list[Problem]:
    """No wave leaves before the scenario starts (where every time agrees on a UTC offset:
    `sim.scenario.raw_checks.offset_problems` reports the times that do not)."""
    start = scenario.time.start
    times = [w.at for w in scenario.population.waves.values()]
    times += [
        t for spec in scenario.authorities.values() for t in (spec.active.start, spec.active.end)
    ]
    if any((when.tzinfo is None) != (start.tzinfo is None) for when in times):
        return []
    late = [
        doc.problem(
            ("population", "waves", name, "at"),
            f"the wave's last groups leave {hours:g} h after the start; at most {MAX_SPAN_H:g} h "
            "(a year) after it",
        )
        for name, wave in scenario.population.waves.items()
        if (hours := scenario.hours_since_start(wave.at) + wave.spread_h) > MAX_SPAN_H
    ]
    return late + [
        doc.problem(
            ("population", "waves", name, "at"),
            f"wave leaves at {wave.at}, before the scenario starts ({start})",
        )
        for name, wave in scenario.population.waves.items()
        if scenario.hours_since_start(wave.at) < 0
    ]


def _overlap_problems(scenario: Scenario, doc: Document) -> list[Problem]:
    """Two rules that write one effect of a place would overwrite each other: refuse them at
    one place in overlapping windows."""
    problems: list[Problem] = []
    in_force: dict[str, list[tuple[str, str, frozenset[str], Window]]] = {}
    for name, spec in scenario.authorities.items():
        writes = frozenset(e for e in KINDS[spec.kind].writes_for(spec) if not effect(e).combines)
        for place in dict.fromkeys(spec.place_ids()):
            for other, other_kind, other_writes, window in in_force.get(place, []):
                shared = writes & other_writes
                if shared and window.start < spec.active.end and spec.active.start < window.end:
                    message = _overlap(other, other_kind, shared, place)
                    problems.append(doc.problem(("authorities", name, "active"), message))
            in_force.setdefault(place, []).append((name, spec.kind, writes, spec.active))
    return problems


def _overlap(other: str, other_kind: str, shared: frozenset[str], place: str) -> str:
    # The first shared effect of the vocabulary with a phrase says what the other rule does.
    by_order = [e for e in PLACE_EFFECTS if e.name in shared and e.phrase] or [
        effect(name) for name in sorted(shared)
    ]
    first = by_order[0]
    writers = [kind for kind, cls in KINDS.items() if first.name in cls.writes]
    if first.phrase and len(writers) > 1:
        kinds = " or ".join(kind.replace("_", " ") for kind in writers)
        return (
            f"overlaps '{other}', which already {first.phrase} at {place} then; "
            f"one {kinds} per place at a time"
        )
    what = other_kind.replace("_", " ")
    return f"overlaps '{other}', which already has {what} at {place} then; one at a time"


def scenario_warnings(scenario: Scenario, doc: Document) -> list[ScenarioWarning]:
    """What a valid scenario says that changes nothing: a wave that leaves after the run ends;
    a ride chance for a country no road leads to; a rule whose window lies outside the run,
    whose values are those without it, or at places (or on roads) that no route reaches; a
    target set named twice. Call on a scenario the checks passed."""
    routes = route_places(scenario)
    reached = {place for places in routes for place in places}
    travelled = {frozenset(leg) for places in routes for leg in pairwise(places)}
    found = []
    for name, spec in scenario.authorities.items():
        at: KeyPath = ("authorities", name)
        message = (
            _outside_the_run(scenario, spec.active)
            or _writes_nothing(scenario, spec)
            or _unreached(scenario, spec, reached, travelled)
        )
        if message:
            where = doc.locate(at)
            found.append(ScenarioWarning(where.file, where.line, dotted(at), message))
    return [
        *_wave_warnings(scenario, doc),
        *_ride_chance_warnings(scenario, doc),
        *found,
        *_compare_with_warnings(scenario, doc),
    ]


def _wave_warnings(scenario: Scenario, doc: Document) -> list[ScenarioWarning]:
    """A wave that leaves when the run is over: its people stay where they are, counted as
    never having left."""
    found = []
    for name, wave in scenario.population.waves.items():
        if scenario.hours_since_start(wave.at) >= scenario.time.duration_h:
            at: KeyPath = ("population", "waves", name, "at")
            where = doc.locate(at)
            message = (
                f"the wave leaves ({wave.at}) after the scenario ends "
                f"({scenario.time.duration_h:g} h after it starts): its people never leave"
            )
            found.append(ScenarioWarning(where.file, where.line, dotted(at), message))
    return found


def _compare_with_warnings(scenario: Scenario, doc: Document) -> list[ScenarioWarning]:
    """A target set named twice: the outcome table and the figures show it once."""
    found = []
    first: dict[str, int] = {}
    for i, name in enumerate(scenario.output.compare_with):
        if name in first:
            at: KeyPath = ("output", "compare_with", i)
            where = doc.locate(at)
            message = (
                f"'{name}' is named twice (first as output.compare_with[{first[name]}]): "
                "the second changes nothing"
            )
            found.append(ScenarioWarning(where.file, where.line, dotted(at), message))
        first.setdefault(name, i)
    return found


def _ride_chance_warnings(scenario: Scenario, doc: Document) -> list[ScenarioWarning]:
    """A ride chance for a country no place of the network is in (and no misspelling of one,
    which `_ride_chance_problems` refuses)."""
    countries = _ride_countries(scenario)
    found = []
    for code in scenario.movement.ride_chance_per_h:
        if code not in countries:
            where = doc.locate(("movement", "ride_chance_per_h", code))
            message = f"no place of the network is in '{code}': this ride chance changes nothing"
            key = dotted(("movement", "ride_chance_per_h", code))
            found.append(ScenarioWarning(where.file, where.line, key, message))
    return found


def _ride_countries(scenario: Scenario) -> list[str]:
    """The countries roads lead to, whose ride chances apply (a crossing "A-B" counts as A)."""
    return sorted({p.country.split("-")[0] for p in scenario.network.places})


def _outside_the_run(scenario: Scenario, window: Window) -> str:
    """Why a rule in force during `window` is never in force in the run, or nothing."""
    if scenario.hours_since_start(window.end) <= 0:
        return (
            f"the rule ends ({window.end}) by the time the scenario starts "
            f"({scenario.time.start}): it changes nothing"
        )
    if scenario.hours_since_start(window.start) >= scenario.time.duration_h:
        return (
            f"the rule begins ({window.start}) after the scenario ends "
            f"({scenario.time.duration_h:g} h after it starts): it changes nothing"
        )
    return ""


def _writes_nothing(scenario: Scenario, spec: RuleSpec) -> str:
    """Why a rule writes no effect at all (its values are those of no rule: a hazard of 0, a
    factor of 1), or nothing."""
    if KINDS[spec.kind].writes_for(spec, scenario.behaviour):
        return ""
    return (
        "every value of the rule is the one without it (a hazard of 0, a factor of 1): it "
        "changes nothing"
    )


def _unreached(
    scenario: Scenario, spec: RuleSpec, reached: set[str], travelled: set[frozenset[str]]
) -> str:
    """Why a rule acts on nobody: no route reaches its places or travels its roads (a hold
    whose word travels ahead, `word_ahead`, reaches roads nearby and is left alone)."""
    kind = KINDS[spec.kind]
    if "word_ahead" in type(spec).model_fields and kind.reaction_of(
        spec, "word_ahead", scenario.behaviour
    ):
        return ""
    roads = [frozenset(ends) for _, ends in spec.named_roads()]
    if roads:
        if any(road in travelled for road in roads):
            return ""
        shown = ", ".join(" - ".join(sorted(road)) for road in roads)
        return f"no route travels {shown}: the rule changes nothing"
    places = spec.place_ids()
    if any(place in reached for place in places):
        return ""
    return f"no route reaches {', '.join(places)}: the rule changes nothing"
