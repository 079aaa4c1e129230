"""Calibration and pseudo-online evaluation, on the virtual patient or on a recording.

Virtual patient: its cortex -> features -> decoders, window by window, exactly as the closed
loop would see them (causal, freshest 1 s window every step); the virtual-source calibration
behind `openbsi calibrate` (cued blocks, 15 s recursive updates, stop at a validation
plateau); the multi-day evaluation behind `openbsi decode evaluate` (adaptive vs frozen
decoders under day-to-day drift); and the session's cued calibration tick by tick
(`calibrate`, streaming through the ring buffer and the session recorder).

Recordings (`--source replay:FILE` or `lsl:NAME`): read with openbsi.signals.readers,
labelled by openbsi.decoding.labels, windowed, cross-validated and fitted by
openbsi.decoding.offline.
"""

from __future__ import annotations

import copy
import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from openbsi.decoding import make_decoder, metrics
from openbsi.decoding.decision import decisions
from openbsi.decoding.rew_npls import BATCH_S
from openbsi.features.extractor import FeatureConfig, FeatureExtractor
from openbsi.states import N_STATES, STATE_INDEX, state_index

NULL_SHIFTS = 200  # shifted-label draws for the chance level of the virtual evaluation
READ_CHUNK_S = 10.0  # generate the cortex signal in pieces of at most this length (memory)
ADAPTIVE_FORGETTING = 0.9  # per 15 s batch when adapting across days (half-life ~1.6 min)
Progress = Callable[[str, float, float], None]  # (phase, done, total)


def one_blas_thread(func):
    """Run with one BLAS thread: the loop's products are small, and on a busy machine threaded
    BLAS stalls waiting for cores (10-50x slower here), as in the closed loop itself."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with threadpool_limits(1):
            return func(*args, **kwargs)

    return wrapper


@dataclass
class Recording:
    """Feature windows of one simulated session with their cue-locked labels."""

    X: np.ndarray  # (n_windows, n_times, n_freqs, n_channels)
    y_state: np.ndarray  # (n_windows,) int state index at the window's last sample
    y_amplitude: np.ndarray  # (n_windows,) cued effort 0..1
    t_s: np.ndarray  # (n_windows,) time of the window's last sample
    bad_channels: tuple[int, ...] = ()  # union of channels flagged bad in any window
    sfreq_hz: float = 586.0
    bad_counts: np.ndarray | None = None  # channels flagged bad in each window

    def __len__(self) -> int:
        return len(self.y_state)

    def slice(self, start: int, stop: int) -> Recording:
        return Recording(
            self.X[start:stop],
            self.y_state[start:stop],
            self.y_amplitude[start:stop],
            self.t_s[start:stop],
            self.bad_channels,
            self.sfreq_hz,
            None if self.bad_counts is None else self.bad_counts[start:stop],
        )


class FeatureStream:
    """The virtual cortex of one script, turned into labelled feature windows on demand."""

    def __init__(
        self,
        script,
        rng: np.random.Generator,
        *,
        config: FeatureConfig | None = None,
        day: int = 0,
        profile: str | None = None,
    ) -> None:
        from openbsi.patient.cortex import VirtualCortex
        from openbsi.patient.profiles import get_profile

        kwargs: dict = {"day": day}
        if profile is not None:
            kwargs["profile"] = get_profile(profile)
        self.script = script
        self.cortex = VirtualCortex(script, rng, **kwargs)
        self.sfreq_hz = self.cortex.info.sfreq_hz
        self.extractor = FeatureExtractor(
            config or FeatureConfig(), self.sfreq_hz, self.cortex.info.n_channels
        )
        self.n_total = int(script.duration_s * self.sfreq_hz)
        win, step = self.extractor.window_samples, self.extractor.step_samples
        self.ends = np.arange(win, self.n_total + 1, step)
        self._next = 0  # index into ends
        self._buffer = np.zeros((self.cortex.info.n_channels, 0))
        self._offset = 0  # stream index of _buffer[:, 0]
        self._produced = 0
        self.bad_channels: set[int] = set()

    @property
    def done(self) -> bool:
        return self._next >= len(self.ends)

    def take(self, max_windows: int | None = None) -> Recording:
        """The next windows (all remaining by default), computed with one BLAS thread: small
        products gain nothing from threads, and on a busy machine they stall waiting for them."""
        with threadpool_limits(1):
            return self._take(max_windows)

    def _take(self, max_windows: int | None) -> Recording:
        stop = (
            len(self.ends) if max_windows is None else min(len(self.ends), self._next + max_windows)
        )
        ends = self.ends[self._next : stop]
        win = self.extractor.window_samples
        X = np.empty((len(ends), *self.extractor.shape))
        bad_counts = np.zeros(len(ends), dtype=int)
        chunk = int(READ_CHUNK_S * self.sfreq_hz)
        for i, end in enumerate(ends):
            while end > self._produced:
                n_new = min(chunk, self.n_total - self._produced)
                self._buffer = np.concatenate([self._buffer, self.cortex.read(n_new)], axis=1)
                self._produced += n_new
            local = end - self._offset
            X[i] = self.extractor.transform(self._buffer[:, local - win : local])
            self.bad_channels.update(self.extractor.bad_channels)
            bad_counts[i] = len(self.extractor.bad_channels)
            drop = local - win  # samples no later window needs
            if drop > chunk:
                self._buffer = self._buffer[:, drop:]
                self._offset += drop
        self._next = stop
        t_s = (ends - 1) / self.sfreq_hz
        y_state = np.array([STATE_INDEX[s] for s in self.script.states_at(t_s)], dtype=int)
        y_amp = np.array([self.script.amplitude_at(t) for t in t_s])
        bad = tuple(sorted(self.bad_channels))
        return Recording(X, y_state, y_amp, t_s, bad, self.sfreq_hz, bad_counts)


def tick_times(start_s: float, stop_s: float, tick_s: float) -> np.ndarray:
    """Tick times (end of each step) in (start_s, stop_s]."""
    n = math.floor((stop_s - start_s) / tick_s + 1e-9)
    return start_s + tick_s * np.arange(1, n + 1)


GATE_EVERY = 5  # the quality gate learns from every 5th calibration window (memory)


def calibrate(
    decoder,
    extractor: FeatureExtractor,
    buffer,
    source,
    recorder,
    script,
    stop_s: float,
    tick_s: float,
    progress: Progress | None = None,
):
    """Cued calibration of a session on the virtual source: stream the cued blocks up to
    stop_s (as fast as computed, recorded), fit the decoder, and return the signal-quality
    gate learned from the same windows (openbsi.decoding.quality)."""
    from openbsi.decoding.quality import fit_gate

    features, states, amplitudes = [], [], []
    gate_windows, bad_counts = [], []
    for t_s in tick_times(source.t_s, stop_s, tick_s):
        chunk = source.read_until(t_s)
        buffer.push(chunk)
        recorder.ecog(chunk.data, chunk.first_sample / source.sfreq_hz, chunk.t_ns)
        source.patient.advance(t_s)
        if buffer.n_available >= extractor.window_samples:
            window = buffer.latest(extractor.window_samples)
            features.append(extractor.transform(window))
            bad_counts.append(len(extractor.bad_channels))
            if (len(features) - 1) % GATE_EVERY == 0:  # the rows X[::GATE_EVERY]
                gate_windows.append(np.array(window))
            states.append(state_index(script.state_at(t_s)))
            amplitudes.append(script.amplitude_at(t_s))
        if progress is not None:
            progress("calibration", t_s, stop_s)
    X = np.asarray(features)
    decoder.fit(X, np.asarray(states), np.asarray(amplitudes))
    decoder.reset_filter()
    return fit_gate(
        X[::GATE_EVERY],
        np.asarray(bad_counts)[::GATE_EVERY],
        gate_windows,
        extractor.sfreq_hz,
        extractor.window_samples,
        extractor.config.notch_hz,
    )


def record(
    script,
    rng: np.random.Generator,
    *,
    config: FeatureConfig | None = None,
    day: int = 0,
    profile: str | None = None,
) -> Recording:
    """Simulate the virtual cortex for `script` and extract a feature window every step."""
    return FeatureStream(script, rng, config=config, day=day, profile=profile).take()


@one_blas_thread
def run_online(decoder, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Feed windows one by one through decoder.step() from a fresh filter."""
    decoder.reset_filter()
    probs = np.empty((len(X), N_STATES))
    amps = np.empty(len(X))
    for i, x in enumerate(X):
        probs[i], amps[i] = decoder.step(x)
    return probs, amps


def mean_reaction_time_s(profile: str | None = None) -> float:
    """The virtual patient's mean cue-to-cortex reaction time (its profile's range midpoint)."""
    from openbsi.patient.profiles import DEFAULT_PROFILE, get_profile

    low, high = get_profile(profile or DEFAULT_PROFILE).cortex.reaction_time_s
    return 0.5 * (low + high)


def score(
    rec: Recording,
    probs: np.ndarray,
    amps: np.ndarray,
    step_s: float = 0.1,
    reaction_time_s: float = 0.0,
    switch_threshold: float = 0.0,
) -> dict:
    """The evaluation metrics of one decoded recording.

    Accuracy and error blocks are scored against the intention as the patient forms it: the
    cue-locked labels moved `reaction_time_s` later (the patient cannot intend a movement
    before reacting to its cue). Time to switch stays cue-locked, reaction time included, as
    in Moly 2022; the unshifted accuracy and error blocks are reported under "cue_locked".
    The decided states follow the decoder's decision rule (`switch_threshold`).
    """
    pred = decisions(probs, switch_threshold)
    intended = metrics.delayed_labels(rec.y_state, reaction_time_s, step_s)
    # Chance beside the figure: the fixed decodes against intentions shifted by >= 30 s.
    null = metrics.shifted_label_null(
        intended, pred, NULL_SHIFTS, np.random.default_rng(0), round(30.0 / step_s)
    )
    return {
        "state_accuracy": metrics.state_accuracy(intended, pred),
        "balanced_accuracy": metrics.balanced_accuracy(intended, pred),
        "null": null,  # intentions circularly shifted (>= 30 s) against the fixed decodes
        "steady_state_accuracy": metrics.steady_state_accuracy(intended, pred, step_s),
        "error_blocks_per_min": metrics.error_blocks_per_min(intended, pred, step_s),
        "time_to_switch_s": metrics.time_to_switch_s(rec.y_state, pred, step_s),
        "amplitude_r": metrics.amplitude_r(rec.y_amplitude, amps),
        "label_delay_s": reaction_time_s,
        "cue_locked": {
            "state_accuracy": metrics.state_accuracy(rec.y_state, pred),
            "error_blocks_per_min": metrics.error_blocks_per_min(rec.y_state, pred, step_s),
        },
    }


def adapt(decoder, rec: Recording, forgetting: float = ADAPTIVE_FORGETTING, step_s: float = 0.1):
    """A copy of `decoder` updated with `rec` in 15 s recursive batches."""
    adapted = copy.deepcopy(decoder)
    if "forgetting" in adapted.get_params():
        adapted.set_params(forgetting=forgetting)
    size = max(1, round(BATCH_S / step_s))
    for start in range(0, len(rec), size):
        part = rec.slice(start, start + size)
        adapted.partial_fit(part.X, part.y_state, part.y_amplitude)
    return adapted


@one_blas_thread
def evaluate(
    decoders: list[str],
    *,
    seed: int = 0,
    profile: str | None = None,
    days: int = 0,
    calibration_s: float = 300.0,
    test_s: float = 240.0,
    recalibration_s: float = 60.0,
    progress: Progress | None = None,
) -> dict:
    """Calibrate every decoder on the same cued session (day 0), decode a walking session
    pseudo-online; then for each later day, decode that day's walking session with the frozen
    model and with a copy adapted on that day's short cued block."""
    from openbsi.patient.intent import cued_calibration_script, walking_script

    rng = np.random.default_rng(seed)
    total = 1 + days
    say = progress or (lambda *_: None)
    say("day 0: calibration", 0, total)
    cal = record(cued_calibration_script(calibration_s, rng), rng, profile=profile)
    test = record(walking_script(test_s, rng), rng, profile=profile)
    fitted = {
        name: make_decoder(name).fit(cal.X, cal.y_state, cal.y_amplitude) for name in decoders
    }
    rt_s = mean_reaction_time_s(profile)
    out: dict = {
        "decoders": {},
        "seed": seed,
        "profile": profile or "default",
        "days": days,
        "labels": f"cue + {rt_s:.2f} s mean reaction time (cue_locked: unshifted)",
    }
    adaptive = dict(fitted)

    def scoring(decoder) -> dict:
        return {
            "reaction_time_s": rt_s,
            "switch_threshold": getattr(decoder, "switch_threshold", 0.0),
        }

    for name, dec in fitted.items():
        result = score(test, *run_online(dec, test.X), **scoring(dec))
        result["by_day"] = [
            {
                "day": 0,
                "adaptive_accuracy": result["state_accuracy"],
                "frozen_accuracy": result["state_accuracy"],
            }
        ]
        out["decoders"][name] = result
    for day in range(1, days + 1):
        say(f"day {day}", day, total)
        recal = record(cued_calibration_script(recalibration_s, rng), rng, day=day, profile=profile)
        test_d = record(walking_script(test_s, rng), rng, day=day, profile=profile)
        for name, dec in fitted.items():
            adaptive[name] = adapt(adaptive[name], recal)
            frozen = score(test_d, *run_online(dec, test_d.X), **scoring(dec))
            adapted = score(test_d, *run_online(adaptive[name], test_d.X), **scoring(dec))
            out["decoders"][name]["by_day"].append(
                {
                    "day": day,
                    "adaptive_accuracy": adapted["state_accuracy"],
                    "frozen_accuracy": frozen["state_accuracy"],
                }
            )
    say("done", total, total)
    return out


@dataclass
class CalibrationResult:
    decoder: object
    minutes: float
    validation_accuracy: list[float] = field(default_factory=list)  # per 15 s batch
    stopped_early: bool = False
    sfreq_hz: float = 586.0
    n_channels: int = 64
    feature_config: FeatureConfig = field(default_factory=FeatureConfig)
    batch_s: float = BATCH_S
    quality: object = None  # openbsi.decoding.quality.QualityGate learned on the same windows
    channel_names: tuple[str, ...] | None = None

    def minutes_to_accuracy(self, bar: float, window: int = 4) -> float | None:
        """Simulated minutes until the validation accuracy of the last `window` batches first
        reaches `bar` (None if never). validation_accuracy[i] is batch i + 1, decoded by the
        model learned from batches 0..i."""
        history = self.validation_accuracy
        for i in range(window - 1, len(history)):
            if np.mean(history[i - window + 1 : i + 1]) >= bar:
                return (i + 2) * self.batch_s / 60.0
        return None


def plateaued(history: list[float], window: int = 4, min_gain: float = 0.01) -> bool:
    """True when the mean of the last `window` values no longer beats the best earlier mean."""
    if len(history) < 3 * window:
        return False
    means = [np.mean(history[i - window : i]) for i in range(window, len(history) + 1)]
    return means[-1] < max(means[:-window]) + min_gain


@one_blas_thread
def calibrate_virtual(
    decoder_name: str = "mslm",
    *,
    minutes: float = 5.0,
    seed: int = 0,
    profile: str | None = None,
    min_minutes: float = 2.0,
    stop_on_plateau: bool = True,
    progress: Progress | None = None,
) -> CalibrationResult:
    """Cued blocks on the virtual patient, learned in 15 s recursive updates; each batch is
    first decoded by the current model (validation accuracy on unseen data), and calibration
    stops once that accuracy plateaus (after min_minutes) or at `minutes`."""
    from openbsi.patient.intent import cued_calibration_script

    if not 0 < minutes <= 60:
        raise ValueError(f"minutes must be in (0, 60], got {minutes}")
    rng = np.random.default_rng(seed)
    stream = FeatureStream(cued_calibration_script(minutes * 60.0, rng), rng, profile=profile)
    decoder = make_decoder(decoder_name)
    step_s = stream.extractor.config.step_s
    size = max(1, round(BATCH_S / step_s))
    rt_s = mean_reaction_time_s(profile)
    history: list[float] = []
    earlier = np.zeros(0, dtype=int)  # labels of the previous batch (the delay crosses batches)
    stopped = False
    gate_X, gate_bad = [], []
    while not stream.done:
        batch = stream.take(size)
        gate_X.append(batch.X[::GATE_EVERY])
        gate_bad.append(batch.bad_counts[::GATE_EVERY])
        if hasattr(decoder, "n_features_in_"):
            labels = np.r_[earlier, batch.y_state]
            intended = metrics.delayed_labels(labels, rt_s, step_s)[earlier.size :]
            history.append(float(np.mean(decoder.predict(batch.X) == intended)))
        decoder.partial_fit(batch.X, batch.y_state, batch.y_amplitude)
        earlier = batch.y_state
        done_min = batch.t_s[-1] / 60.0
        if progress is not None:
            note = f"validation accuracy {history[-1]:.2f}" if history else "first batch"
            progress(note, done_min, minutes)
        if stop_on_plateau and done_min >= min_minutes and plateaued(history):
            stopped = True
            break
    decoder.reset_filter()
    from openbsi.decoding.quality import fit_gate

    gate = fit_gate(  # no raw windows kept: the line-noise range is not learned here
        np.concatenate(gate_X),
        np.concatenate(gate_bad),
        None,
        stream.sfreq_hz,
        stream.extractor.window_samples,
        None,
    )
    return CalibrationResult(
        decoder,
        float(stream.ends[stream._next - 1] / stream.sfreq_hz / 60.0),
        history,
        stopped,
        stream.sfreq_hz,
        stream.cortex.info.n_channels,
        stream.extractor.config,
        quality=gate,
        channel_names=stream.cortex.info.channel_names,
    )


# -- recordings ------------------------------------------------------------------------------


def record_lsl(name: str, seconds: float, *, timeout_s: float = 10.0):
    """`seconds` of an LSL stream as a RawRecording (every channel typed ECoG; no line
    frequency). A gap in the stream is refused, never joined (one time axis)."""
    from openbsi.signals.lsl import LslSource
    from openbsi.signals.readers import RawRecording, RecordingMeta

    if not 10.0 <= seconds <= 3600.0:
        raise ValueError(f"--seconds must be in [10, 3600] with lsl:NAME, got {seconds}")
    source = LslSource(name, timeout_s=timeout_s, max_buffered_s=60)
    try:
        need = round(seconds * source.info.sfreq_hz)
        blocks, got = [], 0
        deadline = time.monotonic() + seconds + timeout_s
        while got < need:
            if time.monotonic() > deadline:
                raise ValueError(f"lsl:{name}: stream delivered {got} of {need} samples in time")
            chunk = source.pull()
            if chunk.n_samples:
                blocks.append(chunk.data)
                got += chunk.n_samples
            time.sleep(0.05)
        if source.stats.gaps:
            raise ValueError(
                f"lsl:{name}: {source.stats.gaps} gap(s), {source.stats.samples_missing} samples "
                "missing during calibration; record again (gaps are never joined)"
            )
        data = np.concatenate(blocks, axis=1)[:, :need]
        info = source.info
    finally:
        source.close()
    meta = RecordingMeta(channel_types=("ecog",) * info.n_channels, format="lsl")
    from pathlib import Path

    return RawRecording(data, info, meta, Path(f"lsl:{name}"))


@dataclass
class RecordingSet:
    """A recording's labelled feature windows, with what was chosen to make them."""

    windows: object  # openbsi.decoding.offline.Windows
    channels: tuple[str, ...]
    labels: str
    line_hz: float | None
    sfreq_hz: float
    config: FeatureConfig
    source: str


def recording_windows(
    source: str,
    labels: str,
    channels: str | None = None,
    line_hz: float | None = None,
    *,
    stream: str | None = None,
    seconds: float | None = None,
) -> RecordingSet:
    """Read `replay:FILE` (or record `lsl:NAME`), label it, pick channels, window it.

    The notch is the file's line frequency unless `line_hz` is given; a file that does not
    say needs `line_hz` (0 = no notch)."""
    from openbsi.decoding.labels import labels_for
    from openbsi.decoding.offline import feature_config_for, make_windows
    from openbsi.signals.readers import read_recording, select_channels

    if source.startswith("lsl:"):
        recording = record_lsl(source[4:], seconds or 60.0)
    elif source.startswith("replay:"):
        recording = read_recording(source, stream)
    else:
        raise ValueError(f"--source must be replay:FILE or lsl:NAME here, got {source!r}")
    if line_hz is not None and not (line_hz == 0 or 40.0 <= line_hz <= 70.0):
        raise ValueError(f"--line-hz must be 0 (no notch) or in [40, 70] Hz, got {line_hz}")
    notch = line_hz if line_hz is not None else recording.line_freq_hz
    if notch is None:
        raise ValueError(
            f"{recording.path}: line frequency is not in the file; give --line-hz (50, 60, "
            "or 0 for no notch)"
        )
    notch = None if notch == 0 else float(notch)
    sample_labels = labels_for(recording, labels)
    picked = select_channels(recording, channels)
    label_channel = labels.split(":")[1] if labels.startswith("channel:") else None
    if label_channel in picked and channels is None:  # an LSL stream types everything ECoG
        picked = tuple(c for c in picked if c != label_channel)
    if label_channel in picked or not picked:
        raise ValueError(
            f"--channels must name signal channels, not the label channel {label_channel!r}"
        )
    sub = recording.pick(picked)
    config = feature_config_for(notch)
    windows = make_windows(sub.data, sub.info.sfreq_hz, sample_labels, config)
    return RecordingSet(
        windows, picked, labels, notch, sub.info.sfreq_hz, config, str(recording.path)
    )


def evaluate_recording(
    rec: RecordingSet, decoders: list[str], folds: int = 5, n_shifts: int = 20, seed: int = 0
) -> dict:
    """The JSON of `decode evaluate --source ...` (see docs/decoding.md)."""
    from openbsi.decoding.offline import evaluate_windows, windows_summary

    rng = np.random.default_rng(seed)
    results = evaluate_windows(rec.windows, decoders, folds, n_shifts, rng)
    return {
        "decoders": results,
        "source": rec.source,
        "labels": rec.labels,
        "channels": list(rec.channels),
        "windows": windows_summary(rec.windows),
        "state_names": list(rec.windows.state_names),
        "cv": f"blocked:{folds}",
        "null_kind": "the CV refitted on labels circularly shifted by >= one test block",
        "line_hz": rec.line_hz,
        "sfreq_hz": rec.sfreq_hz,
        "seed": seed,
    }
