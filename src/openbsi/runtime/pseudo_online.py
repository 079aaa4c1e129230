"""Pseudo-online evaluation: the virtual patient's cortex -> features -> decoders, window by
window, exactly as the closed loop would see them (causal, freshest 1 s window every 100 ms).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from openbsi.decoding import metrics
from openbsi.features.extractor import FeatureConfig, FeatureExtractor
from openbsi.states import STATE_INDEX

READ_CHUNK_S = 10.0  # generate the cortex signal in pieces of this length (memory)


@dataclass
class Recording:
    """Feature windows of one simulated session with their cue-locked labels."""

    X: np.ndarray  # (n_windows, n_times, n_freqs, n_channels)
    y_state: np.ndarray  # (n_windows,) int state index at the window's last sample
    y_amplitude: np.ndarray  # (n_windows,) cued effort 0..1
    t_s: np.ndarray  # (n_windows,) time of the window's last sample
    bad_channels: tuple[int, ...]  # union of channels flagged bad in any window
    sfreq_hz: float

    def __len__(self) -> int:
        return len(self.y_state)

    def slice(self, start: int, stop: int) -> Recording:
        return Recording(
            self.X[start:stop],
            self.y_state[start:stop],
            self.y_amplitude[start:stop],
            self.t_s[start:stop],
            self.bad_channels,
            self.sfreq_hz,
        )


def record(
    script,
    rng: np.random.Generator,
    *,
    config: FeatureConfig | None = None,
    day: int = 0,
    profile: str | None = None,
) -> Recording:
    """Simulate the virtual cortex for `script` and extract a feature window every step."""
    from openbsi.patient.cortex import VirtualCortex
    from openbsi.patient.profiles import get_profile

    kwargs = {"day": day}
    if profile is not None:
        kwargs["profile"] = get_profile(profile)
    cortex = VirtualCortex(script, rng, **kwargs)
    fs = cortex.info.sfreq_hz
    extractor = FeatureExtractor(config or FeatureConfig(), fs, cortex.info.n_channels)
    n_total = int(script.duration_s * fs)
    win, step = extractor.window_samples, extractor.step_samples
    ends = np.arange(win, n_total + 1, step)
    X = np.empty((len(ends), *extractor.shape))
    bad: set[int] = set()
    buffer = np.zeros((cortex.info.n_channels, 0))
    offset = 0  # stream index of buffer[:, 0]
    chunk = int(READ_CHUNK_S * fs)
    i = 0
    produced = 0
    while i < len(ends):
        n_new = min(chunk, n_total - produced)
        buffer = np.concatenate([buffer, cortex.read(n_new)], axis=1)
        produced += n_new
        while i < len(ends) and ends[i] <= produced:
            local_end = ends[i] - offset
            X[i] = extractor.transform(buffer[:, local_end - win : local_end])
            bad.update(extractor.bad_channels)
            i += 1
        keep = buffer.shape[1] - win  # keep the last window's worth of samples
        if keep > 0:
            buffer = buffer[:, keep:]
            offset += keep
    t_s = (ends - 1) / fs
    y_state = np.array([STATE_INDEX[s] for s in script.states_at(t_s)], dtype=int)
    y_amp = np.array([script.amplitude_at(t) for t in t_s])
    return Recording(X, y_state, y_amp, t_s, tuple(sorted(bad)), fs)


def run_online(decoder, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Feed windows one by one through decoder.step() from a fresh filter."""
    decoder.reset_filter()
    probs = np.empty((len(X), 7))
    amps = np.empty(len(X))
    for i, x in enumerate(X):
        probs[i], amps[i] = decoder.step(x)
    return probs, amps


def score(rec: Recording, probs: np.ndarray, amps: np.ndarray, step_s: float = 0.1) -> dict:
    """The evaluation metrics of one decoded recording."""
    pred = probs.argmax(axis=1)
    return {
        "state_accuracy": metrics.state_accuracy(rec.y_state, pred),
        "error_blocks_per_min": metrics.error_blocks_per_min(rec.y_state, pred, step_s),
        "time_to_switch_s": metrics.time_to_switch_s(rec.y_state, pred, step_s),
        "amplitude_r": metrics.amplitude_r(rec.y_amplitude, amps),
    }
