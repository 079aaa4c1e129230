"""One decode tick: freshest window -> features -> decoder -> mapper -> link -> implant
(supervisor -> stimulator). Each hop stamps time.monotonic_ns(); recording happens after the
compute path, so it never delays stimulation. Sessions and the latency benchmark run this same
code."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from openbsi.features.extractor import FeatureExtractor
from openbsi.link.radio import SimulatedRadio
from openbsi.runtime.command_codec import encode_command
from openbsi.runtime.implant import Implant, ImplantSpan
from openbsi.runtime.latency import TickStamps
from openbsi.runtime.sources import Source
from openbsi.signals import Chunk, RingBuffer
from openbsi.states import STATES
from openbsi.stimulation.mapper import Mapper
from openbsi.stimulation.types import Pulse
from openbsi.store.session_log import SessionRecorder

logger = logging.getLogger(__name__)


@dataclass
class Decoded:
    state: str
    probs: np.ndarray
    amplitude: float


@dataclass
class Loop:
    source: Source
    buffer: RingBuffer
    extractor: FeatureExtractor
    decoder: Any  # fitted; step(x) -> (probs, amplitude)
    mapper: Mapper
    radio: SimulatedRadio  # or a RadioEnd whose implant runs in another process
    implant: Implant | None  # None when the implant is remote (the far end of the link)
    recorder: SessionRecorder | None = None
    link_offset_ns: int = 0  # session clock -> the link's clock (monotonic for a remote implant)
    decoder_failures: int = 0
    starved_ticks: int = 0  # ticks without new samples or without a full window yet
    # Signal-quality gate (openbsi.decoding.quality, learned at calibration): a window outside
    # it gives no command and a logged "signal_quality" event. State names of the model.
    quality_gate: Any = None
    state_names: tuple[str, ...] = STATES
    quality_refusals: int = 0
    _quality_reason: str | None = None

    def tick(self, k: int, now_ns: int, tick_ns: int) -> TickStamps:
        """Run tick k at session time now_ns; emit the pulses due until now_ns + tick_ns."""
        stamps = TickStamps()
        n_events = len(self._safety_events())
        chunk = self.source.pull()
        stamps.stamps_ns["acquired"] = chunk.t_ns
        decoded = None
        if chunk.n_samples:
            self.buffer.push(chunk)
            decoded = self._decode(k, stamps)
        else:  # a silent source: no new window, no command, so the watchdog takes over
            self.starved_ticks += 1
        if decoded is not None:
            link_ns = now_ns + self.link_offset_ns
            command = self.mapper.map(decoded.state, decoded.amplitude, link_ns)
            self.radio.send_down(encode_command(command), link_ns)
        span = ImplantSpan() if self.implant is None else self.implant.run_until(now_ns + tick_ns)
        stamps.stamp("stimulated")
        if span.first_decision_ns is not None:
            stamps.stamps_ns["safety"] = span.first_decision_ns
        if self.recorder is not None:
            self._record(k, now_ns, chunk, decoded, span.executed, span.pulses, n_events, stamps)
        return stamps

    def _safety_events(self) -> list:
        """The supervisor's log, when the implant (and so its supervisor) is local."""
        return [] if self.implant is None else self.implant.stimulator.supervisor.events

    def _decode(self, k: int, stamps: TickStamps) -> Decoded | None:
        if self.buffer.n_available < self.extractor.window_samples:
            self.starved_ticks += 1
            return None
        window = self.buffer.latest(self.extractor.window_samples)
        x = self.extractor.transform(window)
        stamps.stamp("features")
        if self.quality_gate is not None and self._quality_refused(k, x, window):
            return None
        try:
            probs, amplitude = self.decoder.step(x)
            probs = np.asarray(probs, dtype=float)
            n_states = len(self.state_names)
            if probs.shape != (n_states,) or not np.all(np.isfinite(probs)):
                raise ValueError(f"decoder output must be {n_states} finite probabilities")
            decide = getattr(self.decoder, "decide", None)  # decoders that hold their decision
            state = int(decide(probs)) if decide is not None else int(np.argmax(probs))
        except Exception:  # no command this tick: the implant's watchdog takes over
            self.decoder_failures += 1
            logger.exception("decoder failed at tick %d; no command sent", k)
            return None
        stamps.stamp("decoded")
        return Decoded(self.state_names[state], probs, float(amplitude))

    def _quality_refused(self, k: int, x: np.ndarray, window: np.ndarray) -> bool:
        reason = self.quality_gate.check(x, self.extractor.bad_channels, window)
        if reason is not None:  # no command this tick: the implant's watchdog takes over
            if reason != self._quality_reason and self.quality_refusals == 0:
                logger.warning("tick %d: %s; no command sent", k, reason)
            self.quality_refusals += 1
        self._quality_reason = reason
        return reason is not None

    def _record(
        self,
        k,
        now_ns,
        chunk: Chunk,
        decoded,
        executed,
        pulses: list[Pulse],
        n_events: int,
        stamps: TickStamps,
    ) -> None:
        recorder = self.recorder
        assert recorder is not None
        t_s = now_ns / 1e9
        if chunk.n_samples:
            recorder.ecog(chunk.data, chunk.first_sample / self.source.info.sfreq_hz, chunk.t_ns)
        if decoded is not None:
            recorder.decode(t_s, decoded.state, decoded.probs, decoded.amplitude)
        if self._quality_reason is not None:
            recorder.safety_event(
                t_s, "signal_quality", self._quality_reason, 0.0, 0.0, "no_command", -1
            )
        for command, decision in executed:
            applied = command if decision.command is None else decision.command
            clamped = any(event.action == "clamp" for event in decision.events)
            recorder.stim_command(
                t_s,
                applied.seq,
                applied.state,
                decision.vetoed,
                clamped,
                [vars(c) for c in applied.channels],
            )
        if pulses:
            recorder.pulses(
                np.array([p.t_ns for p in pulses]) / 1e9,
                np.array([p.electrode for p in pulses]),
                np.array([p.amplitude_ma for p in pulses]),
                np.array([p.pulse_width_us for p in pulses]),
            )
        events = self._safety_events()[n_events:]
        for event in events:
            electrode = -1 if event.electrode is None else event.electrode
            recorder.safety_event(
                event.t_ns / 1e9,
                event.rule,
                event.field,
                event.value,
                event.limit,
                event.action,
                electrode,
            )
        if set(stamps.stamps_ns) >= {"features", "decoded", "safety"}:
            recorder.latency(k, stamps.stamps_ns)
