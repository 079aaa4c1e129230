"""Stimulation artifacts: subtract a learned per-channel template at every known pulse time.

An epidural stimulation pulse reaches the ECoG as a sharp deflection and a short recovery,
the same shape every time and proportional to the pulse's charge (amplitude x width), seen
through each contact's own gain. The loop knows every pulse it emitted, so the artifact is a
linear regression problem: x_c(t) = brain_c(t) + sum_p s_p h_c(t - t_p), with s_p the pulse's
charge and h_c a short kernel per channel. The kernels are fitted by least squares on every
window (normal equations accumulated with forgetting, so they follow slow changes) and the
fitted artifact is subtracted; the brain signal, uncorrelated with the pulse times, averages
out of the fit. Samples the template cannot explain (a saturated amplifier) can additionally
be blanked and repaired by linear interpolation (`blank_samples`).

Array function first (`subtract_artifacts`), a stateful object (`ArtifactRemover`) on top.
"""

from __future__ import annotations

import numpy as np

# Kernel length (samples) and how many of them precede the pulse's sample: at 586 Hz, 13
# samples = 20 ms cover the deflection and its recovery (the virtual cortex's kernel lasts
# 12 samples; an assumption for real amplifiers, whose recovery the template shows).
TEMPLATE_SAMPLES = 13
PRE_SAMPLES = 1  # the pulse may fall just before the sample it is rounded to
FORGETTING = 0.9  # per window: old windows' weight in the fit (~10 windows = 1 s of ticks)
CHARGE_REF_MA_US = 300.0  # the charge unit: 1 mA x 300 us (the cortex model's unit)


def design_matrix(
    n_samples: int, pulse_index: np.ndarray, scale: np.ndarray, n_lags: int, pre: int
) -> np.ndarray:
    """(n_samples, n_lags): column l holds each pulse's scale at its sample + (l - pre)."""
    lags = np.arange(n_lags) - pre
    rows = np.asarray(pulse_index, dtype=np.int64)[:, None] + lags[None, :]
    flat = rows * n_lags + np.arange(n_lags)[None, :]  # (row, lag) in the flat matrix
    values = np.broadcast_to(np.asarray(scale, dtype=float)[:, None], rows.shape)
    inside = (rows >= 0) & (rows < n_samples)
    summed = np.bincount(flat[inside], weights=values[inside], minlength=n_samples * n_lags)
    return summed.reshape(n_samples, n_lags)


def subtract_artifacts(
    window: np.ndarray,
    pulse_index: np.ndarray,
    scale: np.ndarray,
    *,
    n_lags: int = TEMPLATE_SAMPLES,
    pre: int = PRE_SAMPLES,
    ridge: float = 1e-6,
) -> tuple[np.ndarray, np.ndarray]:
    """One window (channels x samples) -> (cleaned window, kernels (n_lags, channels)),
    the kernels fitted on this window alone."""
    design = design_matrix(window.shape[1], pulse_index, scale, n_lags, pre)
    gram = design.T @ design
    kernels = np.linalg.solve(
        gram + ridge * (np.trace(gram) / n_lags + 1.0) * np.eye(n_lags), design.T @ window.T
    )
    return window - (design @ kernels).T, kernels


def blank_and_repair(window: np.ndarray, pulse_index: np.ndarray, n_blank: int) -> np.ndarray:
    """Replace n_blank samples from each pulse's sample by a straight line between the samples
    either side (per channel); a copy."""
    out = np.array(window, dtype=float, copy=True)
    n = out.shape[1]
    for k in np.unique(np.asarray(pulse_index, dtype=np.int64)):
        a, b = k - 1, k + n_blank  # the good samples either side
        if b <= 0 or a >= n - 1:
            continue
        a, b = max(a, 0), min(b, n - 1)
        if b - a < 2:
            continue
        frac = np.arange(1, b - a) / (b - a)
        out[:, a + 1 : b] = out[:, a : a + 1] + (out[:, b : b + 1] - out[:, a : a + 1]) * frac
    return out


class ArtifactRemover:
    """Per-channel artifact templates, refined window after window.

    clean(window, pulse_index, scale): pulse_index = each pulse's sample in the window
    (may lie before it: its tail still counts), scale = its charge in CHARGE_REF units.
    """

    def __init__(
        self,
        n_channels: int,
        *,
        n_lags: int = TEMPLATE_SAMPLES,
        pre: int = PRE_SAMPLES,
        forgetting: float = FORGETTING,
        blank_samples: int = 0,
    ) -> None:
        if n_channels < 1:
            raise ValueError(f"n_channels must be >= 1, got {n_channels}")
        if not 2 <= n_lags <= 256:
            raise ValueError(f"n_lags must be in [2, 256] samples, got {n_lags}")
        if not 0 <= pre < n_lags:
            raise ValueError(f"pre must be in [0, {n_lags}) samples, got {pre}")
        if not 0.0 <= forgetting < 1.0:
            raise ValueError(f"forgetting must be in [0, 1), got {forgetting}")
        if not 0 <= blank_samples <= 64:
            raise ValueError(f"blank_samples must be in [0, 64], got {blank_samples}")
        self.n_channels = n_channels
        self.n_lags = n_lags
        self.pre = pre
        self.forgetting = forgetting
        self.blank_samples = blank_samples
        self._gram = np.zeros((n_lags, n_lags))
        self._cross = np.zeros((n_lags, n_channels))
        self.kernels_ = np.zeros((n_lags, n_channels))
        self.n_windows_cleaned = 0
        self._fitted = np.empty((n_channels, 0))
        self._cleaned = np.empty((n_channels, 0))

    def clean(self, window: np.ndarray, pulse_index: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """Refit on this window, then subtract: `update` then `subtract` (offline use)."""
        if np.asarray(pulse_index).size == 0:
            return window
        self.update(window, pulse_index, scale)
        return self.subtract(window, pulse_index, scale)

    def update(self, window: np.ndarray, pulse_index: np.ndarray, scale: np.ndarray) -> None:
        """Add this window to the fit (the normal equations, with forgetting). Only finite
        channels update it, so a NaN channel cannot poison the others. The loop calls this
        after its compute path: the next window is cleaned with what this one taught."""
        self._check(window)
        pulse_index = np.asarray(pulse_index, dtype=np.int64)
        if pulse_index.size == 0:
            return
        design = design_matrix(window.shape[1], pulse_index, scale, self.n_lags, self.pre)
        with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf channels: left out below
            cross = design.T @ window.T
        finite = np.isfinite(cross).all(axis=0)
        self._gram *= self.forgetting
        self._gram += design.T @ design
        if finite.all():
            self._cross *= self.forgetting
            self._cross += cross
        else:
            self._cross[:, finite] = self.forgetting * self._cross[:, finite] + cross[:, finite]
        ridge = 1e-6 * (np.trace(self._gram) / self.n_lags + 1.0)
        self.kernels_ = np.linalg.solve(self._gram + ridge * np.eye(self.n_lags), self._cross)

    def subtract(
        self, window: np.ndarray, pulse_index: np.ndarray, scale: np.ndarray
    ) -> np.ndarray:
        """The window minus the artifacts the current kernels predict: a buffer reused by
        the next call (copy it to keep it)."""
        self._check(window)
        pulse_index = np.asarray(pulse_index, dtype=np.int64)
        if pulse_index.size == 0:
            return window
        design = design_matrix(window.shape[1], pulse_index, scale, self.n_lags, self.pre)
        # Into reused buffers: fresh 0.3 MB arrays every tick cost page faults under load.
        shape = window.shape
        if self._fitted.shape != shape or self._fitted.dtype != window.dtype:
            dtype = np.result_type(window.dtype, np.float32)  # float32 stays float32
            self._fitted = np.empty(shape, dtype=dtype)
            self._cleaned = np.empty(shape, dtype=dtype)
        np.matmul(self.kernels_.T, design.T, out=self._fitted)
        cleaned = np.subtract(window, self._fitted, out=self._cleaned)
        self.n_windows_cleaned += 1
        if self.blank_samples:
            cleaned = blank_and_repair(cleaned, pulse_index, self.blank_samples)
        return cleaned

    def _check(self, window: np.ndarray) -> None:
        if window.shape[0] != self.n_channels:
            raise ValueError(f"window must have {self.n_channels} channels, got {window.shape[0]}")


def pulse_scale(amplitude_ma: np.ndarray, pulse_width_us: np.ndarray) -> np.ndarray:
    """A pulse's charge in CHARGE_REF units (1 mA x 300 us): what the artifact scales with."""
    return np.asarray(amplitude_ma, dtype=float) * np.asarray(pulse_width_us) / CHARGE_REF_MA_US
