"""Baseline decoders: band power + LDA, and a Kalman filter for continuous amplitude.

Both take the same (n, n_times, n_freqs, n_channels) tensors as the MSLM and reduce them to
per-channel log power in two bands: beta (<= 30 Hz, falls with movement) and high gamma
(>= 70 Hz, rises; Miller 2012 via shared/reference/facts.md).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from openbsi.decoding.base import (
    OnlineDecoderMixin,
    check_n_states,
    check_targets,
    check_tensor_batch,
)
from openbsi.states import N_STATES

BETA_MAX_HZ = 30.0
GAMMA_MIN_HZ = 70.0
DEFAULT_FREQS_HZ = tuple(float(f) for f in range(10, 151, 10))


def band_power(
    X: np.ndarray, freqs_hz: tuple[float, ...] = DEFAULT_FREQS_HZ, recent: int = 3
) -> np.ndarray:
    """(n, T, F, C) log magnitudes -> (n, 2 C): mean beta and high-gamma of the newest points."""
    freqs = np.asarray(freqs_hz)
    if len(freqs) != X.shape[2]:
        raise ValueError(f"freqs_hz must list {X.shape[2]} frequencies, got {len(freqs)}")
    beta = freqs <= BETA_MAX_HZ
    gamma = freqs >= GAMMA_MIN_HZ
    if not beta.any() or not gamma.any():
        raise ValueError(
            f"freqs_hz must include <= {BETA_MAX_HZ} Hz and >= {GAMMA_MIN_HZ} Hz, got {freqs}"
        )
    late = X[:, -recent:].mean(axis=1)  # (n, F, C)
    return np.concatenate([late[:, beta].mean(axis=1), late[:, gamma].mean(axis=1)], axis=1)


class _BufferedMixin:
    """partial_fit for batch baselines: keep the newest `buffer_s` of data and refit."""

    def partial_fit(
        self, X: np.ndarray, y_state: np.ndarray, y_amplitude: np.ndarray | None = None
    ):
        X = check_tensor_batch(X)
        y_state, y_amplitude = check_targets(y_state, y_amplitude, len(X), self.n_states)
        if hasattr(self, "buffer_X_"):
            X = np.concatenate([self.buffer_X_, X])
            y_state = np.concatenate([self.buffer_y_, y_state])
            y_amplitude = np.concatenate([self.buffer_a_, y_amplitude])
        keep = max(1, round(self.buffer_s / 0.1))
        return self.fit(X[-keep:], y_state[-keep:], y_amplitude[-keep:])

    def _remember(self, X, y, a) -> None:
        self.buffer_X_, self.buffer_y_, self.buffer_a_ = X, y, a


class BandPowerLDA(_BufferedMixin, OnlineDecoderMixin, BaseEstimator):
    """Shrinkage LDA on band power for the state; ridge-free least squares for amplitude."""

    def __init__(
        self, shrinkage: str | float = "auto", buffer_s: float = 600.0, n_states: int = N_STATES
    ) -> None:
        self.shrinkage = shrinkage
        self.buffer_s = buffer_s
        self.n_states = n_states

    def fit(self, X, y_state, y_amplitude=None) -> BandPowerLDA:
        X = check_tensor_batch(X)
        y_state, y_amplitude = check_targets(
            y_state, y_amplitude, len(X), check_n_states(self.n_states)
        )
        B = band_power(X)
        self.lda_ = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=self.shrinkage)
        self.lda_.fit(B, y_state)
        design = np.c_[B, np.ones(len(B))]
        gram = design.T @ design + 1.0 * np.eye(design.shape[1])
        self.amp_coef_ = np.linalg.solve(gram, design.T @ y_amplitude)
        self.tensor_shape_ = tuple(X.shape[1:])
        self.n_features_in_ = int(np.prod(self.tensor_shape_))
        self._remember(X, y_state, y_amplitude)
        return self

    def predict_proba(self, X) -> np.ndarray:
        self._check_fitted()
        B = band_power(check_tensor_batch(X, self.tensor_shape_))
        out = np.zeros((len(B), self.n_states))
        out[:, self.lda_.classes_] = self.lda_.predict_proba(B)
        return out

    def predict_amplitude(self, X) -> np.ndarray:
        self._check_fitted()
        B = band_power(check_tensor_batch(X, self.tensor_shape_))
        return np.clip(np.c_[B, np.ones(len(B))] @ self.amp_coef_, 0.0, 1.0)

    def step(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        return self.predict_proba(x[None])[0], float(self.predict_amplitude(x[None])[0])


class KalmanDecoder(_BufferedMixin, OnlineDecoderMixin, BaseEstimator):
    """Kalman filter whose hidden state is the amplitude of each movement (n_states - 1).

    x_t = A x_{t-1} + w (cov W);  z_t = H x_t + c + q (cov Q), z = band power. All matrices by
    least squares on the calibration (Wu et al. 2006 style); Q is shrunk towards its diagonal.
    The state probabilities are a crude read-out: rest gets 1 - sum(x) and each movement x_k.
    """

    def __init__(
        self, shrinkage: float = 0.5, buffer_s: float = 600.0, n_states: int = N_STATES
    ) -> None:
        self.shrinkage = shrinkage
        self.buffer_s = buffer_s
        self.n_states = n_states

    def fit(self, X, y_state, y_amplitude=None) -> KalmanDecoder:
        X = check_tensor_batch(X)
        y_state, y_amplitude = check_targets(
            y_state, y_amplitude, len(X), check_n_states(self.n_states)
        )
        if not 0.0 <= self.shrinkage <= 1.0:
            raise ValueError(f"shrinkage must be in [0, 1], got {self.shrinkage}")
        Z = band_power(X)
        S = np.zeros((len(X), self.n_states - 1))
        moving = y_state > 0
        S[moving, y_state[moving] - 1] = np.where(y_amplitude[moving] > 0, y_amplitude[moving], 1)
        S1 = np.c_[S, np.ones(len(S))]
        HC = np.linalg.lstsq(S1, Z, rcond=None)[0]  # (7, d)
        self.H_, self.c_ = HC[:-1].T, HC[-1]
        resid = Z - S1 @ HC
        Q = np.cov(resid.T)
        self.Q_ = (1 - self.shrinkage) * Q + self.shrinkage * np.diag(np.diag(Q))
        self.Q_ += 1e-6 * np.eye(len(Q))
        prev, nxt = S[:-1], S[1:]
        self.A_ = np.linalg.lstsq(prev, nxt, rcond=None)[0].T
        self.W_ = np.cov((nxt - prev @ self.A_.T).T) + 1e-6 * np.eye(S.shape[1])
        self.Q_inv_ = np.linalg.inv(self.Q_)
        self.tensor_shape_ = tuple(X.shape[1:])
        self.n_features_in_ = int(np.prod(self.tensor_shape_))
        self._remember(X, y_state, y_amplitude)
        self.reset_filter()
        return self

    def reset_filter(self) -> None:
        k = self.n_states - 1
        self.kf_state_ = (np.zeros(k), np.eye(k))

    def _kf_update(self, z: np.ndarray, state) -> tuple[np.ndarray, np.ndarray]:
        x, P = state
        x = self.A_ @ x
        P = self.A_ @ P @ self.A_.T + self.W_
        # Information form: cheap with many observations and few hidden states.
        P_post = np.linalg.inv(np.linalg.inv(P) + self.H_.T @ self.Q_inv_ @ self.H_)
        x = x + P_post @ self.H_.T @ self.Q_inv_ @ (z - self.c_ - self.H_ @ x)
        return x, P_post

    @staticmethod
    def _readout(x: np.ndarray) -> tuple[np.ndarray, float]:
        move = np.clip(x, 0.0, None)
        probs = np.r_[max(1.0 - move.sum(), 0.0), move] + 1e-6
        return probs / probs.sum(), float(np.clip(move.max(), 0.0, 1.0))

    def _run(self, X) -> tuple[np.ndarray, np.ndarray]:
        Z = band_power(check_tensor_batch(X, self.tensor_shape_))
        state = (np.zeros(self.n_states - 1), np.eye(self.n_states - 1))
        probs, amps = np.empty((len(Z), self.n_states)), np.empty(len(Z))
        for i, z in enumerate(Z):
            state = self._kf_update(z, state)
            probs[i], amps[i] = self._readout(state[0])
        return probs, amps

    def predict_proba(self, X) -> np.ndarray:
        self._check_fitted()
        return self._run(X)[0]

    def predict_amplitude(self, X) -> np.ndarray:
        self._check_fitted()
        return self._run(X)[1]

    def step(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        self._check_fitted()
        z = band_power(check_tensor_batch(x[None], self.tensor_shape_))[0]
        self.kf_state_ = self._kf_update(z, self.kf_state_)
        return self._readout(self.kf_state_[0])
