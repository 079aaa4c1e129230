"""A fixed-size ring buffer that always hands out the freshest window."""

from __future__ import annotations

import numpy as np

from openbsi.signals.types import Chunk


class RingBuffer:
    """Holds the last `capacity` samples of `n_channels` channels (channels x samples)."""

    def __init__(self, n_channels: int, capacity: int, dtype: type = np.float64) -> None:
        if n_channels < 1:
            raise ValueError(f"n_channels must be >= 1, got {n_channels}")
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1 sample, got {capacity}")
        self._data = np.zeros((n_channels, capacity), dtype=dtype)
        self._capacity = capacity
        self._write = 0  # next write position
        self.n_pushed = 0  # samples pushed since creation
        self.last_t_ns = 0  # acquisition stamp of the newest chunk

    @property
    def n_channels(self) -> int:
        return int(self._data.shape[0])

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def n_available(self) -> int:
        return min(self.n_pushed, self._capacity)

    def push(self, chunk: Chunk) -> None:
        """Append a chunk; older samples are overwritten once the buffer is full."""
        if chunk.n_channels != self.n_channels:
            raise ValueError(
                f"chunk has {chunk.n_channels} channels, buffer holds {self.n_channels}"
            )
        block = chunk.data
        n = block.shape[1]
        if n >= self._capacity:  # only the newest `capacity` samples matter
            self._data[:] = block[:, -self._capacity :]
            self._write = 0
        else:
            end = self._write + n
            if end <= self._capacity:
                self._data[:, self._write : end] = block
            else:
                split = self._capacity - self._write
                self._data[:, self._write :] = block[:, :split]
                self._data[:, : n - split] = block[:, split:]
            self._write = end % self._capacity
        self.n_pushed += n
        self.last_t_ns = chunk.t_ns

    def latest(self, n_samples: int) -> np.ndarray:
        """The newest `n_samples` samples, oldest first (a copy, channels x samples)."""
        if not 1 <= n_samples <= self.n_available:
            raise ValueError(
                f"n_samples must be in [1, {self.n_available}] (samples available), got {n_samples}"
            )
        start = (self._write - n_samples) % self._capacity
        if start + n_samples <= self._capacity:
            return self._data[:, start : start + n_samples].copy()
        return np.concatenate(
            (self._data[:, start:], self._data[:, : (start + n_samples) % self._capacity]), axis=1
        )
