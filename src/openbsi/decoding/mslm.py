"""Markov-switching multilinear decoder (REW-MSLM style).

Moly et al. 2022 / Lorach et al. 2023 (shared/reference/facts.md): a gate (linear scores ->
softmax -> HMM forward filtering) gives the probability of rest or of each joint movement;
per-state experts regress the movement amplitude; output Y = sum_k gamma_k (B_k X + b_k).

Here: an N-way PLS (multilinear weights over frequency x channel) maps the tensor to a few
latent scores; the gate is a shrinkage LDA on those scores; experts are per-state ridge
regressions on the same scores; the transition matrix is counted from the calibration labels.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from openbsi.decoding.base import OnlineDecoderMixin, check_targets, check_tensor_batch
from openbsi.decoding.hmm import count_transitions, forward_filter
from openbsi.decoding.latent import fit_experts, fit_gate
from openbsi.decoding.npls import Moments, fit_npls
from openbsi.decoding.pooling import pool_features, pooled_shape
from openbsi.states import N_STATES


def delayed_labels(y: np.ndarray, delay_windows: int, fill: int = 0) -> np.ndarray:
    """Labels shifted later by delay_windows (the cortex follows the cue after a reaction
    time and the 1 s window lags further); the first windows get `fill` (rest)."""
    if delay_windows <= 0:
        return y.copy()
    return np.r_[np.full(delay_windows, fill, dtype=y.dtype), y[: len(y) - delay_windows]]


class MarkovSwitchingDecoder(OnlineDecoderMixin, BaseEstimator):
    """NPLS latent scores -> LDA gate -> HMM forward filter; per-state amplitude experts.

    Parameters
    ----------
    hmm : filter the gate's probabilities with the HMM (False = the `mslm_nohmm` decoder).
    n_components : number of N-way PLS factors.
    pooling : reduction of the tensor's time axis ('late', 'mean', 'halves', 'none').
    label_delay_s : training labels are shifted this much later (reaction time + window lag);
        fit() assumes X is one time-ordered sequence sampled every step_s.
    step_s : spacing of the windows in seconds.
    shrinkage : LDA covariance shrinkage in [0, 1] or 'auto' (Ledoit-Wolf).
    ridge_alpha : L2 penalty of the amplitude experts.
    prior_count, stay_prior : Dirichlet pseudo-counts of the transition matrix.
    evidence_weight : exponent on the gate's likelihoods (< 1 trusts the HMM prior more).
    """

    def __init__(
        self,
        hmm: bool = True,
        n_components: int = 10,
        pooling: str = "recent",
        label_delay_s: float = 0.3,
        step_s: float = 0.1,
        shrinkage: str | float = "auto",
        ridge_alpha: float = 1.0,
        prior_count: float = 1.0,
        stay_prior: float = 0.0,
        evidence_weight: float = 1.0,
    ) -> None:
        self.hmm = hmm
        self.n_components = n_components
        self.pooling = pooling
        self.label_delay_s = label_delay_s
        self.step_s = step_s
        self.shrinkage = shrinkage
        self.ridge_alpha = ridge_alpha
        self.prior_count = prior_count
        self.stay_prior = stay_prior
        self.evidence_weight = evidence_weight

    # -- fitting ---------------------------------------------------------------------------
    def _check_params(self) -> None:
        if not 0 < self.evidence_weight <= 10:
            raise ValueError(f"evidence_weight must be in (0, 10], got {self.evidence_weight}")
        if int(self.n_components) < 1:
            raise ValueError(f"n_components must be >= 1, got {self.n_components}")
        if not 0 <= self.label_delay_s <= 5:
            raise ValueError(f"label_delay_s must be in [0, 5] s, got {self.label_delay_s}")
        if not self.step_s > 0:
            raise ValueError(f"step_s must be > 0 s, got {self.step_s}")

    def fit(
        self, X: np.ndarray, y_state: np.ndarray, y_amplitude: np.ndarray | None = None
    ) -> MarkovSwitchingDecoder:
        self._check_params()
        X = check_tensor_batch(X)
        y_state, y_amplitude = check_targets(y_state, y_amplitude, len(X))
        delay = round(self.label_delay_s / self.step_s)
        y_state = delayed_labels(y_state, delay)
        y_amplitude = delayed_labels(y_amplitude, delay, fill=0)
        self.tensor_shape_ = tuple(X.shape[1:])
        Z = pool_features(X, self.pooling)
        self.mean_ = Z.mean(axis=0)
        self.scale_ = Z.std(axis=0) + 1e-6
        Z = (Z - self.mean_) / self.scale_
        targets = np.c_[np.eye(N_STATES)[y_state], y_amplitude]
        moments = Moments.empty(Z.shape[1], targets.shape[1])
        moments.update(Z, targets)
        self.npls_ = fit_npls(
            moments, pooled_shape(self.tensor_shape_, self.pooling), int(self.n_components)
        )
        self.rotations_ = self.npls_.rotations  # latent T = (Z - mean) @ rotations
        self.latent_mean_ = self.npls_.mean_x
        T = (Z - self.latent_mean_) @ self.rotations_
        self.gate_coef_, self.gate_intercept_ = fit_gate(T, y_state, N_STATES, self.shrinkage)
        self.expert_coef_, self.expert_intercept_ = fit_experts(
            T, y_state, y_amplitude, N_STATES, self.ridge_alpha
        )
        counts = np.bincount(y_state, minlength=N_STATES).astype(float)
        self.class_prior_ = (counts + 1e-3) / (counts + 1e-3).sum()
        self.transition_ = count_transitions(
            y_state, N_STATES, self.prior_count, self.stay_prior
        )
        self._fold()
        self.n_features_in_ = int(np.prod(self.tensor_shape_))
        self.reset_filter()
        return self

    def _fold(self) -> None:
        """Fold standardisation and latent projection into one (d x K) map for speed."""
        proj = self.rotations_ / self.scale_[:, None]
        offset = -(self.mean_ / self.scale_ + self.latent_mean_) @ self.rotations_
        self.proj_ = np.ascontiguousarray(proj)
        self.proj_offset_ = offset

    # -- inference -------------------------------------------------------------------------
    def _latent(self, X: np.ndarray) -> np.ndarray:
        return pool_features(X, self.pooling) @ self.proj_ + self.proj_offset_

    def _gate_proba(self, T: np.ndarray) -> np.ndarray:
        scores = T @ self.gate_coef_.T + self.gate_intercept_
        scores -= scores.max(axis=-1, keepdims=True)
        p = np.exp(scores)
        return p / p.sum(axis=-1, keepdims=True)

    def _likelihood(self, gate: np.ndarray) -> np.ndarray:
        lik = gate / self.class_prior_
        if self.evidence_weight != 1.0:
            lik = lik**self.evidence_weight
        return lik

    def _amplitude(self, T: np.ndarray, proba: np.ndarray) -> np.ndarray:
        per_state = np.clip(T @ self.expert_coef_.T + self.expert_intercept_, 0.0, 1.0)
        return np.clip((proba * per_state).sum(axis=-1), 0.0, 1.0)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(n, 7) state probabilities; rows are one causal time-ordered sequence."""
        self._check_fitted()
        T = self._latent(check_tensor_batch(X, self.tensor_shape_))
        gate = self._gate_proba(T)
        if not self.hmm:
            return gate
        return forward_filter(self._likelihood(gate), self.transition_, self.class_prior_)

    def predict_amplitude(self, X: np.ndarray) -> np.ndarray:
        """(n,) amplitude 0..1 = sum_k p_k * expert_k."""
        self._check_fitted()
        X = check_tensor_batch(X, self.tensor_shape_)
        return self._amplitude(self._latent(X), self.predict_proba(X))

    def step(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        """One window (n_times, n_freqs, n_channels) -> (probs (7,), amplitude 0..1)."""
        self._check_fitted()
        t = self._latent(x[None])[0]
        probs = self._gate_proba(t)
        if self.hmm:
            probs = self._filter_update(self._likelihood(probs), self.transition_)
        return probs, float(self._amplitude(t, probs))
