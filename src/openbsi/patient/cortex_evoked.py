"""What stimulation adds to the ECoG: the far-field artifact of each pulse and the cortical
response evoked by the afferent volley it recruits.

Wagner et al. 2018: stimulation-evoked cortical responses at 90-170 ms. We place a negative
then positive deflection (N at the patient's latency, P 50 ms later) on the hemisphere
contralateral to the stimulated leg's afferents, scaled by the share of that side's Ia
afferents recruited and reduced at high pulse rates (the response adapts). Amplitudes are
modelling defaults (unconfirmed).
"""

from __future__ import annotations

import numpy as np

SEP_LATENCY_RANGE_S = (0.09, 0.17)  # Wagner 2018 (facts.md)
SEP_UV_PER_VOLLEY = 30.0  # µV per full volley of a leg (ECoG SEPs reach tens of µV; unconfirmed)
SEP_WIDTH_S = 0.015
SEP_P_DELAY_S = 0.05
SEP_ADAPTATION_S = 0.1  # responses to pulses closer than this share their amplitude


class FutureWaveform:
    """A waveform for samples not read yet: pulses add kernels to it, reads consume it."""

    def __init__(self) -> None:
        self._data = np.zeros(0)

    def add(self, positions: np.ndarray, scales: np.ndarray, kernel: np.ndarray) -> None:
        """Add scale x kernel starting at each position (samples from the next unread one)."""
        if positions.size == 0:
            return
        need = int(positions.max()) + kernel.size
        if need > self._data.size:
            self._data = np.pad(self._data, (0, need - self._data.size))
        train = np.zeros(int(positions.max()) + 1)
        np.add.at(train, positions, scales)
        self._data[:need] += np.convolve(train, kernel)[:need]

    def take(self, n_samples: int) -> np.ndarray | None:
        """The next n_samples (None when nothing is pending)."""
        if self._data.size == 0:
            return None
        out = np.zeros(n_samples)
        m = min(n_samples, self._data.size)
        out[:m] = self._data[:m]
        self._data = self._data[m:]
        return out


def sep_kernel(fs: float, latency_s: float) -> np.ndarray:
    """Evoked response to one full volley (µV per unit), from the pulse onward."""
    t = np.arange(int((latency_s + SEP_P_DELAY_S + 4 * SEP_WIDTH_S) * fs)) / fs
    n_wave = -np.exp(-0.5 * ((t - latency_s) / SEP_WIDTH_S) ** 2)
    p_wave = 0.6 * np.exp(-0.5 * ((t - latency_s - SEP_P_DELAY_S) / SEP_WIDTH_S) ** 2)
    return SEP_UV_PER_VOLLEY * (n_wave + p_wave)


def adapted(t_s: np.ndarray, volley: np.ndarray, last_t_s: float) -> tuple[np.ndarray, float]:
    """Scale each pulse's volley down when pulses follow each other within the adaptation
    span (a 40 Hz train evokes far less per pulse than an isolated pulse)."""
    order = np.argsort(t_s)
    out = np.zeros_like(volley)
    last = last_t_s
    for i in order:
        gap = t_s[i] - last
        out[i] = volley[i] * min(1.0, max(gap, 0.0) / SEP_ADAPTATION_S)
        if volley[i] > 0.01:
            last = t_s[i]
    return out, last
