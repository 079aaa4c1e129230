"""ECoG as runs of samples without a break, each on the session clock at the stream's rate.

A chunk opens a new segment when its session time is off its segment's sample clock (first
chunk's time + samples since / rate) by more than one sample: a gap, a reconnect, a start-up
backlog placed before the live samples, or time running backwards. Within a segment every
sample is at start_s + i / rate to within one sample; segments are never joined.

NWB holds one ElectricalSeries per segment (`series_name`), all on the same electrodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

SERIES = "ECoG"  # the only series when the recording has no break
TOLERANCE_SAMPLES = 1.0  # a chunk further off its segment's sample clock opens a new segment


@dataclass(frozen=True)
class EcogSegment:
    """Chunks [first_chunk, first_chunk + n_chunks) and their samples, counted over all segments
    in order (first_sample), starting at session time start_s."""

    index: int
    first_chunk: int
    n_chunks: int
    first_sample: int
    n_samples: int
    start_s: float
    sfreq_hz: float

    @property
    def stop_s(self) -> float:
        """Session time one sample past the last."""
        return self.start_s + self.n_samples / self.sfreq_hz

    def as_dict(self) -> dict[str, float | int]:
        return {
            "start_s": round(self.start_s, 9),
            "stop_s": round(self.stop_s, 9),
            "n_samples": self.n_samples,
            "first_chunk": self.first_chunk,
            "n_chunks": self.n_chunks,
        }


def segment_starts(t_s: np.ndarray, n_samples: np.ndarray, sfreq_hz: float) -> np.ndarray:
    """Indices of the chunks that open a segment (chunk 0 always does when there is one)."""
    t_s = np.asarray(t_s, dtype="f8")
    counts = np.asarray(n_samples, dtype="i8")
    starts = [0] if t_s.size else []
    seg_t0, seg_n = (float(t_s[0]), 0) if t_s.size else (0.0, 0)
    for k in range(t_s.size):
        if k and abs(t_s[k] - (seg_t0 + seg_n / sfreq_hz)) > TOLERANCE_SAMPLES / sfreq_hz:
            starts.append(k)
            seg_t0, seg_n = float(t_s[k]), 0
        seg_n += int(counts[k])
    return np.asarray(starts, dtype="i8")


def segments_of(t_s: np.ndarray, n_samples: np.ndarray, sfreq_hz: float) -> list[EcogSegment]:
    """The segments of a chunk table (t_s and n_samples per chunk, in recording order)."""
    counts = np.asarray(n_samples, dtype="i8")
    starts = segment_starts(t_s, counts, sfreq_hz)
    bounds = [*starts.tolist(), int(counts.size)]
    firsts = np.concatenate([[0], np.cumsum(counts)]).astype("i8")
    return [
        EcogSegment(
            index=i,
            first_chunk=a,
            n_chunks=b - a,
            first_sample=int(firsts[a]),
            n_samples=int(firsts[b] - firsts[a]),
            start_s=float(t_s[a]),
            sfreq_hz=float(sfreq_hz),
        )
        for i, (a, b) in enumerate(pairwise(bounds))
    ]


def series_name(index: int, n_segments: int) -> str:
    """ "ECoG" for an unbroken recording, else "ECoG_seg<k>" (k from 0): a tool asking for
    "ECoG" in a broken recording finds nothing rather than a silently shortened series."""
    return SERIES if n_segments <= 1 else f"{SERIES}_seg{index}"


def series_names(n_segments: int) -> list[str]:
    return [series_name(i, n_segments) for i in range(max(n_segments, 1))]


def ecog_series(acquisition: dict) -> list:
    """The file's ECoG series in segment order (empty when it holds none)."""
    if SERIES in acquisition:
        return [acquisition[SERIES]]
    out = []
    while f"{SERIES}_seg{len(out)}" in acquisition:
        out.append(acquisition[f"{SERIES}_seg{len(out)}"])
    return out
