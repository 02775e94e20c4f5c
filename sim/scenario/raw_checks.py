"""Checks made on a scenario's data as read, before (or without) a valid schema, so that one
pass lists every problem: the one rule for UTC offsets, and places named by keys that are
themselves well formed even where other keys of the file are not."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from sim.errors import Problem
from sim.rules import KINDS
from sim.schema import timestamp_or_none
from sim.validation import did_you_mean
from sim.yamlio import Document, KeyPath, Where, dotted

OFFSET_RULE = "every time in a scenario and the files it extends has a UTC offset, or none has"


def _times(data: dict[str, Any]) -> Iterator[tuple[KeyPath, datetime]]:
    """Every time the scenario gives, with its key path, in the order of the sections."""
    keyed: list[tuple[KeyPath, Any]] = [(("time", "start"), _at(data, "time", "start"))]
    waves = _at(data, "population", "waves")
    if isinstance(waves, dict):
        keyed += [(("population", "waves", n, "at"), _at(waves, n, "at")) for n in waves]
    authorities = data.get("authorities")
    if isinstance(authorities, dict):
        for name in authorities:
            for end in ("start", "end"):
                path: KeyPath = ("authorities", name, "active", end)
                keyed.append((path, _at(authorities, name, "active", end)))
    for path, value in keyed:
        when = timestamp_or_none(value)
        if when is not None:
            yield path, when


def _at(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def offset_problems(doc: Document, user_files: Collection[str]) -> list[Problem]:
    """The one rule for UTC offsets (`OFFSET_RULE`), reported once: at the first time of the
    fewer kind (with or without an offset) that the user wrote (in `user_files`, or with
    --set), else at the first of them wherever it is."""
    times = list(_times(doc.data))
    with_offset = [(p, doc.locate(p)) for p, when in times if when.tzinfo is not None]
    without = [(p, doc.locate(p)) for p, when in times if when.tzinfo is None]
    if not with_offset or not without:
        return []
    start_has_offset = bool(times) and times[0][0] == ("time", "start") and times[0][1].tzinfo
    # the fewer kind is the odd one out; in a tie, the kind time.start does not have
    if len(without) < len(with_offset) or (len(without) == len(with_offset) and start_has_offset):
        odd, others, has = without, with_offset, "has no UTC offset"
    else:
        odd, others, has = with_offset, without, "has a UTC offset"
    mine = [(p, w) for p, w in odd if w.file in user_files or w.file.startswith("--set")]
    path, _ = min(mine or odd, key=lambda pw: _reading_order(pw[1]))
    first_path, first = min(others, key=lambda pw: _reading_order(pw[1]))
    place = f"{first.file}:{first.line}" if first.line is not None else first.file
    count = len(others)
    message = (
        f"this time {has}, unlike {count} other time{'s' if count > 1 else ''} (the first: "
        f"{dotted(first_path)}, {place}); {OFFSET_RULE}"
    )
    return [doc.problem(path, message)]


def _reading_order(where: Where) -> tuple[str, int]:
    return where.file, where.line or 0


def raw_place_problems(doc: Document, reported: Collection[str]) -> list[Problem]:
    """Unknown places named by keys that are well formed themselves, read from the data as
    written, when the network's place ids can be read; keys in `reported` (dotted) already have
    a problem and are skipped."""
    places = _at(doc.data, "network", "places")
    if not isinstance(places, list):
        return []
    known = {p["id"] for p in places if isinstance(p, dict) and isinstance(p.get("id"), str)}
    if not known:
        return []
    return [
        doc.problem(path, f"unknown place '{place}'{did_you_mean(place, known)}")
        for path, place in _named_places(doc.data)
        if place not in known and dotted(path) not in reported
    ]


def _named_places(data: dict[str, Any]) -> Iterator[tuple[KeyPath, str]]:
    origin = _at(data, "population", "origin")
    if isinstance(origin, str):
        yield ("population", "origin"), origin
    waves = _at(data, "population", "waves")
    for name, wave in (waves or {}).items() if isinstance(waves, dict) else ():
        if isinstance(_at(wave, "origin"), str):
            yield ("population", "waves", name, "origin"), wave["origin"]
    destinations = _at(data, "route_choice", "destinations")
    for i, dest in enumerate(destinations if isinstance(destinations, list) else []):
        if isinstance(dest, str):
            yield ("route_choice", "destinations", i), dest
    authorities = data.get("authorities")
    for name, entry in authorities.items() if isinstance(authorities, dict) else ():
        yield from ((("authorities", name, *key), place) for key, place in _entry_places(entry))


def _entry_places(entry: Any) -> list[tuple[KeyPath, str]]:
    """The places an authority's entry names: by its kind's schema where the entry is valid,
    else its `place` or `places` as written (every kind of `sim.rules.base` names them so)."""
    kind = KINDS.get(str(_at(entry, "kind")))
    if kind is not None:
        try:
            return kind.Spec.model_validate(entry).named_places()
        except ValidationError:
            pass
    if not isinstance(entry, dict):
        return []
    named: list[tuple[KeyPath, str]] = []
    if isinstance(entry.get("place"), str):
        named.append((("place",), entry["place"]))
    if isinstance(entry.get("places"), list):
        named += [(("places", i), p) for i, p in enumerate(entry["places"]) if isinstance(p, str)]
    return named
