"""Morlet coefficients at a few time points, multiplying only the samples under each wavelet.

`morlet.MorletBank` computes all n_times x n_freqs coefficients as one dense product of the
window with an (n_samples x 2 n_times n_freqs) kernel. Most of that kernel is zero: a wavelet
of length L centred on one of the n_times positions touches only L samples, and above 25 Hz
the default wavelets last ~0.3 s of the 1 s window. This bank keeps the long wavelets (support
over `DENSE_SUPPORT_FRACTION` of the window) in one dense product and, for each run of
consecutive frequencies that share the same support, does one small product per time point
on the samples under that run's wavelets. Same sums as the dense product, minus exact zeros.

A line-noise projection (I - Q Q^T, Q orthonormal) would make every kernel column dense, so it
is applied in coefficient space instead: K^T (I - Q Q^T) x = K^T x - (K^T Q)(Q^T x), with
Q^T x taken from the dense product. Extra columns (e.g. ones, for channel sums) ride along in
the dense product too.

Output layout: (2, n_times, n_freqs, n_channels) with part 0 = real, 1 = imaginary, so that
the magnitudes come out directly as the decoder's (time, freq, channel) tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from openbsi.features.morlet import morlet_matrix

# Wavelets whose support covers more than this share of the window go into the dense product:
# a banded product saves little for them and small products run below peak speed.
DENSE_SUPPORT_FRACTION = 1.0 / 3.0
# Kernel rows are padded with zeros to a multiple of this: OpenBLAS sgemm runs faster on
# such shapes (1024 channels, one thread: 52 rows 0.60 ms vs 51 rows 0.69 ms; 10 bands of
# 28 rows 1.09 ms vs 26 rows 1.15 ms).
ROW_MULTIPLE = 4
# Channel counts for which the window is first copied to a contiguous (n_samples, C) array:
# the products then run faster than on the transposed view, copy included (OpenBLAS
# SkylakeX kernel, one thread, same run, time ratio copy/view: 16 ch 1.05, 32 ch 0.84,
# 64 ch 0.70, 128 ch 0.72, 256 ch 0.82, 512 ch 0.93, 1024 ch 1.07; results bit-identical).
COPY_CHANNELS = (32, 512)


@dataclass(frozen=True)
class _Band:
    """One small product: samples [start, stop) x the run's wavelets at one time point."""

    time_index: int
    freqs: slice
    start: int
    stop: int
    kernel: np.ndarray  # (2 * n_run_freqs + padding, stop - start), rows (part, freq)


def _support(column: np.ndarray) -> tuple[int, int]:
    """[start, stop) of the non-zero rows of one (n_samples, ...) kernel slice."""
    rows = np.flatnonzero(np.any(column.reshape(column.shape[0], -1) != 0, axis=1))
    return int(rows[0]), int(rows[-1]) + 1


def _columns(name: str, cols: np.ndarray | None, n_samples: int) -> np.ndarray:
    """(n_samples, k) float64 columns; None -> k = 0."""
    cols = np.zeros((n_samples, 0)) if cols is None else np.asarray(cols, dtype=float)
    if cols.ndim != 2 or cols.shape[0] != n_samples:
        raise ValueError(f"{name} must have shape ({n_samples}, k), got {cols.shape}")
    return cols


def _padded_rows(matrix: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Contiguous copy with zero rows appended up to a multiple of ROW_MULTIPLE."""
    n_rows = -(-matrix.shape[0] // ROW_MULTIPLE) * ROW_MULTIPLE
    out = np.zeros((n_rows, matrix.shape[1]), dtype=dtype)
    out[: matrix.shape[0]] = matrix
    return out


class BandedMorletBank:
    """Precomputed dense + banded kernels; `coefficients` fills a reused output buffer."""

    def __init__(
        self,
        n_samples: int,
        sfreq_hz: float,
        freqs_hz: np.ndarray,
        n_cycles: float | np.ndarray,
        n_times: int = 10,
        dtype: type = np.float32,
        line_basis: np.ndarray | None = None,
        extra_columns: np.ndarray | None = None,
        zero_mean: bool = True,
    ) -> None:
        self.n_samples = int(n_samples)
        self.n_times = int(n_times)
        self.freqs_hz = np.atleast_1d(np.asarray(freqs_hz, dtype=float))
        self.n_freqs = int(self.freqs_hz.size)
        self.dtype = np.dtype(dtype)
        kernel = morlet_matrix(n_samples, sfreq_hz, self.freqs_hz, n_cycles, n_times, zero_mean)
        k4 = kernel.reshape(self.n_samples, 2, self.n_times, self.n_freqs)
        supports = [
            [_support(k4[:, :, t, f]) for t in range(self.n_times)] for f in range(self.n_freqs)
        ]
        longest = [max(b - a for a, b in s) for s in supports]
        dense = [f for f in range(self.n_freqs) if longest[f] > DENSE_SUPPORT_FRACTION * n_samples]
        self._dense_freqs = np.asarray(dense, dtype=int)
        self._bands = self._make_bands(k4, supports, set(dense))

        line = _columns("line_basis", line_basis, self.n_samples)
        extra = _columns("extra_columns", extra_columns, self.n_samples)
        self.n_extra = extra.shape[1]
        dense_cols = k4[:, :, :, self._dense_freqs].reshape(self.n_samples, -1)
        # Rows of the dense product: dense wavelets (part, time, freq), then Q^T, then extras.
        self._dense = _padded_rows(np.concatenate([dense_cols, line, extra], axis=1).T, self.dtype)
        self._n_dense_coef = dense_cols.shape[1]
        self._n_line = line.shape[1]
        # K^T Q (2 T F x q), computed in float64: the coefficient-space notch correction.
        self._line_gain = (kernel.T @ line).astype(self.dtype) if self._n_line else None
        self._samples_t = np.empty((self.n_samples, 0), dtype=self.dtype)  # reused, per C

    def _make_bands(self, k4: np.ndarray, supports: list, dense: set[int]) -> list[_Band]:
        bands = []
        f = 0
        while f < self.n_freqs:
            if f in dense:
                f += 1
                continue
            stop_f = f + 1  # a run: next frequencies with the same supports at every time
            while stop_f < self.n_freqs and stop_f not in dense and supports[stop_f] == supports[f]:
                stop_f += 1
            for t, (a, b) in enumerate(supports[f]):
                block = k4[a:b, :, t, f:stop_f].reshape(b - a, -1).T  # rows (part, freq)
                kernel = _padded_rows(block, self.dtype)
                bands.append(_Band(t, slice(f, stop_f), a, b, kernel))
            f = stop_f
        return bands

    @property
    def multiply_adds_per_channel(self) -> int:
        """Multiply-adds per channel and window (dense rows + bands), for benchmarks."""
        return self._dense.size + sum(band.kernel.size for band in self._bands)

    def coefficients(
        self, window: np.ndarray, out: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(real/imag coefficients (2, n_times, n_freqs, C), extra products (n_extra, C)).

        `window` is (C, n_samples) of the bank's dtype (no copy is made); `out`, if given, is
        the reused (2, n_times, n_freqs, C) buffer. With a line basis, the coefficients are
        those of the window with the basis projected out.
        """
        if window.ndim != 2 or window.shape[1] != self.n_samples:
            raise ValueError(
                f"window must be (n_channels, {self.n_samples}), got shape {window.shape}"
            )
        n_channels = window.shape[0]
        shape = (2, self.n_times, self.n_freqs, n_channels)
        if out is None:
            out = np.empty(shape, dtype=self.dtype)
        elif out.shape != shape or out.dtype != self.dtype or not out.flags.c_contiguous:
            raise ValueError(
                f"out must be a C-contiguous {shape} {self.dtype} array, "
                f"got {out.shape} {out.dtype}"
            )
        samples_t = window.T  # (n_samples, C) view: BLAS reads it transposed
        if COPY_CHANNELS[0] <= n_channels <= COPY_CHANNELS[1]:
            if self._samples_t.shape != (self.n_samples, n_channels):
                self._samples_t = np.empty((self.n_samples, n_channels), dtype=self.dtype)
            samples_t = self._samples_t
            np.copyto(samples_t, window.T)
        dense = self._dense @ samples_t
        n_dense = self._n_dense_coef
        if n_dense:
            out[:, :, self._dense_freqs, :] = dense[:n_dense].reshape(
                2, self.n_times, len(self._dense_freqs), n_channels
            )
        for band in self._bands:
            part = band.kernel @ samples_t[band.start : band.stop]
            n_rows = 2 * (band.freqs.stop - band.freqs.start)
            out[:, band.time_index, band.freqs, :] = part[:n_rows].reshape(2, -1, n_channels)
        if self._line_gain is not None:
            line_t = dense[n_dense : n_dense + self._n_line]  # Q^T x, (q, C)
            flat = out.reshape(-1, n_channels)
            flat -= self._line_gain @ line_t
        return out, dense[n_dense + self._n_line : n_dense + self._n_line + self.n_extra]
