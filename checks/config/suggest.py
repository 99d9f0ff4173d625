"""Did you mean?: the keys a config table accepts, found by walking the pydantic models along an
error's key path, and the closest of them to a key the file got wrong."""

from __future__ import annotations

import difflib
import types
from typing import Annotated, Union, get_args, get_origin

from pydantic import BaseModel


def keys_at(model: type[BaseModel], loc: tuple | list) -> list[str] | None:
    """The keys (field names and aliases) of the table at ``loc`` below ``model``; None when the
    path does not lead to a table of the models (a list index past a scalar, a union's tag)."""
    target = _walk(model, list(loc))
    if target is None:
        return None
    keys: list[str] = []
    for name, field in target.model_fields.items():
        for key in (name, field.alias, field.validation_alias):
            if isinstance(key, str) and key not in keys:
                keys.append(key)
    return keys


def closest(key: str, keys: list[str]) -> str | None:
    """The one key of ``keys`` close enough to ``key`` to be what was meant (case does not count)."""
    lowered = {k.lower(): k for k in keys}
    match = difflib.get_close_matches(key.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def unknown_key_message(model: type[BaseModel] | None, loc: tuple | list) -> str:
    """``unknown key: did you mean 'dsn'?``, or the keys the table takes when none is close."""
    if model is None or not loc or not isinstance(loc[-1], str):
        return "unknown key"
    keys = keys_at(model, loc[:-1])
    if not keys:
        return "unknown key"
    meant = closest(loc[-1], keys)
    if meant is not None:
        return f"unknown key: did you mean {meant!r}?"
    return f"unknown key (this table takes: {', '.join(keys)})"


def _walk(model: type[BaseModel], loc: list) -> type[BaseModel] | None:
    current: object = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return None
    models = _models(current)
    return models[0] if len(models) == 1 else None


def _step(tp: object, part: object) -> object | None:
    """The type one key (or list index) below ``tp``."""
    for candidate in _choices(tp):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            if not isinstance(part, str):
                continue
            for name, field in candidate.model_fields.items():
                if part in (name, field.alias, field.validation_alias):
                    return field.annotation
            continue
        origin, args = get_origin(candidate), get_args(candidate)
        if origin in (list, tuple, set, frozenset) and isinstance(part, int) and args:
            return args[0]
        if origin is dict and isinstance(part, str) and len(args) == 2:
            return args[1]
    return None


def _choices(tp: object) -> list:
    """``tp`` without its Annotated wrapper, and a union split into its members (None left out)."""
    if get_origin(tp) is Annotated:
        return _choices(get_args(tp)[0])
    if get_origin(tp) in (Union, types.UnionType):
        return [c for arg in get_args(tp) if arg is not type(None) for c in _choices(arg)]
    return [tp]


def _models(tp: object) -> list[type[BaseModel]]:
    return [c for c in _choices(tp) if isinstance(c, type) and issubclass(c, BaseModel)]

