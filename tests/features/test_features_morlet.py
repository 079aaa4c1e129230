"""Morlet tensor: agreement with MNE, frequency selectivity, kernel bank."""

import numpy as np
import pytest
from mne.time_frequency import tfr_array_morlet

from openbsi.features.extractor import FeatureConfig, FeatureExtractor, default_n_cycles
from openbsi.features.morlet import MorletBank, decimation_slice, morlet_tensor

FS_HZ = 586.0  # WIMAGINE sampling rate (Lorach 2023, facts.md)
FREQS_HZ = np.arange(10.0, 151.0, 10.0)


def _mne_reference(window: np.ndarray, n_cycles: np.ndarray, n_times: int) -> np.ndarray:
    power = tfr_array_morlet(
        window[None],
        FS_HZ,
        FREQS_HZ,
        n_cycles,
        output="power",
        decim=decimation_slice(window.shape[1], n_times),
        verbose=False,
    )[0]
    return np.sqrt(power).transpose(2, 1, 0)  # (C, F, T) -> (T, F, C)


def test_morlet_tensor_agrees_with_mne_float64():
    rng = np.random.default_rng(1)
    window = rng.standard_normal((8, 586)) * 20.0
    cycles = default_n_cycles(FREQS_HZ)
    ours = morlet_tensor(window, FS_HZ, FREQS_HZ, cycles, n_times=10)
    ref = _mne_reference(window, cycles, 10)
    assert ours.shape == (10, 15, 8)
    # Stated tolerance (float64 path): relative difference <= 1e-9.
    np.testing.assert_allclose(ours, ref, rtol=1e-9)


def test_extractor_float32_agrees_with_mne_within_tolerance():
    rng = np.random.default_rng(2)
    window = rng.standard_normal((16, 586)) * 20.0
    config = FeatureConfig(common_average=False, notch_hz=None, log=False, detect_bad=False)
    extractor = FeatureExtractor(config, FS_HZ, 16)
    ref = _mne_reference(window, config.cycles(), config.n_times)
    # Stated tolerance (float32 kernels): relative difference <= 1e-4.
    np.testing.assert_allclose(extractor.transform(window), ref, rtol=1e-4)


def test_sinusoid_peaks_at_its_frequency():
    t_s = np.arange(586) / FS_HZ
    window = np.vstack([np.sin(2 * np.pi * 80.0 * t_s), np.sin(2 * np.pi * 30.0 * t_s)])
    mag = morlet_tensor(window, FS_HZ, FREQS_HZ, 7.0)
    mid = mag[5]  # a time point away from the edges
    assert FREQS_HZ[np.argmax(mid[:, 0])] == 80.0
    assert FREQS_HZ[np.argmax(mid[:, 1])] == 30.0


def test_bank_rejects_wrong_window_length():
    bank = MorletBank(100, FS_HZ, FREQS_HZ[:3], 3.0, n_times=5)
    with pytest.raises(ValueError, match="100"):
        bank.magnitude(np.zeros((2, 99)))


def test_decimation_slice_is_centred_and_counts_n_times():
    sl = decimation_slice(586, 10)
    positions = np.arange(586)[sl]
    assert positions.size == 10
    assert abs(positions[0] - (585 - positions[-1])) <= 1


@pytest.mark.parametrize("bad_freq", [0.0, 300.0, -5.0])
def test_frequency_outside_nyquist_is_rejected(bad_freq):
    with pytest.raises(ValueError, match="freqs_hz"):
        morlet_tensor(np.zeros((1, 100)), FS_HZ, np.array([bad_freq]), 5.0, n_times=2)
