"""A growable table of fixed columns (the body/muscle trace), stored as one float array."""

from __future__ import annotations

import numpy as np


class TraceBuffer:
    """Rows of named float columns; columns are fixed by the first row. Memory: 8 bytes per
    value (a 1-hour session at 100 Hz with ~75 columns takes ~200 MB)."""

    def __init__(self, initial_rows: int = 4096) -> None:
        self._keys: tuple[str, ...] = ()
        self._data = np.zeros((0, 0))
        self._n = 0
        self._initial = initial_rows

    def append(self, values: np.ndarray, keys: tuple[str, ...]) -> None:
        if not self._keys:
            self._keys = keys
            self._data = np.zeros((self._initial, len(keys)))
        elif keys is not self._keys and keys != self._keys:
            raise ValueError(f"trace columns must stay {len(self._keys)} fixed names, got others")
        if self._n == self._data.shape[0]:
            self._data = np.concatenate([self._data, np.zeros_like(self._data)])
        self._data[self._n] = values
        self._n += 1

    def __len__(self) -> int:
        return self._n

    def as_dict(self) -> dict[str, np.ndarray]:
        return {k: self._data[: self._n, i].copy() for i, k in enumerate(self._keys)}

    def drain(self) -> dict[str, np.ndarray]:
        """The rows so far, removed from the buffer (its memory is reused): a long session
        hands the trace to its recorder piece by piece instead of keeping it all."""
        rows = self.as_dict()
        self._n = 0
        return rows
