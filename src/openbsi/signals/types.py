"""What a source hands to the loop: a stream description and chunks of samples."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class StreamInfo:
    """Description of a multichannel stream (one per source)."""

    name: str
    sfreq_hz: float
    channel_names: tuple[str, ...]
    unit: str = "uV"
    # Per-channel metadata a recorder keeps (e.g. {"group": "left", "x_mm": 4.0, ...}).
    channel_meta: tuple[dict, ...] = field(default=())

    def __post_init__(self) -> None:
        if not np.isfinite(self.sfreq_hz) or self.sfreq_hz <= 0:
            raise ValueError(f"sfreq_hz must be a positive finite number, got {self.sfreq_hz}")
        if len(self.channel_names) == 0:
            raise ValueError("channel_names must name at least one channel, got none")
        if self.channel_meta and len(self.channel_meta) != len(self.channel_names):
            raise ValueError(
                f"channel_meta must have one entry per channel ({len(self.channel_names)}), "
                f"got {len(self.channel_meta)}"
            )

    @property
    def n_channels(self) -> int:
        return len(self.channel_names)


@dataclass(frozen=True)
class Chunk:
    """A block of samples, channels x samples (signal-processing convention).

    first_sample: index of the first sample in the stream (sample clock, never resets).
    t_ns: time.monotonic_ns() when the chunk was acquired by this process.
    """

    data: np.ndarray
    first_sample: int
    t_ns: int

    def __post_init__(self) -> None:
        if self.data.ndim != 2:
            raise ValueError(f"data must be 2-D (channels x samples), got shape {self.data.shape}")

    @property
    def n_channels(self) -> int:
        return int(self.data.shape[0])

    @property
    def n_samples(self) -> int:
        return int(self.data.shape[1])
