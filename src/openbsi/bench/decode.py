"""Per-decode latency of features + decoder, against a reference path on identical windows.

Our path: FeatureExtractor.transform (precomputed Morlet kernels applied only to the samples
under each wavelet, notch and CAR in coefficient space, log, bad-channel check) then
decoder.step (MSLM with HMM). Two parts of the feature time are also reported on their own:
the kernel products (features.banded) and the bad-channel statistics.
Reference path: the same notch and CAR in numpy, mne.time_frequency.tfr_array_morlet
(FFT convolution of the whole window, then decimation), log, and
sklearn.cross_decomposition.PLSRegression.predict on the flattened tensor.
Both run with one BLAS thread, as in the closed loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from openbsi.bench.common import ratio, summary
from openbsi.decoding.registry import make_decoder
from openbsi.features.channels import detect_bad_channels
from openbsi.features.extractor import LOG_FLOOR, FeatureConfig, FeatureExtractor
from openbsi.features.morlet import decimation_slice
from openbsi.features.notch import notch_projection


def _pink_windows(rng: np.random.Generator, n: int, n_channels: int, n_samples: int):
    """Random 1/f-like windows in uV (cheap stand-in for ECoG; timing does not depend on it)."""
    white = rng.standard_normal((n, n_channels, n_samples))
    spectrum = np.fft.rfft(white, axis=-1)
    f = np.arange(spectrum.shape[-1]) + 1.0
    return np.fft.irfft(spectrum / np.sqrt(f), n=n_samples, axis=-1) * 20.0


def _reference_features(window: np.ndarray, extractor: FeatureExtractor, projection) -> np.ndarray:
    from mne.time_frequency import tfr_array_morlet

    cfg = extractor.config
    x = window @ projection if projection is not None else window
    if cfg.common_average:
        x = x - x.mean(axis=0, keepdims=True)
    power = tfr_array_morlet(
        x[None],
        extractor.sfreq_hz,
        np.asarray(cfg.freqs_hz),
        cfg.cycles(),
        output="power",
        decim=decimation_slice(extractor.window_samples, cfg.n_times),
        verbose=False,
    )[0]
    mag = np.sqrt(power).transpose(2, 1, 0)  # (C, F, T) -> (T, F, C)
    return np.log(mag + LOG_FLOOR) if cfg.log else mag


def bench_channels(
    n_channels: int,
    *,
    n_windows: int = 200,
    n_reference: int = 30,
    sfreq_hz: float = 586.0,
    seed: int = 0,
) -> dict:
    """Latency figures for one channel count (see module docstring)."""
    from sklearn.cross_decomposition import PLSRegression
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    config = FeatureConfig()
    extractor = FeatureExtractor(config, sfreq_hz, n_channels)
    n_train = 240
    windows = _pink_windows(rng, n_train + n_windows, n_channels, extractor.window_samples)
    with threadpool_limits(1):
        train = np.array([extractor.transform(w) for w in windows[:n_train]])
        y = np.repeat(np.arange(n_train // 20) % 7, 20)[:n_train]
        train[:, :, 8:, :4] += (y[:, None, None, None] % 3) * 0.3
        decoder = make_decoder("mslm").fit(train, y, (y > 0) * 0.8)
        pls = PLSRegression(n_components=10).fit(train[:60].reshape(60, -1), np.eye(7)[y[:60]])
        feat_t, dec_t, total_t = [], [], []
        decoder.reset_filter()
        for w in windows[n_train:]:
            t0 = time.perf_counter()
            x = extractor.transform(w)
            t1 = time.perf_counter()
            decoder.step(x)
            t2 = time.perf_counter()
            feat_t.append(t1 - t0)
            dec_t.append(t2 - t1)
            total_t.append(t2 - t0)
        products_t, bad_t = [], []
        for w in windows[n_train : n_train + min(n_windows, 100)]:
            data = w.astype(extractor.bank.dtype)
            t0 = time.perf_counter()
            extractor.bank.coefficients(data)
            t1 = time.perf_counter()
            detect_bad_channels(data, config.bad)
            products_t.append(t1 - t0)
            bad_t.append(time.perf_counter() - t1)
        projection = (
            notch_projection(extractor.window_samples, sfreq_hz, config.notch_hz)
            if config.notch_hz is not None
            else None
        )
        ref_t, rel = [], 0.0
        for w in windows[n_train : n_train + n_reference]:
            t0 = time.perf_counter()
            ref = _reference_features(w, extractor, projection)
            pls.predict(ref.reshape(1, -1))
            ref_t.append(time.perf_counter() - t0)
            ours = extractor.transform(w)
            # relative difference of the magnitudes (+ floor) = |exp(log a - log b) - 1|
            diff = float(np.max(np.abs(np.expm1(ours - ref))))
            rel = max(rel, diff if np.isfinite(diff) else float("inf"))  # NaN must show
    ms = {name: summary(times, unit="_ms", scale=1e3) for name, times in (
        ("features", feat_t), ("products", products_t), ("bad_channels", bad_t),
        ("decoder", dec_t), ("total", total_t), ("reference", ref_t))}  # fmt: skip
    return {
        "features_p50_ms": ms["features"]["p50_ms"],
        "features_p99_ms": ms["features"]["p99_ms"],
        "features_products_p50_ms": ms["products"]["p50_ms"],
        "features_bad_channels_p50_ms": ms["bad_channels"]["p50_ms"],
        "decoder_p50_ms": ms["decoder"]["p50_ms"],
        "decoder_p99_ms": ms["decoder"]["p99_ms"],
        "total_p50_ms": ms["total"]["p50_ms"],
        "total_p99_ms": ms["total"]["p99_ms"],
        "reference_total_p50_ms": ms["reference"]["p50_ms"],
        "reference_total_p99_ms": ms["reference"]["p99_ms"],
        "speedup": ratio(ms["reference"]["p50_ms"], ms["total"]["p50_ms"]),
        "speedup_p99": ratio(ms["reference"]["p99_ms"], ms["total"]["p99_ms"]),
        "max_rel_diff": rel,
        "n_windows": n_windows,
        "n_reference_windows": n_reference,
    }


def bench_decode(
    channels: list[int],
    *,
    n_windows: int = 200,
    n_reference: int = 30,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """{"channels": {"64": {...}, ...}} for each channel count."""
    out: dict = {"channels": {}}
    for n in channels:
        if n < 1:
            raise ValueError(f"channels must be >= 1, got {n}")
        if progress is not None:
            progress(f"{n} channels")
        out["channels"][str(n)] = bench_channels(
            n, n_windows=n_windows, n_reference=n_reference, seed=seed
        )
    # Stated agreement bar of the float32 kernels vs MNE (float64): relative difference of
    # the magnitudes <= 1e-3 (the float64 path agrees to 1e-9, see tests/features).
    out["tolerance_rel"] = 1e-3
    return out
