"""Feature extractor: notch, common average, bad channels, config round trip."""

import numpy as np
import pytest

from openbsi.features.channels import detect_bad_channels
from openbsi.features.extractor import FeatureConfig, FeatureExtractor

FS_HZ = 586.0
N_CH = 12


def _noise(rng: np.random.Generator, n_ch: int = N_CH) -> np.ndarray:
    return rng.standard_normal((n_ch, 586)) * 10.0


def test_output_shape_and_window_samples():
    ex = FeatureExtractor(FeatureConfig(), FS_HZ, N_CH)
    assert ex.window_samples == 586
    out = ex.transform(_noise(np.random.default_rng(0)))
    assert out.shape == (10, 15, N_CH)
    assert np.isfinite(out).all()


def test_notch_removes_line_noise():
    rng = np.random.default_rng(3)
    t_s = np.arange(586) / FS_HZ
    window = _noise(rng) + 200.0 * np.sin(2 * np.pi * 50.0 * t_s + rng.uniform(0, 6, (N_CH, 1)))
    base = dict(common_average=False, log=False)
    with_notch = FeatureExtractor(FeatureConfig(notch_hz=50.0, **base), FS_HZ, N_CH)
    without = FeatureExtractor(FeatureConfig(notch_hz=None, **base), FS_HZ, N_CH)
    f50 = 4  # index of 50 Hz in 10..150
    assert (
        with_notch.transform(window)[:, f50].mean() < 0.1 * without.transform(window)[:, f50].mean()
    )


def test_common_average_removes_shared_signal():
    rng = np.random.default_rng(4)
    t_s = np.arange(586) / FS_HZ
    shared = 500.0 * np.sin(2 * np.pi * 90.0 * t_s)
    window = _noise(rng) + shared
    base = dict(notch_hz=None, log=False, detect_bad=False)
    car = FeatureExtractor(FeatureConfig(common_average=True, **base), FS_HZ, N_CH)
    raw = FeatureExtractor(FeatureConfig(common_average=False, **base), FS_HZ, N_CH)
    f90 = 8
    assert car.transform(window)[:, f90].mean() < 0.1 * raw.transform(window)[:, f90].mean()


def test_bad_channels_detected_and_never_crash():
    rng = np.random.default_rng(5)
    window = _noise(rng)
    window[1, 100] = np.nan
    window[2] = 3.0  # flat
    window[3] = np.clip(window[3] * 10, -20, 20)  # clipped
    window[4] *= 50.0  # outlier variance
    reasons = detect_bad_channels(window)
    assert reasons == {1: "nan", 2: "flat", 3: "saturated", 4: "high_variance"}
    ex = FeatureExtractor(FeatureConfig(), FS_HZ, N_CH)
    out = ex.transform(window)
    assert ex.bad_channels == (1, 2, 3, 4)
    assert np.isfinite(out).all()
    # bad channels are filled with the median of the good ones, not their own values
    good = [0, *range(5, N_CH)]
    np.testing.assert_allclose(out[..., 1], np.median(out[..., good], axis=-1))


def test_all_channels_bad_still_returns_finite():
    ex = FeatureExtractor(FeatureConfig(), FS_HZ, 3)
    out = ex.transform(np.full((3, 586), np.nan))
    assert np.isfinite(out).all()
    assert ex.bad_channels == (0, 1, 2)
    # without the log, "no signal" is a zero magnitude (not the log floor)
    linear = FeatureExtractor(FeatureConfig(log=False), FS_HZ, 3)
    assert np.all(linear.transform(np.full((3, 586), np.nan)) == 0.0)


def test_bad_channel_does_not_leak_into_common_average():
    rng = np.random.default_rng(6)
    clean = _noise(rng)
    dirty = clean.copy()
    dirty[0] *= 1000.0  # huge outlier channel
    ex = FeatureExtractor(FeatureConfig(notch_hz=None), FS_HZ, N_CH)
    ref = FeatureExtractor(FeatureConfig(notch_hz=None), FS_HZ, N_CH - 1)
    np.testing.assert_allclose(
        ex.transform(dirty)[..., 1:], ref.transform(clean[1:]), rtol=1e-4, atol=1e-4
    )


def test_wrong_window_shape_names_expected_shape():
    ex = FeatureExtractor(FeatureConfig(), FS_HZ, N_CH)
    with pytest.raises(ValueError, match=r"\(12, 586\)"):
        ex.transform(np.zeros((N_CH, 500)))


def test_config_validation_and_round_trip():
    with pytest.raises(ValueError, match="window_s"):
        FeatureConfig(window_s=0.0)
    config = FeatureConfig(n_cycles=(5.0,) * 15, notch_hz=60.0)
    assert FeatureConfig.from_dict(config.to_dict()) == config


def test_transform_signal_slides_every_step():
    rng = np.random.default_rng(7)
    ex = FeatureExtractor(FeatureConfig(), FS_HZ, 4)
    signal = rng.standard_normal((4, 586 + 59 * 3))
    X = ex.transform_signal(signal)
    assert X.shape[0] == 4
    np.testing.assert_allclose(X[-1], ex.transform(signal[:, -586:]))
