"""YAML reading that remembers where every key came from (file and line).

Scenario errors must name the file, line and key path; plain `yaml.safe_load` forgets lines,
so we compose the node tree ourselves and keep a map from key path to (file, line).

Scalars are read by the YAML 1.2 core schema, not PyYAML's YAML 1.1 default: `014` is 14,
`5e-4` is a number, `2:54` and `yes` are text, and dates stay text (the schemas parse them,
`sim.schema.Timestamp`). Merge keys (`<<: *defaults`) and anchors work; a key given twice in
one mapping, a tag other than the core ones, and files that are too big, too deep or expand to
too many values (a "billion laughs" file) are refused, each at its file, line and key.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sim.errors import Problem, ScenarioError

# libyaml's parser, where PyYAML was built with it (see _LibyamlLoader); else PyYAML's own.
_CPARSER: Any = importlib.import_module("yaml.cyaml").CParser if yaml.__with_libyaml__ else None

KeyPath = tuple[str | int, ...]

MAX_FILE_BYTES = 5 * 1024 * 1024
"""The largest YAML file read. The biggest shipped file (the network) is 20 KB; a network of
every road in Central America would still fit, while a runaway file is refused before reading."""

MAX_DEPTH = 64
"""The deepest nesting of mappings and lists (shipped files nest at most 6 deep). Deeper files
are refused at the line that crosses it, before Python's recursion limit is reached."""

MAX_VALUES = 50_000
"""The most values (keys, scalars, lists, mappings) one file may write: 30 times the biggest
shipped file (the network, about 1,500), and about two seconds of reading at worst."""

MAX_ALIASED_VALUES = 10_000
"""The most values aliases (`*name`, `<<: *name`) may bring in, all together. Shipped files
use none; a "billion laughs" file, whose aliases of aliases expand to billions of values, is
refused at the alias that crosses it in a fraction of a second instead of filling the memory."""

# Scalars without a tag or quotes are typed by the YAML 1.2 core schema (spec 1.2.2, section
# 10.3.2); anything else is a string. PyYAML's default resolvers follow YAML 1.1, where `014` is
# octal 12, `2:54` is sexagesimal 174, `yes`/`on` are true and `2021-01-14` is a date.
_CORE = "tag:yaml.org,2002:"
_CORE_SCALARS: list[tuple[str, str, str | list[str]]] = [
    # (tag, pattern the whole scalar matches, characters it can start with; "" for empty)
    ("null", r"null|Null|NULL|~|", ["n", "N", "~", ""]),
    ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("int", r"[-+]?[0-9]+", "-+0123456789"),
    ("int", r"0o[0-7]+", "0"),
    ("int", r"0x[0-9a-fA-F]+", "0"),
    ("float", r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?", "-+.0123456789"),
    ("float", r"[-+]?(\.inf|\.Inf|\.INF)", "-+."),
    ("float", r"\.nan|\.NaN|\.NAN", "."),
]
_MERGE = _CORE + "merge"
# Explicit tags a file may write (`!!str 014`): the core schema's, and `!!timestamp`, which
# PyYAML's dumper writes before a quoted time in a flow mapping (read as its text, like any
# time); no others (no `!!python/object`, `!!binary`).
_SCALAR_TAGS = {_CORE + name for name in ("str", "null", "bool", "int", "float", "timestamp")}
_COLLECTION_TAGS = {_CORE + "seq", _CORE + "map"}


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
        """Where `path` (or its nearest written ancestor, at worst the top of the file) stands;
        the file alone if nowhere (a document not read from a file)."""
        for end in range(len(path), -1, -1):
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
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ScenarioError(
            [
                Problem(
                    name,
                    None,
                    "",
                    f"file is {size / 2**20:.1f} MB; YAML files are read up to "
                    f"{MAX_FILE_BYTES // 2**20} MB",
                )
            ]
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark some editors write is dropped
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        key = _keys_above(raw.decode("utf-8", errors="replace"), line)
        message = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        raise ScenarioError([Problem(name, line, key, message)]) from None
    return parse_yaml(text, name)


def parse_yaml(text: str, name: str) -> Document:
    """Parse YAML text into a Document; `name` is used in error messages."""
    root = _compose(text, name)
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
    data, where = _build(root, name)
    assert isinstance(data, dict)
    return Document(data=data, where=where, file=name)


def parse_value(text: str, name: str, key: str = "") -> Any:
    """One value written in YAML (a `--set key=VALUE`), read as files are read; errors name
    `name` and `key` (a command line has no lines). Empty text is None."""
    try:
        root = _compose(text, name)
        return None if root is None else _build(root, name)[0]
    except ScenarioError as exc:
        raise ScenarioError(
            [Problem(name, None, key or p.key, p.message) for p in exc.problems]
        ) from None


def _compose(text: str, name: str) -> yaml.Node | None:
    """The node tree of `text`, or a ScenarioError at the line where it cannot be read (with
    the key path that line stands under, as far as the indentation tells)."""
    loader: _Loader | None = None
    try:
        loader = _READER(text)
        return loader.get_single_node()
    except _RefusedError as exc:
        key = exc.key or _keys_above(text, exc.line)
        raise ScenarioError([Problem(name, exc.line, key, exc.message)]) from None
    except yaml.reader.ReaderError as exc:  # a control character such as NUL: not text
        at = text[: exc.position].count("\n") + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"not valid YAML: character U+{code:04X} is not allowed in a text file"
        raise ScenarioError([Problem(name, at, _keys_above(text, at), message)]) from None
    except yaml.MarkedYAMLError as exc:
        # Report where the broken construct began (an unclosed bracket), not where the parser
        # gave up, which can be the next line or the end of the file.
        mark = exc.context_mark or exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        what = f"{exc.context}, {exc.problem}" if exc.context else str(exc.problem)
        key = _keys_above(text, line) if line is not None else ""
        if "maximum nesting depth" in what:  # libyaml's own limit, met reading ahead of ours
            what = f"nested deeper than {MAX_DEPTH} levels"
        else:
            what = f"not valid YAML: {what}"
        raise ScenarioError([Problem(name, line, key, what)]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(name, None, "", f"not valid YAML: {exc}")]) from None
    finally:
        if loader is not None:
            loader.dispose()


_BLOCK_KEY = re.compile(r"( *)([A-Za-z0-9_][^\s:#]*) *:(?:\s|$)")


def _keys_above(text: str, line: int) -> str:
    """The key path a line of a file that cannot be parsed stands under, read from the block
    keys above it and their indentation ('movement.ride_chance_per_h'); '' above any key."""
    stack: list[tuple[int, str]] = []
    for row in text.splitlines()[:line]:
        match = _BLOCK_KEY.match(row)
        if match is None:
            continue
        indent = len(match.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match.group(2)))
    return ".".join(key for _, key in stack)


def _build(root: yaml.Node, name: str) -> tuple[Any, dict[KeyPath, Where]]:
    builder = _Builder(name)
    try:
        data = builder.build(root, ())
    except _RefusedError as exc:
        raise ScenarioError([Problem(name, exc.line, exc.key, exc.message)]) from None
    if builder.problems:
        raise ScenarioError(builder.problems)
    return data, builder.where


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if node.tag == _CORE + "null":
        return "null"
    return f"the value {node.value!r}"


class _RefusedError(Exception):
    """A file refused as a whole (too deep, too many values): one located problem."""

    def __init__(self, line: int, key: str, message: str) -> None:
        super().__init__(message)
        self.line, self.key, self.message = line, key, message


def _short(path: KeyPath) -> str:
    """A key path for a message about depth: its first steps, not all 64."""
    return dotted(path[:4]) + ("..." if len(path) > 4 else "")


class _Alias:
    """An alias (`*name`) where it is written; PyYAML's composer returns the anchored node
    itself, which loses the alias's line, needed to locate a bomb."""

    def __init__(self, target: Any, mark: Any) -> None:
        self.target = target
        self.start_mark = mark


def _int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)  # decimal even with a leading zero: 014 is 14


def _text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


def _float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).lower()
    if text.endswith(".inf"):
        return float(text.replace(".inf", "inf"))
    if text == ".nan":
        return float("nan")
    return float(text)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with the YAML 1.2 core schema's scalars, aliases kept where they
    are written, and the depth and size of what it composes bounded."""

    yaml_implicit_resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}  # noqa: RUF012

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._path: list[str | int] = []
        self._composed = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self._next_mark()
            return _Alias(super().compose_node(parent, index), mark)
        # A mapping's value is composed with its key node as `index`, a list item with its
        # position; keys themselves get None.
        step: str | int = "?"
        if isinstance(index, yaml.ScalarNode):
            step = str(index.value)
        elif isinstance(index, int):
            step = index
        self._path.append(step)
        self._composed += 1
        line = self._next_mark().line + 1
        if len(self._path) > MAX_DEPTH:
            key = _short(tuple(self._path[1:]))
            raise _RefusedError(line, key, f"nested deeper than {MAX_DEPTH} levels")
        if self._composed > MAX_VALUES:
            key = dotted(tuple(self._path[1:]))
            raise _RefusedError(line, key, f"more than {MAX_VALUES:,} values in one file")
        try:
            return super().compose_node(parent, index)
        finally:
            self._path.pop()

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        # The scanner reads a flow collection (`[[[...`) ahead of the composer, once for every
        # level it might still turn out to be a key of: refuse depth here, before that costs
        # time quadratic in the depth.
        if self.flow_level >= MAX_DEPTH:
            line = self.get_mark().line + 1
            raise _RefusedError(line, "", f"nested deeper than {MAX_DEPTH} levels")
        super().fetch_flow_collection_start(TokenClass)

    def _next_mark(self) -> Any:
        return self.peek_event().start_mark  # type: ignore[no-untyped-call]


for _tag, _pattern, _first in _CORE_SCALARS:
    _Loader.add_implicit_resolver(_CORE + _tag, re.compile(f"^(?:{_pattern})$"), list(_first))
_Loader.add_implicit_resolver(_MERGE, re.compile(r"^<<$"), ["<"])
_Loader.add_constructor(_CORE + "int", _int)
_Loader.add_constructor(_CORE + "float", _float)
_Loader.add_constructor(_CORE + "timestamp", _text)


class _LibyamlLoader(_Loader):
    """The same loader taking its events from libyaml's parser, where PyYAML was built with
    it: the scanning and parsing run in C, ten times faster than PyYAML's own (0.1 s less for a
    scenario, its base and its network). The composing, the core schema and the limits are the
    same Python code, and PyYAML's reader still checks the characters when the loader starts
    (NUL and other control characters); the scanner's depth check is libyaml's own nesting
    limit here, reported as ours (see `_compose`)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._events = _CPARSER(stream)

    def check_event(self, *choices: Any) -> bool:
        return bool(self._events.check_event(*choices))

    def peek_event(self) -> Any:
        return self._events.peek_event()

    def get_event(self) -> Any:
        return self._events.get_event()

    def dispose(self) -> None:
        self._events.dispose()
        super().dispose()


_READER: type[_Loader] = _Loader if _CPARSER is None else _LibyamlLoader


class _Builder:
    """Turns composed YAML nodes into plain data, recording each key path's line."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.where: dict[KeyPath, Where] = {}
        self.problems: list[Problem] = []
        self._scalars = _Loader("")
        self._aliased = 0  # values built inside an alias's expansion
        self._outer_alias: _Alias | None = None  # the alias in the user's text being expanded

    def build(self, node: yaml.Node | _Alias, path: KeyPath) -> Any:
        self.where.setdefault(path, Where(self.file, node.start_mark.line + 1))
        if isinstance(node, _Alias):
            with self._expanding(node):
                return self.build(node.target, path)
        self._count(node, path)
        if node.tag == _MERGE:  # `<<` written as a value or list item, not as a key: text
            return "<<"
        if not self._tag_allowed(node, path):
            return None
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key, key_node, value_node in self._pairs(node, path, ()):
                self.where[(*path, key)] = Where(self.file, key_node.start_mark.line + 1)
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: KeyPath) -> Any:
        try:
            return self._scalars.construct_object(node)
        except (yaml.YAMLError, ValueError):
            self.problems.append(
                Problem(
                    self.file,
                    node.start_mark.line + 1,
                    dotted(path),
                    f"'{node.value}' is not a valid {node.tag.removeprefix(_CORE)}",
                )
            )
            return None

    @contextmanager
    def _expanding(self, alias: _Alias) -> Iterator[None]:
        outer = self._outer_alias
        self._outer_alias = outer or alias
        try:
            yield
        finally:
            self._outer_alias = outer

    def _count(self, node: yaml.Node, path: KeyPath) -> None:
        """Refuse a file whose aliases expand past MAX_ALIASED_VALUES, or nest past MAX_DEPTH,
        at the alias in the user's text that does it (the composer bounds the rest)."""
        if self._outer_alias is None:
            return
        self._aliased += 1
        line = self._outer_alias.start_mark.line + 1
        if len(path) > MAX_DEPTH:
            raise _RefusedError(line, _short(path), f"aliases nest deeper than {MAX_DEPTH} levels")
        if self._aliased > MAX_ALIASED_VALUES:
            message = (
                f"aliases expand to more than {MAX_ALIASED_VALUES:,} values "
                "(a 'billion laughs' file?)"
            )
            raise _RefusedError(line, dotted(path[:2]), message)

    def _tag_allowed(self, node: yaml.Node, path: KeyPath) -> bool:
        allowed = _SCALAR_TAGS if isinstance(node, yaml.ScalarNode) else _COLLECTION_TAGS
        if node.tag in allowed:
            return True
        tag = node.tag.replace(_CORE, "!!")
        self.problems.append(
            Problem(
                self.file,
                node.start_mark.line + 1,
                dotted(path),
                f"tag {tag} is not allowed; write plain values (the tags !!str, !!int, "
                "!!float, !!bool, !!null and !!timestamp are)",
            )
        )
        return False

    def _pairs(
        self, node: yaml.MappingNode, path: KeyPath, merging: tuple[int, ...]
    ) -> list[tuple[str, yaml.Node, Any]]:
        """The mapping's (key, key node, value node) in order, with merge keys (`<<: *base`
        or `<<: [*a, *b]`) replaced by the merged mappings' keys that the mapping does not give
        itself (of several merged mappings, the first that gives a key wins)."""
        own: list[tuple[str, yaml.Node, Any]] = []
        given: set[str] = set()
        merges: list[tuple[int, list[tuple[str, yaml.Node, Any]]]] = []
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _MERGE:
                merges.append((len(own), self._merged(value_node, path, (*merging, id(node)))))
                continue
            key = self._key(key_node, path)
            if key is None:
                continue
            if key in given:
                line = key_node.start_mark.line + 1
                message = "key given twice in one mapping"
                self.problems.append(Problem(self.file, line, dotted((*path, key)), message))
                continue
            given.add(key)
            own.append((key, key_node, value_node))
        out: list[tuple[str, yaml.Node, Any]] = []
        position = 0
        for at, merged in [*merges, (len(own), [])]:
            out += own[position:at]
            position = at
            for pair in merged:
                if pair[0] not in given:
                    given.add(pair[0])
                    out.append(pair)
        return out

    def _merged(
        self, value: yaml.Node | _Alias, path: KeyPath, merging: tuple[int, ...]
    ) -> list[tuple[str, yaml.Node, Any]]:
        """The pairs a merge key's value brings: one mapping, or a list of them."""
        items = value.target if isinstance(value, _Alias) else value
        sources = items.value if isinstance(items, yaml.SequenceNode) else [value]
        out: list[tuple[str, yaml.Node, Any]] = []
        for source in sources:
            with self._expanding(source) if isinstance(source, _Alias) else _nothing():
                mapping = source.target if isinstance(source, _Alias) else source
                self._count(mapping, path)
                if not isinstance(mapping, yaml.MappingNode):
                    self.problems.append(
                        Problem(
                            self.file,
                            source.start_mark.line + 1,
                            dotted((*path, "<<")),
                            "a merge key takes a mapping or a list of mappings "
                            "(an alias such as *defaults, or [*a, *b])",
                        )
                    )
                    continue
                if id(mapping) in merging:
                    message = "a mapping merges itself"
                    line = source.start_mark.line + 1
                    self.problems.append(Problem(self.file, line, dotted((*path, "<<")), message))
                    continue
                out += self._pairs(mapping, path, merging)
        return out

    def _key(self, node: yaml.Node | _Alias, path: KeyPath) -> str | None:
        """A key as written (`014:` is the name '014'); None, with a problem, if it is no name."""
        target = node.target if isinstance(node, _Alias) else node
        if isinstance(target, yaml.ScalarNode) and target.tag in _SCALAR_TAGS - {_CORE + "null"}:
            return str(target.value)
        line = node.start_mark.line + 1
        written = _kind(target) if isinstance(target, yaml.Node) else "an alias"
        self.problems.append(
            Problem(self.file, line, dotted(path), f"keys must be plain names, not {written}")
        )
        return None


@contextmanager
def _nothing() -> Iterator[None]:
    yield
