"""Signal-quality gate: is this window like the ones the decoder was calibrated on?

Learned at calibration from the feature tensors the extractor already computes (log Morlet
magnitudes, T x F x C) and its bad-channel flags, plus one cheap projection of the raw window
on the line frequency. Per window, four statistics:
- level: median over channels of the mean log magnitude (units off by orders of magnitude,
  a disconnected grid);
- channel_power: share of channels whose own mean log magnitude left its calibration range;
- shape: RMS distance of the relative spectrum (mean over time and channels, per frequency,
  minus its mean) from the calibration's (white noise, a broken reference);
- line_ratio: median over channels of log(line-frequency amplitude of the raw window) minus
  the channel's mean log magnitude (of the notched features);
- bad_fraction: share of channels flagged flat, saturated or NaN.
A window outside any learned range gives a reason (a string) and the loop sends no command.
Ranges are the calibration's 0.5-99.5 % quantiles widened by a margin (the line ratio is re-measured
every LINE_EVERY-th window, the others every window); the margins are
assumptions (no published figure): 10x in amplitude for level and line ratio (ln 10 in log
units), 0.5 log units for the shape distance, a quarter of the channels for the shares.
"""

from __future__ import annotations

import numpy as np

LN10 = float(np.log(10.0))
LEVEL_MARGIN = LN10  # assumption: 10x amplitude beyond anything seen at calibration
CHANNEL_MARGIN = LN10
SHAPE_MARGIN = 0.5  # assumption, log units
LINE_MARGIN = LN10
SHARE_MARGIN = 0.25  # assumption: a quarter of the channels
QUANTILES = (0.5, 99.5)
LINE_EVERY = 5  # the line ratio (one product with the raw window) is re-measured every 5th tick


def _median(values: np.ndarray) -> float:
    """Median by partition (np.median sorts a copy: ~10x slower on 64 values)."""
    n = values.size
    half = n // 2
    part = np.partition(values, (half - 1, half) if n % 2 == 0 and n > 1 else half)
    return float(part[half]) if n % 2 else float(0.5 * (part[half - 1] + part[half]))


def _relative_shape(x: np.ndarray) -> np.ndarray:
    spectrum = x.mean(axis=(-3, -1))  # over time and channels -> (..., F)
    return spectrum - spectrum.mean(axis=-1, keepdims=True)


def _channel_levels(x: np.ndarray) -> np.ndarray:
    """Mean log magnitude per channel over time and frequency: (..., T, F, C) -> (..., C)."""
    return x.mean(axis=(-3, -2))


def line_basis_for(
    window_samples: int, sfreq_hz: float, line_hz: float | None
) -> np.ndarray | None:
    """(N, 3): cosine and sine at the line frequency (scaled so that a sinusoid of amplitude A
    projects to amplitude A) and ones (for the channel means); None when no line frequency is
    known or it is above Nyquist."""
    if line_hz is None or not 0 < line_hz < sfreq_hz / 2:
        return None
    t = np.arange(window_samples) / sfreq_hz
    phase = 2 * np.pi * line_hz * t
    scale = 2.0 / window_samples
    return np.c_[np.cos(phase) * scale, np.sin(phase) * scale, np.ones(window_samples)]


def line_ratio(window: np.ndarray, basis: np.ndarray, level: np.ndarray) -> float:
    """Median over channels of log(line amplitude) minus the channel's mean log magnitude of
    the (notched) features: one (C, N) x (N, 3) product, no copy of the window."""
    projection = window @ basis
    mean = projection[:, 2] / window.shape[1]
    cos_part = projection[:, 0] - mean * basis[:, 0].sum()
    sin_part = projection[:, 1] - mean * basis[:, 1].sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log(np.hypot(cos_part, sin_part) + 1e-12) - level
    return _median(np.nan_to_num(ratio, nan=np.inf))


class QualityGate:
    """Ranges learned by `fit`; `check(x, bad_channels, window)` -> None (ok) or a reason."""

    def __init__(self, line_hz: float | None = None) -> None:
        self.line_hz = line_hz

    def fit(
        self,
        X: np.ndarray,
        bad_fractions: np.ndarray,
        windows_line_ratio: np.ndarray | None,
        sfreq_hz: float,
        window_samples: int,
    ) -> QualityGate:
        """X: (n, T, F, C) calibration features; bad_fractions: (n,) share of bad channels."""
        X = np.asarray(X, dtype=float)
        if X.ndim != 4 or len(X) < 2:
            raise ValueError(f"X must be (n >= 2, T, F, C) features, got shape {X.shape}")
        lo, hi = QUANTILES
        per_channel = _channel_levels(X)  # (n, C)
        level = np.median(per_channel, axis=1)
        self.level_range_ = np.percentile(level, QUANTILES) + np.array(
            [-LEVEL_MARGIN, LEVEL_MARGIN]
        )
        self.channel_low_ = np.percentile(per_channel, lo, axis=0) - CHANNEL_MARGIN
        self.channel_high_ = np.percentile(per_channel, hi, axis=0) + CHANNEL_MARGIN
        self.channel_share_max_ = SHARE_MARGIN + float(
            np.mean((per_channel < self.channel_low_) | (per_channel > self.channel_high_))
        )
        shapes = _relative_shape(X)
        self.shape_ = np.median(shapes, axis=0)
        distance = np.sqrt(np.mean((shapes - self.shape_) ** 2, axis=1))
        self.shape_max_ = float(np.percentile(distance, hi)) + SHAPE_MARGIN
        self.bad_share_max_ = float(np.max(bad_fractions)) + SHARE_MARGIN
        self.sfreq_hz_ = float(sfreq_hz)
        self.window_samples_ = int(window_samples)
        if windows_line_ratio is not None and self.line_hz is not None:
            q = np.percentile(windows_line_ratio, QUANTILES)
            self.line_range_ = q + np.array([-LINE_MARGIN, LINE_MARGIN])
        else:
            self.line_range_ = None
        self._basis = None
        return self

    def to_dict(self) -> dict:
        return {
            "line_hz": self.line_hz,
            "level_range": self.level_range_,
            "channel_low": self.channel_low_,
            "channel_high": self.channel_high_,
            "channel_share_max": self.channel_share_max_,
            "shape": self.shape_,
            "shape_max": self.shape_max_,
            "bad_share_max": self.bad_share_max_,
            "line_range": self.line_range_,
            "sfreq_hz": self.sfreq_hz_,
            "window_samples": self.window_samples_,
        }

    @classmethod
    def from_dict(cls, data: dict) -> QualityGate:
        gate = cls(data["line_hz"])
        gate.level_range_ = np.asarray(data["level_range"], dtype=float)
        gate.channel_low_ = np.asarray(data["channel_low"], dtype=float)
        gate.channel_high_ = np.asarray(data["channel_high"], dtype=float)
        gate.channel_share_max_ = float(data["channel_share_max"])
        gate.shape_ = np.asarray(data["shape"], dtype=float)
        gate.shape_max_ = float(data["shape_max"])
        gate.bad_share_max_ = float(data["bad_share_max"])
        line = data["line_range"]
        gate.line_range_ = None if line is None else np.asarray(line, dtype=float)
        gate.sfreq_hz_ = float(data["sfreq_hz"])
        gate.window_samples_ = int(data["window_samples"])
        gate._basis = None
        return gate

    def check(
        self, x: np.ndarray, bad_channels: tuple[int, ...] = (), window: np.ndarray | None = None
    ) -> str | None:
        """None if the window looks like calibration, else the first reason it does not."""
        n_channels = x.shape[-1]
        if len(bad_channels) / n_channels > self.bad_share_max_:
            return (
                f"quality: {len(bad_channels)} of {n_channels} channels flat, saturated or "
                f"NaN (calibration: at most {self.bad_share_max_ - SHARE_MARGIN:.0%})"
            )
        over_time = x.sum(axis=0)  # (F, C): one pass over the tensor for both statistics
        per_channel = over_time.mean(axis=0) / x.shape[0]
        spectrum = over_time.mean(axis=1) / x.shape[0]
        level = _median(np.nan_to_num(per_channel, nan=np.inf))
        low, high = self.level_range_
        if not low <= level <= high:
            factor = np.exp(level - 0.5 * (low + high))
            return (
                f"quality: signal level {factor:.3g}x the calibration's "
                f"(log level {level:.2f} outside [{low:.2f}, {high:.2f}]; units or a "
                "disconnected grid?)"
            )
        if per_channel.shape == self.channel_low_.shape:
            outside = np.mean(
                (per_channel < self.channel_low_) | (per_channel > self.channel_high_)
            )
            if outside > self.channel_share_max_:
                return (
                    f"quality: per-channel power outside calibration on {outside:.0%} of "
                    f"channels (limit {self.channel_share_max_:.0%})"
                )
        shape = spectrum - spectrum.mean()
        distance = float(np.sqrt(np.mean((shape - self.shape_) ** 2)))
        if distance > self.shape_max_:
            return (
                f"quality: spectral shape differs from calibration (distance {distance:.2f}"
                f", limit {self.shape_max_:.2f}; noise rather than cortex?)"
            )
        if self.line_range_ is not None and window is not None:
            if self._basis is None:
                self._basis = line_basis_for(window.shape[1], self.sfreq_hz_, self.line_hz)
                self._line_count, self._line_last = 0, None
            if self._basis is not None:
                if self._line_count % LINE_EVERY == 0 or self._line_last is None:
                    self._line_last = line_ratio(window, self._basis, per_channel)
                self._line_count += 1
                ratio = self._line_last
                low, high = self.line_range_
                if not low <= ratio <= high:
                    return (
                        f"quality: line noise ({self.line_hz:g} Hz) ratio {np.exp(ratio):.3g}"
                        f" outside calibration [{np.exp(low):.3g}, {np.exp(high):.3g}]"
                    )
        return None


def fit_gate(
    X: np.ndarray,
    bad_counts: np.ndarray,
    windows: list[np.ndarray] | None,
    sfreq_hz: float,
    window_samples: int,
    line_hz: float | None,
    window_rows: np.ndarray | None = None,
) -> QualityGate:
    """A gate from calibration features, bad-channel counts and (optionally) raw windows;
    `window_rows` says which rows of X the raw windows are (default: all, in order)."""
    n_channels = X.shape[-1]
    ratios = None
    basis = line_basis_for(window_samples, sfreq_hz, line_hz)
    if windows and basis is not None:
        rows = np.arange(len(windows)) if window_rows is None else np.asarray(window_rows)
        levels = _channel_levels(np.asarray(X)[rows])
        ratios = np.array([line_ratio(w, basis, lv) for w, lv in zip(windows, levels, strict=True)])
    return QualityGate(line_hz).fit(
        X, np.asarray(bad_counts, dtype=float) / n_channels, ratios, sfreq_hz, window_samples
    )
