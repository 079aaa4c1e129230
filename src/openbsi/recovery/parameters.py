"""Parameters as data: each dataclass field carries its unit, plausible range, grade and source.

`param(...)` builds such a field; `parameter_infos(obj, prefix)` lists them as ParameterInfo;
`apply_overrides(obj, prefix, overrides)` returns a copy with "prefix.name" values replaced.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from openbsi.inputs import InputError
from openbsi.recovery.types import EVIDENCE_GRADES, ParameterInfo

T = TypeVar("T")


def param(value: float, unit: str, low: float, high: float, grade: str, source: str) -> Any:
    """A dataclass field holding a float parameter and its provenance."""
    if grade not in EVIDENCE_GRADES:
        raise ValueError(f"grade must be one of {EVIDENCE_GRADES}, got {grade!r}")
    if not low <= value <= high:
        raise ValueError(f"default {value} outside its plausible range [{low}, {high}]")
    meta = {"unit": unit, "low": low, "high": high, "grade": grade, "source": source}
    return dataclasses.field(default=value, metadata=meta)


def parameter_infos(obj: Any, prefix: str = "") -> list[ParameterInfo]:
    """Every `param` field of a dataclass instance, with its current value."""
    infos = []
    for f in dataclasses.fields(obj):
        if "grade" not in f.metadata:
            continue
        m = f.metadata
        infos.append(
            ParameterInfo(
                name=f"{prefix}{f.name}",
                value=float(getattr(obj, f.name)),
                unit=m["unit"],
                low=m["low"],
                high=m["high"],
                grade=m["grade"],
                source=m["source"],
            )
        )
    return infos


def grade_of(obj: Any, name: str) -> str:
    for f in dataclasses.fields(obj):
        if f.name == name:
            return f.metadata["grade"]
    raise KeyError(name)


def apply_overrides(
    obj: T, prefix: str, overrides: Mapping[str, float], *, source: str = "overrides"
) -> T:
    """A copy of `obj` with the overrides named "prefix.field" applied (range-checked)."""
    changes: dict[str, float] = {}
    known = {f.name: f for f in dataclasses.fields(obj) if "grade" in f.metadata}
    for key, value in overrides.items():
        head, _, name = key.partition(".")
        if head != prefix:
            continue
        if name not in known:
            raise InputError(source, key, "unknown parameter", limit=f"one of {sorted(known)}")
        m = known[name].metadata
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(source, key, "must be a number", value=value)
        # Sensitivity analyses may go beyond the plausible range, but not by more than 10x.
        span = max(abs(m["low"]), abs(m["high"]), 1e-12) * 10.0
        if not -span <= float(value) <= span:
            raise InputError(source, key, "out of range", limit=f"[{-span}, {span}]", value=value)
        changes[name] = float(value)
    return dataclasses.replace(obj, **changes) if changes else obj
