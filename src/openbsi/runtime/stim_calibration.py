"""Cued calibration with stimulation on (issue #10.6).

A decoder calibrated on ECoG without stimulation meets artifacts for the first time in closed
loop. Here calibration runs through the session's own Loop: the cue stands in for the decoder
(`CueDecoder`), so the mapper, link, supervisor and stimulator deliver the cued state's
program open loop, as a therapist's cued stimulation would; the patient feels the pulses and
its ECoG carries their artifacts, which the loop's ArtifactRemover subtracts exactly as it
will in closed loop. Each tick's cleaned feature window is kept with its cue, and the real
decoder is fitted on them. The recording keeps the calibration's ECoG, commands and pulses;
the stand-in's decodes are not recorded (they are the cue, not a decoder's output).
"""

from __future__ import annotations

import math
import time

import numpy as np

from openbsi.patient.intent import IntentScript
from openbsi.patient.virtual import VirtualPatient
from openbsi.runtime.loop import Loop
from openbsi.runtime.pseudo_online import Progress, tick_times
from openbsi.runtime.sources import VirtualSource
from openbsi.signals import Chunk
from openbsi.states import N_STATES, state_index


class CueDecoder:
    """Outputs the cued state (and amplitude) at the current tick and keeps every window."""

    def __init__(self, script: IntentScript) -> None:
        self.script = script
        self.t_s = 0.0
        self.windows: list[np.ndarray] = []
        self.states: list[int] = []
        self.amplitudes: list[float] = []

    def step(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        state = state_index(self.script.state_at(self.t_s))
        amplitude = float(self.script.amplitude_at(self.t_s))
        self.windows.append(np.array(x, copy=True))
        self.states.append(state)
        self.amplitudes.append(amplitude)
        probs = np.zeros(N_STATES)
        probs[state] = 1.0
        return probs, amplitude


class _ReadUntil:
    """The virtual source read as fast as computed, up to the tick's time."""

    def __init__(self, source: VirtualSource) -> None:
        self.source = source
        self.info = source.info
        self.until_s = 0.0

    def pull(self) -> Chunk:
        return self.source.read_until(self.until_s)

    def close(self) -> None:
        pass


class _WithoutDecodes:
    """The session's recorder, minus the stand-in decoder's decodes and latency stamps."""

    def __init__(self, recorder) -> None:
        self._recorder = recorder

    def decode(self, *args, **kwargs) -> None:
        pass

    def latency(self, *args, **kwargs) -> None:
        pass

    def __getattr__(self, name: str):
        return getattr(self._recorder, name)


def calibrate_with_stimulation(
    decoder,
    loop: Loop,
    source: VirtualSource,
    patient: VirtualPatient,
    delivered: list,
    script: IntentScript,
    stop_s: float,
    tick_s: float,
    progress: Progress | None = None,
) -> dict[str, float | int]:
    """Run cued, stimulated calibration through `loop` (whose decoder is replaced for the
    duration), then fit `decoder` on the cleaned windows. Returns a few figures."""
    cue = CueDecoder(script)
    reader = _ReadUntil(source)
    real_source, real_decoder, real_recorder = loop.source, loop.decoder, loop.recorder
    loop.source, loop.decoder = reader, cue
    loop.recorder = None if real_recorder is None else _WithoutDecodes(real_recorder)
    tick_ns = round(tick_s * 1e9)
    started = time.perf_counter()
    n_pulses = 0
    try:
        for k, t_s in enumerate(tick_times(source.t_s, stop_s, tick_s)):
            reader.until_s = cue.t_s = float(t_s)
            loop.tick(k, round(t_s * 1e9), tick_ns)
            n_pulses += len(delivered)
            patient.receive_pulses(delivered)
            delivered.clear()
            patient.advance(t_s + tick_s)
            if progress is not None:
                progress("calibration", float(t_s), stop_s)
    finally:
        loop.source, loop.decoder, loop.recorder = real_source, real_decoder, real_recorder
    if not cue.windows:
        raise ValueError(f"calibration_s must allow at least one full window, got {stop_s:g} s")
    decoder.fit(np.asarray(cue.windows), np.asarray(cue.states), np.asarray(cue.amplitudes))
    decoder.reset_filter()
    return {
        "windows": len(cue.windows),
        "pulses_during_calibration": n_pulses,
        "wall_s": round(time.perf_counter() - started, 3),
        "ticks": math.floor((stop_s - 0.0) / tick_s + 1e-9),
    }
