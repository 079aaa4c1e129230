"""Replay recorded ECoG (BIDS, NWB, XDF, EDF/BDF, BrainVision, FIF) as a stream of Chunks.

The readers (one module per format, openbsi.signals.readers) share a small surface: `info`,
`n_samples`, `meta`, `read(start, stop) -> channels x samples in the stream's unit (uV for
voltages)`. On top,
`ReplaySource` hands out chunks either as fast as possible (`read`, `chunks()`), or in real
time (`pull()` returns what is due by the wall clock, like an LSL inlet that is drained;
`chunks(realtime=True)` sleeps between chunks). Clock and sleep are injectable for tests.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from openbsi.signals.readers import SUFFIXES, Reader, open_reader
from openbsi.signals.readers.mne_raw import SUFFIXES as MNE_SUFFIXES
from openbsi.signals.readers.mne_raw import MneReader
from openbsi.signals.readers.nwb import NwbReader
from openbsi.signals.readers.xdf import XdfReader
from openbsi.signals.types import Chunk, StreamInfo

__all__ = [
    "MNE_SUFFIXES",
    "SUFFIXES",
    "MneReader",
    "NwbReader",
    "Reader",
    "ReplaySource",
    "XdfReader",
    "open_reader",
    "replay_chunks",
]


class ReplaySource:
    """Chunks of a recording, as fast as possible or paced by the (injectable) clock.

    speed: real-time factor for paced replay (2.0 = twice as fast as recorded).
    start_s / stop_s: the part of the recording to replay.
    channels: names to replay, in this order (default: every data channel of the file).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        stream: str | None = None,
        speed: float = 1.0,
        start_s: float = 0.0,
        stop_s: float | None = None,
        clock_ns: Callable[[], int] = time.monotonic_ns,
        channels: tuple[str, ...] | None = None,
    ) -> None:
        if not (math.isfinite(speed) and 0.01 <= speed <= 1000):
            raise ValueError(f"speed must be in [0.01, 1000] x real time, got {speed}")
        self._reader = open_reader(path, stream)
        self.info = self._reader.info
        self._picks: list[int] | None = None
        if channels is not None:
            names = self.info.channel_names
            missing = [c for c in channels if c not in names]
            problem = None
            if missing:
                problem = f"{path} lacks the channels {missing[:10]} (it has {list(names)[:20]})"
            elif not channels or len(set(channels)) != len(channels):
                problem = f"channels must be distinct names, got {list(channels)[:20]}"
            if problem is not None:
                self._reader.close()
                raise ValueError(problem)
            self._picks = [names.index(c) for c in channels]
            self.info = StreamInfo(
                self.info.name, self.info.sfreq_hz, tuple(channels), self.info.unit
            )
        sfreq = self.info.sfreq_hz
        total = self._reader.n_samples
        first = round(start_s * sfreq)
        last = total if stop_s is None else min(total, round(stop_s * sfreq))
        if not 0 <= first < max(last, 1) or (stop_s is not None and stop_s <= start_s):
            self._reader.close()
            raise ValueError(
                f"start_s/stop_s must select a part of [0, {total / sfreq:g}] s, "
                f"got start_s={start_s}, stop_s={stop_s}"
            )
        self.speed = speed
        self.clock_ns = clock_ns
        self._first = first
        self._stop = last
        self._position = first
        self._started_ns: int | None = None

    @property
    def n_samples(self) -> int:
        """Samples this replay will hand out in total."""
        return self._stop - self._first

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.info.sfreq_hz

    @property
    def samples_read(self) -> int:
        return self._position - self._first

    @property
    def exhausted(self) -> bool:
        return self._position >= self._stop

    def _chunk(self, n: int, t_ns: int) -> Chunk:
        stop = min(self._stop, self._position + max(0, n))
        if stop <= self._position:
            data = np.zeros((self.info.n_channels, 0))
        else:
            data = self._reader.read(self._position, stop)
            if self._picks is not None:
                data = data[self._picks]
        chunk = Chunk(data=data, first_sample=self._position - self._first, t_ns=t_ns)
        self._position = stop
        return chunk

    def read(self, n_samples: int) -> Chunk:
        """The next n_samples (fewer at the end), as fast as possible."""
        if n_samples < 0:
            raise ValueError(f"n_samples must be >= 0, got {n_samples}")
        return self._chunk(n_samples, self.clock_ns())

    def start(self) -> None:
        """Start the replay clock (done by the first pull() if not called)."""
        self._started_ns = self.clock_ns()

    def due_samples(self, now_ns: int) -> int:
        """Samples due (from the start of the replay) at `now_ns` on the replay clock."""
        if self._started_ns is None:
            return 0
        elapsed_s = (now_ns - self._started_ns) / 1e9 * self.speed
        return min(self.n_samples, math.floor(elapsed_s * self.info.sfreq_hz + 1e-9))

    def pull(self) -> Chunk:
        """Real time: every sample due since the last pull (as a drained LSL inlet would)."""
        if self._started_ns is None:
            self.start()
        now_ns = self.clock_ns()
        return self._chunk(self.due_samples(now_ns) - self.samples_read, now_ns)

    def chunks(
        self,
        chunk_samples: int,
        *,
        realtime: bool = False,
        sleep_s: Callable[[float], None] = time.sleep,
    ) -> Iterator[Chunk]:
        """Chunks of `chunk_samples` until the end; paced by the clock if `realtime`."""
        if chunk_samples < 1:
            raise ValueError(f"chunk_samples must be >= 1, got {chunk_samples}")
        if realtime and self._started_ns is None:
            self.start()
        while not self.exhausted:
            if realtime:
                target = min(self.n_samples, self.samples_read + chunk_samples)
                assert self._started_ns is not None
                due_ns = self._started_ns + math.ceil(
                    target / self.info.sfreq_hz / self.speed * 1e9
                )
                wait_ns = due_ns - self.clock_ns()
                if wait_ns > 0:
                    sleep_s(wait_ns / 1e9)
            yield self.read(chunk_samples)

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> ReplaySource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def replay_chunks(
    path: str | Path,
    chunk_s: float = 0.1,
    *,
    realtime: bool = False,
    speed: float = 1.0,
    stream: str | None = None,
) -> Iterator[Chunk]:
    """Iterate a recording in chunks of `chunk_s` seconds (real time or as fast as possible)."""
    with ReplaySource(path, stream=stream, speed=speed) as source:
        n = max(1, round(chunk_s * source.info.sfreq_hz))
        yield from source.chunks(n, realtime=realtime)
