"""Everything one session recorded, in plain Python and numpy (what read_log returns)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from openbsi.signals.types import StreamInfo


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
    dict per event with the keys of the SessionRecorder method that wrote it.
    """

    info: StreamInfo
    session_id: str
    start_time: str  # ISO 8601, UTC, wall clock when the recorder was created
    description: str = ""
    meta: dict = field(default_factory=dict)
    ecog: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype="f4"))
    n_ecog_samples: int = 0  # samples recorded (also when ecog was not loaded into memory)
    ecog_source: Path | None = None  # the log the samples can be streamed from (load_ecog=False)
    ecog_chunks: EcogChunks = field(default_factory=EcogChunks)
    chain_genesis: str = ""
    chain_head: str = ""  # hex of the last link (== chain_genesis when no chunk was recorded)
    digests: dict[str, str] = field(default_factory=dict)  # per event stream (digests.py)
    seal: str = ""  # chain head + digests in one value (digests.seal)
    intents: list[dict] = field(default_factory=list)
    phases: list[dict] = field(default_factory=list)
    decodes: list[dict] = field(default_factory=list)
    stim_commands: list[dict] = field(default_factory=list)
    safety_events: list[dict] = field(default_factory=list)
    pulses: Pulses = field(default_factory=Pulses)
    latency: list[dict] = field(default_factory=list)
    gait_events: list[dict] = field(default_factory=list)
    kinematics: dict[str, np.ndarray] = field(default_factory=dict)  # "t_s" + one per column
    stim_electrodes: list[dict] = field(default_factory=list)
    summaries: dict[str, dict] = field(default_factory=dict)  # name -> figures (last one wins)
    closed: bool = False  # the recorder reached close() (False after a crash)
    dropped_records: int = 0  # records the writer could not store (write errors)
    problems: list[str] = field(default_factory=list)  # integrity: torn tail, lost records
    warnings: list[str] = field(default_factory=list)  # not integrity: e.g. ECoG timing gaps

    @property
    def duration_s(self) -> float:
        """Seconds of ECoG recorded (samples / rate)."""
        return float(max(self.n_ecog_samples, self.ecog.shape[0]) / self.info.sfreq_hz)
