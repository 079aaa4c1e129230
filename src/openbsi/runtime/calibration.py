"""Cued calibration on the virtual patient: no stimulation; each tick's features get the cue."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from openbsi.features.extractor import FeatureExtractor
from openbsi.patient.intent import IntentScript
from openbsi.runtime.sources import VirtualSource
from openbsi.signals import RingBuffer
from openbsi.states import state_index
from openbsi.store.session_log import SessionRecorder

Progress = Callable[[str, float, float], None]  # (phase, simulated seconds done, total)


def tick_times(start_s: float, stop_s: float, tick_s: float) -> np.ndarray:
    """Tick times (end of each step) in (start_s, stop_s]."""
    n = math.floor((stop_s - start_s) / tick_s + 1e-9)
    return start_s + tick_s * np.arange(1, n + 1)


def calibrate(
    decoder,
    extractor: FeatureExtractor,
    buffer: RingBuffer,
    source: VirtualSource,
    recorder: SessionRecorder,
    script: IntentScript,
    stop_s: float,
    tick_s: float,
    progress: Progress | None = None,
) -> None:
    """Stream the cued blocks up to stop_s (as fast as computed), then fit the decoder."""
    features, states, amplitudes = [], [], []
    for t_s in tick_times(source.t_s, stop_s, tick_s):
        chunk = source.read_until(t_s)
        buffer.push(chunk)
        recorder.ecog(chunk.data, chunk.first_sample / source.sfreq_hz, chunk.t_ns)
        source.patient.advance(t_s)
        if buffer.n_available >= extractor.window_samples:
            features.append(extractor.transform(buffer.latest(extractor.window_samples)))
            states.append(state_index(script.state_at(t_s)))
            amplitudes.append(script.amplitude_at(t_s))
        if progress is not None:
            progress("calibration", t_s, stop_s)
    decoder.fit(np.asarray(features), np.asarray(states), np.asarray(amplitudes))
    decoder.reset_filter()
