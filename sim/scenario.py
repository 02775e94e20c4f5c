"""Scenario files: the schema, `extends:`, `--set` overrides, and errors that say file:line key.

This is the only module that reads scenario and network YAML. `load()` returns a frozen,
validated `Scenario`; anything wrong raises one `ScenarioError` listing every problem found.
"""

from __future__ import annotations

import copy
import difflib
import math
import types
import typing
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import networkx as nx
import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator

from sim.calibrate.spec import CalibrationSection
from sim.errors import Problem, ScenarioError
from sim.schema import StrictModel
from sim.yamlio import Document, KeyPath, Where, dotted, load_yaml

UnitFloat = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]


# --------------------------------------------------------------------------------------------
# Network files
# --------------------------------------------------------------------------------------------

PlaceKind = Literal[
    "origin",
    "city",
    "town",
    "junction",
    "border_crossing",
    "checkpoint",
    "shelter",
    "detention",
    "return_point",
]


class Place(StrictModel):
    id: str = Field(min_length=1)
    name: str = ""
    country: str = Field(min_length=2)
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)
    kind: list[PlaceKind] = Field(default_factory=list)
    coord_uncertainty_km: NonNegativeFloat = 0.0
    coord_source: str = ""


class Road(StrictModel):
    between: list[str] = Field(min_length=2, max_length=2)
    length_km: PositiveFloat
    uncertainty_km: NonNegativeFloat = 0.0
    highway: str = ""
    method: str = ""
    source: str = ""


class NetworkSpec(StrictModel):
    """Places and the undirected roads between them."""

    places: list[Place] = Field(min_length=2)
    roads: list[Road] = Field(min_length=1)


class NetworkSection(StrictModel):
    """In a scenario: a path to a network file (relative to the scenario), or the network inline."""

    file: str | None = None
    places: list[Place] | None = None
    roads: list[Road] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> NetworkSection:
        inline = self.places is not None or self.roads is not None
        if self.file is not None and inline:
            raise ValueError("give either 'file' or 'places' and 'roads', not both")
        if self.file is None and (self.places is None or self.roads is None):
            raise ValueError("expected 'file: path/to/network.yaml', or both 'places' and 'roads'")
        return self


# --------------------------------------------------------------------------------------------
# Scenario sections
# --------------------------------------------------------------------------------------------


class TimeSection(StrictModel):
    start: datetime
    duration_h: PositiveFloat
    step_h: PositiveFloat = 1.0


class Wave(StrictModel):
    """A departure wave: `count` people, or a `share` of what the counted waves leave over."""

    at: datetime
    count: int | None = Field(default=None, ge=0)
    share: UnitFloat | None = None
    spread_h: NonNegativeFloat = 0.0

    @model_validator(mode="after")
    def _count_or_share(self) -> Wave:
        if (self.count is None) == (self.share is None):
            raise ValueError("give exactly one of 'count' (people) or 'share' (of the rest)")
        return self


class GroupSizes(StrictModel):
    sizes: list[Annotated[int, Field(ge=1)]] = Field(min_length=1)
    shares: list[UnitFloat] = Field(min_length=1)

    @model_validator(mode="after")
    def _shares_match(self) -> GroupSizes:
        if len(self.sizes) != len(self.shares):
            raise ValueError(
                f"'sizes' has {len(self.sizes)} entries but 'shares' has {len(self.shares)}"
            )
        if not math.isclose(sum(self.shares), 1.0, abs_tol=1e-6):
            raise ValueError(f"'shares' must add up to 1, they add up to {sum(self.shares):g}")
        return self


class Population(StrictModel):
    size: int = Field(ge=1)
    origin: str
    waves: dict[str, Wave] = Field(min_length=1)
    group_size: GroupSizes

    @model_validator(mode="after")
    def _waves_add_up(self) -> Population:
        counted = sum(w.count for w in self.waves.values() if w.count is not None)
        shares = [w.share for w in self.waves.values() if w.share is not None]
        if counted > self.size:
            raise ValueError(f"wave counts add up to {counted}, more than size {self.size}")
        if shares and not math.isclose(sum(shares), 1.0, abs_tol=1e-6):
            raise ValueError(f"wave shares must add up to 1, they add up to {sum(shares):g}")
        if not shares and counted != self.size:
            raise ValueError(
                f"wave counts add up to {counted} but size is {self.size}; "
                "give one wave a 'share: 1.0' to take the rest"
            )
        return self

    def wave_counts(self) -> dict[str, int]:
        """People per wave: counts as given; share waves split the rest (largest remainder)."""
        counts = {name: w.count for name, w in self.waves.items() if w.count is not None}
        rest = self.size - sum(counts.values())
        share_waves = [(name, w.share) for name, w in self.waves.items() if w.share is not None]
        exact = {name: rest * share for name, share in share_waves}
        floors = {name: math.floor(x) for name, x in exact.items()}
        left = rest - sum(floors.values())
        by_remainder = sorted(exact, key=lambda n: (-(exact[n] - floors[n]), n))
        for name in by_remainder[:left]:
            floors[name] += 1
        counts.update(floors)
        return {name: counts[name] for name in self.waves}


class Movement(StrictModel):
    """How groups travel. A ride's chance depends on the country of the place a road leads to
    (for a crossing written "A-B", country A): drivers in one country may stop for migrants,
    in another be warned off by the police."""

    walking_speed_kmh: PositiveFloat
    day_starts_h: Annotated[float, Field(ge=0.0, lt=24.0)]
    day_ends_h: Annotated[float, Field(gt=0.0, le=24.0)]
    ride_chance_per_h: dict[str, UnitFloat] = Field(min_length=1)  # by country code
    ride_speed_kmh: PositiveFloat
    dispersed_speed_factor: Annotated[float, Field(gt=0.0, le=1.0)]

    @model_validator(mode="after")
    def _day(self) -> Movement:
        if self.day_ends_h <= self.day_starts_h:
            raise ValueError("'day_ends_h' must be later than 'day_starts_h' (local clock hours)")
        return self


class RouteChoice(StrictModel):
    destinations: list[str] = Field(min_length=1)
    detour_scale_km: PositiveFloat
    max_detour_km: NonNegativeFloat
    max_routes: Annotated[int, Field(ge=1, le=200)] = 24
    crowd_weight: NonNegativeFloat = 0.0
    place_preference: dict[str, PositiveFloat] = Field(default_factory=dict)


class Window(StrictModel):
    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if (self.start.tzinfo is None) != (self.end.tzinfo is None):
            raise ValueError("give both times with a UTC offset, or neither")
        if self.end <= self.start:
            raise ValueError(f"the window ends ({self.end}) before it starts ({self.start})")
        return self


class GiveUp(StrictModel):
    """Weibull hazard of giving up while held: shape > 1 means the urge grows with waiting."""

    scale_h: PositiveFloat
    shape: PositiveFloat
    return_share: UnitFloat


class _AtOnePlace(StrictModel):
    place: str
    active: Window

    def place_ids(self) -> list[str]:
        return [self.place]


class _AtPlaces(StrictModel):
    places: list[str] = Field(min_length=1)
    active: Window

    def place_ids(self) -> list[str]:
        return list(self.places)


class BorderControl(_AtOnePlace):
    kind: Literal["border_control"]
    force: Annotated[int, Field(ge=1)]
    push_rate_per_h: NonNegativeFloat
    give_up: GiveUp


class Blockade(_AtOnePlace):
    kind: Literal["blockade"]
    give_up: GiveUp
    slip_chance_per_h: UnitFloat
    clearance_return_share: UnitFloat


class Checkpoints(_AtPlaces):
    kind: Literal["checkpoints"]
    intercept_chance: UnitFloat
    dispersed_intercept_factor: UnitFloat


class HealthPosts(_AtPlaces):
    kind: Literal["health_posts"]
    test_chance_on_arrival: UnitFloat
    test_chance_per_h_held: UnitFloat = 0.0


AuthoritySpec = Annotated[
    Union[BorderControl, Blockade, Checkpoints, HealthPosts],  # noqa: UP007
    Field(discriminator="kind"),
]
AUTHORITY_KINDS: dict[str, type[StrictModel]] = {
    "border_control": BorderControl,
    "blockade": Blockade,
    "checkpoints": Checkpoints,
    "health_posts": HealthPosts,
}


class Health(StrictModel):
    prevalence: UnitFloat
    sensitivity: UnitFloat
    specificity: UnitFloat
    quarantine_days: NonNegativeFloat


class Output(StrictModel):
    time_series: bool = True
    place_counts: bool = True
    plots: bool = True


class Scenario(StrictModel):
    """A validated scenario. `network` is always resolved to places and roads."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # also a directory name
    description: str = ""
    time: TimeSection
    network: NetworkSpec
    population: Population
    movement: Movement
    route_choice: RouteChoice
    authorities: dict[str, AuthoritySpec] = Field(default_factory=dict)
    health: Health
    output: Output = Output()
    calibration: CalibrationSection | None = None  # free parameters; read by calibration only
    source_file: str = ""

    def hours_since_start(self, when: datetime) -> float:
        """Hours from the scenario's start to `when` (validation ensures both, or neither, carry
        a UTC offset, so the difference is real elapsed time)."""
        return (when - self.time.start) / timedelta(hours=1)

    @property
    def n_steps(self) -> int:
        return math.ceil(self.time.duration_h / self.time.step_h - 1e-9)

    def to_yaml(self) -> str:
        """The resolved scenario (after extends and overrides), as YAML a user can rerun."""
        # python mode keeps datetimes as YAML timestamps, which the strict schema reads back
        data = self.model_dump(exclude={"source_file"})
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


# --------------------------------------------------------------------------------------------
# Loading: extends, overrides, validation
# --------------------------------------------------------------------------------------------


def load(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Read, merge (`extends:`), override (`key.path=value`), validate and check a scenario."""
    return load_located(path, overrides)[0]


def load_located(
    path: str | Path, overrides: list[str] | tuple[str, ...] = ()
) -> tuple[Scenario, Document]:
    """As `load`, with the merged document, which locates each key in the file (or parent
    scenario, or --set) that wrote it: for problems found later, by sweeps and calibration."""
    path = Path(path)
    doc = _load_with_extends(path, seen=())
    for text in overrides:
        _apply_override(doc, text)
    return _validate(doc, path), doc


def load_network(path: str | Path) -> NetworkSpec:
    """Read and check a network file on its own."""
    doc = load_yaml(Path(path))
    spec: NetworkSpec = validate_model(NetworkSpec, doc.data, doc, ())
    problems = network_problems(spec, doc, ())
    if problems:
        raise ScenarioError(problems)
    return spec


def _load_with_extends(path: Path, seen: tuple[Path, ...]) -> Document:
    doc = load_yaml(path)
    parent = doc.data.pop("extends", None)
    if parent is None:
        return doc
    if not isinstance(parent, str):
        raise ScenarioError([doc.problem(("extends",), "expected a path to a scenario file")])
    base_path = (path.parent / parent).resolve()
    if base_path in seen or base_path == path.resolve():
        raise ScenarioError([doc.problem(("extends",), f"{parent} extends itself in a cycle")])
    if not base_path.exists():
        raise ScenarioError([doc.problem(("extends",), f"base scenario {parent} not found")])
    base = _load_with_extends(base_path, (*seen, path.resolve()))
    _rebase_network_file(base, base_path.parent, path.parent)
    _merge(base, doc, ())
    return base


def _rebase_network_file(doc: Document, from_dir: Path, to_dir: Path) -> None:
    """A network `file:` is relative to the scenario that wrote it; keep it right after extends."""
    network = doc.data.get("network")
    if isinstance(network, dict) and isinstance(network.get("file"), str):
        absolute = (from_dir / network["file"]).resolve()
        try:
            network["file"] = str(absolute.relative_to(to_dir.resolve()))
        except ValueError:
            network["file"] = str(absolute)


# Sections a child scenario replaces rather than merges: a network file and an inline network
# cannot be combined, and a child that names its free parameters means those alone.
_REPLACED_WHOLE: set[KeyPath] = {("network",), ("calibration", "parameters")}


def _merge(base: Document, child: Document, path: KeyPath) -> None:
    """Deep-merge child into base: mappings merge key by key, anything else replaces."""
    target = _get(base.data, path)
    source = _get(child.data, path)
    assert isinstance(target, dict) and isinstance(source, dict)
    for key, value in source.items():
        sub = (*path, key)
        whole = sub in _REPLACED_WHOLE
        if isinstance(value, dict) and isinstance(target.get(key), dict) and not whole:
            base.where[sub] = child.where.get(sub, base.where.get(sub, Where(child.file, None)))
            _merge(base, child, sub)
        else:
            target[key] = copy.deepcopy(value)
            for known in [k for k in base.where if k[: len(sub)] == sub]:
                del base.where[known]
            base.where.update({k: w for k, w in child.where.items() if k[: len(sub)] == sub})


def _get(data: Any, path: KeyPath) -> Any:
    for part in path:
        data = data[part]
    return data


def _apply_override(doc: Document, text: str) -> None:
    """Apply `--set a.b.c=value`; the value is read as YAML (numbers, dates, lists)."""
    label = f"--set {text}"
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ScenarioError([Problem(label, None, "", "expected key.path=value")])
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ScenarioError(
            [Problem(label, None, key, f"value is not valid YAML: {exc}")]
        ) from None
    set_value(doc, key_path(key), value, Where(label, None))


def key_path(key: str) -> KeyPath:
    """'network.roads.3.length_km' -> ('network', 'roads', 3, 'length_km')."""
    return tuple(int(p) if p.isdigit() else p for p in key.strip().split("."))


def set_value(doc: Document, path: KeyPath, value: Any, where: Where) -> None:
    """Set the key at `path` to `value`; problems below it are then reported at `where`.

    A key may be added to an existing mapping (the schema rejects unknown ones by name); a list
    item must already exist.
    """
    node: Any = doc.data
    for depth, part in enumerate(path[:-1]):
        if isinstance(node, dict) and isinstance(part, str):
            if part not in node:  # a key the file does not have: errors below it blame `where`
                doc.where[path[: depth + 1]] = where
            node = node.setdefault(part, {})
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            raise ScenarioError(
                [Problem(where.file, where.line, dotted(path[: depth + 1]), "no such key to set")]
            )
    last = path[-1]
    settable_key = isinstance(node, dict) and isinstance(last, str)
    settable_item = isinstance(node, list) and isinstance(last, int) and last < len(node)
    if not (settable_key or settable_item):
        raise ScenarioError([Problem(where.file, where.line, dotted(path), "no such key to set")])
    node[last] = value
    for known in [k for k in doc.where if k[: len(path)] == path]:
        del doc.where[known]
    doc.where[path] = where


def derive(
    base: Scenario, values: Mapping[str, Any], where: Mapping[str, Where] | None = None
) -> Scenario:
    """`base` with the dotted keys in `values` set, checked like a loaded scenario.

    This is how sweeps and calibration make each design point: the same call in the parent
    (to reject bad points before anything runs) and in the workers (to build them), so both see
    the same scenario. Problems are reported at `where[key]`, e.g. the sweep file line that
    varies the key.
    """
    where = where or {}
    doc = Document(data=base.model_dump(), where={}, file=base.source_file)
    for key, value in values.items():
        path = key_path(key)
        location = where.get(key, Where(base.source_file, None))
        set_value(doc, path, value, location)
        for end in range(1, len(path)):  # a check on the enclosing section blames this key too
            doc.where.setdefault(path[:end], location)
    return _checked(doc)


def without_authorities(base: Scenario, names: Iterable[str]) -> Scenario:
    """`base` without the named authorities (for a counterfactual such as "no blockade"),
    checked like a loaded scenario; a name `base` does not have is a ScenarioError."""
    dropped = list(dict.fromkeys(names))
    known = set(base.authorities)
    unknown = [name for name in dropped if name not in known]
    if unknown:
        listed = ", ".join(sorted(known)) or "none"
        raise ScenarioError(
            [
                Problem(
                    base.source_file,
                    None,
                    f"authorities.{name}",
                    f"no such authority{did_you_mean(name, known)}; the scenario has: {listed}",
                )
                for name in unknown
            ]
        )
    kept = {
        name: spec.model_dump() for name, spec in base.authorities.items() if name not in dropped
    }
    return derive(base, {"authorities": kept})


def _validate(doc: Document, path: Path) -> Scenario:
    doc.data["network"] = _resolve_network(doc, path)
    doc.data["source_file"] = str(path)
    return _checked(doc)


def _checked(doc: Document) -> Scenario:
    """Schema, then the checks that need more than one key."""
    scenario: Scenario = validate_model(Scenario, doc.data, doc, ())
    problems = network_problems(
        scenario.network, doc, ("network",), origin=scenario.population.origin
    )
    problems += _reference_problems(scenario, doc)
    if problems:
        raise ScenarioError(problems)
    return scenario


def _resolve_network(doc: Document, scenario_path: Path) -> Any:
    """Replace `network: {file: ...}` by the file's content, keeping that file's line numbers."""
    section = doc.data.get("network")
    if not isinstance(section, dict):
        return section
    ref = validate_model(NetworkSection, section, doc, ("network",))
    if ref.file is None:
        return {"places": section["places"], "roads": section["roads"]}
    net_path = scenario_path.parent / ref.file
    if not net_path.is_file():
        raise ScenarioError(
            [doc.problem(("network", "file"), f"network file not found (looked for {net_path})")]
        )
    net_doc = load_yaml(net_path, display_name=str(net_path))
    for key, where in net_doc.where.items():
        doc.where[("network", *key)] = where
    return net_doc.data


def validate_model(model: type[BaseModel], data: Any, doc: Document, prefix: KeyPath) -> Any:
    """Validate `data` (read from `doc` at `prefix`) as `model`, or raise one ScenarioError
    with every problem located by file, line and key path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        problems = [
            _explain(err, model, doc, prefix) for err in errors if not _misspelt(err, errors)
        ]
        raise ScenarioError(problems) from None


def _misspelt(err: Any, errors: list[Any]) -> bool:
    """A missing key that an unknown sibling key is a misspelling of: one problem, not two."""
    if err["type"] != "missing":
        return False
    parent, name = tuple(err["loc"][:-1]), str(err["loc"][-1])
    unknown = [
        str(e["loc"][-1])
        for e in errors
        if e["type"] == "extra_forbidden" and tuple(e["loc"][:-1]) == parent
    ]
    return bool(difflib.get_close_matches(name, unknown, n=1))


def _explain(err: Any, model: type[BaseModel], doc: Document, prefix: KeyPath) -> Problem:
    """Turn one pydantic error into a Problem with the YAML key path, its line, and a hint."""
    key_path, owner = _walk_schema(model, tuple(err["loc"]))
    full = (*prefix, *key_path)
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = sorted(owner.model_fields) if owner is not None else []
        name = str(key_path[-1]) if key_path else ""
        hint = difflib.get_close_matches(name, allowed, n=1)
        message = f"unknown key '{name}'"
        if hint:
            message += f" (did you mean '{hint[0]}'?)"
        message += "; expected one of: " + ", ".join(allowed)
    elif kind == "missing":
        message = "missing required key"
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        tags = str(err.get("ctx", {}).get("expected_tags", "")).replace("'", "")
        tags = tags or ", ".join(AUTHORITY_KINDS)
        what = "unknown kind" if kind == "union_tag_invalid" else "missing 'kind'"
        message = f"{what}; expected one of: {tags}"
    else:
        got = err.get("input")
        shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
        message = f"{err['msg'].removeprefix('Value error, ')}{shown}"
    where = doc.locate(full)
    return Problem(where.file, where.line, dotted(full), message)


def _walk_schema(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[KeyPath, Any]:
    """Follow a pydantic error location through the schema.

    Returns the location as YAML keys (dropping the tags pydantic adds for unions) and the model
    that owns the last key, so unknown keys can be answered with the keys that are allowed.
    """
    keys: list[str | int] = []
    current: Any = model
    owner: Any = None
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            owner = current
            keys.append(part)
            field = current.model_fields.get(str(part))
            current = field.annotation if field is not None else None
        elif typing.get_origin(current) in (list, tuple, dict):
            keys.append(part)
            args = [a for a in typing.get_args(current) if a is not Ellipsis]
            current = args[-1] if args else None
        elif _is_union(current) and isinstance(part, str) and _tagged(current, part):
            current = _tagged(current, part)  # pydantic's tag for the chosen union member
        else:
            keys.append(part)
            current = None
    return tuple(keys), owner


def _tagged(union: Any, tag: str) -> type[BaseModel] | None:
    """The member of a union discriminated by `kind` whose kind is `tag`."""
    for member in typing.get_args(union):
        field = getattr(member, "model_fields", {}).get("kind")
        if field is not None and tag in typing.get_args(field.annotation):
            return typing.cast(type[BaseModel], member)
    return None


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if _is_union(annotation):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return _unwrap(members[0])
    return annotation


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (Union, types.UnionType)


# --------------------------------------------------------------------------------------------
# Checks that need more than one key: the network graph and the places others refer to
# --------------------------------------------------------------------------------------------


def network_problems(
    spec: NetworkSpec, doc: Document, prefix: KeyPath, origin: str | None = None
) -> list[Problem]:
    """Duplicate places, roads to unknown places, self-loops, and a disconnected network
    (places that cannot be reached from `origin`, or from the first place listed)."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, place in enumerate(spec.places):
        if place.id in seen:
            problems.append(
                doc.problem((*prefix, "places", i, "id"), f"place '{place.id}' defined twice")
            )
        seen.add(place.id)
    graph: nx.Graph[str] = nx.Graph()
    graph.add_nodes_from(seen)
    for i, road in enumerate(spec.roads):
        a, b = road.between
        for j, end in enumerate((a, b)):
            if end not in seen:
                problems.append(
                    doc.problem(
                        (*prefix, "roads", i, "between", j),
                        f"unknown place '{end}'{did_you_mean(end, seen)}",
                    )
                )
        if a == b:
            problems.append(
                doc.problem((*prefix, "roads", i, "between"), f"road from '{a}' to itself")
            )
        elif graph.has_edge(a, b):
            problems.append(
                doc.problem((*prefix, "roads", i, "between"), f"second road between {a} and {b}")
            )
        graph.add_edge(a, b)
    if not problems and not nx.is_connected(graph):
        start = origin if origin in graph else spec.places[0].id
        stranded = sorted(set(graph) - nx.node_connected_component(graph, start))
        index = next(i for i, p in enumerate(spec.places) if p.id == stranded[0])
        problems.append(
            doc.problem(
                (*prefix, "places", index),
                f"the network is disconnected: no road leads from {start} to "
                f"{', '.join(stranded)}; add a road or remove these places",
            )
        )
    return problems


def _reference_problems(scenario: Scenario, doc: Document) -> list[Problem]:
    """Every place a section names must exist; one authority of a kind per place."""
    known = {p.id for p in scenario.network.places}
    problems: list[Problem] = []

    def check(path: KeyPath, place: str) -> None:
        if place not in known:
            problems.append(
                doc.problem(path, f"unknown place '{place}'{did_you_mean(place, known)}")
            )

    check(("population", "origin"), scenario.population.origin)
    for i, dest in enumerate(scenario.route_choice.destinations):
        check(("route_choice", "destinations", i), dest)
    for place in scenario.route_choice.place_preference:
        check(("route_choice", "place_preference", place), place)
    # Authorities of one slot write the same rule of a place, so two at once would overwrite
    # each other: a border control or blockade holds people; checkpoints; health posts.
    in_force: dict[tuple[str, str], list[tuple[str, Window]]] = {}
    for name, spec in scenario.authorities.items():
        if isinstance(spec, _AtOnePlace):
            check(("authorities", name, "place"), spec.place)
        else:
            for i, place in enumerate(spec.places):
                check(("authorities", name, "places", i), place)
        slot = "hold" if isinstance(spec, BorderControl | Blockade) else spec.kind
        for place in dict.fromkeys(spec.place_ids()):
            for other, window in in_force.get((slot, place), []):
                if window.start < spec.active.end and spec.active.start < window.end:
                    problems.append(
                        doc.problem(("authorities", name, "active"), _overlap(other, slot, place))
                    )
            in_force.setdefault((slot, place), []).append((name, spec.active))
    countries = sorted({p.country.split("-")[0] for p in scenario.network.places})
    missing = [c for c in countries if c not in scenario.movement.ride_chance_per_h]
    if missing:
        problems.append(
            doc.problem(
                ("movement", "ride_chance_per_h"),
                f"no ride chance for {', '.join(missing)}; expected one per country of the "
                f"network ({', '.join(countries)})",
            )
        )
    start = scenario.time.start
    times = [(("population", "waves", n, "at"), w.at) for n, w in scenario.population.waves.items()]
    for name, spec in scenario.authorities.items():
        times += [
            (("authorities", name, "active", k), getattr(spec.active, k)) for k in ("start", "end")
        ]
    mixed = [path for path, when in times if (when.tzinfo is None) != (start.tzinfo is None)]
    for path in mixed:
        problems.append(
            doc.problem(
                path,
                "give every time with a UTC offset, like time.start, or none"
                if start.tzinfo is not None
                else "time.start has no UTC offset, so no other time may have one",
            )
        )
    if mixed:
        return problems
    for name, wave in scenario.population.waves.items():
        if scenario.hours_since_start(wave.at) < 0:
            problems.append(
                doc.problem(
                    ("population", "waves", name, "at"),
                    f"wave leaves at {wave.at}, before the scenario starts ({start})",
                )
            )
    return problems


def _overlap(other: str, slot: str, place: str) -> str:
    if slot == "hold":
        return (
            f"overlaps '{other}', which already holds people at {place} then; "
            "one border control or blockade per place at a time"
        )
    what = slot.replace("_", " ")
    return f"overlaps '{other}', which already has {what} at {place} then; one at a time"


def did_you_mean(name: str, known: set[str]) -> str:
    """ " (did you mean 'x'?)" for the closest known name, or nothing."""
    hint = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean '{hint[0]}'?)" if hint else ""
