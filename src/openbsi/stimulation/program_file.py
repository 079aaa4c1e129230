"""The hardened loader of stimulation program files (YAML, schema in docs/programs.md).

Built on openbsi.inputs: a size limit, strict YAML (duplicate keys, anchors, aliases and tags
refused: a duplicated `states:` can no longer silently replace a program), every field checked
with a bound, and every failure an InputError naming the file, the field, the limit and the
value. The bounds here are the schema's (what any program file may hold); the device's limits
are checked afterwards by openbsi.safety.program_check.validate_program.
"""

from __future__ import annotations

import os
from typing import Any

from openbsi.inputs import InputError, load_yaml, mapping, number, sequence, string
from openbsi.states import STATES
from openbsi.stimulation.layouts import NODE_ROOTS, NodeSite
from openbsi.stimulation.program import BACKEND_KINDS, SCHEMA_VERSION, Program, StimStep

MAX_PROGRAM_BYTES = 256_000  # the walking program is ~5 kB
# Assumptions (no published figure): what a stimulator's program memory could hold, generous.
MAX_STEPS_PER_STATE = 64
MAX_ELECTRODES_PER_STEP = 32
MAX_ELECTRODE_INDEX = 1023
MAX_TIME_MS = 600_000.0  # onsets, durations and periods within 10 minutes of a state's start
MIN_PERIOD_MS = 1.0
# Schema bounds: physically meaningful ranges, far above any device's (validate_program checks
# those): amplitudes to 250 mA (above the surface profile's 120 mA and the 10-200 mA one
# transcutaneous trial allows, facts.md), pulse widths and gaps to 10 ms, rates to 10 kHz.
NUMBER_BOUNDS = {
    "amplitude_ma": (0.0, 250.0),
    "pulse_width_us": (0.0, 10_000.0),
    "frequency_hz": (0.0, 10_000.0),
    "interphase_gap_us": (0.0, 10_000.0),
    "onset_ms": (0.0, MAX_TIME_MS),
    "duration_ms": (0.0, MAX_TIME_MS),
    "period_ms": (MIN_PERIOD_MS, MAX_TIME_MS),
}
STEP_KEYS = (
    "electrodes",
    "amplitude_ma",
    "pulse_width_us",
    "frequency_hz",
    "onset_ms",
    "duration_ms",
    "interphase_gap_us",
    "period_ms",
    "scaled",
)
TOP_KEYS = (
    "schema_version",
    "name",
    "backend",
    "description",
    "min_amplitude_fraction",
    "states",
    "state_set",
    "layout",
)
MAX_STATES = 64
MAX_NODES = 16  # as layouts.sited_layout
# A planned node's numbers: the cord model's span, node_placements' depth range, a tilt up
# to perpendicular, a gap to the root from touching to 10 mm (schema bounds, not a device's).
SITE_BOUNDS = {
    "y_mm": (0.0, 80.0),
    "depth_mm": (0.0, 200.0),
    "lateral_offset_mm": (0.0, 200.0),
    "misalignment_deg": (0.0, 90.0),
    "root_gap_mm": (0.1, 10.0),
}
SITE_DEFAULTS = {"lateral_offset_mm": 0.0, "misalignment_deg": 0.0, "root_gap_mm": 1.0}


def _step(data: Any, source: str, where: str) -> StimStep:
    mapping(
        data,
        source=source,
        field=where,
        allowed=STEP_KEYS,
        required=("electrodes", "amplitude_ma", "pulse_width_us", "frequency_hz"),
    )
    electrodes = data["electrodes"]
    if not isinstance(electrodes, list):
        electrodes = [electrodes]
    sequence(
        electrodes, source=source, field=f"{where}.electrodes", max_len=MAX_ELECTRODES_PER_STEP
    )
    indices = tuple(
        int(
            number(
                e,
                source=source,
                field=f"{where}.electrodes[{i}]",
                low=0,
                high=MAX_ELECTRODE_INDEX,
                integer=True,
            )
        )
        for i, e in enumerate(electrodes)
    )

    def value(key: str, default: float | None) -> float | None:
        raw = data.get(key, default)
        if raw is None:
            return None
        low, high = NUMBER_BOUNDS[key]
        return float(number(raw, source=source, field=f"{where}.{key}", low=low, high=high))

    scaled = data.get("scaled", True)
    if not isinstance(scaled, bool):
        raise InputError(source, f"{where}.scaled", "must be true or false", value=scaled)
    for key in ("amplitude_ma", "pulse_width_us", "frequency_hz", "onset_ms", "interphase_gap_us"):
        if key in data and data[key] is None:
            raise InputError(source, f"{where}.{key}", "must be a number", value=None)
    return StimStep(
        electrodes=indices,
        amplitude_ma=value("amplitude_ma", None),  # type: ignore[arg-type]
        pulse_width_us=value("pulse_width_us", None),  # type: ignore[arg-type]
        frequency_hz=value("frequency_hz", None),  # type: ignore[arg-type]
        onset_ms=value("onset_ms", 0.0),  # type: ignore[arg-type]
        duration_ms=value("duration_ms", None),
        interphase_gap_us=value("interphase_gap_us", 20.0),  # type: ignore[arg-type]
        period_ms=value("period_ms", None),
        scaled=scaled,
    )


def program_from_data(data: Any, *, source: str = "<program>") -> Program:
    """A Program from parsed YAML; an InputError naming the field otherwise."""
    mapping(data, source=source, field="", allowed=TOP_KEYS, required=("name", "backend", "states"))
    version = data.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise InputError(
            source, "schema_version", "unsupported", limit=SCHEMA_VERSION, value=version
        )
    name = string(data["name"], source=source, field="name", max_len=128)
    backend = string(data["backend"], source=source, field="backend", choices=BACKEND_KINDS)
    description = data.get("description", "")
    description = "" if description is None else description
    description = string(description, source=source, field="description", max_len=4000)
    fraction = number(
        data.get("min_amplitude_fraction", 0.3),
        source=source,
        field="min_amplitude_fraction",
        low=0.0,
        high=1.0,
    )
    state_set = _state_set(data.get("state_set"), source)
    states_data = mapping(data["states"], source=source, field="states", allowed=state_set)
    states: dict[str, tuple[StimStep, ...]] = {}
    for state, steps in states_data.items():
        steps = [] if steps is None else steps
        sequence(steps, source=source, field=f"states.{state}", max_len=MAX_STEPS_PER_STATE)
        states[state] = tuple(
            _step(step, source, f"states.{state}[{i}]") for i, step in enumerate(steps)
        )
    sites = _sites(data.get("layout"), source)
    if sites and backend != "nodes":
        raise InputError(source, "layout", "only a nodes program names a layout", value=backend)
    return Program(
        name=name,
        backend=backend,
        states=states,
        min_amplitude_fraction=float(fraction),
        description=description,
        state_set=state_set,
        node_sites=sites,
    )


def _sites(value: Any, source: str) -> tuple[NodeSite, ...]:
    """The optional planned node layout (`layout:`; electrode index = position in the list)."""
    if value is None:
        return ()
    items = sequence(value, source=source, field="layout", max_len=MAX_NODES)
    sites = []
    for i, item in enumerate(items):
        where = f"layout[{i}]"
        mapping(
            item,
            source=source,
            field=where,
            allowed=("id", "side", "root", *SITE_BOUNDS),
            required=("id", "side", "root", "y_mm", "depth_mm"),
        )
        numbers = {
            key: float(
                number(
                    item.get(key, SITE_DEFAULTS.get(key)),
                    source=source,
                    field=f"{where}.{key}",
                    low=low,
                    high=high,
                )
            )
            for key, (low, high) in SITE_BOUNDS.items()
        }
        sites.append(
            NodeSite(
                node_id=string(item["id"], source=source, field=f"{where}.id", max_len=32),
                side=string(
                    item["side"], source=source, field=f"{where}.side", choices=("left", "right")
                ),
                root=string(item["root"], source=source, field=f"{where}.root", choices=NODE_ROOTS),
                **numbers,
            )
        )
    ids = [site.node_id for site in sites]
    if len(set(ids)) != len(ids):
        raise InputError(source, "layout", "node ids must be unique", value=ids)
    return tuple(sites)


def _state_set(value: Any, source: str) -> tuple[str, ...]:
    """The program's optional `state_set` (names, rest first; default the seven leg states)."""
    if value is None:
        return STATES
    names = sequence(value, source=source, field="state_set", max_len=MAX_STATES)
    checked = tuple(
        string(name, source=source, field=f"state_set[{i}]", max_len=64)
        for i, name in enumerate(names)
    )
    if len(checked) < 2 or len(set(checked)) != len(checked) or checked[0] != "rest":
        raise InputError(
            source, "state_set", "must be 2-64 distinct names, rest first", value=list(checked)
        )
    return checked


def load_program_file(path: str | os.PathLike[str]) -> Program:
    """Read and check a program file; an InputError (one line) on anything wrong with it."""
    source = str(path)
    data = load_yaml(path, source=source, max_bytes=MAX_PROGRAM_BYTES)
    return program_from_data(data, source=source)
