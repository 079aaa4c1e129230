"""NWB form of the body trace (kinematics) and the session's named figures (summaries).

Kinematics: one TimeSeries per column with its unit and a description; a regular series (times
on a fixed rate to the nanosecond) is stored with `rate` and `starting_time`, others with their
timestamps (the first series holds them, the rest link to it). Summaries: one row per figure,
its path (JSON list of keys) and value (JSON), rather than one JSON object per summary.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from pynwb import NWBFile, TimeSeries

from openbsi.store.nwb_tables import column, make_table

_UNITS = (
    ("_rad", "radians", "joint angle"),
    ("_m", "meters", "position or height"),
    ("_m_s", "meters/second", "speed"),
    ("_uv", "microvolts", "voltage"),
    ("_n", "newtons", "force"),
    ("_nm", "newton-meters", "torque"),
    ("_deg", "degrees", "angle"),
    ("_s", "seconds", "duration"),
)


def unit_of(name: str) -> tuple[str, str]:
    """(unit, what it measures) from the name's longest unit suffix; dimensionless otherwise."""
    matches = [(len(suffix), unit, what) for suffix, unit, what in _UNITS if name.endswith(suffix)]
    if not matches:
        return "n/a (dimensionless)", "value"
    _, unit, what = max(matches)
    return unit, what


def regular_rate(times: np.ndarray) -> float | None:
    """The rate when times are start + k / rate to the nanosecond, else None."""
    if times.size < 3:
        return None
    step = float(np.median(np.diff(times)))
    if not step > 0:
        return None
    rate = 1.0 / step
    rebuilt = times[0] + np.arange(times.size) / rate
    same = np.array_equal(np.round(rebuilt * 1e9), np.round(times * 1e9))
    return rate if same else None


def add_kinematics(nwb: NWBFile, kinematics: dict[str, np.ndarray]) -> None:
    if not kinematics:
        return
    module = nwb.create_processing_module("kinematics", "body trace of the (virtual) patient")
    times = np.asarray(kinematics["t_s"], dtype="f8")
    rate = regular_rate(times)
    first = None
    for name, values in kinematics.items():
        if name == "t_s":
            continue
        unit, what = unit_of(name)
        timing: dict[str, Any]
        if rate is not None:
            timing = {"rate": rate, "starting_time": float(times[0])}
        else:
            timing = {"timestamps": first if first is not None else times}
        series = TimeSeries(
            name=name.replace("/", "_"),
            data=np.asarray(values, dtype="f8"),
            unit=unit,
            description=f"{what} '{name}' of the body trace, session clock",
            **timing,
        )
        first = first or series
        module.add(series)


def read_kinematics(nwb: NWBFile) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    if "kinematics" not in nwb.processing:
        return out
    for name, series in nwb.processing["kinematics"].data_interfaces.items():
        values = np.asarray(series.data[:], dtype="f8")
        if "t_s" not in out:
            if series.timestamps is not None:
                out["t_s"] = np.asarray(series.timestamps[:], dtype="f8")
            else:
                start, rate = float(series.starting_time), float(series.rate)
                out["t_s"] = start + np.arange(values.size) / rate
        out[name] = values
    return out


def _flatten(prefix: list, value: Any, rows: list[tuple[str, str, str]], name: str) -> None:
    """One row per leaf; a list holding dicts or lists is unpacked too, its items keyed by
    index (a JSON int in the path; dict keys are always strings, so the two never clash)."""
    if isinstance(value, dict) and value:
        for key in value:
            _flatten([*prefix, str(key)], value[key], rows, name)
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        for i, item in enumerate(value):
            _flatten([*prefix, i], item, rows, name)
    else:
        rows.append((name, json.dumps(prefix), json.dumps(value, allow_nan=True)))


def add_summaries(nwb: NWBFile, summaries: dict[str, dict]) -> None:
    if not summaries:
        return
    rows: list[tuple[str, str, str]] = []
    for name, values in summaries.items():
        _flatten([], values, rows, name)
    module = nwb.create_processing_module("session", "figures the session loop reported")
    module.add(
        make_table(
            "summaries",
            "named figures, copied into metrics.json: one row per figure",
            [
                ("summary", [r[0] for r in rows], "metrics.json key"),
                ("path", [r[1] for r in rows], "JSON list of keys inside the summary"),
                ("value", [r[2] for r in rows], "the figure as JSON"),
            ],
        )
    )


def read_summaries(nwb: NWBFile) -> dict[str, dict]:
    module = nwb.processing.get("session")
    if module is None or "summaries" not in module.data_interfaces:
        return {}
    table = nwb.processing["session"]["summaries"]
    out: dict[str, Any] = {}
    for name, path, value in zip(
        column(table, "summary", "str"),
        column(table, "path", "str"),
        column(table, "value", "str"),
        strict=True,
    ):
        keys = json.loads(path)
        target = out.setdefault(name, {})
        if not keys:
            out[name] = json.loads(value)
            continue
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = json.loads(value)
    return {name: _lists(values) for name, values in out.items()}


def _lists(value: Any) -> Any:
    """Dicts keyed by list indices (ints, from _flatten) back into lists."""
    if not isinstance(value, dict):
        return value
    items = {k: _lists(v) for k, v in value.items()}
    if items and all(isinstance(k, int) for k in items):
        return [items[i] for i in range(len(items))]
    return items
