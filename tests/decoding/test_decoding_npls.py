"""N-way PLS from sufficient statistics."""

import numpy as np
import pytest

from openbsi.decoding.npls import Moments, fit_npls, rank1


def test_rank1_recovers_outer_product():
    rng = np.random.default_rng(0)
    a, b, c = rng.standard_normal(3), rng.standard_normal(4), rng.standard_normal(5)
    tensor = np.einsum("i,j,k->ijk", a, b, c)
    factors = rank1(tensor + 1e-6 * rng.standard_normal(tensor.shape))
    for true, est in zip((a, b, c), factors, strict=True):
        assert abs(abs(true @ est) / np.linalg.norm(true) - 1.0) < 1e-4


def test_npls_recovers_multilinear_regression():
    rng = np.random.default_rng(1)
    shape = (2, 5, 6)
    w = np.einsum("i,j,k->ijk", [1.0, 0.5], rng.standard_normal(5), rng.standard_normal(6))
    X = rng.standard_normal((400, int(np.prod(shape))))
    y = X @ w.ravel() + 0.1 * rng.standard_normal(400)
    moments = Moments.empty(X.shape[1], 1)
    moments.update(X, y[:, None])
    fit = fit_npls(moments, shape, 3)
    X_test = rng.standard_normal((200, X.shape[1]))
    r = np.corrcoef(fit.predict(X_test)[:, 0], X_test @ w.ravel())[0, 1]
    assert r > 0.99


def test_forgetting_downweights_old_batches():
    m = Moments.empty(2, 1)
    m.update(np.ones((10, 2)), np.ones((10, 1)))
    m.update(np.zeros((10, 2)), np.zeros((10, 1)), forgetting=0.5)
    assert m.n == pytest.approx(15.0)
    assert m.sum_x[0] == pytest.approx(5.0)
    with pytest.raises(ValueError, match="forgetting"):
        m.update(np.ones((1, 2)), np.ones((1, 1)), forgetting=1.5)
