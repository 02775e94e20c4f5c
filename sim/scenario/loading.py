"""Reading scenarios: `extends:`, `--set` overrides, derived variants, and validation with every
problem located by file, line and key."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.errors import Problem, ScenarioError
from sim.scenario.checks import reference_problems, route_problems, scenario_warnings
from sim.scenario.network_spec import NetworkSection, NetworkSpec, network_problems
from sim.scenario.raw_checks import offset_problems, raw_place_problems
from sim.scenario.schema import Scenario
from sim.schema import EVERY_KEY
from sim.validation import did_you_mean, validate_model
from sim.yamlio import Document, KeyPath, Where, dotted, load_yaml, parse_value


def load(
    path: str | Path,
    overrides: list[str] | tuple[str, ...] = (),
    behaviour: str | Path | None = None,
) -> Scenario:
    """Read, merge (`extends:`), override (`key.path=value`), validate and check a scenario.

    `behaviour`: a behaviour file (a calibrated one, say) merged over the scenario before the
    overrides: its keys, and those of the files it extends, replace the scenario's own."""
    return load_located(path, overrides, behaviour)[0]


def load_located(
    path: str | Path,
    overrides: list[str] | tuple[str, ...] = (),
    behaviour: str | Path | None = None,
) -> tuple[Scenario, Document]:
    """As `load`, with the merged document, which locates each key in the file (or parent
    scenario, or --set) that wrote it: for problems found later, by sweeps and calibration."""
    path = Path(path)
    doc = _load_with_extends(path, seen=())
    if behaviour is not None:
        _merge(doc, _load_with_extends(Path(behaviour), seen=()), ())
    set_paths = [_apply_override(doc, text) for text in overrides]
    return _validate(doc, path, set_paths), doc


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
    # Named as the user reached it (through the repository's `scenarios` link, say), not as
    # resolved: messages then show the user's path; cycles are found on resolved paths.
    base_path = _base_path(doc, path, parent)
    if base_path.resolve() in seen or base_path.resolve() == path.resolve():
        raise ScenarioError([doc.problem(("extends",), f"{parent} extends itself in a cycle")])
    if not base_path.is_file():
        missing = "is a directory" if base_path.is_dir() else "not found"
        raise ScenarioError([doc.problem(("extends",), f"base scenario {parent} {missing}")])
    base = _load_with_extends(base_path, (*seen, path.resolve()))
    _rebase_network_file(base, base_path.parent, path.parent)
    _merge(base, doc, ())
    base.where[()] = doc.where.get((), Where(doc.file, None))  # the top: the user's file
    return base


def _base_path(doc: Document, path: Path, parent: str) -> Path:
    """The file `extends: parent` in `path` names: a path relative to `path`'s folder; or, where
    no such file exists and `parent` is a name (no .yaml suffix), the shipped scenario,
    context or behaviour of that name (`caravan scenarios`), so that a scenario anywhere can
    extend a shipped one without copying it."""
    base_path = Path(os.path.normpath(path.parent / parent))
    if base_path.exists() or Path(parent).suffix in (".yaml", ".yml"):
        return base_path
    from sim import packaged  # noqa: PLC0415 - only for a name

    try:
        return packaged.resolve(parent, (*packaged.SCENARIO_KINDS, *packaged.BEHAVIOUR_KINDS))
    except ScenarioError as unknown:
        reason = unknown.problems[0].message
        raise ScenarioError(
            [doc.problem(("extends",), f"base scenario {parent} not found: {reason}")]
        ) from None


def _rebase_network_file(doc: Document, from_dir: Path, to_dir: Path) -> None:
    """A network `file:` is relative to the scenario that wrote it; keep it right after extends."""
    network = doc.data.get("network")
    if isinstance(network, dict) and isinstance(network.get("file"), str):
        absolute = Path(os.path.abspath(from_dir / network["file"]))
        try:
            network["file"] = str(absolute.relative_to(os.path.abspath(to_dir)))
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


def _apply_override(doc: Document, text: str) -> tuple[KeyPath, Where]:
    """Apply `--set a.b.c=value`; the value is read as YAML by the same reader as the files
    (numbers, dates, lists). Returns the key path set and where problems at it are blamed."""
    label = f"--set {text}"
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ScenarioError([Problem(label, None, "", "expected key.path=value")])
    value = parse_value(raw, label, key.strip())  # read as files are: 014 is 14, 2:54 text
    where = Where(label, None)
    set_value(doc, key_path(key), value, where)
    return key_path(key), where


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
    doc = Document(data=base.model_dump(context={EVERY_KEY: True}), where={}, file=base.source_file)
    for key, value in values.items():
        path = key_path(key)
        location = where.get(key, Where(base.source_file, None))
        set_value(doc, path, value, location)
        for end in range(1, len(path)):  # a check on the enclosing section blames this key too
            doc.where.setdefault(path[:end], location)
    user_files = {base.source_file, *(w.file for w in where.values())}
    return _checked(doc, user_files)


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


def _validate(
    doc: Document, path: Path, set_paths: list[tuple[KeyPath, Where]] | None = None
) -> Scenario:
    doc.data["network"] = _resolve_network(doc, path)
    doc.data["source_file"] = str(path)
    try:
        return _checked(doc, {str(path)})
    except ScenarioError as error:
        raise ScenarioError([_blame_set(p, set_paths or []) for p in error.problems]) from None


def _blame_set(problem: Problem, set_paths: list[tuple[KeyPath, Where]]) -> Problem:
    """A problem found at a section that a --set key lies in (a check across the section's
    keys) is blamed on that --set, not on the section's line in the file."""
    for path, where in set_paths:
        inside = [dotted(path[:end]) for end in range(1, len(path))]
        if problem.key in inside and problem.file != where.file:
            return Problem(where.file, where.line, problem.key, problem.message)
    return problem


def _checked(doc: Document, user_files: set[str]) -> Scenario:
    """Schema and the rule for UTC offsets; where the schema holds, the checks that need more
    than one key, else the places named by keys that are well formed: every problem at once."""
    try:
        scenario: Scenario = validate_model(Scenario, doc.data, doc, ())
    except ScenarioError as error:
        problems = [*error.problems, *offset_problems(doc, user_files)]
        problems += raw_place_problems(doc, reported={p.key for p in problems})
        problems += _network_problems_alone(doc, error.problems)
        raise ScenarioError(problems) from None
    problems = offset_problems(doc, user_files)
    problems += network_problems(
        scenario.network, doc, ("network",), origin=scenario.population.origin
    )
    problems += reference_problems(scenario, doc)
    # Paths are searched only on a network whose places and roads are known to be right.
    problems = problems or route_problems(scenario, doc)
    if problems:
        raise ScenarioError(problems)
    scenario._warnings = tuple(scenario_warnings(scenario, doc))
    return scenario


def _network_problems_alone(doc: Document, schema_problems: list[Problem]) -> list[Problem]:
    """The network's own checks (places defined twice, roads to unknown places, a disconnected
    network) where the rest of the scenario failed its schema but the network did not."""
    if any(p.key == "network" or p.key.startswith("network.") for p in schema_problems):
        return []
    try:
        network = NetworkSpec.model_validate(doc.data.get("network"))
    except ValidationError:
        return []
    population = doc.data.get("population")
    origin = population.get("origin") if isinstance(population, dict) else None
    return network_problems(
        network, doc, ("network",), origin=origin if isinstance(origin, str) else None
    )


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
