# ruff: noqa: E501  (each hand-written edit is one row of a table: old text, new text)
"""The fault-injection catalogue: bad scenario, network and sweep files made from the shipped
ones, each with what `caravan` must answer.

Every case is one mutation of one shipped file (a number, a date, a key, a list, the YAML
itself), written beside the file it was copied from so that `extends:`, `base:` and
`network: {file: ...}` still find their files. Where the mutated file is not the one a command
takes (a network file, a behaviour file that a caravan extends), the case also writes a copy
of the file that takes it, pointing at the mutated copy. The catalogue is deterministic: no
randomness, the same cases in the same order from the same shipped files.

    python tests/fault_catalogue.py OUT_DIR    # writes every case's files and cases.json

`tests/test_fault_catalogue.py` runs each case through `caravan check` (or `caravan sweep
--dry-run`), and `caravan run` where check accepts a plausible file.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import yaml

ROOT = Path(__file__).resolve().parents[1]

Expect = Literal["error", "either"]
"""`error`: nonsense, must get exit 2 with a located error (or a located warning).
`either`: may be right: exit 0, or exit 2 with a located error; never a traceback."""


@dataclass(frozen=True)
class Case:
    id: str  # names the file, the key and the mutation: a failure says which
    files: dict[str, str | bytes]  # path under the copied tree -> content
    user_file: str  # the mutated file: errors must name it
    entry: str  # the file the command takes (the user file, or one that uses it)
    command: Literal["check", "sweep"]
    expect: Expect
    # files whose entry must get the same exit status (`014` must mean what `14` means)
    twin: dict[str, str | bytes] | None = None
    twin_entry: str = ""
    at: tuple[int, str] | None = None  # the (line, key) the error must be at, when exact
    run: bool = field(default=True)  # `caravan run` it where check accepts it
    whole_file: bool = False  # a problem of the whole file (its size, a list): no key to name


def shipped_tree() -> Path:
    """The directory holding the shipped `scenarios/` (and `seeds/`)."""
    return ROOT


def copy_shipped(to: Path) -> None:
    """Copy the shipped scenarios (YAML only) to `to`, keeping their relative layout."""
    source = shipped_tree() / "scenarios"
    for path in sorted(source.rglob("*.yaml")):
        target = to / "scenarios" / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def _read(rel: str) -> str:
    return (shipped_tree() / rel).read_text(encoding="utf-8")


# ------------------------------------------------------------------------------------------
# Where the values are: paths, lines and character spans of a shipped file's scalars
# ------------------------------------------------------------------------------------------

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Leaf:
    path: Path_
    line: int  # 1-based
    start: int  # character span of the value in the text
    end: int
    value: str
    key_line: int  # line of the key that holds it (for a list item, the list's key)


def dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def leaves(text: str) -> list[Leaf]:
    """Every plain scalar value of the file, in order."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    out: list[Leaf] = []

    def walk(node: yaml.Node, path: Path_, key_line: int) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, (*path, str(key.value)), key.start_mark.line + 1)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i), key_line)
        elif node.style is None:
            start, end = node.start_mark.index, node.end_mark.index
            out.append(Leaf(path, node.start_mark.line + 1, start, end, node.value, key_line))

    walk(root, (), 1)
    return out


def keys(text: str) -> list[tuple[Path_, int, int, int]]:
    """Every key of the file: (path, line, start, end of the key text)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    out: list[tuple[Path_, int, int, int]] = []

    def walk(node: yaml.Node, path: Path_) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, str(key.value))
                out.append((sub, key.start_mark.line + 1, key.start_mark.index, key.end_mark.index))
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    walk(root, ())
    return out


_NUMBER = re.compile(r"-?\d+(\.\d*)?([eE][-+]?\d+)?")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?([-+]\d\d:\d\d)?")


def splice(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


def line_span(text: str, line: int) -> tuple[int, int]:
    """Character span of 1-based `line`, its line break included."""
    lines = text.splitlines(keepends=True)
    start = sum(len(row) for row in lines[: line - 1])
    return start, start + len(lines[line - 1])


# ------------------------------------------------------------------------------------------
# The files mutated, and how a command reaches each
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """A shipped file to mutate, how its copy is named, and the file that takes the copy."""

    rel: str  # e.g. "scenarios/january-2021-base.yaml"
    command: Literal["check", "sweep"]
    label: str  # short name in case ids
    taker: str | None = None  # the file that uses it (network, behaviour)
    taker_pattern: str = ""  # the text in the taker that names it, replaced by the copy's name
    standalone: bool = True  # False: keys it leaves out come from a base

    def copy_name(self, n: int) -> str:
        path = Path(self.rel)
        return str(path.with_name(f"{path.stem}.fault-{n:04d}{path.suffix}"))

    def case(
        self,
        n: int,
        what: str,
        text: str | bytes,
        expect: Expect,
        *,
        twin: str | None = None,
        at: tuple[int, str] | None = None,
        run: bool = True,
        whole_file: bool = False,
    ) -> Case:
        user = self.copy_name(n)
        files, entry = self._files(user, text, f"uses-{n:04d}")
        twin_files, twin_entry = None, ""
        if twin is not None:
            twin_user = self.copy_name(n).replace(".yaml", ".twin.yaml")
            twin_files, twin_entry = self._files(twin_user, twin, f"uses-{n:04d}.twin")
        return Case(
            id=f"{self.label}:{what}",
            files=files,
            user_file=user,
            entry=entry,
            command=self.command,
            expect=expect,
            twin=twin_files,
            twin_entry=twin_entry,
            at=at,
            run=run,
            whole_file=whole_file,
        )

    def _files(self, user: str, text: str | bytes, tag: str) -> tuple[dict[str, str | bytes], str]:
        """The mutated copy, and a copy of the file that takes it if the command does not."""
        files: dict[str, str | bytes] = {user: text}
        if self.taker is None:
            return files, user
        taker_text = _read(self.taker)
        assert self.taker_pattern in taker_text, self.taker_pattern
        replacement = self.taker_pattern.replace(Path(self.rel).name, Path(user).name)
        entry = str(Path(self.taker).with_name(f"{Path(self.taker).stem}.{tag}.yaml"))
        files[entry] = taker_text.replace(self.taker_pattern, replacement)
        return files, entry


BASE = Subject("scenarios/january-2021-base.yaml", "check", "base")
CHILD = Subject("scenarios/january-2021.yaml", "check", "child", standalone=False)
OCTOBER = Subject("scenarios/caravans/october-2020.yaml", "check", "october", standalone=False)
BEHAVIOUR = Subject(
    "scenarios/caravans/behaviour.yaml",
    "check",
    "behaviour",
    taker="scenarios/caravans/january-2021.yaml",
    taker_pattern="extends: behaviour.yaml",
    standalone=False,
)
NETWORK = Subject(
    "scenarios/networks/central-america.yaml",
    "check",
    "network",
    taker="scenarios/january-2021-base.yaml",
    taker_pattern="file: networks/central-america.yaml",
)
SWEEPS = [
    Subject(f"scenarios/sweeps/{name}.yaml", "sweep", f"sweep-{name}")
    for name in ("blockade-strength-duration", "sensitivity-january-2021")
]


# ------------------------------------------------------------------------------------------
# Mutations
# ------------------------------------------------------------------------------------------

# (name, text written for a number, expectation; "twin:X": must mean what X means)
NUMBER_MUTATIONS: list[tuple[str, str, str]] = [
    ("inf", ".inf", "error"),
    ("minus-inf", "-.inf", "error"),
    ("nan", ".nan", "error"),
    ("1e308", "1e308", "error"),
    ("10^30", "1" + "0" * 30, "error"),
    ("minus-1", "-1", "error"),
    ("zero", "0", "either"),
    ("leading-zero-014", "014", "twin:14"),
    ("sexagesimal-2:54", "2:54", "error"),
    ("5e-4", "5e-4", "twin:0.0005"),
    ("text", "many", "error"),
    ("list", "[1, 2]", "error"),
    ("null", "null", "either"),
]
# Keys whose values may be negative or are names rather than amounts.
_SIGNED = {"lat", "lon"}


def number_cases(subject: Subject, per_leaf: int, counter: Iterator[int]) -> list[Case]:
    """Each numeric value of the file, mutated `per_leaf` ways (rotating through the list so
    every mutation meets many keys)."""
    text = _read(subject.rel)
    numeric = [leaf for leaf in leaves(text) if _NUMBER.fullmatch(leaf.value)]
    cases = []
    for i, leaf in enumerate(numeric):
        for j in range(per_leaf):
            name, new, meant = NUMBER_MUTATIONS[(i * per_leaf + j) % len(NUMBER_MUTATIONS)]
            mutated = splice(text, leaf.start, leaf.end, new)
            twin = None
            if meant.startswith("twin:"):
                twin = splice(text, leaf.start, leaf.end, meant.removeprefix("twin:"))
            signed = name == "minus-1" and leaf.path[-1] in _SIGNED
            expect: Expect = "error" if meant == "error" and not signed else "either"
            cases.append(
                subject.case(
                    next(counter),
                    f"{dotted(leaf.path)}={name}",
                    mutated,
                    expect,
                    twin=twin,
                    run=expect != "error",
                )
            )
    return cases


DATE_MUTATIONS: list[tuple[str, str, Expect]] = [
    ("30-february", "2021-02-30T06:00:00-06:00", "error"),
    ("offset-+25:00", "2021-01-14T06:00:00+25:00", "error"),
    ("year-0", "0000-01-14T06:00:00-06:00", "error"),
    ("month-13", "2021-13-01T06:00:00-06:00", "error"),
    ("hour-24", "2021-01-14T24:00:00-06:00", "error"),
    ("date-only", "2021-01-14", "error"),
    ("words", "next monday", "error"),
]


def date_cases(subject: Subject, per_leaf: int, counter: Iterator[int]) -> list[Case]:
    """Each date and time of the file made impossible or naive (`per_leaf` ways, rotating
    through the list), and written with a space for the T (which must mean the same)."""
    text = _read(subject.rel)
    times = [leaf for leaf in leaves(text) if _TIME.fullmatch(leaf.value)]
    cases = []
    for i, leaf in enumerate(times):
        where = dotted(leaf.path)
        naive = leaf.value[:19]
        mutations = [*DATE_MUTATIONS, ("naive", naive, "error")]
        for j in range(per_leaf):
            name, new, expect = mutations[(i * per_leaf + j) % len(mutations)]
            if new == leaf.value:  # already naive
                continue
            mutated = splice(text, leaf.start, leaf.end, new)
            cases.append(subject.case(next(counter), f"{where}={name}", mutated, expect))
        spaced = leaf.value.replace("T", " ")
        mutated = splice(text, leaf.start, leaf.end, spaced)
        cases.append(
            subject.case(next(counter), f"{where}=space-for-T", mutated, "either", twin=text)
        )
    return cases


def _typo(name: str) -> str:
    """Swap two letters in the middle of a name (or double its last letter if too short)."""
    if len(name) < 4:
        return name + name[-1]
    mid = len(name) // 2
    swapped = name[: mid - 1] + name[mid] + name[mid - 1] + name[mid + 1 :]
    return swapped if swapped != name else name + "x"


def key_cases(
    subject: Subject, counter: Iterator[int], free: dict[Path_, Expect], every: int
) -> list[Case]:
    """Every `every`-th key misspelt, and given twice. `free`: mappings whose keys are names
    the user chooses (authorities, waves) or refers to (countries, places), and what a typo
    there is."""
    text = _read(subject.rel)
    cases: list[Case] = []
    found = keys(text)
    lines = text.splitlines(keepends=True)
    for path, line, start, end in found[::every]:
        parent = path[:-1]
        name = str(path[-1])
        expect: Expect = free.get(parent, "error")
        mutated = splice(text, start, end, _typo(name))
        cases.append(subject.case(next(counter), f"{dotted(path)}=typo", mutated, expect))
        # A key on one line (`key: value`) repeated on the next line.
        row = lines[line - 1]
        row_start, row_end = line_span(text, line)
        starts_line = text[row_start:start].strip() == ""
        if starts_line and re.match(r"\s*[A-Za-z_][\w.-]*:\s+\S", row):
            copy = row if row.endswith("\n") else row + "\n"
            mutated = text[:row_end] + copy + text[row_end:]
            cases.append(
                subject.case(
                    next(counter),
                    f"{dotted(path)}=given-twice",
                    mutated,
                    "error",
                    at=(line + 1, dotted(path)),
                )
            )
    return cases


def deletion_cases(subject: Subject, counter: Iterator[int], paths: list[Path_]) -> list[Case]:
    """A key and everything under it deleted. Outcome: either (some keys are optional)."""
    text = _read(subject.rel)
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    cases = []
    for path in paths:
        node = root
        key_node = None
        for part in path:
            for k, v in node.value:
                if k.value == part:
                    key_node, node = k, v
                    break
            else:
                raise KeyError(f"{subject.rel}: no key {dotted(path)}")
        assert key_node is not None
        start = line_span(text, key_node.start_mark.line + 1)[0]
        end = line_span(text, max(_last_line(node), key_node.start_mark.line + 1))[1]
        mutated = text[:start] + text[end:]
        expect: Expect = "error" if subject.standalone and len(path) == 1 else "either"
        if path == ("description",):
            expect = "either"
        cases.append(subject.case(next(counter), f"{dotted(path)}=deleted", mutated, expect))
    return cases


def _last_line(node: yaml.Node) -> int:
    """The 1-based last line holding any of `node` (a block collection's end mark is the
    start of the next key, which it does not hold)."""
    if isinstance(node, yaml.ScalarNode) or getattr(node, "flow_style", False):
        mark = node.end_mark
        return mark.line + (0 if mark.column == 0 else 1)
    children = (
        [part for pair in node.value for part in pair]
        if isinstance(node, yaml.MappingNode)
        else node.value
    )
    return max((_last_line(child) for child in children), default=node.start_mark.line + 1)


def replace_cases(
    subject: Subject, counter: Iterator[int], edits: list[tuple[str, str, str, str]]
) -> list[Case]:
    """Hand-written edits: (what, old text (once in the file), new text, expectation; "same":
    must get the answer the shipped file gets)."""
    text = _read(subject.rel)
    cases = []
    for what, old, new, expect in edits:
        assert text.count(old) == 1, f"{subject.rel}: {old!r} must occur once"
        mutated = text.replace(old, new)
        twin = text if expect == "same" else None  # must get the shipped file's answer
        meant: Expect = "error" if expect == "error" else "either"
        cases.append(subject.case(next(counter), what, mutated, meant, twin=twin))
    return cases


def billion_laughs() -> str:
    lines = ["x-lol: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 9):
        name, prev = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append(f"x-lol{level}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def yaml_cases(subject: Subject, counter: Iterator[int]) -> list[Case]:
    """The YAML itself broken, bombs, odd bytes and tags (prepended or appended to the file)."""
    text = _read(subject.rel)
    first = next(leaf for leaf in leaves(text) if _NUMBER.fullmatch(leaf.value))
    row_start, row_end = line_span(text, first.line)
    row = text[row_start:row_end]
    indent = row[: len(row) - len(row.lstrip())]
    edits: list[tuple[str, str | bytes, str]] = [
        ("unclosed-bracket", splice(text, first.start, first.end, "[1, 2"), "error"),
        ("extra-bracket", splice(text, first.start, first.end, "1]"), "error"),
        ("unclosed-quote", splice(text, first.start, first.end, '"1'), "error"),
        ("tab-indent", text[:row_start] + "\t" + row.lstrip(" ") + text[row_end:], "error"),
        ("missing-colon", text[:row_start] + row.replace(":", "", 1) + text[row_end:], "error"),
        ("over-indent", text[:row_end] + indent + "   " + row.lstrip() + text[row_end:], "error"),
        ("value-value", splice(text, first.start, first.end, "1: 2: 3"), "error"),
        ("undefined-alias", splice(text, first.start, first.end, "*nowhere"), "error"),
        (
            "python-tag",
            splice(text, first.start, first.end, "!!python/object/apply:os.getcwd []"),
            "error",
        ),
        ("binary-tag", splice(text, first.start, first.end, "!!binary aGVsbG8="), "error"),
        ("nul-byte", splice(text, first.start, first.end, "1\x00"), "error"),
        (
            "not-utf8",
            text[:row_start].encode() + b"# caf\xe9\n" + text[row_start:].encode(),
            "error",
        ),
        ("two-documents", text + "---\nname: other\n", "error"),
        ("yaml-2.0", "%YAML 2.0\n---\n" + text, "error"),
        ("top-level-list", "- " + text.replace("\n", "\n  "), "whole"),
        ("billion-laughs", text + billion_laughs(), "error"),
        ("deep-list", splice(text, first.start, first.end, "[" * 5000 + "1" + "]" * 5000), "error"),
        (
            "deep-mapping",
            text
            + "x-deep:\n"
            + "".join(" " * i + f"k{i}:\n" for i in range(1, 90))
            + " " * 90
            + "v: 1\n",
            "error",
        ),
        ("self-alias", text + "x-self: &self [*self]\n", "error"),
        ("over-5MB", text + "# " + "x" * (5 * 2**20) + "\n", "whole"),
        (
            "complex-key",
            text[:row_start] + indent + "? [a, b]\n" + indent + ": 1\n" + text[row_start:],
            "error",
        ),
        ("null-key", text[:row_start] + indent + "~: 1\n" + text[row_start:], "error"),
        ("bom-crlf", ("\ufeff" + text).replace("\n", "\r\n").encode(), "either"),
    ]
    if subject is BASE:  # slow to read (two seconds): once is enough
        many = text + "x-many: [" + ", ".join(["1"] * 60_000) + "]\n"
        edits.append(("too-many-values", many, "error"))
    return [
        subject.case(
            next(counter),
            f"yaml:{what}",
            content,
            "either" if expect == "either" else "error",
            run=False,
            whole_file=expect == "whole",
        )
        for what, content, expect in edits
    ]


# ------------------------------------------------------------------------------------------
# The catalogue
# ------------------------------------------------------------------------------------------


def _counter() -> Iterator[int]:
    n = 0
    while True:
        n += 1
        yield n


_SCENARIO_FREE: dict[Path_, Expect] = {
    ("authorities",): "either",  # an authority's name is the user's choice
    ("population", "waves"): "either",
    ("movement", "ride_chance_per_h"): "error",  # a country code no place has
    ("route_choice", "place_preference"): "error",  # a place the network lacks
}

_BASE_EDITS: list[tuple[str, str, str, str]] = [
    (
        "route_choice.destinations=repeated",
        "destinations: [tecun_uman, el_carmen,",
        "destinations: [tecun_uman, tecun_uman, el_carmen,",
        "error",
    ),
    (
        "route_choice.destinations=unknown-place",
        "destinations: [tecun_uman,",
        "destinations: [atlantis,",
        "error",
    ),
    (
        "route_choice.destinations=empty",
        "destinations: [tecun_uman, el_carmen, la_mesilla, el_ceibo]",
        "destinations: []",
        "error",
    ),
    (
        "route_choice.destinations=text",
        "destinations: [tecun_uman, el_carmen, la_mesilla, el_ceibo]",
        "destinations: tecun_uman",
        "error",
    ),
    (
        "route_choice.destinations=origin",
        "destinations: [tecun_uman,",
        "destinations: [san_pedro_sula,",
        "error",
    ),
    ("population.origin=unknown-place", "  origin: san_pedro_sula", "  origin: atlantis", "error"),
    ("population.origin=number", "  origin: san_pedro_sula", "  origin: 3", "error"),
    ("population.origin=list", "  origin: san_pedro_sula", "  origin: [san_pedro_sula]", "error"),
    (
        "population.group_size.sizes=repeated",
        "sizes: [1, 2, 3, 4, 5, 6]",
        "sizes: [1, 1, 3, 4, 5, 6]",
        "error",
    ),
    (
        "population.group_size.sizes=short",
        "sizes: [1, 2, 3, 4, 5, 6]",
        "sizes: [1, 2, 3, 4, 5]",
        "error",
    ),
    (
        "population.group_size.shares=not-1",
        "shares: [0.35, 0.25, 0.15, 0.12, 0.08, 0.05]",
        "shares: [0.35, 0.25, 0.15, 0.12, 0.08, 0.5]",
        "error",
    ),
    ("movement=scalar", "movement:\n", "movement: 3\nx-movement:\n", "error"),
    (
        "movement.ride_chance_per_h=unknown-country",
        "    HN: 0.2 ",
        "    HN: 0.2\n    GTM: 0.9 ",
        "error",
    ),
    (
        "movement.ride_chance_per_h=list",
        "  ride_chance_per_h:  ",
        "  ride_chance_per_h: [0.1]\n  x-ride:  ",
        "error",
    ),
    (
        "movement.walking_speed_kmh=mapping",
        "walking_speed_kmh: 3.0 ",
        "walking_speed_kmh: {a: 1} ",
        "error",
    ),
    ("movement.day_starts_h=after-end", "day_starts_h: 4 ", "day_starts_h: 20 ", "error"),
    ("output.plots=yes", "plots:", "plots: yes\n  x-plots:", "error"),
    (
        "route_choice.place_preference=unknown-place",
        "    tecun_uman: 3.0",
        "    atlantis: 3.0",
        "error",
    ),
    ("name=list", "name: january-2021-base", "name: [january-2021-base]", "error"),
    ("name=slash", "name: january-2021-base", "name: ../escape", "error"),
    (
        "network.file=missing",
        "file: networks/central-america.yaml",
        "file: networks/nowhere.yaml",
        "error",
    ),
    ("network.file=directory", "file: networks/central-america.yaml", "file: networks", "error"),
    ("network.file=number", "file: networks/central-america.yaml", "file: 3", "error"),
    (
        "extends=missing",
        "name: january-2021-base\n",
        "name: january-2021-base\nextends: nowhere.yaml\n",
        "error",
    ),
    (
        "extends=itself",
        "name: january-2021-base\n",
        "name: january-2021-base\nextends: january-2021-base.fault-X.yaml\n",
        "error",
    ),
    (
        "extends=number",
        "name: january-2021-base\n",
        "name: january-2021-base\nextends: 3\n",
        "error",
    ),
    (
        "extends=directory",
        "name: january-2021-base\n",
        "name: january-2021-base\nextends: networks\n",
        "error",
    ),
    (
        "movement=merge-key-overridden",
        "movement:\n  walking_speed_kmh: 3.0 ",
        "movement:\n  <<: {walking_speed_kmh: 9.0, ride_speed_kmh: 45}\n  walking_speed_kmh: 3.0 ",
        "same",
    ),
    (
        "movement=merge-key-unknown-key",
        "movement:\n  walking_speed_kmh: 3.0 ",
        "movement:\n  <<: {walking_speed_kmh: 9.0, ride_speed_kmh: 45, walking_speed: 3}\n  walking_speed_kmh: 3.0 ",
        "error",
    ),
    ("time.duration_h=minutes", "duration_h: 174 ", "duration_h: 174 h ", "error"),
    ("time.step_h=longer-than-run", "step_h: 1 ", "step_h: 1000 ", "error"),
]

_CHILD_EDITS: list[tuple[str, str, str, str]] = [
    (
        "time.start=naive-in-child",
        "population:\n",
        "time:\n  start: 2021-01-13T18:00:00\npopulation:\n",
        "error",
    ),
    (
        "time.start=both-naive-in-child",
        "population:\n",
        "time:\n  start: 2021-01-13T18:00:00\npopulation:\n  waves:\n    main:\n      at: 2021-01-15T04:00:00\n",
        "error",
    ),
    (
        "authorities.new=at-unreached-place",
        "authorities:\n",
        "authorities:\n  lonely_checkpoint:\n    kind: checkpoints\n    places: [san_salvador]\n    active: {start: 2021-01-14T00:00:00-06:00, end: 2021-01-16T00:00:00-06:00}\n    intercept_chance: 0.1\n    dispersed_intercept_factor: 0.3\n",
        "error",
    ),
    (
        "authorities.new=unknown-kind",
        "authorities:\n",
        "authorities:\n  curfew:\n    kind: curfew\n",
        "error",
    ),
    (
        "authorities.new=unknown-place",
        "authorities:\n",
        "authorities:\n  checkpoint_x:\n    kind: checkpoints\n    places: [atlantis]\n    active: {start: 2021-01-14T00:00:00-06:00, end: 2021-01-16T00:00:00-06:00}\n    intercept_chance: 0.1\n    dispersed_intercept_factor: 0.3\n",
        "error",
    ),
    (
        "authorities.new=window-backwards",
        "authorities:\n",
        "authorities:\n  checkpoint_x:\n    kind: checkpoints\n    places: [zacapa]\n    active: {start: 2021-01-16T00:00:00-06:00, end: 2021-01-14T00:00:00-06:00}\n    intercept_chance: 0.1\n    dispersed_intercept_factor: 0.3\n",
        "error",
    ),
    (
        "authorities.el_florido_force.give_up=merge-override",
        "  el_florido_force:\n    give_up:\n      scale_h: 35.63",
        "  el_florido_force:\n    give_up:\n      <<: {scale_h: 1.0}\n      scale_h: 35.63",
        "same",
    ),
    (
        "extends=itself",
        "extends: january-2021-base.yaml",
        "extends: january-2021.fault-X.yaml",
        "error",
    ),
]

_NETWORK_EDITS: list[tuple[str, str, str, str]] = [
    ("places=id-repeated", "- id: choloma\n", "- id: san_pedro_sula\n", "error"),
    ("places[0].lat=91", "  lat: 15.5059\n", "  lat: 91\n", "error"),
    ("places[0].lon=200", "  lon: -88.0259\n", "  lon: 200\n", "error"),
    (
        "places[0].country=number",
        "  country: HN\n  lat: 15.5059",
        "  country: 3\n  lat: 15.5059",
        "error",
    ),
    ("places[0]=no-id", "- id: san_pedro_sula\n  name:", "- name:", "error"),
    ("places=text", "places:\n", "x-places:\n", "error"),
]

_SWEEP_EDITS: dict[str, list[tuple[str, str, str, str]]] = {
    "blockade-strength-duration": [
        ("base=missing", "base: ../january-2021.yaml", "base: ../nowhere.yaml", "error"),
        ("base=number", "base: ../january-2021.yaml", "base: 3", "error"),
        (
            "parameters=unknown-scenario-key",
            "authorities.vado_hondo_blockade.slip_chance_per_h:",
            "authorities.vado_hondo_blockade.slip_chanse_per_h:",
            "error",
        ),
        (
            "parameters=unknown-authority",
            "authorities.vado_hondo_blockade.slip_chance_per_h:",
            "authorities.nowhere_blockade.slip_chance_per_h:",
            "error",
        ),
        ("values=repeated", "values: [12, 24, 37,", "values: [12, 12, 37,", "error"),
        ("values=text", "values: [12, 24, 37, 48, 72, 96]", "values: [twelve, 24]", "error"),
        ("range=backwards", "range: [0.0005, 0.05]", "range: [0.05, 0.0005]", "error"),
        ("range=one", "range: [0.0005, 0.05]", "range: [0.0005]", "error"),
        (
            "hours_after=30-february",
            "hours_after: 2021-01-16T19:00:00-06:00",
            "hours_after: 2021-02-30T19:00:00-06:00",
            "error",
        ),
        (
            "hours_after=naive",
            "hours_after: 2021-01-16T19:00:00-06:00",
            "hours_after: 2021-01-16T19:00:00",
            "error",
        ),
        ("design=unknown-kind", "design: {kind: grid}", "design: {kind: random}", "error"),
        ("set=unknown-key", "  output.plots: false", "  output.plotz: false", "error"),
        ("set=bad-value", "  output.plots: false", "  output.plots: maybe", "error"),
        (
            "replicates=10^30",
            "replicates: 10",
            "replicates: 1000000000000000000000000000000",
            "error",
        ),
        ("label=reserved", "label: blockade_duration_h", "label: seed", "error"),
    ],
    "sensitivity-january-2021": [
        (
            "design=lhs-10^30-points",
            "design: {kind: sobol, base_points: 64}",
            "design: {kind: lhs, points: 1000000000000000000000000000000}",
            "error",
        ),
        (
            "design.base_points=2^100",
            "base_points: 64",
            "base_points: 1267650600228229401496703205376",
            "error",
        ),
        ("design.base_points=not-power-of-2", "base_points: 64", "base_points: 60", "error"),
        (
            "design.base_points=10^30",
            "base_points: 64",
            "base_points: 1000000000000000000000000000000",
            "error",
        ),
        (
            "parameters=repeated-key",
            "  movement.walking_speed_kmh: {range: [2.5, 4.0], label: walking_speed_kmh}",
            "  movement.walking_speed_kmh: {range: [2.5, 4.0], label: walking_speed_kmh}\n  movement.walking_speed_kmh: {range: [2.5, 4.0], label: w2}",
            "error",
        ),
        ("range=inf", "range: [2.5, 4.0]", "range: [2.5, .inf]", "error"),
        ("range=nan", "range: [2.5, 4.0]", "range: [.nan, 4.0]", "error"),
    ],
}


def _fix_self_references(cases: list[Case]) -> list[Case]:
    """Edits that name the case's own copy (`fault-X`) get its real name."""
    out = []
    for case in cases:
        name = Path(case.user_file).name
        files = {
            rel: (
                content.replace(".fault-X.yaml", name[name.index(".fault-") :])
                if isinstance(content, str)
                else content
            )
            for rel, content in case.files.items()
        }
        out.append(Case(**{**asdict(case), "files": files}))
    return out


def catalogue() -> list[Case]:
    """Every case, in a fixed order."""
    n = _counter()
    cases: list[Case] = []
    cases += number_cases(BASE, 2, n)
    cases += number_cases(OCTOBER, 2, n)
    cases += number_cases(BEHAVIOUR, 1, n)
    cases += number_cases(NETWORK, 1, n)[::6]
    for sweep in SWEEPS:
        cases += number_cases(sweep, 3, n)
    cases += date_cases(BASE, 3, n)
    cases += date_cases(OCTOBER, 2, n)
    cases += date_cases(SWEEPS[0], 8, n)
    cases += key_cases(BASE, n, _SCENARIO_FREE, every=3)
    cases += key_cases(CHILD, n, _SCENARIO_FREE, every=1)
    cases += key_cases(NETWORK, n, {}, every=40)
    for sweep in SWEEPS:
        cases += key_cases(sweep, n, {("parameters",): "error", ("set",): "error"}, every=2)
    top = [("time",), ("network",), ("population",), ("movement",), ("route_choice",)]
    top += [("health",), ("name",), ("description",), ("population", "origin")]
    top += [("movement", "walking_speed_kmh"), ("time", "start"), ("health", "prevalence")]
    cases += deletion_cases(BASE, n, top)
    cases += deletion_cases(NETWORK, n, [("places",), ("roads",)])
    for sweep in SWEEPS:
        cases += deletion_cases(sweep, n, [("base",), ("parameters",), ("name",)])
    cases += replace_cases(BASE, n, _BASE_EDITS)
    cases += replace_cases(CHILD, n, _CHILD_EDITS)
    cases += replace_cases(NETWORK, n, _NETWORK_EDITS)
    for sweep in SWEEPS:
        cases += replace_cases(sweep, n, _SWEEP_EDITS[Path(sweep.rel).stem])
    for subject in (BASE, CHILD, NETWORK, SWEEPS[0]):
        cases += yaml_cases(subject, n)
    cases = _fix_self_references(cases)
    ids = [case.id for case in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return cases


def write_case(case: Case, tree: Path) -> None:
    for rel, content in case.files.items():
        path = tree / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tests/fault_catalogue.py OUT_DIR", file=sys.stderr)
        return 2
    out = Path(argv[0])
    copy_shipped(out)
    cases = catalogue()
    for case in cases:
        write_case(case, out)
    index = [
        {k: v for k, v in asdict(case).items() if k not in ("files", "twin")} for case in cases
    ]
    (out / "cases.json").write_text(json.dumps(index, indent=1), encoding="utf-8")
    print(f"{len(cases)} cases written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
