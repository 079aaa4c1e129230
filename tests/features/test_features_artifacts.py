"""Artifact template subtraction: the brain signal comes back, the artifact goes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openbsi.features.artifacts import (
    ArtifactRemover,
    blank_and_repair,
    design_matrix,
    pulse_scale,
    subtract_artifacts,
)
from openbsi.patient.cortex import ARTIFACT_KERNEL

FS = 586.0


GAIN = np.random.default_rng(99).uniform(0.5, 1.5, 8)  # each contact's view of the artifact


def _stimulated(rng, n_channels=8, n_samples=586, rate_hz=40.0, uv=30.0):
    brain = 20.0 * rng.standard_normal((n_channels, n_samples))
    index = np.arange(3, n_samples, round(FS / rate_hz)) + rng.integers(0, 3)
    scale = rng.uniform(0.5, 2.0, index.size)  # charge varies pulse to pulse
    gain = GAIN[:n_channels]
    artifact = np.zeros(n_samples)
    for k, s in zip(index, scale, strict=True):
        stop = min(n_samples, k + ARTIFACT_KERNEL.size)
        artifact[k:stop] += uv * s * ARTIFACT_KERNEL[: stop - k]
    return brain, brain + gain[:, None] * artifact[None, :], index, scale


def test_one_window_fit_removes_most_of_the_artifact():
    rng = np.random.default_rng(0)
    brain, recorded, index, scale = _stimulated(rng)
    cleaned, kernels = subtract_artifacts(recorded, index, scale)
    before = np.mean((recorded - brain) ** 2)
    after = np.mean((cleaned - brain) ** 2)
    assert after < 0.1 * before  # what is left is brain noise leaking into the fit
    assert kernels.shape == (13, 8)


def test_the_running_fit_converges_over_windows():
    rng = np.random.default_rng(1)
    remover = ArtifactRemover(8)
    errors = []
    for _ in range(12):
        brain, recorded, index, scale = _stimulated(rng, uv=100.0)
        cleaned = remover.clean(recorded, index, scale)
        errors.append(np.mean((cleaned - brain) ** 2) / np.mean(brain**2))
    assert errors[-1] < 0.01 and errors[-1] <= errors[0]


def test_no_pulse_leaves_the_window_untouched():
    window = np.random.default_rng(2).standard_normal((4, 100))
    assert ArtifactRemover(4).clean(window, np.array([], dtype=int), np.array([])) is window


def test_blank_and_repair_draws_a_line_over_the_pulse():
    window = np.tile(np.arange(20.0), (2, 1))
    window[:, 5:8] = 1e4  # the artifact
    repaired = blank_and_repair(window, np.array([5]), 3)
    np.testing.assert_allclose(repaired[:, 4:9], [[4, 5, 6, 7, 8]] * 2)


def test_charge_units():
    assert pulse_scale(np.array([2.0]), np.array([150.0]))[0] == pytest.approx(1.0)


def test_parameters_are_checked():
    with pytest.raises(ValueError, match="forgetting must be in"):
        ArtifactRemover(4, forgetting=1.0)
    with pytest.raises(ValueError, match="window must have 4 channels"):
        ArtifactRemover(4).clean(np.zeros((3, 10)), np.array([1]), np.array([1.0]))


@settings(max_examples=50, deadline=2000)
@given(
    index=st.lists(st.integers(-50, 150), max_size=40),
    scale=st.floats(-1e3, 1e3, allow_nan=False),
)
def test_any_pulse_times_give_a_finite_window_of_the_same_shape(index, scale):
    window = np.random.default_rng(3).standard_normal((3, 100))
    idx = np.array(index, dtype=int)
    cleaned = ArtifactRemover(3).clean(window, idx, np.full(idx.size, scale))
    assert cleaned.shape == window.shape and np.isfinite(cleaned).all()
    assert design_matrix(100, idx, np.ones(idx.size), 12, 1).shape == (100, 12)
