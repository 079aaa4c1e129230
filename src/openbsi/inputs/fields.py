"""Checked fields: each function returns the value or raises an InputError naming the field."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from openbsi.inputs.errors import InputError


def number(
    value: Any, *, source: str, field: str, low: float, high: float, integer: bool = False
) -> float | int:
    """A finite number in [low, high] (an integer if `integer`); bools and strings are refused."""
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(source, field, f"must be {kind}", limit=f"[{low}, {high}]", value=value)
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(source, field, "must be finite", limit=f"[{low}, {high}]", value=value)
    if integer:
        if isinstance(value, float):
            if not value.is_integer():
                raise InputError(source, field, f"must be {kind}", value=value)
            value = int(value)
    elif isinstance(value, int):
        value = float(value)
    if not low <= value <= high:
        raise InputError(source, field, "out of range", limit=f"[{low}, {high}]", value=value)
    return value


def string(
    value: Any,
    *,
    source: str,
    field: str,
    choices: Iterable[str] | None = None,
    max_len: int = 256,
) -> str:
    """A string of at most `max_len` characters, one of `choices` when given."""
    if not isinstance(value, str):
        raise InputError(source, field, "must be a string", value=value)
    if len(value) > max_len:
        raise InputError(source, field, "too long", limit=f"{max_len} characters", value=len(value))
    if choices is not None:
        allowed = sorted(choices)
        if value not in allowed:
            raise InputError(source, field, "unknown value", limit=f"one of {allowed}", value=value)
    return value


def mapping(
    value: Any,
    *,
    source: str,
    field: str,
    allowed: Iterable[str] | None = None,
    required: Iterable[str] = (),
) -> dict[str, Any]:
    """A mapping with string keys; unknown keys refused when `allowed` is given."""
    if not isinstance(value, dict):
        raise InputError(source, field, "must be a mapping", value=type(value).__name__)
    for key in value:
        if not isinstance(key, str):
            raise InputError(source, field, "keys must be strings", value=key)
    if allowed is not None:
        known = set(allowed)
        unknown = sorted(key for key in value if key not in known)
        if unknown:
            where = f"{field}.{unknown[0]}" if field else unknown[0]
            raise InputError(source, where, "unknown field", limit=f"one of {sorted(known)}")
    for key in required:
        if key not in value:
            where = f"{field}.{key}" if field else key
            raise InputError(source, where, "is required")
    return value


def sequence(value: Any, *, source: str, field: str, max_len: int = 10_000) -> list[Any]:
    """A list of at most `max_len` items."""
    if not isinstance(value, list):
        raise InputError(source, field, "must be a list", value=type(value).__name__)
    if len(value) > max_len:
        raise InputError(source, field, "too many items", limit=max_len, value=len(value))
    return value
