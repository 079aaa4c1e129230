"""Markov-switching multilinear decoder (REW-MSLM style), recursive and exponentially weighted.

Moly et al. 2022 / Lorach et al. 2023 (shared/reference/facts.md): a gate (linear scores ->
softmax -> HMM forward filtering) gives the probability of rest or of each joint movement;
per-state experts regress the movement amplitude; output Y = sum_k gamma_k (B_k X + b_k);
coefficients re-fitted every 15 s from exponentially weighted statistics; transition matrix
by counting; latent dimension chosen by recursive validation.

Here an N-way PLS (multilinear weights over frequency x channel; targets = one-hot state and
amplitude) gives a few latent scores t. The gate is an LDA on t and each expert a ridge
regression on t; both are computed from class-wise running sums, so a 15 s batch update
(`partial_fit`) costs milliseconds and never needs old data.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from openbsi.decoding.base import (
    OnlineDecoderMixin,
    check_n_states,
    check_targets,
    check_tensor_batch,
)
from openbsi.decoding.decision import check_threshold
from openbsi.decoding.hmm import forward_filter
from openbsi.decoding.latent import ClassStats, experts_from_stats, gate_from_stats
from openbsi.decoding.npls import Moments, fit_npls
from openbsi.decoding.pooling import pool_features, pooled_shape
from openbsi.decoding.rew_npls import BATCH_S, batches
from openbsi.states import N_STATES


class MarkovSwitchingDecoder(OnlineDecoderMixin, BaseEstimator):
    """NPLS latent scores -> LDA gate -> HMM forward filter; per-state amplitude experts.

    Parameters
    ----------
    hmm : filter the gate's probabilities with the HMM (False = the `mslm_nohmm` decoder).
    n_components : latent factors; None = chosen by recursive validation (1..max_components).
    max_components : largest number of factors considered.
    forgetting : weight kept by the old statistics at each batch update, in (0, 1].
    batch_s : fit() replays the calibration as online updates of this many seconds (15 s in
        the clinical system).
    pooling : reduction of the tensor's time axis ('last2', 'recent', 'late', 'mean', 'halves',
        'none'); the two newest time points switch fastest (virtual patient, seeds 0-2, 5 min
        calibration, intention labels, no decision rule: accuracy 0.925 vs 0.917 with
        'recent', at 1.4 vs 1.1 error blocks/min).
    label_delay_s : training labels are shifted this much later (reaction time + window lag);
        X is one time-ordered sequence sampled every step_s.
    step_s : spacing of the windows in seconds.
    shrinkage : covariance shrinkage of the gate in [0, 1], or 'auto' (OAS estimate).
    ridge_alpha : L2 penalty of the amplitude experts.
    prior_count, stay_prior : Dirichlet pseudo-counts of the transition matrix.
    evidence_weight : exponent on the gate's likelihoods (< 1 trusts the HMM prior more).
    transition : 'count' = full transition matrix by counting; 'dwell' = counted dwell times,
        switches to any other state equally likely.
    likelihood_prior : divide the gate's output (equal class priors) by the calibration class
        frequencies before the HMM; favours movements over the frequent rest state (+0.8
        accuracy points on the virtual patient, 3 seeds).
    switch_threshold : the decided state changes only when another state's probability
        reaches this (0 = always the most probable state); see openbsi.decoding.decision.
    n_states : size of the state set (index 0 is rest); 7 = the leg set of openbsi.states.
    """

    def __init__(
        self,
        hmm: bool = True,
        n_components: int | None = None,
        max_components: int = 20,
        forgetting: float = 1.0,
        batch_s: float = BATCH_S,
        pooling: str = "last2",
        label_delay_s: float = 0.2,
        step_s: float = 0.1,
        shrinkage: str | float = "auto",
        ridge_alpha: float = 1.0,
        prior_count: float = 1.0,
        stay_prior: float = 0.0,
        evidence_weight: float = 0.45,
        transition: str = "dwell",
        likelihood_prior: bool = True,
        switch_threshold: float = 0.6,
        n_states: int = N_STATES,
    ) -> None:
        self.hmm = hmm
        self.n_components = n_components
        self.max_components = max_components
        self.forgetting = forgetting
        self.batch_s = batch_s
        self.pooling = pooling
        self.label_delay_s = label_delay_s
        self.step_s = step_s
        self.shrinkage = shrinkage
        self.ridge_alpha = ridge_alpha
        self.prior_count = prior_count
        self.stay_prior = stay_prior
        self.evidence_weight = evidence_weight
        self.transition = transition
        self.likelihood_prior = likelihood_prior
        self.switch_threshold = switch_threshold
        self.n_states = n_states

    # -- parameters ------------------------------------------------------------------------
    def _check_params(self) -> None:
        check_threshold(self.switch_threshold)
        check_n_states(self.n_states)
        if not 0 < self.evidence_weight <= 10:
            raise ValueError(f"evidence_weight must be in (0, 10], got {self.evidence_weight}")
        if int(self.max_components) < 1:
            raise ValueError(f"max_components must be >= 1, got {self.max_components}")
        if self.n_components is not None and not 1 <= self.n_components <= self.max_components:
            raise ValueError(
                f"n_components must be None or in [1, {self.max_components}], "
                f"got {self.n_components}"
            )
        if not 0.0 < self.forgetting <= 1.0:
            raise ValueError(f"forgetting must be in (0, 1], got {self.forgetting}")
        if self.transition not in ("count", "dwell"):
            raise ValueError(f"transition must be 'count' or 'dwell', got {self.transition!r}")
        if not 0 <= self.label_delay_s <= 5:
            raise ValueError(f"label_delay_s must be in [0, 5] s, got {self.label_delay_s}")
        if not self.step_s > 0 or not self.batch_s > 0:
            raise ValueError(
                f"step_s and batch_s must be > 0 s, got {self.step_s} and {self.batch_s}"
            )

    # -- fitting ---------------------------------------------------------------------------
    def _reset(self) -> None:
        for name in list(vars(self)):
            if name.endswith("_") and not name.startswith("__"):
                delattr(self, name)

    def fit(
        self, X: np.ndarray, y_state: np.ndarray, y_amplitude: np.ndarray | None = None
    ) -> MarkovSwitchingDecoder:
        """Fresh model from a calibration sequence, replayed as 15 s online updates."""
        self._check_params()
        X = check_tensor_batch(X)
        y_state, y_amplitude = check_targets(y_state, y_amplitude, len(X), self.n_states)
        self._reset()
        Z = pool_features(X, self.pooling)
        self.mean_ = Z.mean(axis=0)
        self.scale_ = Z.std(axis=0) + 1e-6
        size = max(1, round(self.batch_s / self.step_s))
        for sl in batches(len(X), size):
            self.partial_fit(X[sl], y_state[sl], y_amplitude[sl])
        return self

    def partial_fit(
        self, X: np.ndarray, y_state: np.ndarray, y_amplitude: np.ndarray | None = None
    ) -> MarkovSwitchingDecoder:
        """One recursive update with the next batch of the sequence (validate, then learn)."""
        self._check_params()
        first = not hasattr(self, "moments_")
        X = check_tensor_batch(X, None if first else self.tensor_shape_)
        y_state, y_amplitude = check_targets(y_state, y_amplitude, len(X), self.n_states)
        y_state, y_amplitude = self._delay(y_state, y_amplitude)
        Z = pool_features(X, self.pooling)
        if first:
            self._start(X, Z)
        elif hasattr(self, "n_features_in_"):
            self._validate(Z, y_state)
        lam = 1.0 if first else float(self.forgetting)
        Zs = (Z - self.mean_) / self.scale_
        self.moments_.update(Zs, np.c_[np.eye(self.n_states)[y_state], y_amplitude], lam)
        self.class_stats_.update(Zs, y_state, y_amplitude, lam)
        self.transition_counts_ *= lam
        seq = np.r_[self.last_state_, y_state] if self.last_state_ >= 0 else y_state
        np.add.at(self.transition_counts_, (seq[:-1], seq[1:]), 1.0)
        self.last_state_ = int(y_state[-1])
        if self.moments_.n >= 2 and np.count_nonzero(self.class_stats_.n > 0) >= 2:
            self._refit()
        return self

    def _start(self, X: np.ndarray, Z: np.ndarray) -> None:
        self.tensor_shape_ = tuple(X.shape[1:])
        if not hasattr(self, "mean_"):
            self.mean_ = Z.mean(axis=0)
            self.scale_ = Z.std(axis=0) + 1e-6
        self.moments_ = Moments.empty(Z.shape[1], self.n_states + 1)
        self.class_stats_ = ClassStats.empty(self.n_states, Z.shape[1])
        self.transition_counts_ = np.zeros((self.n_states, self.n_states))
        self.last_state_ = -1
        self.validation_error_ = np.zeros(int(self.max_components))

    def _delay(self, y: np.ndarray, amp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Shift labels later by label_delay_s, carrying the tail across batches."""
        delay = round(self.label_delay_s / self.step_s)
        if delay == 0:
            return y, amp
        tail_y = getattr(self, "label_tail_", np.zeros(delay, dtype=int))
        tail_a = getattr(self, "amplitude_tail_", np.zeros(delay))
        all_y, all_a = np.r_[tail_y, y], np.r_[tail_a, amp]
        self.label_tail_, self.amplitude_tail_ = all_y[-delay:], all_a[-delay:]
        return all_y[: len(y)], all_a[: len(y)]

    def _validate(self, Z: np.ndarray, y: np.ndarray) -> None:
        """Recursive validation: gate errors of every factor count on this unseen batch."""
        T = (Z - self.mean_) / self.scale_ @ self.npls_.rotations - self.latent_offset_
        errors = np.zeros(len(self.validation_error_))
        for f in range(1, self.npls_.n_components + 1):
            coef, intercept = self._gates[f - 1]
            errors[f - 1] = np.count_nonzero(np.argmax(T[:, :f] @ coef.T + intercept, 1) != y)
        errors[self.npls_.n_components :] = errors[self.npls_.n_components - 1]
        self.validation_error_ = self.forgetting * self.validation_error_ + errors

    def _refit(self) -> None:
        """Recompute NPLS, gate, experts and transition matrix from the running statistics."""
        shape = pooled_shape(self.tensor_shape_, self.pooling)
        self.npls_ = fit_npls(self.moments_, shape, int(self.max_components))
        R = self.npls_.rotations
        self.latent_offset_ = self.npls_.mean_x @ R
        latent = self.class_stats_.project(R, self.moments_)
        self._gates = [
            gate_from_stats(latent, f, self.shrinkage)
            for f in range(1, self.npls_.n_components + 1)
        ]
        f = self.n_components_
        self.gate_coef_, self.gate_intercept_ = self._gates[f - 1]
        self.expert_coef_, self.expert_intercept_ = experts_from_stats(latent, f, self.ridge_alpha)
        n = self.class_stats_.n
        self.class_prior_ = (n + 1e-3) / (n + 1e-3).sum()
        counts = (
            self.transition_counts_ + self.prior_count + np.eye(self.n_states) * self.stay_prior
        )
        self.transition_ = counts / counts.sum(axis=1, keepdims=True)
        if self.transition == "dwell":
            # Counted dwell time per state; leaving mass spread evenly over the other states
            # (a calibration with only rest <-> movement cues says nothing about the rest).
            stay = np.diag(self.transition_)
            spread = (1.0 - stay) / (self.n_states - 1)
            self.transition_ = np.repeat(spread[:, None], self.n_states, axis=1)
            np.fill_diagonal(self.transition_, stay)
        # One (d x f) map from pooled features to latent scores, for speed.
        self.proj_ = np.ascontiguousarray(R[:, :f] / self.scale_[:, None])
        self.proj_offset_ = -(self.mean_ / self.scale_) @ R[:, :f] - self.latent_offset_[:f]
        self.n_features_in_ = int(np.prod(self.tensor_shape_))
        if not hasattr(self, "belief_"):
            self.reset_filter()

    @property
    def n_components_(self) -> int:
        """Factor count in use: fixed, or the best by recursive validation so far."""
        available = self.npls_.n_components
        if self.n_components is not None:
            return min(int(self.n_components), available)
        if not np.any(self.validation_error_):
            return min(available, max(1, int(self.max_components) // 2))
        return int(np.argmin(self.validation_error_[:available])) + 1

    # -- inference -------------------------------------------------------------------------
    def _latent(self, X: np.ndarray) -> np.ndarray:
        return pool_features(X, self.pooling) @ self.proj_ + self.proj_offset_

    def _gate_proba(self, T: np.ndarray) -> np.ndarray:
        scores = T @ self.gate_coef_.T + self.gate_intercept_
        scores -= scores.max(axis=-1, keepdims=True)
        p = np.exp(scores)
        return p / p.sum(axis=-1, keepdims=True)

    def _likelihood(self, gate: np.ndarray) -> np.ndarray:
        lik = gate / self.class_prior_ if self.likelihood_prior else gate
        if self.evidence_weight != 1.0:
            lik = lik**self.evidence_weight
        return lik

    def _amplitude(self, T: np.ndarray, proba: np.ndarray) -> np.ndarray:
        per_state = np.clip(T @ self.expert_coef_.T + self.expert_intercept_, 0.0, 1.0)
        return np.clip((proba * per_state).sum(axis=-1), 0.0, 1.0)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(n, n_states) state probabilities; rows are one causal time-ordered sequence."""
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
        """One window (n_times, n_freqs, n_channels) -> (probs (n_states,), amplitude 0..1)."""
        self._check_fitted()
        t = self._latent(x[None])[0]
        probs = self._gate_proba(t)
        if self.hmm:
            probs = self._filter_update(self._likelihood(probs), self.transition_)
        return probs, float(self._amplitude(t, probs))
