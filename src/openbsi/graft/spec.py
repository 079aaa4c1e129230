"""Versioned release specifications (YAML): criteria as data, checked in one place."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openbsi.inputs import InputError, load_yaml, mapping, number, sequence, string

DEFAULT_SPEC = Path(__file__).with_name("specs") / "keio-seed002-v1.yaml"
OPS = (">=", "<=", "==", "within")
_SIMPLE_MEASURES = {
    "harvest_day": "number",
    "cells_available": "number",
    "karyotype.normal_fraction": "number",
    "karyotype.tetraploid_fraction": "number",
    "karyotype.clonal_abnormality": "bool",
    "sterility.result": "text",
    "mycoplasma.result": "text",
    "endotoxin.eu_per_ml": "number",
    "viability.percent": "number",
    "ephys.na_present": "bool",
    "ephys.k_present": "bool",
    "ephys.fires_action_potentials": "bool",
}
_PATTERN_MEASURES = {  # measure prefix -> the kind of its value
    "flow_fraction:": "number",
    "qpcr_dct:": "number",
    "qpcr_ddct:": "number",
}
_NAME = re.compile(r"^[A-Za-z0-9_.+\-/]{1,64}$")


@dataclass(frozen=True)
class Criterion:
    name: str
    measure: str
    op: str
    limit: Any  # number, bool, text, or [low, high] for "within"
    source: str
    statistic: str = "estimate"  # flow only: "estimate" or "ci_bound" (the conservative bound)
    specialised_media: tuple[str, ...] = ()
    specialised_limit: tuple[float, float] | None = None

    def passes(self, value: Any) -> bool:
        """True only for a present value meeting the limit (None is never a pass)."""
        if value is None:
            return False
        if self.op == "within":
            low, high = self.limit
            return bool(low <= value <= high)
        if self.op == "==":
            return value == self.limit
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return bool(value >= self.limit) if self.op == ">=" else bool(value <= self.limit)


@dataclass(frozen=True)
class ReleaseSpec:
    source: Path
    name: str
    version: str
    description: str
    criteria: tuple[Criterion, ...]


def _kind_of(measure: str, source: str, where: str) -> str:
    if measure in _SIMPLE_MEASURES:
        return _SIMPLE_MEASURES[measure]
    for prefix, kind in _PATTERN_MEASURES.items():
        if measure.startswith(prefix) and _NAME.match(measure[len(prefix) :]):
            return kind
    raise InputError(
        source,
        where,
        "unknown measure",
        limit=f"{sorted(_SIMPLE_MEASURES)} or {sorted(_PATTERN_MEASURES)}<NAME>",
        value=measure,
    )


def _window(value: Any, source: str, where: str) -> tuple[float, float]:
    pair = sequence(value, source=source, field=where, max_len=2)
    if len(pair) != 2:
        raise InputError(source, where, "must be [low, high]", value=pair)
    low = number(pair[0], source=source, field=f"{where}[0]", low=0, high=1e12)
    high = number(pair[1], source=source, field=f"{where}[1]", low=low, high=1e12)
    return float(low), float(high)


def load_spec(path: str | os.PathLike[str] | None = None) -> ReleaseSpec:
    """Read a release spec (the packaged default when `path` is None)."""
    path = Path(path) if path is not None else DEFAULT_SPEC
    source = str(path)
    raw = mapping(
        load_yaml(path, source=source),
        source=source,
        field="",
        allowed=("spec", "version", "description", "criteria"),
        required=("spec", "version", "criteria"),
    )
    criteria = []
    for k, item in enumerate(
        sequence(raw["criteria"], source=source, field="criteria", max_len=200)
    ):
        where = f"criteria[{k}]"
        item = mapping(
            item,
            source=source,
            field=where,
            allowed=(
                "name",
                "measure",
                "op",
                "limit",
                "source",
                "statistic",
                "specialised_media",
                "specialised_limit",
            ),
            required=("name", "measure", "op", "limit", "source"),
        )
        name = string(item["name"], source=source, field=f"{where}.name", max_len=64)
        measure = string(item["measure"], source=source, field=f"{where}.measure", max_len=96)
        kind = _kind_of(measure, source, f"{where}.measure")
        op = string(item["op"], source=source, field=f"{where}.op", choices=OPS)
        limit = item["limit"]
        if op == "within":
            limit = _window(limit, source, f"{where}.limit")
        elif kind == "number":
            if op == "==":
                raise InputError(
                    source, f"{where}.op", "numbers compare with >=, <= or within", value=op
                )
            limit = float(
                number(limit, source=source, field=f"{where}.limit", low=-1e12, high=1e12)
            )
        elif kind == "bool":
            if op != "==" or not isinstance(limit, bool):
                raise InputError(
                    source,
                    f"{where}.limit",
                    "a yes/no measure needs op == and true/false",
                    value=limit,
                )
        else:
            if op != "==":
                raise InputError(source, f"{where}.op", "a text measure needs ==", value=op)
            limit = string(limit, source=source, field=f"{where}.limit", max_len=64)
        statistic = string(
            item.get("statistic", "estimate"),
            source=source,
            field=f"{where}.statistic",
            choices=("estimate", "ci_bound"),
        )
        media = tuple(
            string(m, source=source, field=f"{where}.specialised_media")
            for m in sequence(
                item.get("specialised_media", []),
                source=source,
                field=f"{where}.specialised_media",
                max_len=32,
            )
        )
        special = (
            _window(item["specialised_limit"], source, f"{where}.specialised_limit")
            if "specialised_limit" in item
            else None
        )
        criteria.append(
            Criterion(
                name=name,
                measure=measure,
                op=op,
                limit=limit,
                source=string(item["source"], source=source, field=f"{where}.source", max_len=512),
                statistic=statistic,
                specialised_media=media,
                specialised_limit=special,
            )
        )
    names = [c.name for c in criteria]
    if len(set(names)) != len(names):
        raise InputError(source, "criteria", "criterion names must be unique", value=names)
    version = raw["version"]
    return ReleaseSpec(
        source=path,
        name=string(raw["spec"], source=source, field="spec", max_len=64),
        version=string(version, source=source, field="version", max_len=32),
        description=string(
            raw.get("description", ""), source=source, field="description", max_len=2_000
        ),
        criteria=tuple(criteria),
    )
