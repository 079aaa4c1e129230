"""Where a session's ECoG comes from: the virtual patient, an LSL stream or a replayed file.

Every source offers `info`, `pull() -> Chunk` (everything new since the last pull, possibly
nothing) and `close()`. Sources are named on the command line as `virtual`, `lsl:NAME` or
`replay:FILE`.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Protocol

from openbsi.patient.virtual import VirtualPatient
from openbsi.runtime.clock import Clock
from openbsi.signals import Chunk, StreamInfo

SOURCE_KINDS = ("virtual", "lsl:NAME", "replay:FILE")


class Source(Protocol):
    info: StreamInfo

    def pull(self) -> Chunk: ...

    def close(self) -> None: ...


class VirtualSource:
    """The virtual patient's ECoG on a sample clock.

    `read_until(t_s)` reads as fast as asked (calibration, simulated runs); `pull()` hands out
    the samples due on `clock` since `start()` (live), continuing the same sample clock.
    """

    def __init__(self, patient: VirtualPatient, clock: Clock | None = None) -> None:
        self.patient = patient
        self.info = patient.info
        self.sfreq_hz = patient.info.sfreq_hz
        self.clock = clock
        self.n_read = 0
        self._start_ns: int | None = None
        self._start_s = 0.0

    @property
    def t_s(self) -> float:
        return self.n_read / self.sfreq_hz

    def read_until(self, t_s: float) -> Chunk:
        n_due = math.floor(t_s * self.sfreq_hz + 1e-9)
        data = self.patient.read_ecog(max(0, n_due - self.n_read))
        chunk = Chunk(data=data, first_sample=self.n_read, t_ns=time.monotonic_ns())
        self.n_read = max(self.n_read, n_due)
        return chunk

    def start(self) -> None:
        """Start live pulling: from now on the samples follow `clock`."""
        if self.clock is None:
            raise ValueError("clock must be given to pull live from the virtual patient")
        self._start_ns = self.clock.now_ns()
        self._start_s = self.t_s

    def pull(self) -> Chunk:
        if self._start_ns is None:
            self.start()
        assert self.clock is not None and self._start_ns is not None
        elapsed_s = max(0.0, (self.clock.now_ns() - self._start_ns) / 1e9)
        return self.read_until(self._start_s + elapsed_s)

    def close(self) -> None:
        pass


def open_source(spec: str, *, clock: Clock, patient: VirtualPatient | None) -> Source:
    """Open `virtual`, `lsl:NAME` or `replay:FILE` (a clear error for anything else)."""
    kind, _, arg = spec.partition(":")
    if kind == "virtual" and not arg:
        if patient is None:
            raise ValueError("--source virtual needs the virtual patient")
        return VirtualSource(patient, clock)
    if kind == "lsl" and arg:
        from openbsi.signals.lsl import LslSource

        return LslSource(arg)
    if kind == "replay" and arg:
        from openbsi.signals.replay import ReplaySource

        path = Path(arg)
        if not path.exists():
            raise ValueError(f"--source replay: file {path} does not exist")
        return ReplaySource(path, clock_ns=clock.now_ns)
    raise ValueError(f"--source must be one of {SOURCE_KINDS}, got {spec!r}")
