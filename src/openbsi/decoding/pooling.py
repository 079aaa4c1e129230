"""Reduce the time axis of (n, n_times, n_freqs, n_channels) tensors to flat vectors."""

from __future__ import annotations

import numpy as np

POOLINGS = ("mean", "late", "recent", "last2", "onset", "halves", "none")


def pool_features(X: np.ndarray, pooling: str) -> np.ndarray:
    """(n, T, F, C) -> (n, d): 'mean' over time (d = F C), 'late' = mean of the newest half
    (d = F C, less lag), 'halves' (d = 2 F C), 'none' (d = T F C)."""
    n = X.shape[0]
    if pooling == "mean":
        return X.mean(axis=1).reshape(n, -1)
    if pooling == "recent":  # newest 30 % of the time points (least lag, more noise)
        k = max(1, round(0.3 * X.shape[1]))
        return X[:, -k:].mean(axis=1).reshape(n, -1)
    if pooling == "last2":  # the two newest time points
        return X[:, -2:].mean(axis=1).reshape(n, -1)
    if pooling == "onset":  # newest 30 % and its change from the middle of the window
        k = max(1, round(0.3 * X.shape[1]))
        recent = X[:, -k:].mean(axis=1)
        middle = X[:, X.shape[1] // 5 : X.shape[1] - k].mean(axis=1)
        return np.concatenate([recent.reshape(n, -1), (recent - middle).reshape(n, -1)], axis=1)
    if pooling == "late":
        return X[:, X.shape[1] // 2 :].mean(axis=1).reshape(n, -1)
    if pooling == "halves":
        half = max(X.shape[1] // 2, 1)
        first = X[:, :half].mean(axis=1).reshape(n, -1)
        second = X[:, half:].mean(axis=1).reshape(n, -1) if X.shape[1] > 1 else first
        return np.concatenate([first, second], axis=1)
    if pooling == "none":
        return X.reshape(n, -1)
    raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")


def pooled_shape(shape: tuple[int, int, int], pooling: str) -> tuple[int, int, int]:
    """Tensor shape (T', F, C) of the pooled vector, for multilinear models."""
    t, f, c = shape
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    return {"halves": (2, f, c), "onset": (2, f, c), "none": (t, f, c)}.get(pooling, (1, f, c))
