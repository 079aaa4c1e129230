"""N-way PLS from exponentially weighted sufficient statistics (REW-NPLS core).

Eliseyev et al. 2017 (REW-NPLS) / Moly 2022, see shared/reference/facts.md. Each latent factor
has a multilinear (rank-1) weight w = w_1 (x) w_2 (x) w_3 over the tensor modes (time, frequency,
channel), found as the best rank-1 approximation (higher-order power method) of the leading
covariance direction X'Y. Because only X'X and X'Y enter, a new batch updates the model by
    XX <- lambda XX + X_b' X_b,   XY <- lambda XY + X_b' Y_b
(lambda = forgetting factor), which is what makes the recursive form exact and cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HOPM_ITERATIONS = 8  # rank-1 power iterations per factor (converges in a few)


DENSE_LIMIT = 4096  # above this many features X'X is not stored; weighted rows are kept


@dataclass
class Moments:
    """Exponentially weighted first and second moments of (x, y) pairs.

    For up to DENSE_LIMIT features the raw X'X is kept (memory P^2, any number of batches);
    above it the (weighted) rows themselves are kept and X'X is applied implicitly.
    """

    n: float
    sum_x: np.ndarray  # (P,)
    sum_y: np.ndarray  # (M,)
    xx: np.ndarray | None  # (P, P) raw (uncentred) X'X, or None in row mode
    xy: np.ndarray  # (P, M) raw X'Y
    yy: np.ndarray  # (M, M) raw Y'Y
    rows: list[np.ndarray] | None = None  # row mode: sqrt(weight) * X batches

    @classmethod
    def empty(cls, n_features: int, n_targets: int, dense: bool | None = None) -> Moments:
        dense = n_features <= DENSE_LIMIT if dense is None else dense
        return cls(
            0.0,
            np.zeros(n_features),
            np.zeros(n_targets),
            np.zeros((n_features, n_features)) if dense else None,
            np.zeros((n_features, n_targets)),
            np.zeros((n_targets, n_targets)),
            None if dense else [],
        )

    def update(self, X: np.ndarray, Y: np.ndarray, forgetting: float = 1.0) -> None:
        """Decay the old statistics by `forgetting` (0..1] and add the batch (X: (n, P))."""
        if not 0.0 < forgetting <= 1.0:
            raise ValueError(f"forgetting must be in (0, 1], got {forgetting}")
        self.n = forgetting * self.n + X.shape[0]
        self.sum_x = forgetting * self.sum_x + X.sum(axis=0)
        self.sum_y = forgetting * self.sum_y + Y.sum(axis=0)
        if self.xx is not None:
            self.xx *= forgetting
            self.xx += X.T @ X
        else:
            assert self.rows is not None
            self.rows = [np.sqrt(forgetting) * r for r in self.rows] + [np.array(X, float)]
        self.xy = forgetting * self.xy + X.T @ Y
        self.yy = forgetting * self.yy + Y.T @ Y

    def xx_dot(self, M: np.ndarray) -> np.ndarray:
        """Raw X'X @ M without forming X'X in row mode."""
        if self.xx is not None:
            return self.xx @ M
        assert self.rows is not None
        return sum(r.T @ (r @ M) for r in self.rows)

    def xx_trace(self) -> float:
        if self.xx is not None:
            return float(np.trace(self.xx))
        assert self.rows is not None
        return float(sum(np.sum(r * r) for r in self.rows))

    def centred(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(mean_x, mean_y, XY) with XY centred on the weighted means."""
        mx = self.sum_x / self.n
        my = self.sum_y / self.n
        xy = self.xy - self.n * np.outer(mx, my)
        return mx, my, xy

    def cxx_dot(self, M: np.ndarray) -> np.ndarray:
        """Centred X'X @ M."""
        mx = self.sum_x / self.n
        correction = np.multiply.outer(mx, mx @ M)  # (P,) for a vector M, (P, K) for a matrix
        return self.xx_dot(M) - self.n * correction


def rank1(tensor: np.ndarray, n_iter: int = HOPM_ITERATIONS) -> list[np.ndarray]:
    """Unit-norm factors of the best rank-1 approximation of a 3-way tensor (HOPM)."""
    # Initialise each mode with the leading left singular vector of its unfolding.
    factors = []
    for mode in range(3):
        unfolded = np.moveaxis(tensor, mode, 0).reshape(tensor.shape[mode], -1)
        u, _, _ = np.linalg.svd(unfolded @ unfolded.T)
        factors.append(u[:, 0])
    for _ in range(n_iter):
        factors[0] = np.einsum("ijk,j,k->i", tensor, factors[1], factors[2])
        factors[0] /= np.linalg.norm(factors[0]) + 1e-300
        factors[1] = np.einsum("ijk,i,k->j", tensor, factors[0], factors[2])
        factors[1] /= np.linalg.norm(factors[1]) + 1e-300
        factors[2] = np.einsum("ijk,i,j->k", tensor, factors[0], factors[1])
        factors[2] /= np.linalg.norm(factors[2]) + 1e-300
    return factors


@dataclass
class NPLSFit:
    """A fitted N-way PLS: Y_hat = (X - mean_x) @ coef[:, :, F] + mean_y for F factors."""

    mean_x: np.ndarray  # (P,)
    mean_y: np.ndarray  # (M,)
    rotations: np.ndarray  # (P, F_max): latent scores T = (X - mean_x) @ rotations
    y_loadings: np.ndarray  # (M, F_max)
    mode_weights: list[list[np.ndarray]]  # per factor: [w_time, w_freq, w_channel]

    @property
    def n_components(self) -> int:
        return int(self.rotations.shape[1])

    def coef(self, n_components: int) -> np.ndarray:
        """(P, M) regression coefficients using the first n_components factors."""
        return self.rotations[:, :n_components] @ self.y_loadings[:, :n_components].T

    def scores(self, X: np.ndarray, n_components: int | None = None) -> np.ndarray:
        f = self.n_components if n_components is None else n_components
        return (X - self.mean_x) @ self.rotations[:, :f]

    def predict(self, X: np.ndarray, n_components: int | None = None) -> np.ndarray:
        f = self.n_components if n_components is None else n_components
        return (X - self.mean_x) @ self.coef(f) + self.mean_y


def fit_npls(moments: Moments, shape: tuple[int, int, int], n_components: int) -> NPLSFit:
    """N-way PLS with multilinear weights on tensors of `shape` (the P features, C order)."""
    if n_components < 1:
        raise ValueError(f"n_components must be >= 1, got {n_components}")
    if int(np.prod(shape)) != moments.sum_x.shape[0]:
        raise ValueError(
            f"shape {shape} must hold {moments.sum_x.shape[0]} features, got {int(np.prod(shape))}"
        )
    mx, my, xy = moments.centred()
    trace = moments.xx_trace() - moments.n * float(mx @ mx)
    n_features, n_targets = xy.shape
    rotations = np.zeros((n_features, n_components))
    x_loadings = np.zeros((n_features, n_components))
    y_loadings = np.zeros((n_targets, n_components))
    mode_weights: list[list[np.ndarray]] = []
    residual_xy = xy.copy()
    for f in range(n_components):
        # Leading covariance direction, then its closest rank-1 tensor.
        u, _, _ = np.linalg.svd(residual_xy, full_matrices=False)
        factors = rank1(u[:, 0].reshape(shape))
        w = np.einsum("i,j,k->ijk", *factors).ravel()
        # Rotation r such that t = X_centred @ r equals the deflated-X score X_f @ w.
        r = w - rotations[:, :f] @ (x_loadings[:, :f].T @ w)
        xx_r = moments.cxx_dot(r)
        tt = float(r @ xx_r)
        if tt <= 1e-12 * max(trace, 1e-300):
            rotations, x_loadings, y_loadings = (
                rotations[:, :f],
                x_loadings[:, :f],
                y_loadings[:, :f],
            )
            break
        p = xx_r / tt
        q = xy.T @ r / tt
        rotations[:, f], x_loadings[:, f], y_loadings[:, f] = r, p, q
        residual_xy = residual_xy - tt * np.outer(p, q)
        mode_weights.append(factors)
    if rotations.shape[1] == 0:
        raise ValueError("the calibration data carry no variance: cannot fit any PLS factor")
    return NPLSFit(mx, my, rotations, y_loadings, mode_weights)
