"""Stream ECoG from a session log into NWB without holding the session in memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from hdmf.data_utils import AbstractDataChunkIterator, DataChunk

from openbsi.store.log_reader import iter_ecog_blocks

BATCH_SAMPLES = 8192  # samples gathered per HDF5 write (~14 s at 586 Hz)


class LogEcogIterator(AbstractDataChunkIterator):
    """Yields the log's ECoG as (samples x channels) float32 batches for hdmf to write."""

    def __init__(self, log_path: Path, n_samples: int, n_channels: int, n_chunks: int) -> None:
        self._shape = (int(n_samples), int(n_channels))
        self._blocks = iter_ecog_blocks(Path(log_path), n_chunks)
        self._batches = self._batched()

    def _batched(self) -> Iterator[DataChunk]:
        pending: list[np.ndarray] = []
        start = count = 0
        for first, block in self._blocks:
            if not pending:
                start = first
            pending.append(block)
            count += block.shape[0]
            if count >= BATCH_SAMPLES:
                yield self._chunk(start, pending)
                pending, count = [], 0
        if pending:
            yield self._chunk(start, pending)

    @staticmethod
    def _chunk(start: int, pending: list[np.ndarray]) -> DataChunk:
        data = np.concatenate(pending, axis=0).astype("<f4", copy=False)
        return DataChunk(data=data, selection=np.s_[start : start + data.shape[0], :])

    def __iter__(self) -> LogEcogIterator:
        return self

    def __next__(self) -> DataChunk:
        return next(self._batches)

    def recommended_chunk_shape(self) -> tuple[int, int] | None:
        return None

    def recommended_data_shape(self) -> tuple[int, int]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return np.dtype("<f4")

    @property
    def maxshape(self) -> tuple[int, int]:
        return self._shape
