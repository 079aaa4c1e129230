"""SHA-256 digests of the event streams and the session seal.

The ECoG hash chain (hash_chain.py) protects the samples; these digests protect what the loop
decided and did. Each stream is hashed record by record, in recording order, over a canonical
form that the log and the NWB file both reproduce exactly:
- JSON events (intent, phase, decode, stim_command, safety_event, latency, gait_event): the
  event dict as canonical JSON (sorted keys; latency stamps of -1, i.e. "hop not taken", left
  out);
- pulses: one running hash per column over its little-endian bytes (batch boundaries do not
  matter, so the concatenated NWB columns give the same digest).
- summaries (link and safety figures): canonical JSON of the final {name: values} dict.
Not covered: kinematics and the electrode layout (context, not decisions).

seal = SHA-256("openbsi-seal-v1" + ECoG chain head + each stream's name and digest): publish it
at the end of a session and an outsider can confirm that neither samples nor decisions changed.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from openbsi.store.session_data import SessionData

EVENT_STREAMS = (
    "intents",
    "phases",
    "decodes",
    "stim_commands",
    "safety_events",
    "latency",
    "gait_events",
)
PULSE_COLUMNS = (
    ("t_s", "<f8"),
    ("electrode", "<i4"),
    ("amplitude_ma", "<f8"),
    ("pulse_width_us", "<f8"),
)


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
        return out


def digests_of(data: SessionData) -> dict[str, str]:
    """Digests recomputed from a loaded session (log or NWB)."""
    digests = StreamDigests()
    for stream in EVENT_STREAMS:
        for event in getattr(data, stream):
            digests.event(stream, event)
    digests.pulses({name: getattr(data.pulses, name) for name, _ in PULSE_COLUMNS})
    digests.summaries = dict(data.summaries)
    return digests.hexdigests()


def seal(chain_head_hex: str, digests: dict[str, str]) -> str:
    """The one value that pins a whole recording."""
    h = hashlib.sha256(b"openbsi-seal-v1:" + bytes.fromhex(chain_head_hex))
    for name in sorted(digests):
        h.update(f"{name}={digests[name]};".encode())
    return h.hexdigest()
