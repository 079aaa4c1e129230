"""Everything one session recorded, in plain Python and numpy (what read_log returns)."""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import overload

import numpy as np

from openbsi.signals.types import StreamInfo
from openbsi.store.ecog_segments import EcogSegment, segments_of


def _builtin(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in an event")


class EventList(Sequence[dict]):
    """A list of event dicts stored compactly as JSON text in one buffer.

    Hour-long sessions hold ~10^5 events; as Python dicts they took ~0.7 kB each, as JSON
    ~0.15 kB. Items are decoded on access (each access returns a fresh dict: mutate a dict
    before appending it, not after).
    """

    def __init__(self, events: Iterable[dict] = ()) -> None:
        self._blob = bytearray()
        self._ends = array("q")
        for event in events:
            self.append(event)

    def append(self, event: dict) -> None:
        text = json.dumps(event, separators=(",", ":"), allow_nan=True, default=_builtin)
        self.append_json(text.encode())

    def append_json(self, text: bytes) -> None:
        """Append an event already encoded as a JSON object (e.g. straight from the log)."""
        self._blob += text
        self._ends.append(len(self._blob))

    def _item(self, i: int) -> dict:
        start = self._ends[i - 1] if i else 0
        return json.loads(bytes(self._blob[start : self._ends[i]]))

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, index: int) -> dict: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict]: ...
    def __getitem__(self, index: int | slice) -> dict | list[dict]:
        if isinstance(index, slice):
            return [self._item(i) for i in range(*index.indices(len(self)))]
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"event index must be in [{-n}, {n}), got {index}")
        return self._item(index % n)

    def __iter__(self) -> Iterator[dict]:
        for i in range(len(self)):
            yield self._item(i)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"EventList({len(self)} events)"

    def columns(self, *keys: str) -> dict[str, list]:
        """Values of several keys in one pass (missing keys give None)."""
        out: dict[str, list] = {key: [] for key in keys}
        for event in self:
            for key in keys:
                out[key].append(event.get(key))
        return out


def _empty(dtype: str) -> np.ndarray:
    return np.zeros(0, dtype=dtype)


@dataclass
class EcogChunks:
    """One row per recorded ECoG chunk, with its link in the hash chain."""

    t_s: np.ndarray = field(default_factory=lambda: _empty("f8"))
    t_ns: np.ndarray = field(default_factory=lambda: _empty("i8"))
    first_sample: np.ndarray = field(default_factory=lambda: _empty("i8"))
    n_samples: np.ndarray = field(default_factory=lambda: _empty("i8"))
    sha256: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sha256)


@dataclass
class Pulses:
    """Delivered pulses, one row each (session time of onset)."""

    t_s: np.ndarray = field(default_factory=lambda: _empty("f8"))
    electrode: np.ndarray = field(default_factory=lambda: _empty("i4"))
    amplitude_ma: np.ndarray = field(default_factory=lambda: _empty("f8"))
    pulse_width_us: np.ndarray = field(default_factory=lambda: _empty("f8"))

    def __len__(self) -> int:
        return int(self.t_s.size)


@dataclass
class SessionData:
    """A session as recorded: the stream, the ECoG samples and every event.

    ecog is samples x channels (storage convention), float32 microvolts. Event lists hold one
    dict per event with the keys of the SessionRecorder method that wrote it (EventList: a
    compact sequence of dicts).
    """

    info: StreamInfo
    session_id: str
    start_time: str  # ISO 8601, UTC, wall clock when the recorder was created
    description: str = ""
    meta: dict = field(default_factory=dict)
    software_version: str = ""  # openbsi.__version__ of the recorder
    subject: dict = field(default_factory=dict)  # sealed.SUBJECT_KEYS (normalize_subject)
    study: dict = field(default_factory=dict)  # sealed.STUDY_KEYS (normalize_study)
    end_time: str = ""  # ISO 8601, UTC, when the recorder closed ("" if it never did)
    ecog: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype="f4"))
    n_ecog_samples: int = 0  # samples recorded (also when ecog was not loaded into memory)
    ecog_source: Path | None = None  # the log the samples can be streamed from (load_ecog=False)
    ecog_chunks: EcogChunks = field(default_factory=EcogChunks)
    chain_genesis: str = ""
    chain_head: str = ""  # hex of the last link (== chain_genesis when no chunk was recorded)
    digests: dict[str, str] = field(default_factory=dict)  # per event stream (digests.py)
    seal: str = ""  # chain head + digests in one value (digests.seal)
    intents: EventList = field(default_factory=EventList)
    phases: EventList = field(default_factory=EventList)
    decodes: EventList = field(default_factory=EventList)
    stim_commands: EventList = field(default_factory=EventList)
    safety_events: EventList = field(default_factory=EventList)
    pulses: Pulses = field(default_factory=Pulses)
    latency: EventList = field(default_factory=EventList)
    gait_events: EventList = field(default_factory=EventList)
    annotations: EventList = field(default_factory=EventList)  # start_s, stop_s, label
    kinematics: dict[str, np.ndarray] = field(default_factory=dict)  # "t_s" + one per column
    stim_electrodes: list[dict] = field(default_factory=list)
    summaries: dict[str, dict] = field(default_factory=dict)  # name -> figures (last one wins)
    closed: bool = False  # the recorder reached close() (False after a crash)
    dropped_records: int = 0  # records the writer could not store (write errors)
    dropped_ecog_samples: int = 0  # ECoG samples in those records
    problems: list[str] = field(default_factory=list)  # integrity: torn tail, lost records
    warnings: list[str] = field(default_factory=list)  # e.g. ECoG timing gaps (from the chunks)

    @property
    def segments(self) -> list[EcogSegment]:
        """The ECoG as runs without a break on the session clock (ecog rows first_sample..)."""
        c = self.ecog_chunks
        return segments_of(c.t_s, c.n_samples, self.info.sfreq_hz)

    @property
    def duration_s(self) -> float:
        """Seconds of ECoG recorded (samples / rate; gaps between segments not counted)."""
        return float(max(self.n_ecog_samples, self.ecog.shape[0]) / self.info.sfreq_hz)
