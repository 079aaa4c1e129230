"""`openbsi session` and `openbsi demo`: the interface over the authenticated radio link.

source (virtual | lsl:NAME | replay:FILE) -> ring buffer -> features -> decoder -> mapper ->
command codec -> link (sealed, faults injected) -> implant: supervisor -> stimulator
(virtual | paddle | lsl:NAME). Ticks are drift free (TickScheduler); a decoder or stimulator
that fails leaves the implant without fresh commands, so its watchdog ramps stimulation to
zero, while the recording goes on. `openbsi demo` runs the same loop on a SimulatedClock:
identical computation, no waiting.

Ending well (session_stop.py): SIGTERM, SIGINT and SIGHUP, or a recording that cannot be
written, stop the ticks; no further command is sent, so the implant's watchdog ramps the output
to zero (watchdog_age_ms + ramp_down_ms, 450 ms) while the wind-down ticks run; then the log is
closed and the run folder finished (or the part that failed named).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from openbsi.decoding import make_decoder
from openbsi.decoding.model_file import load_model, save_model
from openbsi.features.artifacts import ArtifactRemover
from openbsi.features.extractor import FeatureConfig, FeatureExtractor
from openbsi.link.faults import FaultConfig
from openbsi.link.radio import SimulatedRadio
from openbsi.patient.intent import (
    IntentBlock,
    IntentScript,
    cued_calibration_script,
    walking_script,
)
from openbsi.patient.profiles import DEFAULT_PROFILE, PatientProfile, get_profile
from openbsi.patient.virtual import BODIES, VirtualPatient
from openbsi.runtime.clock import Clock, MonotonicClock
from openbsi.runtime.control import channel_from_env
from openbsi.runtime.implant import Implant
from openbsi.runtime.loop import Loop
from openbsi.runtime.pseudo_online import Progress, calibrate
from openbsi.runtime.realtime import RealtimeSettings
from openbsi.runtime.run_folder import SessionResult, finish_run_folder
from openbsi.runtime.scheduler import TickScheduler
from openbsi.runtime.session_stop import SessionStop, StopRequested, wind_down
from openbsi.runtime.sources import (
    DEFAULT_GRACE_S,
    SessionEnd,
    SourceEvent,
    SourceWatch,
    open_source,
)
from openbsi.runtime.stim_calibration import calibrate_with_stimulation
from openbsi.runtime.stim_paths import PATH_OF_STIMULATOR, StimPath, stim_path
from openbsi.safety.supervisor import SafetySupervisor
from openbsi.signals import RingBuffer
from openbsi.states import STATES
from openbsi.stimulation.mapper import Mapper
from openbsi.stimulation.program import Program
from openbsi.store.session_log import SessionRecorder

logger = logging.getLogger(__name__)
STIMULATOR_KINDS = ("virtual", "paddle", "nodes", "transcutaneous", "lsl:NAME", "link:NAME")
TRACE_EVERY_TICKS = 10  # the body's trace goes to the recorder once a second


def check_range(name: str, value: float, low: float, high: float) -> None:
    """A named error unless low <= value <= high (and finite)."""
    if not (isinstance(value, int | float) and math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name} must be within [{low:g}, {high:g}], got {value}")


@dataclass(frozen=True)
class LiveSessionConfig:
    out_dir: Path
    seconds: float
    source: str = "virtual"
    stimulator: str = "virtual"
    model: Path | None = None
    faults: str = ""
    seed: int = 0
    calibration_s: float = 240.0  # "within a few minutes" (Lorach 2023)
    decoder: str = "mslm"
    tick_ms: float = 100.0  # decode period (Moly 2022: 10 Hz)
    program: Path | None = None  # stimulation program file (None: the path's walking example)
    body: str = "reduced"  # the virtual patient's legs: "reduced" or "mujoco" (MyoLeg)
    subject: dict | None = None  # store.sealed.SUBJECT_KEYS: id, sex, age / date_of_birth, ...
    study: dict | None = None  # store.sealed.STUDY_KEYS: experimenter, institution, lab
    continue_unrecorded: bool = False  # go on when the recording cannot be written (alarmed)
    grace_s: float = DEFAULT_GRACE_S  # a lost signal ends the session this long after loss
    wait_reconnect: bool = False  # a lost signal waits for its return instead
    realtime: bool = False  # SCHED_FIFO, CPU affinity, mlockall, gc control where permitted
    artifact_uv_per_ma: float | None = None  # the virtual cortex's artifact (None: profile's)
    # Subtract stimulation artifacts at the loop's pulse times. Off by default: at the virtual
    # cortex's 1 uV/mA it cost the demo's loop 0.04 intention accuracy (0.924 -> 0.884, seed
    # 0, measured); on for large artifacts (bench artifacts).
    artifact_removal: bool = False
    calibration_stimulation: bool = False  # calibrate with the cued state's stimulation on
    pairing_secret_file: Path | None = None  # out-of-band secret for --stimulator link:NAME
    patient: PatientProfile | None = None  # the virtual patient (None: the default profile)
    profile: str = DEFAULT_PROFILE  # the virtual patient (openbsi patient profiles)

    def __post_init__(self) -> None:
        check_range("seconds", self.seconds, 1.0, 24 * 3600.0)
        check_range("calibration_s", self.calibration_s, 30.0, 3600.0)
        check_range("tick_ms", self.tick_ms, 10.0, 1000.0)
        check_range("grace_s", self.grace_s, 0.0, 3600.0)
        if self.artifact_uv_per_ma is not None:
            check_range("artifact_uv_per_ma", self.artifact_uv_per_ma, 0.0, 10_000.0)
        kind = self.stimulator.partition(":")[0]
        named = kind in ("lsl", "link")
        if kind not in PATH_OF_STIMULATOR or named != (":" in self.stimulator):
            raise ValueError(
                f"--stimulator must be one of {STIMULATOR_KINDS}, got {self.stimulator!r}"
            )
        FaultConfig.parse(self.faults)  # named errors for bad fault keys or values
        if self.body not in BODIES:
            raise ValueError(f"--body must be one of {BODIES}, got {self.body!r}")
        _ = self.paddle_program  # load and validate the program before anything runs

    @cached_property
    def stim_path(self) -> StimPath:
        """The stimulation path (layout, limits, node placements) of --stimulator (a planned
        node layout when the --program file names one)."""
        return stim_path(self.stimulator, self.program)

    @cached_property
    def paddle_program(self) -> Program:
        """The session's program (name kept from the paddle-only days): the file's, validated
        against the path's limits (every violation named), or the path's walking example."""
        return self.stim_path.load_program(self.program)


def run_live_session(
    config: LiveSessionConfig,
    progress: Progress | None = None,
    *,
    clock: Clock | None = None,
    wrap_source: Callable | None = None,
    wrap_decoder: Callable | None = None,
    wrap_stimulator: Callable | None = None,
    notify: Callable[[str], None] | None = None,
) -> SessionResult:
    """Run a session; `wrap_*` let fault-injection tests replace parts with failing ones.

    `notify(message)` hears at once what happens to the signal (lost, resumed, ended); the
    result's exit_code is non-zero when the session ended because its signal was lost."""
    clock = clock or MonotonicClock()
    if config.source.startswith("lsl:") and not isinstance(clock, MonotonicClock):
        raise ValueError(
            f"--source {config.source} is a live stream on the real clock: drop --fast"
        )
    rng = np.random.default_rng(config.seed)
    rng_cues, rng_walk, rng_patient, rng_link = rng.spawn(4)
    virtual = config.source == "virtual"
    needs_calibration = virtual and config.model is None
    if not virtual and config.model is None:
        raise ValueError(
            f"--model is required with --source {config.source} (run openbsi calibrate)"
        )

    script, calibration_end_s = _intent_script(config, needs_calibration, rng_cues, rng_walk)
    path = config.stim_path
    patient = VirtualPatient(
        script,
        rng_patient,
        electrodes=path.electrodes,
        body=config.body,
        profile=config.patient if config.patient is not None else _profile(config),
        stimulator=path.path,
        placements=path.placements,
    )
    # The stimulator first: its LSL outlet must exist before we wait for the source, since a
    # patient process may wait for our pulses before it publishes its ECoG.
    delivered: list = []
    if config.stimulator.startswith("link:"):
        # The implant (supervisor + stimulator) runs in another process: pair with it.
        if not isinstance(clock, MonotonicClock):
            raise ValueError("--stimulator link:NAME needs the real clock (drop --fast)")
        radio = _remote_implant(config.stimulator[5:], config.pairing_secret_file)
        stimulator, implant = None, None
    else:
        limits = path.limits
        radio = SimulatedRadio(FaultConfig.parse(config.faults), rng_link)
        supervisor = SafetySupervisor(limits, path.electrodes)
        # The virtual stimulator's pulses wait here and reach the body after the tick's compute
        # path, as a real stimulator's output would: the body's simulation is not stimulator
        # time.
        kind, _, name = config.stimulator.partition(":")
        # Pulses reach the patient only from a simulated path (an lsl outlet's go to its
        # listener); the paddle backend stands for the real IPG driving this virtual cord.
        sink = None if kind == "lsl" else delivered.extend
        stimulator = path.make_stimulator(kind, supervisor, sink, name)
        if wrap_stimulator is not None:
            stimulator = wrap_stimulator(stimulator)
        implant = Implant(radio, stimulator, limits)
    try:
        # the model before the source (a replay reads the model's channels) and before the
        # recorder: a start that fails leaves the run folder untouched
        model = None if config.model is None else load_model(config.model)
        _check_state_set(config.model, model)
        channels = None if model is None else model.channel_names
        source = open_source(config.source, clock=clock, patient=patient, channels=channels)
        _check_model(model, source, config.paddle_program.state_set)
    except BaseException:
        _close(stimulator)
        raise
    if wrap_source is not None:
        source = wrap_source(source)
    out_dir = Path(config.out_dir)
    stop = SessionStop(clock, continue_unrecorded=config.continue_unrecorded)
    recorder = SessionRecorder(
        out_dir,
        source.info,
        description=f"OpenBSI session: source {config.source}, stimulator {config.stimulator}",
        meta={
            "seed": config.seed,
            "faults": config.faults,
            "source": config.source,
            # the virtual patient's mean cue-to-cortex reaction time: the report also scores
            # the decoder against the intention (the cue this much later)
            "intention_delay_s": float(np.mean(patient.profile.cortex.reaction_time_s)),
            "stimulator": config.stimulator,
        },
        subject=config.subject,
        study=config.study,
        on_write_error=stop.recording_failed,
    )
    started = time.perf_counter()
    progress = stop.checked(progress)
    ended: SessionEnd | None = None  # stays None when stopped during calibration
    try:
        stop.install_signal_handlers()
        if virtual:
            for block in script.blocks:
                recorder.intent(block.start_s, block.stop_s, block.state, block.amplitude)
        recorder.stimulation_electrodes([vars(e) for e in path.electrodes])
        feature_config = FeatureConfig() if model is None else model.feature_config
        extractor = FeatureExtractor(feature_config, source.info.sfreq_hz, source.info.n_channels)
        # float32 like the features' kernel product: half the memory traffic per tick
        buffer = RingBuffer(source.info.n_channels, 2 * extractor.window_samples, np.float32)
        loop = Loop(
            source,
            buffer,
            extractor,
            None,  # the decoder: the model's, or calibrated below
            Mapper(config.paddle_program, path.electrodes),
            radio,
            implant,
            recorder,
            artifacts=(
                ArtifactRemover(source.info.n_channels)
                if config.artifact_removal or path.artifact_removal
                else None
            ),
        )
        if model is not None:
            decoder, quality_gate = model.decoder, model.quality
            decoder.reset_filter()
        elif config.calibration_stimulation:
            decoder, quality_gate = _calibrated_with_stimulation(
                config, loop, patient, delivered, script, calibration_end_s, progress
            )
        else:
            decoder, quality_gate = _calibrated_decoder(
                config, extractor, buffer, source, recorder, script, calibration_end_s, progress
            )
        if wrap_decoder is not None:
            decoder = wrap_decoder(decoder)
        loop.decoder = decoder
        loop.quality_gate = quality_gate  # the model's signal-quality gate (None: no gate)
        loop.state_names = STATES if model is None else model.state_names  # state set as data
        watch = SourceWatch(
            config.source,
            grace_s=config.grace_s,
            wait_reconnect=config.wait_reconnect,
            notify=notify,
            on_event=_event_recorder(recorder),
        )
        stats, ended = _closed_loop(
            config,
            clock,
            loop,
            patient,
            delivered,
            calibration_end_s,
            progress,
            stop,
            watch,
            remote=implant is None,
        )
        _record_segments(recorder, loop, source)
        _record_body(recorder, patient)
        recorder.summary("selectivity", patient.selectivity())
        recorder.summary("kinematic_peaks", patient.kinematic_peaks())
        _record_summaries(recorder, config, radio, implant, stats, loop, started)
    except StopRequested:  # stopped during calibration: no closed loop, the recording is kept
        pass
    except BaseException:
        stop.restore_signal_handlers()
        raise
    finally:
        stop.record(recorder)
        recorder.close()
        source.close()
        _close(stimulator)
    try:  # a signal while the run folder is written is noted, not obeyed: it gets finished
        result = finish_run_folder(
            out_dir,
            recorder.log_path,
            stop_reason=stop.reason,
            exit_code=stop.exit_code(),
            lost=stop.lost(recorder),
        )
    finally:
        stop.restore_signal_handlers()
    if stop.reason is not None and result.stop_reason is None:  # it came while finishing
        result = replace(
            result, stop_reason=f"{stop.reason} (while finishing)", exit_code=stop.exit_code()
        )
    if ended is not None and result.stop_reason is None:  # the source was lost, or ran out
        # a part that could not be written (exit 5) outranks the source's own exit code
        result = replace(
            result, stop_reason=ended.reason, exit_code=result.exit_code or ended.exit_code
        )
    return result


def _calibrated_with_stimulation(
    config, loop: Loop, patient, delivered, script, calibration_end_s, progress
):
    """Cued calibration with the cued state's stimulation on (through the session's loop)."""
    if loop.implant is None:
        raise ValueError("--calibration-stimulation needs the implant in this process")
    decoder = make_decoder(config.decoder)
    figures = calibrate_with_stimulation(
        decoder,
        loop,
        loop.source,
        patient,
        delivered,
        script,
        calibration_end_s,
        config.tick_ms / 1e3,
        progress,
    )
    assert loop.recorder is not None
    loop.recorder.summary("calibration", {"stimulation": True, **figures})
    _finish_calibration(
        config, decoder, loop.extractor, loop.source, loop.recorder, calibration_end_s
    )
    return decoder, None  # no quality gate learnt with stimulation on (not built)


def _calibrated_decoder(
    config, extractor, buffer, source, recorder, script, calibration_end_s, progress
):
    """Cued calibration on the virtual patient; the model is saved with the session."""
    decoder = make_decoder(config.decoder)
    quality_gate = calibrate(
        decoder,
        extractor,
        buffer,
        source,
        recorder,
        script,
        calibration_end_s,
        config.tick_ms / 1e3,
        progress,
    )
    _finish_calibration(
        config, decoder, extractor, source, recorder, calibration_end_s, quality_gate
    )
    return decoder, quality_gate


def _finish_calibration(
    config, decoder, extractor, source, recorder, calibration_end_s, quality_gate=None
) -> None:
    recorder.phase(0.0, calibration_end_s, "calibration")
    save_model(
        Path(config.out_dir) / "model.obsi",
        decoder,
        extractor.config,
        source.info.sfreq_hz,
        source.info.n_channels,
        metadata={"seed": config.seed, "calibration_s": calibration_end_s},
        channel_names=source.info.channel_names,
        quality=quality_gate,
    )


def _closed_loop(
    config,
    clock: Clock,
    loop: Loop,
    patient: VirtualPatient,
    delivered: list,
    start_s: float,
    progress: Progress | None,
    stop: SessionStop,
    watch: SourceWatch,
    *,
    remote: bool = False,
) -> tuple:
    """Drift-free ticks on `clock`; the body feels each tick's pulses after its compute path.
    Returns the tick stats and the SessionEnd that stopped it early (None: ran its course)."""
    recorder = loop.recorder
    tick_ns = round(config.tick_ms * 1e6)
    loop_start_ns = clock.now_ns()
    offset_ns = round(start_s * 1e9)
    loop.session_zero_ns = loop_start_ns - offset_ns  # the session clock in monotonic terms
    if recorder is not None:
        recorder.summary(
            "clock",
            {
                "session_zero_monotonic_ns": loop.session_zero_ns,
                "clock": type(clock).__name__,
                "closed_loop_start_s": start_s,
            },
        )
    if remote:  # a remote implant judges command age on the machine's monotonic clock
        loop.link_offset_ns = loop_start_ns - offset_ns

    control = _control_channel(config, loop)

    def session_ns() -> int:
        return offset_ns + (clock.now_ns() - loop_start_ns)

    def work(k: int, deadline_ns: int) -> None:
        stop.check()  # a signal or a failed write: no further command
        now_ns = session_ns()
        if control is not None:  # the app's signed e-stop / annotations, before the tick
            control.poll(now_ns)
        n_segments = len(loop.segments)
        loop.tick(k, now_ns, tick_ns)
        if n_segments and len(loop.segments) > n_segments:
            gap_s = loop.segments[-1].start_s - loop.segments[-2].stop_s
            watch.emit(
                SourceEvent(
                    now_ns / 1e9,
                    "gap",
                    f"ECoG gap of {gap_s:.3f} s before {loop.segments[-1].start_s:.3f} s: "
                    "recorded as a new segment, never joined",
                )
            )
        watch.observe(now_ns / 1e9, loop.new_samples, bool(getattr(loop.source, "exhausted", 0)))
        if realtime is not None:
            realtime.between_ticks()  # the young generation, in the idle time
        patient.receive_pulses(delivered)
        delivered.clear()
        patient.advance((now_ns + tick_ns) / 1e9)
        if k % TRACE_EVERY_TICKS == TRACE_EVERY_TICKS - 1:
            _record_trace(recorder, patient)
        if progress is not None:
            progress("closed loop", (k + 1) * config.tick_ms / 1e3, config.seconds)

    start = getattr(loop.source, "start", None)  # virtual and replay sources start their clock
    if callable(start):
        start()
    watch.start(start_s)
    backlog = getattr(getattr(loop.source, "stats", None), "backlog_discarded", 0)
    if backlog:
        watch.emit(
            SourceEvent(
                start_s,
                "backlog_discarded",
                f"{backlog} samples ({backlog / loop.source.info.sfreq_hz:.3f} s) buffered before "
                "the session's clock started were discarded, not recorded",
            )
        )
    scheduler = TickScheduler(config.tick_ms, clock_ns=clock.now_ns, sleep_s=clock.sleep)
    ended: SessionEnd | None = None
    # One BLAS thread: multithreaded BLAS on a busy machine turns a 0.5 ms feature transform
    # into tens of ms at p99; a real-time loop wants the predictable path.
    realtime = RealtimeSettings() if config.realtime else None
    with threadpool_limits(limits=1):
        if realtime is not None:
            report = realtime.enter()
            for line in report.lines():
                logger.info(line)
                if watch.notify is not None:
                    watch.notify(line)
            if recorder is not None:
                recorder.summary("realtime", report.as_dict())
        try:
            scheduler.run(work, math.floor(config.seconds * 1e3 / config.tick_ms + 1e-9))
        except StopRequested:  # a signal or a failed write: the watchdog ramps to zero
            wind_down(loop, clock, session_ns, tick_ns, delivered, stop)
        except SessionEnd as end:
            ended = end
        finally:
            if realtime is not None:
                realtime.exit()
    recorder.phase(start_s, start_s + (clock.now_ns() - loop_start_ns) / 1e9, "closed_loop")
    return scheduler.stats, ended


def _event_recorder(recorder: SessionRecorder) -> Callable[[SourceEvent], None]:
    """Source events go into the log at once, as one cumulative summary record."""
    events: list[dict] = []

    def record(event: SourceEvent) -> None:
        events.append(event.as_dict())
        recorder.summary("source_events", {"events": list(events)})

    return record


def _record_segments(recorder: SessionRecorder, loop: Loop, source) -> None:
    """The closed loop's ECoG as runs without a break, on the session clock."""
    stats = getattr(source, "stats", None)
    recorder.summary(
        "ecog_segments",
        {
            "segments": [segment.as_dict() for segment in loop.segments],
            "gaps": max(0, len(loop.segments) - 1),
            "source_failures": loop.source_failures,
            "backlog_discarded_samples": getattr(stats, "backlog_discarded", None),
            "max_stamp_drift_ms": getattr(stats, "max_drift_ms", None),
        },
    )


def _profile(config: LiveSessionConfig) -> PatientProfile:
    """The virtual patient's profile, with the artifact level the config asks for."""
    profile = get_profile(config.profile)
    if config.artifact_uv_per_ma is None:
        return profile
    cortex = dataclasses.replace(profile.cortex, stim_artifact_uv_per_ma=config.artifact_uv_per_ma)
    return dataclasses.replace(profile, cortex=cortex)


def _control_channel(config, loop: Loop):
    """The app's control channel (runtime/control.py), when the app started this session."""

    def estop(now_ns: int, command: dict) -> None:
        if loop.implant is None:  # a remote implant is stopped from its own process
            logger.error("e-stop from %s cannot reach a remote implant", command.get("user"))
            return
        stimulator = loop.implant.stimulator
        stimulator.supervisor.emergency_stop(now_ns)
        # Pulses already handed to the stimulator (its schedule runs to the end of the last
        # tick's window) still go out: the output is zero from the end of that window.
        horizon_ns = getattr(stimulator, "_clock_ns", None) or now_ns
        zero_from_s = max(now_ns, horizon_ns) / 1e9
        # recorded at once (the tick's own record of supervisor events starts after this)
        loop.recorder.safety_event(
            now_ns / 1e9, "emergency_stop", "output_zero_from_s", zero_from_s, 0.0, "estop", -1
        )

    def annotate(command: dict) -> None:
        t_s = float(command.get("t_s", 0.0))
        author, text = str(command.get("user", "")), str(command.get("text", ""))[:1000]
        loop.recorder.annotation(t_s, t_s, f"{author}: {text}" if author else text)

    return channel_from_env(config.out_dir, estop, annotate)


def _intent_script(config, needs_calibration, rng_cues, rng_walk) -> tuple[IntentScript, float]:
    walking = walking_script(config.seconds + 5.0, rng_walk)  # a margin for late ticks
    if needs_calibration:
        calibration = cued_calibration_script(config.calibration_s, rng_cues)
        return calibration.concatenated(walking), calibration.duration_s
    if config.source != "virtual":  # the body stands at rest; the ECoG comes from elsewhere
        return IntentScript((IntentBlock(0.0, config.seconds + 5.0, "rest", 0.0),)), 0.0
    return walking, 0.0


def _check_state_set(path: Path | None, model) -> None:
    """Refused at the start, not a crash at the first decode: the session log, the command
    codec and the supervisor know only the seven leg states so far."""
    if model is not None and model.state_names != STATES:
        raise ValueError(
            f"--model {path}: state set {list(model.state_names)}: a session records, sends "
            f"and supervises only the seven leg states {list(STATES)} so far "
            "(evaluate this model with `openbsi decode evaluate`)"
        )


def _check_model(model, source, state_set: tuple[str, ...]) -> None:
    """The model against the opened stream and the program's state set (a named error on any
    mismatch; the source is closed first)."""
    if model is None:
        return
    info = source.info
    try:
        model.check_stream(
            model.feature_config, info.sfreq_hz, info.n_channels, info.channel_names, state_set
        )
    except BaseException:
        source.close()
        raise


def _close(stimulator) -> None:
    close = getattr(stimulator, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            logger.exception("stimulator failed to close")


def _record_trace(recorder: SessionRecorder, patient: VirtualPatient) -> None:
    """Hand the body's newest trace rows to the recorder (memory stays flat)."""
    trace = patient.drain_trace()
    if trace and len(trace["t_s"]):
        recorder.kinematics(trace["t_s"], {k: v for k, v in trace.items() if k != "t_s"})


def _record_body(recorder: SessionRecorder, patient: VirtualPatient) -> None:
    for step in patient.step_events():
        recorder.gait_event(step.t_s, step.side, step.length_m, step.clearance_m, step.failed)
    _record_trace(recorder, patient)


def _remote_implant(name: str, secret_file: Path | None):
    """The base station's end of an authenticated link over LSL to an implant process; shows
    the pairing code for the operator to compare with the implant's."""
    from openbsi.link import RadioEnd
    from openbsi.link.pairing import read_pairing_secret
    from openbsi.signals.lsl import LslByteLink

    secret = read_pairing_secret(secret_file) if secret_file is not None else b""
    transport = LslByteLink(name, "base")
    radio = RadioEnd.pair(transport.send, transport.receive, role="base", pairing_secret=secret)
    logger.warning(
        "paired with the implant over LSL link %s: code %s (compare it with the implant's%s)",
        name,
        radio.endpoint.confirmation_code,
        "; pairing secret used" if secret else "",
    )
    return radio


def _record_summaries(recorder, config, radio, implant, stats, loop, started):
    """Link and safety figures go into the recording itself (and from there to metrics.json)."""
    link = radio.metrics()
    recorder.summary("link", link)
    loop_figures = {
        "overruns": stats.overruns,
        "skipped_ticks": stats.skipped,
        "decoder_failures": loop.decoder_failures,
        "starved_ticks": loop.starved_ticks,
        "quality_refusals": loop.quality_refusals,
    }
    if implant is None:
        remote = "remote: its executed_* counters are reported by the implant's process"
        recorder.summary("safety", {"implant": remote, **loop_figures})
    else:
        recorder.summary("safety", _implant_figures(link, implant) | loop_figures)
        delivery = getattr(implant.stimulator, "delivery_summary", None)  # wrapped in tests
        if callable(delivery):
            figures = {"path": config.stim_path.path} | delivery(config.seconds)
            recorder.summary("stimulator", figures)
    _record_run_summary(recorder, config, stats, started)


def _implant_figures(link: dict, implant: Implant) -> dict:
    """What the local implant executed and audited (all must-be-zero but the last three)."""
    events = implant.stimulator.supervisor.events
    return {
        "executed_stale_commands": implant.stats.executed_stale_commands,
        "executed_replayed_commands": implant.stats.executed_replayed_commands,
        "executed_forged_commands": link["accepted_injected"],
        "executed_out_of_limit_pulses": implant.stats.executed_out_of_limit_pulses,
        "watchdog_trips": sum(1 for e in events if e.rule == "watchdog"),
        "stimulator_failures": implant.stats.stimulator_failures,
        "malformed_payloads": implant.stats.malformed_payloads,
    }


def _record_run_summary(recorder, config, stats, started) -> None:
    recorder.summary(
        "run",
        {
            "wall_s": round(time.perf_counter() - started, 3),
            "source": config.source,
            "stimulator": config.stimulator,
            "faults": config.faults,
            "seed": config.seed,
            "seconds": config.seconds,
            "calibration_s": config.calibration_s,
            "decoder": config.decoder,
            "ticks": stats.ticks,
            "max_tick_lateness_ms": stats.max_lateness_ms,
        },
    )
