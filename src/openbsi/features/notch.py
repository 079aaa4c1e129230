"""Line-noise removal on a short window by projection (least-squares sinusoid fit).

Over a 1 s window an IIR notch has not settled; instead we fit sine and cosine at the line
frequency and its harmonics and subtract them. The operation is a fixed linear projection
(n_samples x n_samples); the extractor applies it to the Morlet coefficients (see banded.py).
"""

from __future__ import annotations

import numpy as np


def line_frequencies(notch_hz: float, sfreq_hz: float) -> np.ndarray:
    """notch_hz and its harmonics below Nyquist."""
    if not np.isfinite(notch_hz) or notch_hz <= 0:
        raise ValueError(f"notch_hz must be a positive finite frequency, got {notch_hz}")
    nyquist_hz = sfreq_hz / 2.0
    if notch_hz >= nyquist_hz:
        raise ValueError(f"notch_hz must be below Nyquist ({nyquist_hz} Hz), got {notch_hz}")
    n = int(np.floor((nyquist_hz - 1e-9) / notch_hz))
    return notch_hz * np.arange(1, n + 1)


def line_basis(n_samples: int, sfreq_hz: float, notch_hz: float) -> np.ndarray:
    """Orthonormal Q (n_samples x 2 n_harmonics) spanning the line sines and cosines."""
    t_s = np.arange(n_samples) / sfreq_hz
    freqs = line_frequencies(notch_hz, sfreq_hz)
    basis = np.concatenate(
        [np.sin(2 * np.pi * np.outer(t_s, freqs)), np.cos(2 * np.pi * np.outer(t_s, freqs))],
        axis=1,
    )
    q, _ = np.linalg.qr(basis)
    return q


def notch_projection(n_samples: int, sfreq_hz: float, notch_hz: float) -> np.ndarray:
    """P = I - Q Q^T (n_samples x n_samples) such that window @ P removes the line sinusoids."""
    q = line_basis(n_samples, sfreq_hz, notch_hz)
    return np.eye(n_samples) - q @ q.T


def remove_line_noise(window: np.ndarray, sfreq_hz: float, notch_hz: float) -> np.ndarray:
    """Array function: (n_channels, n_samples) -> same shape with line sinusoids removed."""
    return window @ notch_projection(window.shape[-1], sfreq_hz, notch_hz)
