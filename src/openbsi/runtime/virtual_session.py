"""A full session on the built-in virtual patient: cued calibration, then closed-loop walking.

The patient is only a source of ECoG and a sink of pulses; the loop never reads its intent
except as calibration cues (as a therapist's cue would be) and for scoring afterwards.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from openbsi.decoding import make_decoder
from openbsi.features.extractor import FeatureConfig, FeatureExtractor
from openbsi.patient.intent import IntentScript, cued_calibration_script, walking_script
from openbsi.patient.virtual import VirtualPatient
from openbsi.report.html import write_report
from openbsi.report.metrics import compute_metrics
from openbsi.runtime.loop import ClosedLoop, TickResult
from openbsi.safety.limits import SafetyLimits
from openbsi.safety.supervisor import SafetySupervisor
from openbsi.signals import Chunk, RingBuffer
from openbsi.states import state_index
from openbsi.stimulation.backends.virtual import VirtualStimulator
from openbsi.stimulation.electrodes import PADDLE_16
from openbsi.stimulation.mapper import Mapper
from openbsi.stimulation.program import Program, default_paddle_program
from openbsi.store.nwb import log_to_nwb
from openbsi.store.session_log import SessionRecorder

Progress = Callable[[str, float, float], None]  # (phase, simulated seconds done, total)
MAX_SECONDS = 24 * 3600.0


@dataclass(frozen=True)
class VirtualSessionConfig:
    """What `openbsi demo` runs. Durations are simulated seconds."""

    out_dir: Path
    closed_loop_s: float = 120.0
    calibration_s: float = 180.0
    seed: int = 0
    decoder: str = "mslm"
    profile: str | None = None
    tick_ms: float = 100.0  # decode period (Moly 2022: 10 Hz)
    program: Program = field(default_factory=default_paddle_program)

    def __post_init__(self) -> None:
        _check_range("seconds (closed-loop duration)", self.closed_loop_s, 1.0, MAX_SECONDS)
        _check_range("calibration_s", self.calibration_s, 30.0, MAX_SECONDS)
        _check_range("tick_ms", self.tick_ms, 10.0, 1000.0)


@dataclass(frozen=True)
class SessionResult:
    out_dir: Path
    nwb_path: Path
    metrics_path: Path
    report_path: Path
    metrics: dict


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name} must be within [{low:g}, {high:g}], got {value}")


class _PatientSource:
    """Reads the patient's ECoG on a sample clock, so chunks never drift from session time."""

    def __init__(self, patient: VirtualPatient) -> None:
        self.patient = patient
        self.sfreq_hz = patient.info.sfreq_hz
        self.n_read = 0

    def read_until(self, t_s: float) -> Chunk:
        n_due = math.floor(t_s * self.sfreq_hz + 1e-9)
        data = self.patient.read_ecog(n_due - self.n_read)
        chunk = Chunk(data=data, first_sample=self.n_read, t_ns=time.monotonic_ns())
        self.n_read = n_due
        return chunk


def run_virtual_session(
    config: VirtualSessionConfig, progress: Progress | None = None
) -> SessionResult:
    """Run calibration then closed loop on the virtual patient; write the run folder."""
    out_dir = Path(config.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng_cues, rng_walk, rng_patient = np.random.default_rng(config.seed).spawn(3)
    calibration = cued_calibration_script(config.calibration_s, rng_cues)
    script = calibration.concatenated(walking_script(config.closed_loop_s, rng_walk))
    patient_kwargs = {} if config.profile is None else {"profile": config.profile}
    patient = VirtualPatient(script, rng_patient, electrodes=PADDLE_16, **patient_kwargs)
    source = _PatientSource(patient)
    recorder = SessionRecorder(
        out_dir,
        patient.info,
        description="OpenBSI virtual-patient session: cued calibration, then closed-loop walking",
        meta={"seed": config.seed, "decoder": config.decoder, "program": config.program.name},
    )
    started = time.perf_counter()
    try:
        _record_setup(recorder, script, calibration.duration_s)
        extractor = FeatureExtractor(
            FeatureConfig(), patient.info.sfreq_hz, patient.info.n_channels
        )
        buffer = RingBuffer(patient.info.n_channels, 2 * extractor.window_samples)
        tick_s = config.tick_ms / 1e3

        decoder = make_decoder(config.decoder)
        _calibrate(
            decoder,
            extractor,
            buffer,
            source,
            recorder,
            script,
            calibration.duration_s,
            tick_s,
            progress,
        )

        supervisor = SafetySupervisor(SafetyLimits(), PADDLE_16)
        stimulator = VirtualStimulator(supervisor, PADDLE_16, sink=patient.receive_pulses)
        loop = ClosedLoop(extractor, decoder, Mapper(config.program, PADDLE_16), stimulator, buffer)
        _closed_loop(
            loop, supervisor, source, recorder, script, calibration.duration_s, tick_s, progress
        )
        _record_body(recorder, patient)
    finally:
        recorder.close()
    nwb_path = log_to_nwb(recorder.log_path, out_dir / "recording.nwb")
    metrics = compute_metrics(nwb_path)
    metrics["run"] = {
        "wall_s": round(time.perf_counter() - started, 3),
        "simulated_s": script.duration_s,
        "calibration_s": calibration.duration_s,
        "config": {
            k: str(v) if isinstance(v, Path) else v
            for k, v in asdict(config).items()
            if k != "program"
        }
        | {"program": config.program.name},
    }
    metrics_path = out_dir / "metrics.json"
    metrics_path.write_text(json.dumps(metrics, indent=2, allow_nan=False, default=_json_default))
    report_path = write_report(nwb_path, metrics, out_dir)
    return SessionResult(out_dir, nwb_path, metrics_path, report_path, metrics)


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to metrics.json")


def _record_setup(
    recorder: SessionRecorder, script: IntentScript, calibration_end_s: float
) -> None:
    for block in script.blocks:
        recorder.intent(block.start_s, block.stop_s, block.state, block.amplitude)
    recorder.phase(0.0, calibration_end_s, "calibration")
    recorder.phase(calibration_end_s, script.duration_s, "closed_loop")
    recorder.stimulation_electrodes([asdict(electrode) for electrode in PADDLE_16])


def _ticks(start_s: float, stop_s: float, tick_s: float) -> np.ndarray:
    """Tick times (end of each 100 ms step) in (start_s, stop_s]."""
    n = math.floor((stop_s - start_s) / tick_s + 1e-9)
    return start_s + tick_s * np.arange(1, n + 1)


def _calibrate(
    decoder, extractor, buffer, source, recorder, script, stop_s, tick_s, progress
) -> None:
    """Cued calibration, no stimulation: every tick's features are labelled with the cue."""
    features, states, amplitudes = [], [], []
    for t_s in _ticks(0.0, stop_s, tick_s):
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


def _closed_loop(loop, supervisor, source, recorder, script, start_s, tick_s, progress) -> None:
    """Every tick: decode the freshest window, stimulate, let the body respond, record it all."""
    tick_ns = round(tick_s * 1e9)
    n_events = len(supervisor.events)
    for tick, t_s in enumerate(_ticks(start_s, script.duration_s, tick_s)):
        chunk = source.read_until(t_s)
        now_ns = round(t_s * 1e9)
        result = loop.tick(chunk, now_ns, tick_ns)
        source.patient.advance(t_s + tick_s)
        recorder.ecog(chunk.data, chunk.first_sample / source.sfreq_hz, chunk.t_ns)
        n_events = _record_tick(recorder, result, supervisor, n_events, tick, t_s)
        if progress is not None:
            progress("closed loop", t_s - start_s, script.duration_s - start_s)


def _record_tick(
    recorder, result: TickResult, supervisor, n_events: int, tick: int, t_s: float
) -> int:
    """Record one tick; returns how many supervisor events have been recorded so far."""
    recorder.decode(t_s, result.state, result.probs, result.amplitude)
    decision = result.decision
    applied = result.command if decision.command is None else decision.command
    clamped = any(event.action == "clamp" for event in decision.events)
    recorder.stim_command(
        t_s,
        applied.seq,
        applied.state,
        decision.vetoed,
        clamped,
        [asdict(channel) for channel in applied.channels],
    )
    for event in supervisor.events[n_events:]:
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
    if result.pulses:
        pulses = result.pulses
        recorder.pulses(
            np.array([p.t_ns for p in pulses]) / 1e9,
            np.array([p.electrode for p in pulses]),
            np.array([p.amplitude_ma for p in pulses]),
            np.array([p.pulse_width_us for p in pulses]),
        )
    recorder.latency(tick, result.stamps.stamps_ns)
    return len(supervisor.events)


def _record_body(recorder: SessionRecorder, patient: VirtualPatient) -> None:
    for step in patient.step_events():
        recorder.gait_event(step.t_s, step.side, step.length_m, step.clearance_m, step.failed)
    trace = patient.trace()
    recorder.kinematics(trace["t_s"], {k: v for k, v in trace.items() if k != "t_s"})
