"""One decode tick: freshest window -> features -> decoder -> mapper -> link -> implant
(supervisor -> stimulator). Each hop stamps time.monotonic_ns(); recording happens after the
compute path, so it never delays stimulation. Sessions and the latency benchmark run this same
code."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from openbsi.features.artifacts import ArtifactRemover, pulse_scale
from openbsi.features.extractor import FeatureExtractor
from openbsi.link.radio import SimulatedRadio
from openbsi.runtime.command_codec import encode_command
from openbsi.runtime.implant import Implant, ImplantSpan
from openbsi.runtime.latency import TickStamps
from openbsi.runtime.realtime import collect_ahead
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


@dataclass(frozen=True)
class TimedPiece:
    """New samples and the session time of the first one; starts_segment: a break before."""

    chunk: Chunk
    t_s: float
    starts_segment: bool


@dataclass
class Segment:
    """A run of ECoG samples on the session clock without a break."""

    start_s: float
    n_samples: int
    sfreq_hz: float

    @property
    def stop_s(self) -> float:
        """Session time one sample past the last."""
        return self.start_s + self.n_samples / self.sfreq_hz

    def as_dict(self) -> dict[str, float | int]:
        return {
            "start_s": round(self.start_s, 6),
            "n_samples": self.n_samples,
            "stop_s": round(self.stop_s, 6),
        }


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

    session_zero_ns: int = 0  # time.monotonic_ns() at session time 0 (places LSL samples)
    source_failures: int = 0  # pulls that raised (a lost stream): counted, never fatal
    new_samples: int = 0  # samples the last tick pulled
    segments: list[Segment] = field(default_factory=list)  # runs of ECoG without a break
    artifacts: ArtifactRemover | None = None  # subtracts stimulation artifacts at pulse times
    _pulse_t_s: list[float] = field(default_factory=list)  # pulses the window may still hold
    _pulse_scale: list[float] = field(default_factory=list)
    _window_end_s: float = 0.0  # session time one sample past the newest sample
    _to_fit: tuple | None = None  # (window, pulse index, scale) for the artifact fit

    def __post_init__(self) -> None:
        if self.implant is not None:
            self.implant.defer_audit = True  # audited right after the stimulated stamp

    def tick(self, k: int, now_ns: int, tick_ns: int) -> TickStamps:
        """Run tick k at session time now_ns; emit the pulses due until now_ns + tick_ns."""
        stamps = TickStamps()
        n_events = len(self._safety_events())
        pieces = self._pull(now_ns)
        # One clock for latency: this process's monotonic clock when the chunk is in hand,
        # whatever clock the source or the session runs on (a simulated one with --fast).
        stamps.stamp("acquired")
        self.new_samples = sum(piece.chunk.n_samples for piece in pieces)
        for piece in pieces:
            if piece.starts_segment and self.buffer.n_pushed:  # never a window across a break
                dtype = self.buffer.latest(1).dtype
                self.buffer = RingBuffer(self.buffer.n_channels, self.buffer.capacity, dtype)
            self.buffer.push(piece.chunk)
            self._window_end_s = piece.t_s + piece.chunk.n_samples / self.source.info.sfreq_hz
        decoded = None
        if self.new_samples:
            decoded = self._decode(k, stamps)
        else:  # a silent source: no new window, no command, so the watchdog takes over
            self.starved_ticks += 1
        if decoded is not None:
            link_ns = now_ns + self.link_offset_ns
            command = self.mapper.map(decoded.state, decoded.amplitude, link_ns)
            self.radio.send_down(encode_command(command), link_ns)
        span = ImplantSpan() if self.implant is None else self.implant.run_until(now_ns + tick_ns)
        stamps.stamp("stimulated")
        if self.implant is not None and self.implant.defer_audit:
            self.implant.audit(span.pulses)  # the independent count, after the compute path
        if self.artifacts is not None:
            if span.pulses:
                self._remember_pulses(span.pulses)
            if self._to_fit is not None:  # this window teaches the next one's template
                self.artifacts.update(*self._to_fit)
                self._to_fit = None
        if span.first_decision_ns is not None:
            stamps.stamps_ns["safety"] = span.first_decision_ns
        if self.recorder is not None:
            self._record(k, now_ns, pieces, decoded, span.executed, span.pulses, n_events, stamps)
        collect_ahead()  # the garbage collector's next pass, off the compute path
        return stamps

    def _pull(self, now_ns: int) -> list[TimedPiece]:
        """New samples with the session time of their first sample; a break (gap, reconnect)
        before a piece opens a new segment."""
        try:
            timed = getattr(self.source, "pull_timed", None)
            if timed is not None:  # an LSL inlet: its own stamps place the samples
                pieces = [
                    TimedPiece(
                        t.chunk,
                        (t.first_sample_t_ns - self.session_zero_ns) / 1e9,
                        t.starts_segment,
                    )
                    for t in timed()
                ]
            else:  # the source's sample clock is the session's
                chunk = self.source.pull()
                first_s = chunk.first_sample / self.source.info.sfreq_hz
                pieces = [TimedPiece(chunk, first_s, False)] if chunk.n_samples else []
        except Exception:  # a lost stream must not end the loop: the watchdog takes over
            self.source_failures += 1
            logger.exception("source failed to deliver at %.3f s", now_ns / 1e9)
            return []
        sfreq_hz = self.source.info.sfreq_hz
        for piece in pieces:
            last = self.segments[-1] if self.segments else None
            contiguous = (
                last is not None
                and not piece.starts_segment
                and abs(piece.t_s - last.stop_s) <= 1.5 / sfreq_hz
            )
            if contiguous:
                assert last is not None
                last.n_samples += piece.chunk.n_samples
            else:
                self.segments.append(Segment(piece.t_s, piece.chunk.n_samples, sfreq_hz))
        return pieces

    def _remember_pulses(self, pulses: list[Pulse]) -> None:
        self._pulse_t_s.extend(p.t_ns / 1e9 for p in pulses)
        self._pulse_scale.extend(
            float(pulse_scale(p.amplitude_ma, p.pulse_width_us)) for p in pulses
        )

    def _clean(self, window: np.ndarray) -> np.ndarray:
        """Subtract the artifacts of the pulses whose samples (or tails) the window holds."""
        assert self.artifacts is not None
        sfreq_hz = self.source.info.sfreq_hz
        n = window.shape[1]
        t_s = np.asarray(self._pulse_t_s)
        start_s = self._window_end_s - (n + self.artifacts.n_lags) / sfreq_hz
        keep = t_s >= start_s
        if not keep.all():  # forget pulses older than any window can show
            first = int(np.argmax(keep)) if keep.any() else len(self._pulse_t_s)
            del self._pulse_t_s[:first], self._pulse_scale[:first]
            t_s = t_s[first:]
        inside = t_s < self._window_end_s + 0.5 / sfreq_hz
        if not inside.any():
            return window
        index = np.round((t_s[inside] - self._window_end_s) * sfreq_hz).astype(np.int64) + n
        scale = np.asarray(self._pulse_scale)[inside]
        self._to_fit = (window, index, scale)  # refit after the compute path
        return self.artifacts.subtract(window, index, scale)

    def _safety_events(self) -> list:
        """The supervisor's log, when the implant (and so its supervisor) is local."""
        return [] if self.implant is None else self.implant.stimulator.supervisor.events

    def _decode(self, k: int, stamps: TickStamps) -> Decoded | None:
        if self.buffer.n_available < self.extractor.window_samples:
            self.starved_ticks += 1
            return None
        window = self.buffer.latest(self.extractor.window_samples)
        if self.artifacts is not None and self._pulse_t_s:
            window = self._clean(window)
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
        pieces: list[TimedPiece],
        decoded,
        executed,
        pulses: list[Pulse],
        n_events: int,
        stamps: TickStamps,
    ) -> None:
        recorder = self.recorder
        assert recorder is not None
        t_s = now_ns / 1e9
        for piece in pieces:
            recorder.ecog(piece.chunk.data, piece.t_s, stamps.stamps_ns["acquired"])
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
