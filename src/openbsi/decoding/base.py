"""What every decoder shares: input checks and the online (one window at a time) filter."""

from __future__ import annotations

import numpy as np
from sklearn.exceptions import NotFittedError

from openbsi.decoding.decision import decisions, next_decision
from openbsi.decoding.hmm import forward_step
from openbsi.states import N_STATES


def check_tensor_batch(X: np.ndarray, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """X must be (n_windows, n_times, n_freqs, n_channels), finite, and match `shape`."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 4:
        raise ValueError(
            f"X must be 4-D (n_windows, n_times, n_freqs, n_channels), got shape {X.shape}"
        )
    if shape is not None and tuple(X.shape[1:]) != tuple(shape):
        raise ValueError(f"X windows must have shape {tuple(shape)}, got {X.shape[1:]}")
    if not np.isfinite(X).all():
        raise ValueError("X must be finite (no NaN or inf), got non-finite values")
    return X


def check_targets(
    y_state: np.ndarray, y_amplitude: np.ndarray | None, n: int, n_states: int = N_STATES
) -> tuple[np.ndarray, np.ndarray]:
    """State indices in [0, n_states) and amplitudes in [0, 1] (zeros if not given)."""
    y = np.asarray(y_state)
    if y.shape != (n,):
        raise ValueError(f"y_state must have shape ({n},), got {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= n_states or not np.all(y == np.round(y))):
        raise ValueError(f"y_state must hold integers in [0, {n_states - 1}], got {np.unique(y)}")
    y = y.astype(int)
    if y_amplitude is None:
        amp = np.zeros(n)
    else:
        amp = np.asarray(y_amplitude, dtype=float)
        if amp.shape != (n,):
            raise ValueError(f"y_amplitude must have shape ({n},), got {amp.shape}")
        if amp.size and (not np.isfinite(amp).all() or amp.min() < 0 or amp.max() > 1):
            raise ValueError(f"y_amplitude must be in [0, 1], got range [{amp.min()}, {amp.max()}]")
    return y, amp


def check_n_states(n_states: int) -> int:
    """A state set has 2..64 states (rest first); 64 is an assumption, far above any in use."""
    if isinstance(n_states, bool) or not isinstance(n_states, int | np.integer):
        raise ValueError(f"n_states must be an integer in [2, 64], got {n_states!r}")
    if not 2 <= int(n_states) <= 64:
        raise ValueError(f"n_states must be in [2, 64], got {n_states}")
    return int(n_states)


class OnlineDecoderMixin:
    """predict(), decide(), reset_filter() and the causal filter state used by step().

    Decoders with a `switch_threshold` parameter hold their decision until another state's
    probability reaches it (openbsi.decoding.decision); without one, the most probable state.
    """

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_features_in_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit() first")

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Decided state index per window of one time-ordered sequence."""
        return decisions(self.predict_proba(X), getattr(self, "switch_threshold", 0.0))

    def decide(self, probs: np.ndarray) -> int:
        """The decided state after the window whose probabilities step() just returned."""
        threshold = getattr(self, "switch_threshold", 0.0)
        self.decision_ = next_decision(probs, getattr(self, "decision_", None), threshold)
        return self.decision_

    def reset_filter(self) -> None:
        """Start a new online sequence (forget the filter's belief and the held decision)."""
        self.belief_ = None
        self.decision_ = None

    def _filter_update(self, likelihood: np.ndarray, transition: np.ndarray) -> np.ndarray:
        belief = getattr(self, "belief_", None)
        if belief is None:
            belief = self.class_prior_
        self.belief_ = forward_step(belief, transition, likelihood)
        return self.belief_.copy()
