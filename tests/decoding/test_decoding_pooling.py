"""Time pooling of feature tensors."""

import numpy as np
import pytest

from openbsi.decoding.pooling import POOLINGS, pool_features, pooled_shape


@pytest.mark.parametrize("pooling", POOLINGS)
def test_pooled_size_matches_shape(pooling):
    X = np.random.default_rng(0).standard_normal((3, 10, 4, 5))
    Z = pool_features(X, pooling)
    assert Z.shape == (3, int(np.prod(pooled_shape((10, 4, 5), pooling))))


def test_recent_uses_only_newest_time_points():
    X = np.zeros((1, 10, 2, 2))
    X[:, -3:] = 1.0
    assert np.all(pool_features(X, "recent") == 1.0)
    assert np.all(pool_features(X, "mean") == 0.3)


def test_unknown_pooling_is_rejected():
    with pytest.raises(ValueError, match="pooling"):
        pool_features(np.zeros((1, 2, 2, 2)), "max")
