"""SHA-256 digests of a recording's parts (what they are: sealed.py) and the session seal.

The ECoG hash chain (hash_chain.py) protects the samples; these digests protect everything else.
Each event stream is hashed record by record, in recording order, over a canonical form that the
log and the NWB file both reproduce exactly:
- JSON events (intent, phase, decode, stim_command, safety_event, latency, gait_event,
  annotation): the event dict as canonical JSON (sorted keys; latency stamps of -1, i.e. "hop
  not taken", left out);
- pulses: one running hash per column over its little-endian bytes (batch boundaries do not
  matter, so the concatenated NWB columns give the same digest);
- summaries (link and safety figures): canonical JSON of the final {name: values} dict;
- header, kinematics, stimulation electrodes and the log's status: sealed.py.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from openbsi.store.sealed import (
    KinematicsDigest,
    canonical_stim_electrodes,
    header_of,
    json_digest,
    kinematics_digest,
    seal,
    status_of,
)

EVENT_STREAMS = (
    "intents",
    "phases",
    "decodes",
    "stim_commands",
    "safety_events",
    "latency",
    "gait_events",
    "annotations",
)
PULSE_COLUMNS = (
    ("t_s", "<f8"),
    ("electrode", "<i4"),
    ("amplitude_ma", "<f8"),
    ("pulse_width_us", "<f8"),
)
STATUS_PART = "status"

__all__ = ["EVENT_STREAMS", "PULSE_COLUMNS", "StreamDigests", "content_digests", "digests_of"]
__all__ += ["seal"]


def canonical(stream: str, event: dict) -> bytes:
    """The bytes hashed for one event."""
    if stream == "latency":
        stamps = {k: int(v) for k, v in event["stamps_ns"].items() if int(v) >= 0}
        event = {"tick": int(event["tick"]), "stamps_ns": stamps}
    return json.dumps(event, sort_keys=True, separators=(",", ":"), allow_nan=True).encode()


class StreamDigests:
    """Running digests, updated as records are written (or read back)."""

    def __init__(self) -> None:
        self._events = {name: hashlib.sha256(name.encode()) for name in EVENT_STREAMS}
        self._pulses = {
            name: hashlib.sha256(f"pulses.{name}".encode()) for name, _ in PULSE_COLUMNS
        }
        self.summaries: dict[str, dict] = {}
        self.header: dict[str, Any] = {}
        self.stim_electrodes: list[dict] = []
        self.kinematics = KinematicsDigest()
        self.status: dict[str, Any] | None = None

    def event(self, stream: str, fields: dict) -> None:
        self._events[stream].update(canonical(stream, fields))

    def pulses(self, columns: dict[str, np.ndarray]) -> None:
        for name, dtype in PULSE_COLUMNS:
            self._pulses[name].update(np.ascontiguousarray(columns[name], dtype=dtype).tobytes())

    def hexdigests(self) -> dict[str, str]:
        out = {name: h.hexdigest() for name, h in self._events.items()}
        out |= {f"pulses.{name}": h.hexdigest() for name, h in self._pulses.items()}
        text = json.dumps(self.summaries, sort_keys=True, separators=(",", ":"), allow_nan=True)
        out["summaries"] = hashlib.sha256(b"summaries" + text.encode()).hexdigest()
        out["header"] = json_digest("header", self.header)
        out["kinematics"] = self.kinematics.hexdigest()
        out["stim_electrodes"] = json_digest(
            "stim_electrodes", canonical_stim_electrodes(self.stim_electrodes)
        )
        if self.status is not None:
            out[STATUS_PART] = json_digest(STATUS_PART, self.status)
        return out


def content_digests(data: Any) -> dict[str, str]:
    """Every part's digest but the log's status, recomputed from a loaded session."""
    digests = StreamDigests()
    for stream in EVENT_STREAMS:
        for event in getattr(data, stream):
            digests.event(stream, event)
    digests.pulses({name: getattr(data.pulses, name) for name, _ in PULSE_COLUMNS})
    digests.summaries = dict(data.summaries)
    digests.header = header_of(data)
    digests.stim_electrodes = list(data.stim_electrodes)
    out = digests.hexdigests()
    out["kinematics"] = kinematics_digest(data.kinematics)
    return out


def digests_of(data: Any) -> dict[str, str]:
    """Every sealed part's digest, recomputed from a loaded session (log or NWB)."""
    return content_digests(data) | {STATUS_PART: json_digest(STATUS_PART, status_of(data))}
