"""Recursive updates: REW-NPLS regressor and the MSLM's partial_fit."""

import numpy as np
import pytest
from sklearn.base import clone

from openbsi.decoding import make_decoder
from openbsi.decoding.pooling import pool_features
from openbsi.decoding.rew_npls import REWNPLSRegressor

SHAPE = (10, 4, 6)


def _tensor_regression(rng, n, w):
    X = rng.standard_normal((n, *SHAPE))
    y = X.mean(axis=1).reshape(n, -1) @ w + 0.05 * rng.standard_normal(n)
    return X, y


def test_rew_npls_fits_and_chooses_components():
    rng = np.random.default_rng(0)
    w = np.outer(rng.standard_normal(4), rng.standard_normal(6)).ravel()
    X, y = _tensor_regression(rng, 600, w)
    model = REWNPLSRegressor(max_components=6, pooling="mean", batch_s=10.0).fit(X, y)
    X_test, y_test = _tensor_regression(rng, 200, w)
    assert model.score(X_test, y_test) > 0.95
    assert 1 <= model.n_components_ <= 6
    assert clone(model).get_params()["max_components"] == 6


def test_rew_npls_forgetting_tracks_a_changed_mapping():
    rng = np.random.default_rng(1)
    w_old = rng.standard_normal(24)
    w_new = -w_old
    X_old, y_old = _tensor_regression(rng, 600, w_old)
    X_new, y_new = _tensor_regression(rng, 600, w_new)
    scores = {}
    for lam in (1.0, 0.7):
        model = REWNPLSRegressor(forgetting=lam, pooling="mean", batch_s=10.0).fit(X_old, y_old)
        for sl in range(0, 600, 100):
            model.partial_fit(X_new[sl : sl + 100], y_new[sl : sl + 100])
        scores[lam] = model.score(*_tensor_regression(rng, 200, w_new))
    assert scores[0.7] > scores[1.0]
    assert scores[0.7] > 0.9


def test_rew_npls_rejects_bad_forgetting():
    with pytest.raises(ValueError, match="forgetting"):
        REWNPLSRegressor(forgetting=0.0).fit(np.zeros((4, *SHAPE)), np.zeros(4))


def test_mslm_partial_fit_equals_fit_replay():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((300, 10, 3, 4))
    y = np.repeat([0, 1, 0, 2, 0, 3], 50)
    X[y > 0, :, 0, y[y > 0]] += 2.0
    a = np.where(y > 0, 0.8, 0.0)
    fitted = make_decoder("mslm", batch_s=5.0).fit(X, y, a)
    manual = make_decoder("mslm", batch_s=5.0)
    pooled = pool_features(X, manual.pooling)
    manual.mean_ = pooled.mean(axis=0)  # as fit() does
    manual.scale_ = pooled.std(axis=0) + 1e-6
    for start in range(0, 300, 50):
        manual.partial_fit(X[start : start + 50], y[start : start + 50], a[start : start + 50])
    np.testing.assert_allclose(manual.predict_proba(X), fitted.predict_proba(X), atol=1e-8)
    assert np.mean(fitted.predict(X) == y) > 0.8
