"""The gate (LDA) and the per-state amplitude experts (ridge) on latent scores, computed from
class-wise running sums so that a recursive update never needs old data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from openbsi.decoding.npls import Moments

MIN_WEIGHT = 1e-6  # a class with less (decayed) weight than this counts as unseen


@dataclass
class ClassStats:
    """Exponentially weighted per-state sums in feature space (K states, P features)."""

    n: np.ndarray  # (K,)
    sum_z: np.ndarray  # (K, P)
    sum_a: np.ndarray  # (K,)
    sum_za: np.ndarray  # (K, P)

    @classmethod
    def empty(cls, n_states: int, n_features: int) -> ClassStats:
        return cls(
            np.zeros(n_states),
            np.zeros((n_states, n_features)),
            np.zeros(n_states),
            np.zeros((n_states, n_features)),
        )

    def update(self, Z: np.ndarray, y: np.ndarray, a: np.ndarray, forgetting: float) -> None:
        onehot = np.eye(len(self.n))[y]  # (n, K)
        self.n = forgetting * self.n + onehot.sum(axis=0)
        self.sum_z = forgetting * self.sum_z + onehot.T @ Z
        self.sum_a = forgetting * self.sum_a + onehot.T @ a
        self.sum_za = forgetting * self.sum_za + (onehot * a[:, None]).T @ Z

    def project(self, R: np.ndarray, moments: Moments) -> LatentStats:
        """Class statistics of the latent scores t = z R - offset (offset cancels here)."""
        seen = self.n > MIN_WEIGHT
        n = np.where(seen, self.n, 0.0)
        safe = np.where(seen, self.n, 1.0)
        mean_z = self.sum_z / safe[:, None]
        mean_t = mean_z @ R  # (K, F), uncentred
        offset = (moments.sum_x / moments.n) @ R
        scatter = R.T @ moments.xx_dot(R) - (mean_t * n[:, None]).T @ mean_t
        mean_a = self.sum_a / safe
        cross = (self.sum_za - self.n[:, None] * mean_z * mean_a[:, None]) @ R  # (K, F)
        return LatentStats(n, mean_t - offset, scatter, mean_a, cross, seen)


@dataclass
class LatentStats:
    n: np.ndarray  # (K,) class weights
    means: np.ndarray  # (K, F) class means of t
    scatter: np.ndarray  # (F, F) pooled within-class scatter of t
    mean_a: np.ndarray  # (K,) mean amplitude per class
    cross: np.ndarray  # (K, F) within-class cross-products of t and amplitude
    seen: np.ndarray  # (K,) bool

    def covariance(self, f: int) -> np.ndarray:
        dof = max(float(self.n.sum()) - int(self.seen.sum()), 1.0)
        return self.scatter[:f, :f] / dof


def oas_shrinkage(cov: np.ndarray, n_samples: float) -> float:
    """Oracle-approximating shrinkage (Chen et al. 2010) from a covariance and its n."""
    p = cov.shape[0]
    mu = np.trace(cov) / p
    alpha = np.mean(cov**2)
    den = (n_samples + 1.0) * (alpha - mu**2 / p)
    return 1.0 if den <= 0 else float(min((alpha + mu**2) / den, 1.0))


def gate_from_stats(
    stats: LatentStats, f: int, shrinkage: str | float = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """LDA on the first f latent scores -> (coef (K, f), intercept (K,)); equal class priors
    (the HMM supplies the prior); unseen states get intercept -inf (probability 0)."""
    cov = stats.covariance(f)
    if shrinkage == "auto":
        alpha = oas_shrinkage(cov, float(stats.n.sum()))
    else:
        alpha = float(shrinkage)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"shrinkage must be 'auto' or in [0, 1], got {shrinkage}")
    mu = np.trace(cov) / f
    cov = (1 - alpha) * cov + (alpha * mu + 1e-12) * np.eye(f)
    means = stats.means[:, :f]
    coef = np.linalg.solve(cov, means.T).T
    intercept = -0.5 * np.einsum("kd,kd->k", coef, means)
    coef[~stats.seen] = 0.0
    intercept[~stats.seen] = -np.inf
    return coef, intercept


def experts_from_stats(
    stats: LatentStats, f: int, alpha: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Per-state ridge of amplitude on the first f latent scores (pooled within-class
    covariance, class-specific cross-covariance) -> (coef (K, f), intercept (K,))."""
    if alpha < 0:
        raise ValueError(f"ridge_alpha must be >= 0, got {alpha}")
    cov = stats.covariance(f)
    K = len(stats.n)
    coef = np.zeros((K, f))
    for k in np.flatnonzero(stats.n >= 3):
        coef[k] = np.linalg.solve(stats.n[k] * cov + alpha * np.eye(f), stats.cross[k, :f])
    intercept = stats.mean_a - np.einsum("kd,kd->k", coef, stats.means[:, :f])
    return coef, intercept
