"""The decision rule: switch only when the new state's probability reaches the threshold."""

import numpy as np
import pytest

from openbsi.decoding import make_decoder
from openbsi.decoding.decision import decisions


def _probs(rows: list[tuple[int, float]], n_states: int = 3) -> np.ndarray:
    """One row per window: (most probable state, its probability); the rest shared evenly."""
    out = np.empty((len(rows), n_states))
    for i, (k, p) in enumerate(rows):
        out[i] = (1.0 - p) / (n_states - 1)
        out[i, k] = p
    return out


def test_a_weak_detour_is_held_and_a_confident_switch_is_taken():
    probs = _probs([(0, 0.9), (1, 0.5), (0, 0.8), (1, 0.55), (1, 0.65), (1, 0.9)])
    assert decisions(probs, 0.6).tolist() == [0, 0, 0, 0, 1, 1]
    assert decisions(probs, 0.0).tolist() == [0, 1, 0, 1, 1, 1]  # plain argmax


def test_threshold_out_of_range_names_the_parameter():
    with pytest.raises(ValueError, match="switch_threshold"):
        decisions(_probs([(0, 0.9)]), 1.0)
    with pytest.raises(ValueError, match="switch_threshold"):
        make_decoder("mslm", switch_threshold=-0.1).fit(
            np.zeros((20, 10, 2, 3)), np.r_[np.zeros(10, int), np.ones(10, int)]
        )


def test_online_decide_equals_predict_on_the_same_sequence():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((240, 10, 3, 4))
    y = np.repeat([0, 1, 0, 2, 0, 3, 0, 1], 30)
    X[y > 0, :, 0, y[y > 0]] += 1.2
    dec = make_decoder("mslm", batch_s=5.0).fit(X, y)
    dec.reset_filter()
    online = [dec.decide(dec.step(x)[0]) for x in X]
    assert online == dec.predict(X).tolist()
    held = make_decoder("mslm", batch_s=5.0, switch_threshold=0.0).fit(X, y).predict(X)
    # the threshold can only remove switches, never add them
    assert np.count_nonzero(np.diff(online)) <= np.count_nonzero(np.diff(held))
