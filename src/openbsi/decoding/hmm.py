"""Hidden Markov gate: transition matrix by counting, causal forward filtering.

Moly et al. 2022 (shared/reference/facts.md): the gate's linear scores -> softmax -> HMM
forward filtering; transition matrix estimated by counting transitions.
"""

from __future__ import annotations

import numpy as np


def count_transitions(
    y_state: np.ndarray, n_states: int, prior_count: float = 1.0, stay_prior: float = 0.0
) -> np.ndarray:
    """Row-stochastic transition matrix from one time-ordered label sequence.

    prior_count is added to every cell (Dirichlet prior, so unseen transitions keep a small
    probability); stay_prior is added to the diagonal only.
    """
    if prior_count < 0 or stay_prior < 0:
        raise ValueError(
            f"prior_count and stay_prior must be >= 0, got {prior_count} and {stay_prior}"
        )
    y = np.asarray(y_state, dtype=int)
    counts = np.full((n_states, n_states), float(prior_count))
    counts[np.diag_indices(n_states)] += stay_prior
    if y.size > 1:
        np.add.at(counts, (y[:-1], y[1:]), 1.0)
    counts += 1e-12  # rows never seen and no prior: uniform
    return counts / counts.sum(axis=1, keepdims=True)


def forward_step(belief: np.ndarray, transition: np.ndarray, likelihood: np.ndarray) -> np.ndarray:
    """One forward-filter update: predict with the transition matrix, weight, normalise."""
    predicted = belief @ transition
    post = predicted * likelihood
    total = post.sum()
    if not np.isfinite(total) or total <= 0:  # all-zero likelihood: keep the prediction
        return predicted / predicted.sum()
    return post / total


def forward_filter(
    likelihood: np.ndarray, transition: np.ndarray, initial: np.ndarray
) -> np.ndarray:
    """Filtered state probabilities for a (n, K) sequence of (scaled) likelihoods."""
    out = np.empty_like(likelihood, dtype=float)
    belief = np.asarray(initial, dtype=float)
    for i, lik in enumerate(likelihood):
        belief = forward_step(belief, transition, lik)
        out[i] = belief
    return out
