"""Array-level ECoG simulation in the neurodsp style: sim_*(n_seconds, fs, ..., rng).

Each generator also exists as a streaming object (the `*Stream` classes) that keeps its
filter state, so that chunked generation is continuous across calls.

Aperiodic background (Miller et al. 2009, PLoS Comput Biol): power ~ f^-2 below a knee near
70 Hz and ~ f^-4 above it. We obtain it by filtering white noise through two first-order
low-pass responses (corners at `floor_hz` and at the knee): each adds -2 to the log-log power
slope above its corner. The knee section is an FIR fitted to the analog magnitude, because a
bilinear IIR at 586 Hz bends the spectrum down near Nyquist (slope ~ -6 at 100-200 Hz) and an
impulse-invariant one flattens it (~ -2.8). The 0.5-300 Hz hardware band (Lorach 2023) is a
first-order high-pass at 0.5 Hz; 300 Hz lies above Nyquist at 586 Hz.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

HW_HIGHPASS_HZ = 0.5  # Lorach 2023: hardware band 0.5-300 Hz
BETA_BAND_HZ = (13.0, 30.0)  # Miller 2012
BETA_SKIRT_ORDER = 8  # low-pass cutting beta's upper skirt (see beta_sos)
FLOOR_HZ = 1.0  # below this the aperiodic spectrum flattens (then the 0.5 Hz high-pass)


def _check(n_seconds: float, fs: float) -> int:
    if not np.isfinite(fs) or fs <= 0:
        raise ValueError(f"fs must be a positive finite number, got {fs}")
    if not np.isfinite(n_seconds) or n_seconds <= 0:
        raise ValueError(f"n_seconds must be a positive finite number, got {n_seconds}")
    return round(n_seconds * fs)


def _unit_variance_gain(sos: np.ndarray, fir: np.ndarray | None = None) -> float:
    """Scale making the filter's output unit-variance for unit-variance white input."""
    _, h = signal.sosfreqz(sos, worN=8192)
    if fir is not None:
        _, h_fir = signal.freqz(fir, worN=8192)
        h = h * h_fir
    return float(1.0 / np.sqrt(np.mean(np.abs(h) ** 2)))


class FilteredNoiseStream:
    """White noise through a fixed SOS filter, unit variance, `n_channels` in parallel,
    continuous across calls. `mixing` (n x n) correlates channels before filtering."""

    def __init__(
        self,
        sos: np.ndarray,
        n_channels: int,
        mixing: np.ndarray | None = None,
        fir: np.ndarray | None = None,
    ):
        if n_channels < 1:
            raise ValueError(f"n_channels must be >= 1, got {n_channels}")
        self._sos = np.asarray(sos, dtype=float)
        self._fir = None if fir is None else np.asarray(fir, dtype=float)
        # FIR history: the last len(fir) - 1 inputs of each channel (streamed convolution).
        self._fir_hist = None if fir is None else np.zeros((n_channels, len(fir) - 1))
        self._gain = _unit_variance_gain(self._sos, self._fir)
        self._n = n_channels
        self._mixing = mixing
        self._zi = np.zeros((self._sos.shape[0], n_channels, 2))
        self._primed = False

    def __call__(self, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        white = rng.standard_normal((self._n, n_samples))
        if self._mixing is not None:
            white = self._mixing @ white
        if not self._primed:
            # Start in steady state instead of from rest: run the filter over a burn-in.
            burn = rng.standard_normal((self._n, 4096))
            if self._mixing is not None:
                burn = self._mixing @ burn
            shaped, self._zi = signal.sosfilt(self._sos, burn, axis=1, zi=self._zi)
            if self._fir is not None:
                self._apply_fir(shaped)
            self._primed = True
        out, self._zi = signal.sosfilt(self._sos, white, axis=1, zi=self._zi)
        if self._fir is not None:
            out = self._apply_fir(out)
        return out * self._gain

    def _apply_fir(self, x: np.ndarray) -> np.ndarray:
        """Causal FIR across all channels at once, continuing from the stored history."""
        assert self._fir is not None and self._fir_hist is not None
        ext = np.concatenate([self._fir_hist, x], axis=1)
        windows = np.lib.stride_tricks.sliding_window_view(ext, self._fir.size, axis=1)
        self._fir_hist = ext[:, ext.shape[1] - (self._fir.size - 1) :]
        return windows @ self._fir[::-1]


KNEE_FIR_TAPS = 65


def aperiodic_sos(fs: float, knee_hz: float = 70.0, floor_hz: float = FLOOR_HZ) -> np.ndarray:
    """SOS part of the knee spectrum: the 0.5 Hz high-pass and the f^-2 low-pass at floor_hz
    (the knee itself is knee_fir)."""
    if not 0 < floor_hz < knee_hz < fs / 2:
        raise ValueError(
            f"knee_hz must be in ({floor_hz}, {fs / 2}) Hz for fs={fs} Hz, got {knee_hz}"
        )
    # One-pole (impulse-invariant) low-pass: no zero at Nyquist, unlike a bilinear design.
    a = float(np.exp(-2.0 * np.pi * floor_hz / fs))
    floor = np.array([[1.0 - a, 0.0, 0.0, 1.0, -a, 0.0]])
    return np.concatenate(
        [signal.butter(1, HW_HIGHPASS_HZ, "highpass", fs=fs, output="sos"), floor]
    )


def knee_fir(
    fs: float, knee_hz: float = 70.0, floor_hz: float = FLOOR_HZ, numtaps: int = KNEE_FIR_TAPS
) -> np.ndarray:
    """FIR adding the analog first-order roll-off at the knee (-2 above it) and correcting
    the digital floor low-pass toward its analog magnitude near Nyquist."""
    freqs = np.linspace(0.0, fs / 2, 512)
    analog_floor = 1.0 / np.sqrt(1.0 + (freqs / floor_hz) ** 2)
    analog_knee = 1.0 / np.sqrt(1.0 + (freqs / knee_hz) ** 2)
    floor_only = aperiodic_sos(fs, knee_hz, floor_hz)[1:]
    _, digital_floor = signal.sosfreqz(floor_only, worN=freqs, fs=fs)
    gain = analog_knee * analog_floor / np.maximum(np.abs(digital_floor), 1e-12)
    gain[0] = 1.0
    return signal.firwin2(numtaps, freqs, gain, fs=fs)


def beta_sos(fs: float, band_hz: tuple[float, float] = BETA_BAND_HZ) -> np.ndarray:
    """Band-limited beta: a 2nd-order band-pass for the rhythm's shape, then an 8th-order
    low-pass at 1.5 x the band's top that removes the band-pass's slow upper skirt.

    Alone, the band-pass's skirt held 53 % of the rest ECoG's 60-150 Hz power (issue #10), so
    "high gamma" fell whenever beta did. Real ECoG shows the two moving apart (Miller 2012,
    facts.md "Cortical signals during movement"): high gamma must come from the broadband
    background only. With the low-pass, beta carries < 1 % of the 70-150 Hz power at rest.
    """
    top_hz = min(1.5 * band_hz[1], 0.45 * fs)
    return np.concatenate(
        [
            signal.butter(2, band_hz, "bandpass", fs=fs, output="sos"),
            signal.butter(BETA_SKIRT_ORDER, top_hz, "lowpass", fs=fs, output="sos"),
        ]
    )


def sim_knee_aperiodic(
    n_seconds: float,
    fs: float,
    rng: np.random.Generator,
    *,
    knee_hz: float = 70.0,
    n_channels: int = 1,
) -> np.ndarray:
    """Unit-variance aperiodic signal (n_channels, n_samples) with a spectral knee."""
    n = _check(n_seconds, fs)
    stream = FilteredNoiseStream(aperiodic_sos(fs, knee_hz), n_channels, fir=knee_fir(fs, knee_hz))
    return stream(n, rng)


def sim_beta(
    n_seconds: float,
    fs: float,
    rng: np.random.Generator,
    *,
    band_hz: tuple[float, float] = BETA_BAND_HZ,
    n_channels: int = 1,
) -> np.ndarray:
    """Unit-variance band-limited beta rhythm (n_channels, n_samples)."""
    n = _check(n_seconds, fs)
    return FilteredNoiseStream(beta_sos(fs, band_hz), n_channels)(n, rng)


def line_noise(
    first_sample: int,
    n_samples: int,
    fs: float,
    amplitude_uv: np.ndarray,
    phase_rad: np.ndarray,
    line_hz: float = 50.0,
) -> np.ndarray:
    """Mains interference with its 3rd harmonic (2 %), continuous on the sample clock."""
    t = (first_sample + np.arange(n_samples)) / fs
    amp = np.asarray(amplitude_uv, dtype=float)[:, None]
    ph = np.asarray(phase_rad, dtype=float)[:, None]
    # sin(wt + ph) = sin(wt) cos(ph) + cos(wt) sin(ph): outer products, no 2-D sin.
    wt = 2 * np.pi * line_hz * t[None, :]
    out = amp * (np.sin(wt) * np.cos(ph) + np.cos(wt) * np.sin(ph))
    if 3 * line_hz < fs / 2:
        out += 0.02 * amp * (np.sin(3 * wt) * np.cos(2 * ph) + np.cos(3 * wt) * np.sin(2 * ph))
    return out


def sim_line_noise(
    n_seconds: float,
    fs: float,
    rng: np.random.Generator,
    *,
    line_hz: float = 50.0,
    amplitude_uv: float = 4.0,
    n_channels: int = 1,
) -> np.ndarray:
    """Line noise with random per-channel amplitude (+-30 %) and phase."""
    n = _check(n_seconds, fs)
    amp = amplitude_uv * rng.uniform(0.7, 1.3, n_channels)
    phase = rng.uniform(0, 2 * np.pi, n_channels)
    return line_noise(0, n, fs, amp, phase, line_hz)


class SlowGainStream:
    """Slow log-gain fluctuations (Ornstein-Uhlenbeck, time constant tau_s, stationary sd)."""

    def __init__(
        self, n_channels: int, fs: float, tau_s: float, sd: float, mixing: np.ndarray | None = None
    ):
        self._a = float(np.exp(-1.0 / (fs * tau_s)))
        self._scale = sd * np.sqrt(1 - self._a**2)
        self._n = n_channels
        self._mixing = mixing
        self._zi: np.ndarray | None = None
        self._sd = sd

    def __call__(self, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        if self._zi is None:
            start = self._sd * rng.standard_normal((self._n, 1))
            if self._mixing is not None:
                start = self._mixing @ start
            self._zi = self._a * start
        drive = rng.standard_normal((self._n, n_samples))
        if self._mixing is not None:
            drive = self._mixing @ drive
        out, self._zi = signal.lfilter([self._scale], [1.0, -self._a], drive, axis=1, zi=self._zi)
        return out
