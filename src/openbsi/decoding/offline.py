"""Calibration and evaluation on a recording: feature windows, labels, blocked
cross-validation that never trains on a window overlapping a test block, and a shifted-label
null beside every figure.

The recording is any object with `.data` (channels x samples), `.info` (StreamInfo) and
`.line_freq_hz` (openbsi.signals.readers.RawRecording); labels come from
openbsi.decoding.labels.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from openbsi.decoding import metrics
from openbsi.decoding.decision import decisions
from openbsi.decoding.labels import SampleLabels
from openbsi.decoding.quality import QualityGate, fit_gate
from openbsi.decoding.registry import make_decoder
from openbsi.features.extractor import FeatureConfig, FeatureExtractor

MAX_FOLDS = 20
MAX_SHIFTS = 1000
DEFAULT_SHIFTS = 20  # 20 shifted-label refits: the smallest count whose 95th percentile exists


@dataclass
class Windows:
    """Feature windows of a recording with their labels (state at each window's last sample)."""

    X: np.ndarray  # (n, T, F, C)
    y_state: np.ndarray
    y_amplitude: np.ndarray
    ends: np.ndarray  # exclusive end sample of each window
    window_samples: int
    step_s: float
    state_names: tuple[str, ...]
    bad_counts: np.ndarray  # bad channels flagged per window
    line_ratio_windows: list[np.ndarray]  # a few raw windows for the quality gate's line ratio
    line_ratio_rows: np.ndarray  # which windows they are


def feature_config_for(line_hz: float | None, base: FeatureConfig | None = None) -> FeatureConfig:
    """The default features with the recording's line frequency as the notch."""
    import dataclasses

    base = base or FeatureConfig()
    return dataclasses.replace(base, notch_hz=line_hz)


def make_windows(
    data: np.ndarray, sfreq_hz: float, labels: SampleLabels, config: FeatureConfig
) -> Windows:
    """Every step's window from the first full one (causal: features use past samples only)."""
    extractor = FeatureExtractor(config, sfreq_hz, data.shape[0])
    win = extractor.window_samples
    ends = np.arange(win, data.shape[1] + 1, extractor.step_samples)
    if len(ends) < 20:
        raise ValueError(
            f"recording must give >= 20 windows of {config.window_s} s every {config.step_s} s, "
            f"got {len(ends)}"
        )
    X = np.empty((len(ends), *extractor.shape))
    bad = np.empty(len(ends), dtype=int)
    rows = np.unique(np.linspace(0, len(ends) - 1, min(len(ends), 200)).astype(int))
    keep = set(rows.tolist())
    raw_windows = []
    with threadpool_limits(1):
        for i, end in enumerate(ends):
            window = data[:, end - win : end]
            X[i] = extractor.transform(window)
            bad[i] = len(extractor.bad_channels)
            if i in keep:
                raw_windows.append(np.array(window))
    y_state, y_amp = labels.at(ends)
    return Windows(
        X, y_state, y_amp, ends, win, config.step_s, labels.state_names, bad, raw_windows, rows
    )


def blocked_folds(ends: np.ndarray, window_samples: int, k: int) -> list[tuple[np.ndarray, ...]]:
    """K contiguous test blocks; training excludes every window whose samples overlap any
    sample of the test block (window j covers [ends[j] - window_samples, ends[j]))."""
    n = len(ends)
    if not 2 <= k <= min(MAX_FOLDS, n // 4):
        raise ValueError(f"--cv blocked:K must have K in [2, {min(MAX_FOLDS, n // 4)}], got {k}")
    bounds = np.linspace(0, n, k + 1).astype(int)
    folds = []
    for a, b in itertools.pairwise(bounds):
        test = np.arange(a, b)
        first, last = ends[a] - window_samples, ends[b - 1]
        starts = ends - window_samples
        overlaps = (ends > first) & (starts < last)
        train = np.flatnonzero(~overlaps)
        folds.append((train, test))
    return folds


def decoder_for(name: str, n_states: int, step_s: float):
    """A decoder for a state set of n_states; labels measured on the recording need no
    reaction-time shift (label_delay_s = 0)."""
    if name in ("mslm", "mslm_nohmm"):
        return make_decoder(name, n_states=n_states, step_s=step_s, label_delay_s=0.0)
    return make_decoder(name, n_states=n_states)


def _decode_online(decoder, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    decoder.reset_filter()
    probs, amps = [], []
    for x in X:
        p, a = decoder.step(x)
        probs.append(p)
        amps.append(a)
    return np.asarray(probs), np.asarray(amps)


def _train_segments(train: np.ndarray) -> list[np.ndarray]:
    """Training windows as time-contiguous runs (the decoder learns transitions in order)."""
    if train.size == 0:
        return []
    cuts = np.flatnonzero(np.diff(train) > 1) + 1
    return np.split(train, cuts)


def cross_validate(
    name: str, w: Windows, folds, y_state: np.ndarray, y_amp: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Out-of-fold (test index, probabilities, amplitudes), each block decoded online from a
    fresh filter by a decoder that never saw a window overlapping it."""
    n_states = len(w.state_names)
    index, probs, amps = [], [], []
    for train, test in folds:
        segments = _train_segments(train)
        order = np.concatenate(segments)
        if np.unique(y_state[order]).size < 2:
            continue  # a fold whose training holds one state cannot learn a boundary
        decoder = decoder_for(name, n_states, w.step_s)
        decoder.fit(w.X[order], y_state[order], y_amp[order])
        p, a = _decode_online(decoder, w.X[test])
        index.append(test)
        probs.append(p)
        amps.append(a)
    if not index:
        raise ValueError("no fold had two states in its training windows; use fewer folds")
    return np.concatenate(index), np.concatenate(probs), np.concatenate(amps)


def score_decoded(
    y_state: np.ndarray,
    y_amp: np.ndarray,
    probs: np.ndarray,
    amps: np.ndarray,
    step_s: float,
    switch_threshold: float,
) -> dict:
    pred = decisions(probs, switch_threshold)
    return {
        "state_accuracy": metrics.state_accuracy(y_state, pred),
        "balanced_accuracy": metrics.balanced_accuracy(y_state, pred),
        "steady_state_accuracy": metrics.steady_state_accuracy(y_state, pred, step_s),
        "error_blocks_per_min": metrics.error_blocks_per_min(y_state, pred, step_s),
        "time_to_switch_s": metrics.time_to_switch_s(y_state, pred, step_s),
        "amplitude_r": metrics.amplitude_r(y_amp, amps),
        "label_delay_s": 0.0,
    }


def _threshold(name: str, n_states: int, step_s: float) -> float:
    return float(getattr(decoder_for(name, n_states, step_s), "switch_threshold", 0.0))


def evaluate_windows(
    w: Windows, decoders: list[str], k: int, n_shifts: int, rng: np.random.Generator
) -> dict:
    """Blocked CV of each decoder, and its shifted-label null (balanced accuracy)."""
    if not 0 <= n_shifts <= MAX_SHIFTS:
        raise ValueError(f"--null-shifts must be in [0, {MAX_SHIFTS}], got {n_shifts}")
    folds = blocked_folds(w.ends, w.window_samples, k)
    n = len(w.y_state)
    block = max(1, n // k)
    out: dict = {}
    with threadpool_limits(1):
        for name in decoders:
            thr = _threshold(name, len(w.state_names), w.step_s)
            idx, probs, amps = cross_validate(name, w, folds, w.y_state, w.y_amplitude)
            result = score_decoded(w.y_state[idx], w.y_amplitude[idx], probs, amps, w.step_s, thr)
            null = []
            for _ in range(n_shifts):
                # A circular shift by at least one block keeps the labels' own structure
                # (run lengths, balance) but breaks their alignment with the signal.
                shift = int(rng.integers(block, max(block + 1, n - block + 1)))
                ys, ya = np.roll(w.y_state, shift), np.roll(w.y_amplitude, shift)
                try:
                    i2, p2, _ = cross_validate(name, w, folds, ys, ya)
                except ValueError:
                    continue
                null.append(metrics.balanced_accuracy(ys[i2], decisions(p2, thr)))
            result["null"] = {
                "balanced_accuracy_p95": float(np.percentile(null, 95)) if null else None,
                "n_shuffles": len(null),
            }
            result["windows_scored"] = int(idx.size)
            out[name] = result
    return out


def windows_summary(w: Windows) -> dict:
    counts = np.bincount(w.y_state, minlength=len(w.state_names))
    return {
        "n": len(w.y_state),
        "per_state": {s: int(c) for s, c in zip(w.state_names, counts, strict=True)},
    }


@dataclass
class RecordingCalibration:
    decoder: object
    feature_config: FeatureConfig
    quality: QualityGate
    windows: Windows


def calibrate_windows(name: str, w: Windows, config: FeatureConfig, sfreq_hz: float):
    """Fit the decoder on every window, and the quality gate on the same windows."""
    with threadpool_limits(1):
        decoder = decoder_for(name, len(w.state_names), w.step_s)
        decoder.fit(w.X, w.y_state, w.y_amplitude)
        decoder.reset_filter()
    gate = fit_gate(
        w.X,
        w.bad_counts,
        w.line_ratio_windows,
        sfreq_hz,
        w.window_samples,
        config.notch_hz,
        w.line_ratio_rows,
    )
    return RecordingCalibration(decoder, config, gate, w)
