"""REW-NPLS: recursive exponentially weighted N-way PLS regression on feature tensors.

Eliseyev et al. 2017 (see shared/reference/facts.md): the model is re-fitted after every batch
(15 s in the clinical system) from exponentially weighted covariance statistics (forgetting
factor lambda), and the number of latent factors is chosen online by recursive validation:
each new batch is first predicted by the current models with 1..F_max factors, the errors are
accumulated with the same forgetting, and the factor count with the lowest error is used.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError

from openbsi.decoding.base import check_tensor_batch
from openbsi.decoding.npls import Moments, fit_npls
from openbsi.decoding.pooling import pool_features, pooled_shape

BATCH_S = 15.0  # Moly 2022 / Lorach 2023: coefficients re-fitted every 15 s


def batches(n: int, batch_size: int) -> list[slice]:
    """Consecutive slices of at most batch_size covering range(n)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


class REWNPLSRegressor(RegressorMixin, BaseEstimator):
    """Multi-output N-way PLS on (n, n_times, n_freqs, n_channels) tensors, updated recursively.

    Parameters
    ----------
    max_components : largest number of latent factors considered.
    n_components : fixed number of factors, or None to choose it by recursive validation.
    forgetting : weight kept by the old statistics at each batch update (0, 1].
    batch_s, step_s : fit() replays the data in batches of batch_s seconds of windows
        spaced step_s apart, exactly as the online updates would.
    pooling : reduction of the time axis before the model (see pooling.POOLINGS).
    """

    def __init__(
        self,
        max_components: int = 15,
        n_components: int | None = None,
        forgetting: float = 0.99,
        batch_s: float = BATCH_S,
        step_s: float = 0.1,
        pooling: str = "recent",
    ) -> None:
        self.max_components = max_components
        self.n_components = n_components
        self.forgetting = forgetting
        self.batch_s = batch_s
        self.step_s = step_s
        self.pooling = pooling

    def _check_params(self) -> None:
        if int(self.max_components) < 1:
            raise ValueError(f"max_components must be >= 1, got {self.max_components}")
        if self.n_components is not None and not 1 <= self.n_components <= self.max_components:
            raise ValueError(
                f"n_components must be None or in [1, {self.max_components}], "
                f"got {self.n_components}"
            )
        if not 0.0 < self.forgetting <= 1.0:
            raise ValueError(f"forgetting must be in (0, 1], got {self.forgetting}")
        if not self.batch_s > 0 or not self.step_s > 0:
            raise ValueError(
                f"batch_s and step_s must be > 0 s, got {self.batch_s} and {self.step_s}"
            )

    def _targets(self, y: np.ndarray, n: int) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        Y = y[:, None] if y.ndim == 1 else y
        if Y.shape[0] != n or Y.ndim != 2:
            raise ValueError(f"y must have {n} rows (1-D or 2-D), got shape {y.shape}")
        return Y

    def fit(self, X: np.ndarray, y: np.ndarray) -> REWNPLSRegressor:
        """Fresh model: replay the data as successive batch updates (time order)."""
        for name in ("moments_", "n_features_in_"):
            if hasattr(self, name):
                delattr(self, name)
        X = check_tensor_batch(X)
        Y = self._targets(y, len(X))
        size = max(1, round(self.batch_s / self.step_s))
        for sl in batches(len(X), size):
            self.partial_fit(X[sl], Y[sl])
        return self

    def partial_fit(self, X: np.ndarray, y: np.ndarray) -> REWNPLSRegressor:
        """One recursive update with a new batch (validation first, then the update)."""
        self._check_params()
        first = not hasattr(self, "moments_")
        X = check_tensor_batch(X, None if first else self.tensor_shape_)
        Y = self._targets(y, len(X))
        Z = pool_features(X, self.pooling)
        if first:
            self.tensor_shape_ = tuple(X.shape[1:])
            self.n_outputs_ = Y.shape[1]
            self.moments_ = Moments.empty(Z.shape[1], Y.shape[1])
            self.validation_error_ = np.zeros(int(self.max_components))
        elif hasattr(self, "model_"):
            # Recursive validation: score every factor count on data it has not seen.
            errors = [
                np.mean((self.model_.predict(Z, f) - Y) ** 2)
                for f in range(1, self.model_.n_components + 1)
            ]
            errors += [errors[-1]] * (len(self.validation_error_) - len(errors))
            self.validation_error_ = self.forgetting * self.validation_error_ + np.array(errors)
        self.moments_.update(Z, Y, 1.0 if first else self.forgetting)
        if self.moments_.n >= 2:
            self.model_ = fit_npls(
                self.moments_,
                pooled_shape(self.tensor_shape_, self.pooling),
                int(self.max_components),
            )
            self.n_features_in_ = int(np.prod(self.tensor_shape_))
        return self

    @property
    def n_components_(self) -> int:
        """Factor count in use: fixed, or the best by recursive validation so far."""
        if self.n_components is not None:
            return int(self.n_components)
        available = self.model_.n_components
        if not np.any(self.validation_error_):
            return min(available, max(1, int(self.max_components) // 2))
        return int(np.argmin(self.validation_error_[:available])) + 1

    def predict(self, X: np.ndarray) -> np.ndarray:
        if not hasattr(self, "model_"):
            raise NotFittedError("REWNPLSRegressor is not fitted yet; call fit() first")
        X = check_tensor_batch(X, self.tensor_shape_)
        Y = self.model_.predict(pool_features(X, self.pooling), self.n_components_)
        return Y[:, 0] if self.n_outputs_ == 1 else Y
