"""Schemas checked with every problem located: pydantic errors turned into `Problem`s that name
the file, the line and the key path, with a hint for a misspelt key. Used by every reader of
YAML (scenarios, networks, target sets, sweeps, calibrations)."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Annotated, Any, Union

from pydantic import BaseModel, ValidationError

from sim.errors import Problem, ScenarioError
from sim.yamlio import Document, KeyPath, dotted


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
    key_path, owner, annotation = _walk_schema(model, tuple(err["loc"]))
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
        ctx = err.get("ctx", {})
        tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",") if t.strip()]
        tags = tags or _tags(annotation)
        if kind == "union_tag_invalid":
            key = str(ctx.get("discriminator", "")).strip("'")
            full = (*full, key) if key else full  # the line of the bad `kind:`
            got = str(ctx.get("tag", ""))
            message = f"unknown {key or 'kind'} '{got}'{did_you_mean(got, set(tags))}"
        else:
            message = "missing 'kind'"
        message += f"; expected one of: {', '.join(tags)}"
    else:
        got = err.get("input")
        shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
        message = f"{err['msg'].removeprefix('Value error, ')}{shown}"
    where = doc.locate(full)
    return Problem(where.file, where.line, dotted(full), message)


def _walk_schema(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[KeyPath, Any, Any]:
    """Follow a pydantic error location through the schema.

    Returns the location as YAML keys (dropping the tags pydantic adds for unions), the model
    that owns the last key, so unknown keys can be answered with the keys that are allowed, and
    the annotation at the location (a union's members name the kinds it accepts).
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
    return tuple(keys), owner, _unwrap(current)


def _tags(union: Any) -> list[str]:
    """The `kind`s the members of a discriminated union accept."""
    if not _is_union(union):
        return []
    out: list[str] = []
    for member in typing.get_args(union):
        field = getattr(member, "model_fields", {}).get("kind")
        if field is not None:
            out += [str(tag) for tag in typing.get_args(field.annotation)]
    return out


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


def did_you_mean(name: str, known: set[str]) -> str:
    """ " (did you mean 'x'?)" for the closest known name, or nothing."""
    hint = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean '{hint[0]}'?)" if hint else ""
