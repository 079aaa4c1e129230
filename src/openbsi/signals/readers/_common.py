"""What every reader shares: the Reader surface, size limits, units, and one-line refusals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np

from openbsi import inputs
from openbsi.inputs import InputError
from openbsi.signals.types import StreamInfo

UV_PER_V = 1e6
# Assumptions (no published figure): the largest recording file read (4 GiB) and the most
# samples x channels held in memory by read_recording (250 M values = 2 GB as float64).
MAX_FILE_BYTES = 4 * 2**30
MAX_VALUES = 250_000_000
MAX_CHANNELS = 4096  # assumption: larger than any ECoG/LFP system in the facts (2 x 64)
MAX_ANNOTATIONS = 1_000_000

# MNE channel types (and the same words in BIDS / XDF, lower case) that hold brain signals.
NEURAL_TYPES = frozenset({"ecog", "seeg", "dbs", "eeg"})
# Types that are never streamed or decoded from.
NON_DATA_TYPES = frozenset({"stim", "syst", "chpi", "exci", "ias"})


@dataclass(frozen=True)
class Annotation:
    """A labelled span on the recording's time axis (seconds from its first sample)."""

    onset_s: float
    duration_s: float
    description: str


@dataclass
class RecordingMeta:
    """What a file says about its channels and time axis besides the samples."""

    channel_types: tuple[str, ...]
    bad_channels: tuple[str, ...] = ()
    line_freq_hz: float | None = None
    annotations: tuple[Annotation, ...] = ()
    intervals: dict[str, tuple[Annotation, ...]] = field(default_factory=dict)
    format: str = ""


class Reader(Protocol):
    info: StreamInfo
    n_samples: int
    meta: RecordingMeta

    def read(self, start: int, stop: int) -> np.ndarray: ...

    def close(self) -> None: ...


def check_file(path: Path, max_bytes: int = MAX_FILE_BYTES) -> None:
    """A regular file no larger than max_bytes, or an InputError naming it."""
    inputs.check_file(path, max_bytes=max_bytes)


def check_shape(path: Path, n_channels: int, n_samples: int, sfreq_hz: float) -> None:
    """Bounded channel count, sample count and a plausible sampling rate."""
    if not 1 <= n_channels <= MAX_CHANNELS:
        raise InputError(
            str(path),
            "channels",
            "count out of range",
            limit=f"[1, {MAX_CHANNELS}]",
            value=n_channels,
        )
    if n_samples < 1 or n_samples * n_channels > MAX_VALUES:
        raise InputError(
            str(path),
            "samples",
            "count out of range",
            limit=f"[1, {MAX_VALUES // n_channels}] at {n_channels} channels",
            value=n_samples,
        )
    if not (np.isfinite(sfreq_hz) and 1.0 <= sfreq_hz <= 100_000.0):
        raise InputError(
            str(path), "sampling rate", "out of range", limit="[1, 100000] Hz", value=sfreq_hz
        )


T = TypeVar("T")


def guarded(path: Path, what: str, build: Callable[[], T]) -> T:
    """Run a third-party reader; any failure becomes one line naming the file."""
    try:
        return build()
    except InputError:
        raise
    except MemoryError:
        raise InputError(str(path), "file", f"too large to read as {what}") from None
    except Exception as error:  # a corrupt file may raise anything inside a library
        text = " ".join(str(error).split())[:160] or type(error).__name__
        raise InputError(str(path), "file", f"cannot be read as {what}: {text}") from None


def unique_names(names: list[str], path: Path) -> tuple[str, ...]:
    """Channel names must be unique and non-empty (the model keys on them)."""
    if len(set(names)) != len(names) or any(not n for n in names):
        raise InputError(
            str(path), "channel names", "must be unique and non-empty", value=names[:8]
        )
    return tuple(names)
