"""Baselines: band power + LDA and the Kalman filter, on synthetic band-power tensors."""

import numpy as np
import pytest
from sklearn.base import clone

from openbsi.decoding import make_decoder
from openbsi.decoding.baselines import band_power
from openbsi.states import N_STATES


def _session(rng, n_blocks=30):
    """Each movement k raises high gamma (freq index >= 6) on channel k for 3 s blocks."""
    X, y, a = [], [], []
    for b in range(n_blocks):
        state = 0 if b % 2 == 0 else int(rng.integers(1, N_STATES))
        amp = 0.0 if state == 0 else float(rng.uniform(0.4, 1.0))
        block = rng.standard_normal((30, 10, 15, 8)) * 0.5
        if state:
            block[:, :, 6:, state] += 2.0 * amp
        X.append(block)
        y.append(np.full(30, state))
        a.append(np.full(30, amp))
    return np.concatenate(X), np.concatenate(y), np.concatenate(a)


@pytest.mark.parametrize("name", ["bandpower_lda", "kalman"])
def test_baseline_decodes_and_streams(name):
    rng = np.random.default_rng(3)
    X, y, a = _session(rng)
    Xt, yt, at = _session(rng, 12)
    dec = make_decoder(name).fit(X, y, a)
    assert np.mean(dec.predict(Xt) == yt) > 0.7
    assert np.corrcoef(dec.predict_amplitude(Xt), at)[0, 1] > 0.6
    dec.reset_filter()
    online = np.array([dec.step(x)[0] for x in Xt[:20]])
    np.testing.assert_allclose(online, dec.predict_proba(Xt[:20]), atol=1e-9)
    assert clone(dec).get_params() == dec.get_params()
    assert dec.partial_fit(Xt, yt, at) is dec


def test_band_power_needs_both_bands():
    with pytest.raises(ValueError, match="freqs_hz"):
        band_power(np.zeros((1, 10, 3, 2)), freqs_hz=(40.0, 50.0, 60.0))
