"""Markov-switching decoder on synthetic feature tensors (no virtual patient needed)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from openbsi.decoding import make_decoder
from openbsi.decoding.hmm import count_transitions
from openbsi.states import N_STATES

SHAPE = (10, 15, 16)


def synthetic_session(rng: np.random.Generator, n_blocks: int = 40, noise: float = 2.0):
    """Blocks of 2-5 s (20-50 windows) per state; each state raises its own channel pattern.

    Returns X (n, 10, 15, 16), y_state, y_amplitude (0 at rest, a per-block level otherwise).
    """
    patterns = rng.standard_normal((N_STATES, *SHAPE[1:])) * 0.6
    patterns[0] = 0.0
    X, ys, amps = [], [], []
    prev = -1
    for _ in range(n_blocks):
        state = int(rng.integers(N_STATES))
        while state == prev:
            state = int(rng.integers(N_STATES))
        prev = state
        n = int(rng.integers(20, 51))
        level = 0.0 if state == 0 else float(rng.uniform(0.3, 1.0))
        mean = patterns[state] * (0.5 + level)
        X.append(mean[None, None] + noise * rng.standard_normal((n, *SHAPE)))
        ys.append(np.full(n, state))
        amps.append(np.full(n, level))
    return np.concatenate(X), np.concatenate(ys), np.concatenate(amps)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(11)
    X, y, a = synthetic_session(rng, n_blocks=60)
    half = len(y) // 2
    return X[:half], y[:half], a[:half], X[half:], y[half:], a[half:]


def test_mslm_accuracy_and_hmm_beats_no_hmm(data):
    Xtr, ytr, atr, Xte, yte, _ = data
    with_hmm = make_decoder("mslm").fit(Xtr, ytr, atr)
    without = make_decoder("mslm_nohmm").fit(Xtr, ytr, atr)
    acc_hmm = np.mean(with_hmm.predict(Xte) == yte)
    acc_raw = np.mean(without.predict(Xte) == yte)
    assert acc_hmm > 0.85
    assert acc_hmm > acc_raw
    # the HMM also makes far fewer spurious switches
    switches_hmm = np.count_nonzero(np.diff(with_hmm.predict(Xte)))
    switches_raw = np.count_nonzero(np.diff(without.predict(Xte)))
    assert switches_hmm < switches_raw


def test_step_matches_sequence_filtering(data):
    Xtr, ytr, atr, Xte, _, _ = data
    dec = make_decoder("mslm").fit(Xtr, ytr, atr)
    batch = dec.predict_proba(Xte[:50])
    amps = dec.predict_amplitude(Xte[:50])
    dec.reset_filter()
    online = [dec.step(x) for x in Xte[:50]]
    np.testing.assert_allclose(np.array([p for p, _ in online]), batch, atol=1e-10)
    np.testing.assert_allclose(np.array([a for _, a in online]), amps, atol=1e-10)
    probs, amp = online[-1]
    assert probs.shape == (N_STATES,)
    assert abs(probs.sum() - 1.0) < 1e-9
    assert 0.0 <= amp <= 1.0


def test_reset_filter_forgets_history():
    X, y, a = synthetic_session(np.random.default_rng(5), n_blocks=20, noise=8.0)
    Xtr, ytr, atr, Xte = X[:400], y[:400], a[:400], X[400:]
    dec = make_decoder("mslm").fit(Xtr, ytr, atr)
    for x in Xte[:30]:
        dec.step(x)
    after_history, _ = dec.step(Xte[30])
    dec.reset_filter()
    fresh, _ = dec.step(Xte[30])
    np.testing.assert_allclose(fresh, dec.predict_proba(Xte[30:31])[0])
    assert not np.allclose(after_history, fresh)


def test_amplitude_follows_target(data):
    Xtr, ytr, atr, Xte, _, ate = data
    dec = make_decoder("mslm").fit(Xtr, ytr, atr)
    r = np.corrcoef(dec.predict_amplitude(Xte), ate)[0, 1]
    assert r > 0.6


def test_sklearn_contract(data):
    Xtr, ytr, atr, *_ = data
    dec = make_decoder("mslm", ridge_alpha=3.0)
    assert dec.get_params()["ridge_alpha"] == 3.0
    copy = clone(dec).set_params(evidence_weight=0.5)
    assert copy.get_params()["evidence_weight"] == 0.5
    with pytest.raises(NotFittedError):
        copy.predict(Xtr[:2])
    assert copy.fit(Xtr, ytr, atr) is copy


def test_unseen_states_get_zero_probability():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((60, *SHAPE))
    y = np.repeat([0, 2], 30)
    X[y == 2] += 1.0
    dec = make_decoder("mslm").fit(X, y)
    proba = dec.predict_proba(X)
    assert np.all(proba[:, [1, 3, 4, 5, 6]] == 0.0)
    assert np.mean(dec.predict(X) == y) > 0.9


def test_unknown_decoder_lists_names():
    with pytest.raises(ValueError, match="mslm"):
        make_decoder("nope")


def test_bad_targets_are_rejected():
    X = np.zeros((5, *SHAPE))
    with pytest.raises(ValueError, match="y_state"):
        make_decoder().fit(X, np.array([0, 1, 2, 3, 9]))
    with pytest.raises(ValueError, match="y_amplitude"):
        make_decoder().fit(X, np.zeros(5, int), np.full(5, 2.0))


def test_count_transitions_is_sticky_and_stochastic():
    y = np.repeat([0, 1, 0, 2], 50)
    A = count_transitions(y, N_STATES, prior_count=0.1)
    np.testing.assert_allclose(A.sum(axis=1), 1.0)
    assert A[0, 0] > 0.95 and A[1, 1] > 0.9
    assert A[0, 1] > A[0, 3]  # seen transition beats unseen one
