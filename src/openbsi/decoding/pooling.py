"""Reduce the time axis of (n, n_times, n_freqs, n_channels) tensors to flat vectors."""

from __future__ import annotations

import numpy as np

POOLINGS = ("mean", "halves", "none")


def pool_features(X: np.ndarray, pooling: str) -> np.ndarray:
    """(n, T, F, C) -> (n, d): 'mean' over time (d = F C), 'halves' (d = 2 F C), 'none'."""
    n = X.shape[0]
    if pooling == "mean":
        return X.mean(axis=1).reshape(n, -1)
    if pooling == "halves":
        half = max(X.shape[1] // 2, 1)
        first = X[:, :half].mean(axis=1).reshape(n, -1)
        second = X[:, half:].mean(axis=1).reshape(n, -1) if X.shape[1] > 1 else first
        return np.concatenate([first, second], axis=1)
    if pooling == "none":
        return X.reshape(n, -1)
    raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
