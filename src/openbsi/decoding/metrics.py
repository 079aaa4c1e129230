"""Pseudo-online decoding metrics (Moly et al. 2022 report the same three: accuracy, time to
switch state, error blocks per minute; see shared/reference/facts.md)."""

from __future__ import annotations

import numpy as np


def delayed_labels(y_true: np.ndarray, delay_s: float, step_s: float = 0.1) -> np.ndarray:
    """Cue-locked labels moved delay_s later (the first delay_s keep the first label): the
    intention as the patient forms it, a reaction time after the cue."""
    if not 0.0 <= delay_s <= 5.0:
        raise ValueError(f"delay_s must be in [0, 5] s, got {delay_s}")
    y_true = np.asarray(y_true)
    k = min(round(delay_s / step_s), y_true.size)
    if k == 0:
        return y_true.copy()
    return np.r_[np.full(k, y_true[0], dtype=y_true.dtype), y_true[: y_true.size - k]]


def state_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of windows whose decoded state equals the cued state."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(
            f"y_true and y_pred must have the same non-empty shape, got {y_true.shape}, "
            f"{y_pred.shape}"
        )
    return float(np.mean(y_true == y_pred))


def _runs(y: np.ndarray) -> list[tuple[int, int, int]]:
    """Maximal runs of equal values: (start, stop_exclusive, value)."""
    if y.size == 0:
        return []
    edges = np.flatnonzero(np.diff(y)) + 1
    starts = np.r_[0, edges]
    stops = np.r_[edges, y.size]
    return [(int(a), int(b), int(y[a])) for a, b in zip(starts, stops, strict=True)]


def error_blocks(
    y_true: np.ndarray, y_pred: np.ndarray, step_s: float = 0.1, tolerance_s: float = 1.0
) -> int:
    """Decoded runs of a state that is cued nowhere within tolerance_s of the run.

    A late or early switch at a cue change is not an error block (the decoded state is cued
    just before or after); a spurious detection of a state that is not cued is.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    pad = round(tolerance_s / step_s)
    count = 0
    for start, stop, value in _runs(y_pred):
        lo, hi = max(0, start - pad), min(y_true.size, stop + pad)
        if not np.any(y_true[lo:hi] == value):
            count += 1
    return count


def error_blocks_per_min(
    y_true: np.ndarray, y_pred: np.ndarray, step_s: float = 0.1, tolerance_s: float = 1.0
) -> float:
    minutes = len(y_true) * step_s / 60.0
    return error_blocks(y_true, y_pred, step_s, tolerance_s) / minutes if minutes > 0 else 0.0


def time_to_switch_s(y_true: np.ndarray, y_pred: np.ndarray, step_s: float = 0.1) -> float:
    """Mean delay from a cue change to the first window decoded as the new state (within the
    cued block; blocks never reached are left out). Includes the patient's reaction time and
    the window's own lag, as in Moly 2022. NaN if no cue change was reached."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    delays = []
    for start, stop, value in _runs(y_true)[1:]:
        hits = np.flatnonzero(y_pred[start:stop] == value)
        if hits.size:
            delays.append(hits[0] * step_s)
    return float(np.mean(delays)) if delays else float("nan")


def amplitude_r(a_true: np.ndarray, a_pred: np.ndarray) -> float:
    """Pearson correlation of decoded and cued amplitude (NaN if either is constant)."""
    a_true, a_pred = np.asarray(a_true, dtype=float), np.asarray(a_pred, dtype=float)
    if a_true.std() == 0 or a_pred.std() == 0:
        return float("nan")
    return float(np.corrcoef(a_true, a_pred)[0, 1])


def steady_state_accuracy(
    y_true: np.ndarray, y_pred: np.ndarray, step_s: float = 0.1, settle_s: float = 1.0
) -> float:
    """Accuracy over windows at least settle_s after the last cue change (what remains once
    reaction time and window lag are out of the picture). NaN if no window qualifies."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    changes = np.r_[0, np.flatnonzero(np.diff(y_true)) + 1]
    since = (
        np.arange(y_true.size)
        - changes[np.searchsorted(changes, np.arange(y_true.size), side="right") - 1]
    )
    keep = since >= round(settle_s / step_s)
    return float(np.mean(y_true[keep] == y_pred[keep])) if keep.any() else float("nan")


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float | None:
    """Mean over the states present in y_true of the fraction of their windows decoded as them
    (chance is 1 / n_present whatever the class balance). None if y_true is empty."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape, got {y_true.shape}, {y_pred.shape}"
        )
    if y_true.size == 0:
        return None
    recalls = [float(np.mean(y_pred[y_true == k] == k)) for k in np.unique(y_true)]
    return float(np.mean(recalls))


def shifted_label_null(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    n_shifts: int,
    rng: np.random.Generator,
    min_shift: int,
) -> dict:
    """Chance level of fixed decodes: balanced accuracy of y_pred against y_true circularly
    shifted by a random lag in [min_shift, n - min_shift] (both keep their own run lengths and
    balance; only their alignment is broken). {"balanced_accuracy_p95", "n_shuffles"}."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    n = y_true.size
    if n < 2 * min_shift + 1 or n_shifts < 1:
        return {"balanced_accuracy_p95": None, "n_shuffles": 0}
    values = [
        balanced_accuracy(np.roll(y_true, int(rng.integers(min_shift, n - min_shift + 1))), y_pred)
        for _ in range(n_shifts)
    ]
    return {"balanced_accuracy_p95": float(np.percentile(values, 95)), "n_shuffles": n_shifts}
