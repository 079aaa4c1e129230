"""Small models on low-dimensional latent scores: the LDA gate and per-state ridge experts."""

from __future__ import annotations

import numpy as np
from sklearn.covariance import ledoit_wolf_shrinkage


def fit_gate(
    T: np.ndarray, y: np.ndarray, n_states: int, shrinkage: str | float = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """LDA scores w_k . t + c_k (shared covariance, equal priors: the HMM supplies the prior).

    States absent from y get intercept -inf (probability 0).
    """
    classes = np.unique(y)
    coef = np.zeros((n_states, T.shape[1]))
    intercept = np.full(n_states, -np.inf)
    means = np.array([T[y == k].mean(axis=0) for k in classes])
    within = T - means[np.searchsorted(classes, y)]
    cov = within.T @ within / max(len(T) - len(classes), 1)
    if shrinkage == "auto":
        alpha = float(ledoit_wolf_shrinkage(within))
    else:
        alpha = float(shrinkage)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"shrinkage must be 'auto' or in [0, 1], got {shrinkage}")
    mu = np.trace(cov) / cov.shape[0]
    cov = (1 - alpha) * cov + alpha * mu * np.eye(cov.shape[0]) + 1e-9 * np.eye(cov.shape[0])
    w = np.linalg.solve(cov, means.T).T
    coef[classes] = w
    intercept[classes] = -0.5 * np.einsum("kd,kd->k", w, means)
    return coef, intercept


def fit_experts(
    T: np.ndarray, y: np.ndarray, amplitude: np.ndarray, n_states: int, alpha: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Per-state ridge regression of amplitude on latent scores -> (coef (K, d), intercept (K,)).

    States with too few windows or a constant target keep only their mean amplitude.
    """
    if alpha < 0:
        raise ValueError(f"ridge_alpha must be >= 0, got {alpha}")
    coef = np.zeros((n_states, T.shape[1]))
    intercept = np.zeros(n_states)
    for k in np.unique(y):
        rows = y == k
        target = amplitude[rows]
        intercept[k] = float(target.mean())
        if rows.sum() < 3 or np.ptp(target) == 0:
            continue
        Tk = T[rows] - T[rows].mean(axis=0)
        gram = Tk.T @ Tk + alpha * np.eye(T.shape[1])
        coef[k] = np.linalg.solve(gram, Tk.T @ (target - intercept[k]))
        intercept[k] -= float(T[rows].mean(axis=0) @ coef[k])
    return coef, intercept
