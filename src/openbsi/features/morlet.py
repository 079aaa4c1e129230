"""Complex Morlet wavelet magnitudes at a few time points of a window (the decoder's tensor).

Moly et al. 2022 (J Neural Eng), see shared/reference/facts.md: 1 s window, Morlet wavelets
10-150 Hz in 10 Hz steps, magnitudes decimated to 10 time points -> 10 x 15 x C.

The wavelets are defined exactly as `mne.time_frequency.morlet` (Gaussian envelope out to
5 sigma, norm sqrt(2)) and the convolution is MNE's 'same' mode, so that the values agree with
`mne.time_frequency.tfr_array_morlet(..., output="power")` square-rooted, at the decimation
slice returned by `decimation_slice`. Instead of convolving the whole window and throwing
most of it away, we only compute the n_times x n_freqs dot products the decoder needs: all
of them at once as one (n_samples x 2 n_times n_freqs) real matrix product.
"""

from __future__ import annotations

import numpy as np


def _check_positive(name: str, value: float) -> None:
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value}")


def morlet_wavelets(
    sfreq_hz: float,
    freqs_hz: np.ndarray,
    n_cycles: float | np.ndarray,
    zero_mean: bool = True,
) -> list[np.ndarray]:
    """Complex Morlet wavelets, one per frequency, defined as in mne.time_frequency.morlet.

    zero_mean=True (MNE's default in tfr_array_morlet) subtracts the small real offset that
    makes each wavelet integrate to zero.
    """
    _check_positive("sfreq_hz", sfreq_hz)
    freqs = np.atleast_1d(np.asarray(freqs_hz, dtype=float))
    cycles = np.broadcast_to(np.asarray(n_cycles, dtype=float), freqs.shape)
    nyquist_hz = sfreq_hz / 2.0
    wavelets = []
    for f, nc in zip(freqs, cycles, strict=True):
        if not 0 < f < nyquist_hz:
            raise ValueError(f"freqs_hz must lie in (0, {nyquist_hz}) Hz (Nyquist), got {f}")
        _check_positive("n_cycles", nc)
        sigma_t = nc / (2.0 * np.pi * f)
        t = np.arange(0.0, 5.0 * sigma_t, 1.0 / sfreq_hz)
        t = np.r_[-t[::-1], t[1:]]
        oscillation = np.exp(2j * np.pi * f * t)
        if zero_mean:
            oscillation -= np.exp(-2.0 * (np.pi * f * sigma_t) ** 2)
        w = oscillation * np.exp(-(t**2) / (2.0 * sigma_t**2))
        w /= np.sqrt(0.5) * np.linalg.norm(w)
        wavelets.append(w)
    return wavelets


def decimation_slice(n_samples: int, n_times: int) -> slice:
    """The n_times evenly spaced, centred sample positions (a slice MNE's `decim` accepts)."""
    if not 1 <= n_times <= n_samples:
        raise ValueError(f"n_times must be in [1, {n_samples}] (window samples), got {n_times}")
    step = max(n_samples // n_times, 1)
    start = (n_samples - 1 - step * (n_times - 1)) // 2
    return slice(start, start + step * (n_times - 1) + 1, step)


def morlet_matrix(
    n_samples: int,
    sfreq_hz: float,
    freqs_hz: np.ndarray,
    n_cycles: float | np.ndarray,
    n_times: int = 10,
    zero_mean: bool = True,
) -> np.ndarray:
    """Real matrix K (n_samples, 2 * n_times * n_freqs): window @ K = [real | imag] coefficients.

    Column order: (part, time, freq) with part 0 = real, 1 = imaginary.
    Equivalent to MNE's 'same'-mode convolution sampled at `decimation_slice` positions
    (samples outside the window count as zero, as in MNE).
    """
    wavelets = morlet_wavelets(sfreq_hz, freqs_hz, n_cycles, zero_mean)
    positions = np.arange(n_samples)[decimation_slice(n_samples, n_times)]
    n_freqs = len(wavelets)
    kernel = np.zeros((n_samples, n_times, n_freqs), dtype=complex)
    k = np.arange(n_samples)
    for fi, w in enumerate(wavelets):
        half = (w.size - 1) // 2
        for ti, p in enumerate(positions):
            idx = p + half - k  # same-mode convolution: out[p] = sum_k x[k] w[p + half - k]
            ok = (idx >= 0) & (idx < w.size)
            kernel[ok, ti, fi] = w[idx[ok]]
    flat = kernel.reshape(n_samples, n_times * n_freqs)
    return np.concatenate([flat.real, flat.imag], axis=1)


class MorletBank:
    """Precomputed kernels for streaming use: one matrix product per window.

    `projection` (n_samples x n_samples), if given, is applied to the window first and folded
    into the kernels (e.g. a line-noise notch), so it costs nothing at run time.
    """

    def __init__(
        self,
        n_samples: int,
        sfreq_hz: float,
        freqs_hz: np.ndarray,
        n_cycles: float | np.ndarray,
        n_times: int = 10,
        dtype: type = np.float64,
        projection: np.ndarray | None = None,
        zero_mean: bool = True,
    ) -> None:
        self.n_samples = int(n_samples)
        self.n_times = int(n_times)
        self.freqs_hz = np.atleast_1d(np.asarray(freqs_hz, dtype=float))
        self.n_freqs = int(self.freqs_hz.size)
        kernel = morlet_matrix(n_samples, sfreq_hz, self.freqs_hz, n_cycles, n_times, zero_mean)
        if projection is not None:
            kernel = projection @ kernel
        self.kernel = np.ascontiguousarray(kernel, dtype=dtype)
        self._half = self.n_times * self.n_freqs

    def coefficients(self, window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(real, imag) coefficients, each (n_channels, n_times * n_freqs)."""
        if window.ndim != 2 or window.shape[1] != self.n_samples:
            raise ValueError(
                f"window must be (n_channels, {self.n_samples}), got shape {window.shape}"
            )
        both = window.astype(self.kernel.dtype, copy=False) @ self.kernel
        return both[:, : self._half], both[:, self._half :]

    def magnitude(self, window: np.ndarray) -> np.ndarray:
        """(n_times, n_freqs, n_channels) magnitudes of one window."""
        re, im = self.coefficients(window)
        return magnitude_tensor(re, im, self.n_times, self.n_freqs)


def magnitude_tensor(re: np.ndarray, im: np.ndarray, n_times: int, n_freqs: int) -> np.ndarray:
    """|re + i im| reshaped from (n_channels, n_times * n_freqs) to (n_times, n_freqs, C)."""
    mag = np.sqrt(re * re + im * im)
    return mag.T.reshape(n_times, n_freqs, -1)


def morlet_tensor(
    window: np.ndarray,
    sfreq_hz: float,
    freqs_hz: np.ndarray,
    n_cycles: float | np.ndarray,
    n_times: int = 10,
    zero_mean: bool = True,
) -> np.ndarray:
    """Morlet magnitudes of one window: (n_channels, n_samples) -> (n_times, n_freqs, n_channels).

    Matches sqrt(tfr_array_morlet(window[None], sfreq, freqs, n_cycles, output='power',
    decim=decimation_slice(n_samples, n_times)))[0] transposed to (time, freq, channel).
    For repeated windows use `MorletBank` (kernels computed once).
    """
    window = np.asarray(window, dtype=float)
    if window.ndim != 2:
        raise ValueError(f"window must be 2-D (n_channels, n_samples), got shape {window.shape}")
    bank = MorletBank(window.shape[1], sfreq_hz, freqs_hz, n_cycles, n_times, zero_mean=zero_mean)
    return bank.magnitude(window)
