"""Pseudo-online metrics on hand-made label sequences."""

import numpy as np
import pytest

from openbsi.decoding import metrics


def test_late_switch_is_not_an_error_block_but_spurious_detour_is():
    y_true = np.array([0] * 30 + [1] * 30)
    late = np.array([0] * 35 + [1] * 25)  # 0.5 s late
    assert metrics.error_blocks(y_true, late) == 0
    assert metrics.time_to_switch_s(y_true, late) == pytest.approx(0.5)
    detour = late.copy()
    detour[10:13] = 4  # a state never cued
    assert metrics.error_blocks(y_true, detour) == 1
    assert metrics.error_blocks_per_min(y_true, detour) == pytest.approx(1 / (6.0 / 60.0))


def test_accuracies():
    y_true = np.array([0] * 30 + [1] * 30)
    late = np.array([0] * 35 + [1] * 25)
    assert metrics.state_accuracy(y_true, late) == pytest.approx(55 / 60)
    assert metrics.steady_state_accuracy(y_true, late) == 1.0
    with pytest.raises(ValueError, match="same"):
        metrics.state_accuracy(y_true, late[:-1])


def test_amplitude_r_nan_for_constant():
    assert np.isnan(metrics.amplitude_r(np.zeros(5), np.arange(5.0)))
    assert metrics.amplitude_r(np.arange(5.0), 2 * np.arange(5.0)) == pytest.approx(1.0)


def test_delayed_labels_shift_the_cue_by_the_reaction_time():
    y_true = np.array([0] * 30 + [1] * 30)
    late = np.array([0] * 33 + [1] * 27)  # the decoder follows 0.3 s after the cue
    delayed = metrics.delayed_labels(y_true, 0.3)
    assert delayed.shape == y_true.shape
    assert np.flatnonzero(np.diff(delayed)).tolist() == [32]
    assert metrics.state_accuracy(delayed, late) == 1.0
    assert metrics.state_accuracy(y_true, late) == pytest.approx(57 / 60)
    assert np.array_equal(metrics.delayed_labels(y_true, 0.0), y_true)
    with pytest.raises(ValueError, match="delay_s"):
        metrics.delayed_labels(y_true, -0.1)


def test_balanced_accuracy_and_its_shifted_label_null():
    from openbsi.decoding.metrics import balanced_accuracy, shifted_label_null

    runs = np.random.default_rng(1).integers(5, 40, 60)  # irregular blocks, rest 2x as long
    y = np.concatenate([np.full(r * (2 if i % 2 == 0 else 1), i % 2) for i, r in enumerate(runs)])
    assert balanced_accuracy(y, y) == 1.0
    assert balanced_accuracy(y, np.zeros_like(y)) == 0.5  # all rest: chance, not 0.75
    assert balanced_accuracy(np.array([]), np.array([])) is None
    null = shifted_label_null(y, y, 200, np.random.default_rng(0), 50)
    assert null["n_shuffles"] == 200 and 0.45 < null["balanced_accuracy_p95"] < 0.65
    assert (
        shifted_label_null(y[:20], y[:20], 10, np.random.default_rng(0), 50)[
            "balanced_accuracy_p95"
        ]
        is None
    )
