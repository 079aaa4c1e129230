"""The fast feature path (banded kernels, coefficient-space notch and CAR, reused buffers)
computes the same numbers as the straightforward dense path and as MNE."""

import numpy as np
import pytest
from mne.time_frequency import tfr_array_morlet

from openbsi.features.banded import BandedMorletBank
from openbsi.features.channels import detect_bad_channels
from openbsi.features.extractor import LOG_FLOOR, FeatureConfig, FeatureExtractor
from openbsi.features.morlet import decimation_slice, morlet_matrix
from openbsi.features.notch import line_basis, notch_projection

FS_HZ = 586.0
N = 586
FREQS_HZ = np.arange(10.0, 151.0, 10.0)
TOL_F32 = 1e-3  # stated float32 tolerance (relative, on the magnitudes)
TOL_F64 = 1e-9


def _dense_reference(window: np.ndarray, config: FeatureConfig, bad: dict) -> np.ndarray:
    """The straightforward path, all in float64: notch folded into one dense kernel, bad
    channels zeroed, CAR over the good ones, magnitude, log, median fill."""
    kernel = morlet_matrix(N, FS_HZ, np.asarray(config.freqs_hz), config.cycles(), config.n_times)
    if config.notch_hz is not None:
        kernel = notch_projection(N, FS_HZ, config.notch_hz) @ kernel
    good = np.ones(window.shape[0], dtype=bool)
    good[list(bad)] = False
    data = np.where(good[:, None], window, 0.0)
    coef = data @ kernel
    if config.common_average and good.any():
        coef = coef - coef[good].mean(axis=0, keepdims=True)
    half = coef.shape[1] // 2
    mag = np.abs(coef[:, :half] + 1j * coef[:, half:])
    out = np.log(mag + LOG_FLOOR) if config.log else mag
    if bad:
        out[~good] = np.median(out[good], axis=0) if good.any() else np.log(LOG_FLOOR)
    return out.T.reshape(config.n_times, len(config.freqs_hz), -1)


def _realistic(rng: np.random.Generator, n_channels: int) -> np.ndarray:
    """ECoG-like window in uV: 1/f background, beta rhythm, high-gamma bursts on some
    channels, a shared reference signal, 50 Hz line noise and per-channel DC offsets."""
    spectrum = np.fft.rfft(rng.standard_normal((n_channels, N)), axis=-1)
    spectrum /= np.sqrt(np.arange(spectrum.shape[-1]) + 1.0)
    x = np.fft.irfft(spectrum, n=N, axis=-1) * 30.0
    t_s = np.arange(N) / FS_HZ
    x += 8.0 * np.sin(2 * np.pi * 22.0 * t_s + rng.uniform(0, 6, (n_channels, 1)))
    burst = np.exp(-(((t_s - 0.6) / 0.08) ** 2)) * np.sin(2 * np.pi * 110.0 * t_s)
    x[: n_channels // 4] += 5.0 * burst
    x += 15.0 * np.sin(2 * np.pi * 3.0 * t_s)  # shared reference drift
    x += 10.0 * np.sin(2 * np.pi * 50.0 * t_s + rng.uniform(0, 6, (n_channels, 1)))
    x += rng.uniform(-50.0, 50.0, (n_channels, 1))
    return x


def _with_bad_channels(window: np.ndarray) -> np.ndarray:
    window = window.copy()
    window[1, 200] = np.nan
    window[2] = 40.0  # flat
    window[3] = np.clip(window[3] * 10, -30, 30)  # clipped
    window[4] *= 100.0  # outlier variance
    window[5, 7] = np.inf
    return window


def _max_rel(ours: np.ndarray, ref: np.ndarray, log: bool) -> float:
    if log:  # relative difference of (magnitude + floor)
        return float(np.max(np.abs(np.expm1(ours - ref))))
    return float(np.max(np.abs(ours - ref) / (np.abs(ref) + LOG_FLOOR)))


@pytest.mark.parametrize(
    "n_cycles", [None, 7.0, tuple(np.linspace(3.0, 12.0, 15))], ids=["default", "7", "ramp"]
)
@pytest.mark.parametrize("n_times", [1, 4, 10])
def test_banded_bank_equals_dense_kernel_product(n_cycles, n_times):
    rng = np.random.default_rng(10)
    window = rng.standard_normal((9, N)) * 20.0
    cycles = FeatureConfig(n_cycles=n_cycles).cycles()
    bank = BandedMorletBank(N, FS_HZ, FREQS_HZ, cycles, n_times, dtype=np.float64)
    coef, extra = bank.coefficients(window)
    dense = window @ morlet_matrix(N, FS_HZ, FREQS_HZ, cycles, n_times)
    expected = dense.T.reshape(2, n_times, len(FREQS_HZ), 9)
    np.testing.assert_allclose(coef, expected, rtol=0, atol=1e-12 * np.abs(dense).max())
    assert extra.shape == (0, 9)
    # the banded path must multiply fewer samples than the dense one
    assert bank.multiply_adds_per_channel < N * 2 * n_times * len(FREQS_HZ)


def test_banded_bank_projects_out_line_basis_and_returns_extra_products():
    rng = np.random.default_rng(11)
    window = rng.standard_normal((5, N)) * 20.0
    cycles = FeatureConfig().cycles()
    q = line_basis(N, FS_HZ, 50.0)
    ones = np.ones((N, 1))
    bank = BandedMorletBank(
        N, FS_HZ, FREQS_HZ, cycles, 10, dtype=np.float64, line_basis=q, extra_columns=ones
    )
    coef, extra = bank.coefficients(window)
    dense = window @ (notch_projection(N, FS_HZ, 50.0) @ morlet_matrix(N, FS_HZ, FREQS_HZ, cycles))
    np.testing.assert_allclose(coef.reshape(-1, 5), dense.T, atol=1e-10)
    np.testing.assert_allclose(extra[0], window.sum(axis=1), rtol=1e-12)


def test_banded_bank_rejects_wrong_shapes():
    with pytest.raises(ValueError, match="line_basis"):
        BandedMorletBank(N, FS_HZ, FREQS_HZ, 7.0, line_basis=np.ones((N - 1, 2)))
    bank = BandedMorletBank(N, FS_HZ, FREQS_HZ, 7.0)
    with pytest.raises(ValueError, match="586"):
        bank.coefficients(np.zeros((2, N - 1), dtype=np.float32))
    with pytest.raises(ValueError, match="out"):
        bank.coefficients(np.zeros((2, N), dtype=np.float32), out=np.empty((2, 10, 15, 3)))


def _window(kind: str, rng: np.random.Generator, n_channels: int) -> np.ndarray:
    """A test window: 'random' white noise, 'realistic' ECoG-like, or that with bad channels."""
    if kind == "random":
        return rng.standard_normal((n_channels, N)) * 20.0
    window = _realistic(rng, n_channels)
    return _with_bad_channels(window) if kind == "bad_channels" else window


@pytest.mark.parametrize("n_channels", [64, 1024])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["random", "realistic", "bad_channels"])
def test_extractor_equals_dense_path(n_channels, dtype, kind):
    window = _window(kind, np.random.default_rng(n_channels), n_channels)
    config = FeatureConfig(dtype=dtype)
    extractor = FeatureExtractor(config, FS_HZ, n_channels)
    ours = extractor.transform(window)
    assert extractor.bad_reasons == detect_bad_channels(window, config.bad)
    if kind == "bad_channels":
        assert set(extractor.bad_channels) >= {1, 2, 3, 4, 5}
    ref = _dense_reference(window, config, extractor.bad_reasons)
    assert ours.shape == ref.shape and ours.dtype == np.float64 and np.isfinite(ours).all()
    assert _max_rel(ours, ref, log=True) <= (TOL_F32 if dtype == "float32" else TOL_F64)


@pytest.mark.parametrize(
    "options",
    [
        dict(common_average=False, notch_hz=None, log=False, detect_bad=False),
        dict(common_average=True, notch_hz=60.0, log=False, detect_bad=False),
        dict(common_average=False, notch_hz=50.0, log=True, detect_bad=True),
    ],
)
def test_extractor_equals_dense_path_for_each_option(options):
    rng = np.random.default_rng(12)
    window = _realistic(rng, 32)
    if options["detect_bad"]:
        window = _with_bad_channels(window)
    else:  # kept channels must carry signal: a constant one has ~0 magnitudes (float32 noise)
        window[1, 200], window[5, 7] = np.nan, np.inf
    for dtype, tol in (("float32", TOL_F32), ("float64", TOL_F64)):
        config = FeatureConfig(dtype=dtype, **options)
        extractor = FeatureExtractor(config, FS_HZ, 32)
        ours = extractor.transform(window)
        if not config.detect_bad:  # only non-finite channels are excluded
            assert extractor.bad_channels == (1, 5)
        ref = _dense_reference(window, config, extractor.bad_reasons)
        assert _max_rel(ours, ref, log=config.log) <= tol


def _mne_chain(window: np.ndarray, config: FeatureConfig, bad: dict) -> np.ndarray:
    """Notch and CAR in numpy (bad channels zeroed and left out), MNE's Morlet, log, fill."""
    good = np.ones(window.shape[0], dtype=bool)
    good[list(bad)] = False
    x = np.where(good[:, None], window, 0.0) @ notch_projection(N, FS_HZ, config.notch_hz)
    x = x - x[good].mean(axis=0, keepdims=True)
    power = tfr_array_morlet(
        x[None], FS_HZ, FREQS_HZ, config.cycles(), output="power",
        decim=decimation_slice(N, config.n_times), verbose=False,
    )[0]  # fmt: skip
    out = np.log(np.sqrt(power).transpose(2, 1, 0) + LOG_FLOOR)
    out[..., ~good] = np.median(out[..., good], axis=-1, keepdims=True)
    return out


@pytest.mark.parametrize(
    ("n_channels", "dtype"), [(64, "float32"), (64, "float64"), (1024, "float32")]
)
@pytest.mark.parametrize("kind", ["random", "realistic", "bad_channels"])
def test_extractor_agrees_with_mne_with_notch_car_and_log(n_channels, dtype, kind):
    """The whole chain against MNE tfr_array_morlet on the same window."""
    window = _window(kind, np.random.default_rng(13), n_channels)
    config = FeatureConfig(dtype=dtype)
    extractor = FeatureExtractor(config, FS_HZ, n_channels)
    ours = extractor.transform(window)
    assert (extractor.bad_channels == ()) == (kind != "bad_channels")
    ref = _mne_chain(window, config, extractor.bad_reasons)
    assert _max_rel(ours, ref, log=True) <= (TOL_F32 if dtype == "float32" else TOL_F64)


def test_each_call_returns_a_new_tensor_and_buffers_do_not_leak_between_windows():
    rng = np.random.default_rng(14)
    extractor = FeatureExtractor(FeatureConfig(), FS_HZ, 16)
    first_window = _realistic(rng, 16)
    first = extractor.transform(first_window)
    kept = first.copy()
    extractor.transform(_with_bad_channels(_realistic(rng, 16)))
    np.testing.assert_array_equal(first, kept)
    assert extractor.bad_channels != ()
    again = extractor.transform(first_window)  # state of the bad window must not carry over
    np.testing.assert_array_equal(again, kept)
    assert extractor.bad_channels == ()
    assert again.flags.c_contiguous


def test_row_sums_shortcut_gives_same_bad_channels():
    rng = np.random.default_rng(15)
    window = _with_bad_channels(_realistic(rng, 24)).astype(np.float32)
    sums = window.astype(np.float64).sum(axis=1)
    assert detect_bad_channels(window, row_sums=sums) == detect_bad_channels(window)


def test_constant_channel_far_from_zero_is_flat():
    rng = np.random.default_rng(16)
    window = (rng.standard_normal((8, N)) * 10.0).astype(np.float32)
    window[2] = 100.3  # float32 rounding of sum x^2 - n mean^2 is larger than the threshold
    window[5] = -2512.7
    assert detect_bad_channels(window) == {2: "flat", 5: "flat"}


def _reference_bad_channels(window: np.ndarray) -> dict[int, str]:
    """Straightforward statistics over the whole window (float64), default thresholds."""
    cfg = FeatureConfig().bad
    x = np.asarray(window, dtype=np.float64)
    finite = np.isfinite(x).all(axis=1)
    x = np.where(finite[:, None], x, 0.0)
    std, top, bottom = x.std(axis=1), x.max(axis=1), x.min(axis=1)
    flat = finite & ((std <= cfg.flat_std_uv) | (top - bottom <= cfg.flat_std_uv))
    sub = x[:, ::4]
    need = max(2, int(np.ceil(cfg.saturation_fraction * sub.shape[1])))
    pinned = np.maximum((sub == top[:, None]).sum(axis=1), (sub == bottom[:, None]).sum(axis=1))
    reasons = {int(c): "nan" for c in np.flatnonzero(~finite)}
    reasons |= {int(c): "flat" for c in np.flatnonzero(flat)}
    reasons |= {int(c): "saturated" for c in np.flatnonzero(finite & ~flat & (pinned >= need))}
    rest = np.array([c not in reasons for c in range(x.shape[0])])
    if rest.sum() >= cfg.min_channels_for_outlier:
        ratio = std**2 / np.median(std[rest] ** 2)
        reasons |= {int(c): "high_variance" for c in np.flatnonzero(rest & (ratio > 25))}
        reasons |= {int(c): "low_variance" for c in np.flatnonzero(rest & (ratio < 1 / 25))}
    return dict(sorted(reasons.items()))


@pytest.mark.parametrize("seed", range(6))
def test_bad_channel_shortcuts_match_whole_window_statistics(seed):
    """Clipping at the top, bottom or both, plateaus just above/below the threshold, a max
    that falls between subsampled points, a signal that is constant on the subsampled points,
    quantized data with ties, flat and NaN channels."""
    rng = np.random.default_rng(seed)
    n_ch = 40
    window = np.round(_realistic(rng, n_ch), 0 if seed % 2 else 3)
    for ch in range(6, 30):
        kind = rng.integers(0, 7)
        level = np.quantile(window[ch], rng.uniform(0.9, 0.999))
        if kind == 0:
            window[ch] = np.minimum(window[ch], level)
        elif kind == 1:
            window[ch] = np.maximum(window[ch], -level)
        elif kind == 2:
            window[ch] = np.clip(window[ch], -level, level)
        elif kind == 3:  # a lone maximum off the subsample grid, above a plateau
            window[ch] = np.minimum(window[ch], level)
            window[ch, 4 * rng.integers(0, 140) + 1] = level + 1.0
        elif kind == 4:
            window[ch] = rng.choice([0.0, 1e-4, 5e-4])  # flat within the threshold
        elif kind == 5:
            window[ch, rng.integers(0, N)] = np.nan
        else:  # constant on the subsample grid, signal in between
            window[ch, ::4] = 3.0
    window = window.astype(np.float32)
    assert detect_bad_channels(window) == _reference_bad_channels(window)


@pytest.mark.parametrize("n", [1, 2, 3, 64, 65])
def test_fast_median_equals_numpy_median(n):
    from openbsi.features.channels import _median

    rng = np.random.default_rng(n)
    for _ in range(20):
        values = rng.standard_normal(n) * 10.0 ** rng.integers(-3, 4)
        assert _median(values) == float(np.median(values))


@pytest.mark.parametrize("n_channels", [9, 64, 600])  # view, contiguous copy, view again
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bank_gives_the_dense_product_at_every_channel_count(n_channels, dtype):
    from openbsi.features.banded import COPY_CHANNELS

    rng = np.random.default_rng(n_channels)
    window = (rng.standard_normal((n_channels, N)) * 20.0).astype(dtype)
    cycles = FeatureConfig().cycles()
    bank = BandedMorletBank(N, FS_HZ, FREQS_HZ, cycles, 10, dtype=dtype)
    coef, _ = bank.coefficients(window)
    dense = window.astype(float) @ morlet_matrix(N, FS_HZ, FREQS_HZ, cycles, 10)
    expected = dense.T.reshape(2, 10, len(FREQS_HZ), n_channels)
    tol = (1e-5 if dtype == np.float32 else 1e-12) * np.abs(dense).max()
    np.testing.assert_allclose(coef, expected, rtol=0, atol=tol)
    copied = COPY_CHANNELS[0] <= n_channels <= COPY_CHANNELS[1]
    assert (bank._samples_t.shape[1] == n_channels) == copied
    again, _ = bank.coefficients(window[::-1].copy())  # the reused buffer holds no stale data
    np.testing.assert_allclose(again, expected[..., ::-1], rtol=0, atol=tol)
