"""Stream ECoG from a session log into NWB without holding the session in memory (one
ElectricalSeries per segment, openbsi.store.ecog_segments)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from hdmf.data_utils import AbstractDataChunkIterator, DataChunk

from openbsi.store.log_reader import iter_ecog_blocks

BATCH_SAMPLES = 8192  # samples gathered per HDF5 write (~14 s at 586 Hz)


class LogEcogIterator(AbstractDataChunkIterator):
    """Yields one segment of the log's ECoG (chunks [first_chunk, first_chunk + n_chunks),
    n_samples in all) as (samples x channels) float32 batches for hdmf to write.

    One batch buffer is reused: hdmf writes each DataChunk before asking for the next one, so
    memory stays at one batch however long the session.
    """

    def __init__(
        self,
        log_path: Path,
        n_samples: int,
        n_channels: int,
        n_chunks: int,
        first_chunk: int = 0,
        first_sample: int = 0,
    ) -> None:
        self._shape = (int(n_samples), int(n_channels))
        self._offset = int(first_sample)  # the segment's first sample, counted over the log
        self._blocks = iter_ecog_blocks(
            Path(log_path), n_chunks, copy=False, first_chunk=first_chunk
        )
        self._batch = np.empty((BATCH_SAMPLES, int(n_channels)), dtype="<f4")
        self._batches = self._batched()

    def _batched(self) -> Iterator[DataChunk]:
        start = filled = 0
        for first_in_log, block in self._blocks:
            first = first_in_log - self._offset
            if filled and filled + block.shape[0] > BATCH_SAMPLES:
                yield self._chunk(start, filled)
                filled = 0
            if block.shape[0] > BATCH_SAMPLES:  # a chunk larger than a batch goes alone
                yield DataChunk(
                    data=np.array(block, dtype="<f4"),
                    selection=np.s_[first : first + block.shape[0], :],
                )
                continue
            if not filled:
                start = first
            self._batch[filled : filled + block.shape[0]] = block
            filled += block.shape[0]
        if filled:
            yield self._chunk(start, filled)

    def _chunk(self, start: int, filled: int) -> DataChunk:
        return DataChunk(data=self._batch[:filled], selection=np.s_[start : start + filled, :])

    def __iter__(self) -> LogEcogIterator:
        return self

    def __next__(self) -> DataChunk:
        return next(self._batches)

    def recommended_chunk_shape(self) -> tuple[int, int] | None:
        # HDF5 chunks aligned with the batches: every write fills whole chunks (no
        # read-modify-write, nothing left in the chunk cache); 1 MB at 64 channels
        return (min(BATCH_SAMPLES // 2, max(self._shape[0], 1)), max(self._shape[1], 1))

    def recommended_data_shape(self) -> tuple[int, int]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return np.dtype("<f4")

    @property
    def maxshape(self) -> tuple[int, int]:
        return self._shape
