"""YAML reading that remembers where every key came from (file and line).

Scenario errors must name the file, line and key path; plain `yaml.safe_load` forgets lines,
so we compose the node tree ourselves and keep a map from key path to (file, line).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sim.errors import Problem, ScenarioError

KeyPath = tuple[str | int, ...]

# libyaml's parser where PyYAML was built with it: the same nodes and lines, 15 times faster
# than the pure-Python one (70 ms for a scenario, its base and its network).
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Where:
    file: str
    line: int | None


@dataclass
class Document:
    """Plain data read from YAML plus where each key path was written."""

    data: dict[str, Any]
    where: dict[KeyPath, Where] = field(default_factory=dict)
    file: str = ""

    def locate(self, path: KeyPath) -> Where:
        """Where `path` (or its nearest written ancestor) stands; the file alone if nowhere."""
        for end in range(len(path), 0, -1):
            hit = self.where.get(path[:end])
            if hit is not None:
                return hit
        return Where(self.file, None)

    def problem(self, path: KeyPath, message: str) -> Problem:
        where = self.locate(path)
        return Problem(where.file, where.line, dotted(path), message)


def dotted(path: KeyPath) -> str:
    """('authorities', 'vado', 'places', 0) -> 'authorities.vado.places[0]'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def load_yaml(path: Path, display_name: str | None = None) -> Document:
    """Read one YAML file holding a mapping; raise ScenarioError with file and line if it cannot."""
    name = display_name or str(path)
    if not path.exists():
        raise ScenarioError([Problem(name, None, "", "file not found")])
    if path.is_dir():
        raise ScenarioError([Problem(name, None, "", "is a directory; expected a YAML file")])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem(name, None, "", f"not UTF-8 text ({exc.reason})")]) from None
    return parse_yaml(text, name)


def parse_yaml(text: str, name: str) -> Document:
    """Parse YAML text into a Document; `name` is used in error messages."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        # Report where the broken construct began (an unclosed bracket), not where the parser
        # gave up, which can be the next line or the end of the file.
        mark = exc.context_mark or exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        what = f"{exc.context}, {exc.problem}" if exc.context else str(exc.problem)
        raise ScenarioError([Problem(name, line, "", f"not valid YAML: {what}")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(name, None, "", f"not valid YAML: {exc}")]) from None
    if root is None:
        raise ScenarioError(
            [Problem(name, None, "", "file is empty; expected a YAML mapping of sections")]
        )
    if not isinstance(root, yaml.MappingNode):
        raise ScenarioError(
            [
                Problem(
                    name,
                    root.start_mark.line + 1,
                    "",
                    f"expected a YAML mapping of sections, got {_kind(root)}",
                )
            ]
        )
    builder = _Builder(name)
    data = builder.build(root, ())
    if builder.problems:
        raise ScenarioError(builder.problems)
    assert isinstance(data, dict)
    return Document(data=data, where=builder.where, file=name)


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    return f"the value {node.value!r}"


class _Builder:
    """Turns composed YAML nodes into plain data, recording each key path's line."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.where: dict[KeyPath, Where] = {}
        self.problems: list[Problem] = []
        self._scalars = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self.where.setdefault(path, Where(self.file, node.start_mark.line + 1))
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self._scalars.construct_object(key_node)
                line = key_node.start_mark.line + 1
                if not isinstance(key, str | int | float | bool):
                    self.problems.append(
                        Problem(self.file, line, dotted(path), "keys must be plain names")
                    )
                    continue
                key = str(key)
                if key in out:
                    self.problems.append(
                        Problem(
                            self.file, line, dotted((*path, key)), "key given twice in one mapping"
                        )
                    )
                    continue
                self.where[(*path, key)] = Where(self.file, line)
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        try:
            return self._scalars.construct_object(node)
        except yaml.YAMLError as exc:
            self.problems.append(
                Problem(self.file, node.start_mark.line + 1, dotted(path), f"bad value: {exc}")
            )
            return None
