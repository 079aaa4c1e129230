"""Markov-switching linear decoder: linear gate -> softmax -> HMM forward filter, with
per-state linear amplitude experts. Output amplitude = sum_k gamma_k (B_k x + b_k).

Moly et al. 2022 / Lorach et al. 2023 (shared/reference/facts.md): REW-MSLM. This estimator
is the batch form; see `rew` for the recursive exponentially weighted updates.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import Ridge

from openbsi.decoding.base import OnlineDecoderMixin, check_targets, check_tensor_batch
from openbsi.decoding.hmm import count_transitions, forward_filter
from openbsi.decoding.pooling import pool_features
from openbsi.states import N_STATES


class MarkovSwitchingDecoder(OnlineDecoderMixin, BaseEstimator):
    """Gate (shrinkage LDA on pooled log-Morlet features) + HMM + per-state ridge experts.

    Parameters
    ----------
    hmm : filter the gate's probabilities with the HMM (False = the `mslm_nohmm` decoder).
    pooling : how the time axis of the tensor is reduced before the linear models
        ('mean', 'halves' = mean of each half, 'none' = keep all time points).
    shrinkage : LDA covariance shrinkage ('auto' = Ledoit-Wolf, or a float in [0, 1]).
    ridge_alpha : L2 penalty of the amplitude experts.
    prior_count, stay_prior : Dirichlet pseudo-counts of the transition matrix.
    evidence_weight : exponent on the gate's likelihoods (< 1 trusts the HMM prior more).
    """

    def __init__(
        self,
        hmm: bool = True,
        pooling: str = "halves",
        shrinkage: str | float = "auto",
        ridge_alpha: float = 10.0,
        prior_count: float = 1.0,
        stay_prior: float = 0.0,
        evidence_weight: float = 1.0,
    ) -> None:
        self.hmm = hmm
        self.pooling = pooling
        self.shrinkage = shrinkage
        self.ridge_alpha = ridge_alpha
        self.prior_count = prior_count
        self.stay_prior = stay_prior
        self.evidence_weight = evidence_weight

    # -- fitting ---------------------------------------------------------------------------
    def _vectors(self, X: np.ndarray) -> np.ndarray:
        Z = pool_features(X, self.pooling)
        return (Z - self.mean_) / self.scale_

    def fit(
        self, X: np.ndarray, y_state: np.ndarray, y_amplitude: np.ndarray | None = None
    ) -> MarkovSwitchingDecoder:
        X = check_tensor_batch(X)
        y_state, y_amplitude = check_targets(y_state, y_amplitude, len(X))
        if not 0 < self.evidence_weight <= 10:
            raise ValueError(f"evidence_weight must be in (0, 10], got {self.evidence_weight}")
        self.tensor_shape_ = X.shape[1:]
        Z = pool_features(X, self.pooling)
        self.mean_ = Z.mean(axis=0)
        self.scale_ = Z.std(axis=0) + 1e-6
        Z = (Z - self.mean_) / self.scale_
        classes = np.unique(y_state)
        # Gate: linear scores w_k . z + c_k for every state seen in calibration.
        self.gate_coef_ = np.zeros((N_STATES, Z.shape[1]))
        self.gate_intercept_ = np.full(N_STATES, -np.inf)  # unseen states: probability 0
        if classes.size == 1:
            self.gate_intercept_[classes[0]] = 0.0
        else:
            lda = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=self.shrinkage)
            lda.fit(Z, y_state)
            coef, intercept = lda.coef_, lda.intercept_
            if classes.size == 2:  # sklearn keeps one row for two classes
                coef = np.vstack([-coef[0] / 2, coef[0] / 2])
                intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
            self.gate_coef_[classes] = coef
            self.gate_intercept_[classes] = intercept
        counts = np.bincount(y_state, minlength=N_STATES).astype(float)
        self.class_prior_ = (counts + 1e-3) / (counts + 1e-3).sum()
        self.transition_ = count_transitions(
            y_state, N_STATES, self.prior_count, self.stay_prior
        )
        # Experts: one ridge per state on that state's windows (amplitude 0..1).
        self.expert_coef_ = np.zeros((N_STATES, Z.shape[1]))
        self.expert_intercept_ = np.zeros(N_STATES)
        for k in classes:
            rows = y_state == k
            target = y_amplitude[rows]
            if rows.sum() >= 3 and np.ptp(target) > 0:
                ridge = Ridge(alpha=self.ridge_alpha).fit(Z[rows], target)
                self.expert_coef_[k] = ridge.coef_
                self.expert_intercept_[k] = ridge.intercept_
            else:
                self.expert_intercept_[k] = float(target.mean())
        self.n_features_in_ = int(np.prod(self.tensor_shape_))
        self.reset_filter()
        return self

    # -- inference -------------------------------------------------------------------------
    def _gate_proba(self, Z: np.ndarray) -> np.ndarray:
        scores = Z @ self.gate_coef_.T + self.gate_intercept_
        scores -= scores.max(axis=-1, keepdims=True)
        p = np.exp(scores)
        return p / p.sum(axis=-1, keepdims=True)

    def _likelihood(self, gate: np.ndarray) -> np.ndarray:
        lik = gate / self.class_prior_
        if self.evidence_weight != 1.0:
            lik = lik**self.evidence_weight
        return lik

    def _amplitude(self, Z: np.ndarray, proba: np.ndarray) -> np.ndarray:
        per_state = np.clip(Z @ self.expert_coef_.T + self.expert_intercept_, 0.0, 1.0)
        return np.clip((proba * per_state).sum(axis=-1), 0.0, 1.0)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(n, 7) state probabilities; rows are one causal time-ordered sequence."""
        self._check_fitted()
        Z = self._vectors(check_tensor_batch(X, self.tensor_shape_))
        gate = self._gate_proba(Z)
        if not self.hmm:
            return gate
        return forward_filter(self._likelihood(gate), self.transition_, self.class_prior_)

    def predict_amplitude(self, X: np.ndarray) -> np.ndarray:
        self._check_fitted()
        X = check_tensor_batch(X, self.tensor_shape_)
        return self._amplitude(self._vectors(X), self.predict_proba(X))

    def step(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        """One window (n_times, n_freqs, n_channels) -> (probs (7,), amplitude 0..1)."""
        self._check_fitted()
        z = self._vectors(x[None])[0]
        gate = self._gate_proba(z)
        probs = gate
        if self.hmm:
            probs = self._filter_update(self._likelihood(gate), self.transition_)
        return probs, float(self._amplitude(z, probs))
