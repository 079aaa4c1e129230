"""`openbsi stream ...`: publish streams on the Lab Streaming Layer from their own process."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from openbsi.cli.apps import UserError, app, console
from openbsi.signals.types import StreamInfo

if TYPE_CHECKING:
    from openbsi.patient.virtual import VirtualPatient

stream_app = typer.Typer(
    help="Real-time LSL streams (publish the virtual patient).", no_args_is_help=True
)
app.add_typer(stream_app, name="stream")

DEFAULT_SCRIPT_S = 3600.0  # without --seconds: one hour of walking intent, then rest


@stream_app.command("virtual")
def stream_virtual(
    name: str = typer.Option("openbsi-virtual", "--name", help="LSL stream name to publish."),
    profile: str | None = typer.Option(
        None, "--profile", help="Virtual patient profile (default: the patient's default)."
    ),
    seconds: float | None = typer.Option(
        None, "--seconds", help="Stop after this many seconds (default: until Ctrl-C)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the patient's random generator."),
    pulses: str | None = typer.Option(
        None,
        "--pulses",
        help="LSL stream of delivered pulses to feel (what `--stimulator lsl:NAME` publishes).",
    ),
    link: str | None = typer.Option(
        None,
        "--link",
        help="Be the implant of an authenticated link over LSL (NAME-down/NAME-up): pair, "
        "then execute the stimulation commands that arrive, through the safety supervisor.",
    ),
    pairing_secret_file: Path | None = typer.Option(
        None,
        "--pairing-secret-file",
        help="With --link: the secret (>= 16 bytes) the base station holds too.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print a summary JSON object at the end."),
) -> None:
    """Publish the virtual patient's ECoG as a real-time LSL stream (type ECoG, microvolts)."""
    import numpy as np

    from openbsi.patient.intent import walking_script
    from openbsi.patient.virtual import VirtualPatient
    from openbsi.signals.lsl import LslPublisher, publish_realtime

    if seconds is not None and not 0 < seconds <= 7 * 24 * 3600:
        raise UserError(f"--seconds must be in (0, 604800], got {seconds}")
    if not name.strip():
        raise UserError("--name must not be empty")
    rng = np.random.default_rng(seed)
    script = walking_script(min(seconds or DEFAULT_SCRIPT_S, DEFAULT_SCRIPT_S), rng)
    chosen = {} if profile is None else {"profile": profile}
    patient = VirtualPatient(script, rng, **chosen)
    profile = patient.profile.name
    info = patient.info
    stopping = {"now": False}
    if pulses and link:
        raise UserError("--pulses and --link are exclusive: the patient feels one stimulator")
    body: _PulseIntake | _LinkedImplant | None = None
    if pulses:
        body = _PulseIntake(patient, pulses)
    elif link:
        from openbsi.link.pairing import read_pairing_secret

        secret = read_pairing_secret(pairing_secret_file) if pairing_secret_file else b""
        body = _LinkedImplant(patient, link, secret)

    def stop(signum: int, frame: object) -> None:  # SIGTERM/SIGINT: finish the block, close
        stopping["now"] = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    started = time.monotonic()
    try:
        with LslPublisher(StreamInfo(name, info.sfreq_hz, info.channel_names, info.unit)) as pub:
            console.print(
                f"publishing LSL stream [bold]{name}[/bold]: {info.n_channels} ch ECoG at "
                f"{info.sfreq_hz:g} Hz ({profile}); Ctrl-C to stop"
            )
            if body is not None:
                body.start()
            sent = publish_realtime(
                pub,
                patient.read_ecog,
                seconds,
                should_stop=lambda: stopping["now"],
                on_block=body.on_block if body is not None else None,
            )
    finally:
        if body is not None:
            body.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    summary = {
        "name": name,
        "profile": profile,
        "n_channels": info.n_channels,
        "sfreq_hz": info.sfreq_hz,
        "samples_sent": sent,
        "seconds": round(time.monotonic() - started, 3),
    }
    if body is not None:
        summary |= body.summary()
    if json_out:
        print(json.dumps(summary))
    else:
        console.print(f"sent {sent} samples in {summary['seconds']} s")


@stream_app.command("replay")
def stream_replay(
    path: Path = typer.Argument(..., help="Recording: .nwb, .xdf, .edf, .bdf, .vhdr or .fif."),
    name: str = typer.Option("openbsi-replay", "--name", help="LSL stream name to publish."),
    speed: float = typer.Option(1.0, "--speed", help="Real-time factor (2 = twice as fast)."),
    stream: str | None = typer.Option(None, "--stream", help="Series/stream in the file."),
    json_out: bool = typer.Option(False, "--json", help="Print a summary JSON object at the end."),
) -> None:
    """Publish a recording as a real-time LSL stream (as an amplifier would)."""
    from openbsi.signals.lsl import LslPublisher, publish_realtime
    from openbsi.signals.replay import ReplaySource

    source = ReplaySource(path, stream=stream, speed=speed)
    info = source.info
    stopping = {"now": False}

    def stop(signum: int, frame: object) -> None:
        stopping["now"] = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    started = time.monotonic()
    try:
        # Published at speed x the recorded rate: the stream says the rate it really has.
        published = StreamInfo(name, info.sfreq_hz * speed, info.channel_names, info.unit)
        with LslPublisher(published) as pub:
            console.print(
                f"publishing {path.name} as LSL stream [bold]{name}[/bold]: {info.n_channels} ch "
                f"at {info.sfreq_hz:g} Hz x {speed:g}, {source.duration_s:.1f} s; Ctrl-C to stop"
            )
            sent = publish_realtime(
                pub,
                lambda n: source.read(n).data,
                source.duration_s / speed,
                should_stop=lambda: stopping["now"],
            )
    finally:
        source.close()
        for s, handler in previous.items():
            signal.signal(s, handler)
    summary = {
        "name": name,
        "file": str(path),
        "n_channels": info.n_channels,
        "sfreq_hz": info.sfreq_hz,
        "samples_sent": sent,
        "seconds": round(time.monotonic() - started, 3),
    }
    if json_out:
        print(json.dumps(summary))
    else:
        console.print(f"sent {sent} samples in {summary['seconds']} s")


class _PulseIntake:
    """Feeds the pulses another process delivered (an LSL "Stim" stream) to the patient's
    spinal cord, and moves the body along, lagging real time a little so late pulses count."""

    LAG_S = 0.2
    FIELDS = ("electrode", "amplitude_ma", "pulse_width_us", "interphase_gap_us")

    def __init__(self, patient: VirtualPatient, name: str) -> None:
        from openbsi.signals.lsl import LslEventSource

        self.patient = patient
        self.source = LslEventSource(name, timeout_s=15.0)
        names = self.source.channel_names
        self.columns = [names.index(f) if f in names else i for i, f in enumerate(self.FIELDS)]
        if self.source.n_channels < len(self.FIELDS):
            raise UserError(
                f"--pulses: stream {name!r} must have {len(self.FIELDS)} channels "
                f"{self.FIELDS}, got {self.source.n_channels}"
            )
        self.start_ns = 0
        self.received = 0

    def start(self) -> None:
        self.start_ns = time.monotonic_ns()

    def summary(self) -> dict:
        return {"pulses_received": self.received, "steps": self.patient.gait_summary().steps}

    def on_block(self, elapsed_ns: int) -> None:
        from openbsi.stimulation.types import Pulse

        data, t_ns = self.source.pull()
        if len(t_ns):
            e, a, w, g = (data[:, c] for c in self.columns)
            batch = [
                Pulse(int(t - self.start_ns), int(e[k]), float(a[k]), float(w[k]), float(g[k]))
                for k, t in enumerate(t_ns)
            ]
            self.patient.receive_pulses(batch)
            self.received += len(batch)
        self.patient.advance(max(0.0, elapsed_ns / 1e9 - self.LAG_S))

    def close(self) -> None:
        self.source.close()


class _LinkedImplant:
    """The implant end of an authenticated link over LSL, inside the patient's process.

    Pairing runs in a background thread so the ECoG stream never pauses; once paired, every
    block takes the commands that arrived (runtime.implant.Implant: link refusals, newest
    command, safety supervisor, audit) and feeds the resulting pulses to the spinal cord.
    The two ends' clocks need not agree: pairing measures their offset by round trips and the
    base keeps it updated (openbsi.link.clock_sync).
    """

    PAIRING_TIMEOUT_S = 120.0
    LAG_S = 0.2
    AHEAD_NS = 20_000_000  # emit the pulses due in the next 20 ms

    def __init__(self, patient: VirtualPatient, name: str, secret: bytes = b"") -> None:
        import threading

        self.patient = patient
        self.name = name
        self.secret = secret
        self.start_ns = time.monotonic_ns()
        self.transport = None
        self.implant = None
        self.radio = None
        self.error = ""
        self.pulses = 0
        self._pairing = threading.Thread(target=self._pair, daemon=True)
        self._pairing.start()

    def _pair(self) -> None:
        from openbsi.link import PairingError, RadioEnd
        from openbsi.runtime.implant import Implant
        from openbsi.safety.limits import SafetyLimits
        from openbsi.safety.supervisor import SafetySupervisor
        from openbsi.signals.lsl import LslByteLink
        from openbsi.stimulation.backends.registry import create_stimulator
        from openbsi.stimulation.electrodes import PADDLE_16

        # Everything the implant needs is built before pairing, so that commands sent right
        # after it are not left waiting (and going stale) behind slow imports.
        limits = SafetyLimits()
        stimulator = create_stimulator(
            "virtual",
            supervisor=SafetySupervisor(limits, PADDLE_16),
            electrodes=PADDLE_16,
            sink=self._feel,
            clock_start_ns=time.monotonic_ns(),  # the implant runs on the monotonic clock
        )
        try:
            self.transport = transport = LslByteLink(
                self.name, "implant", timeout_s=self.PAIRING_TIMEOUT_S
            )
            radio = RadioEnd.pair(
                transport.send,
                transport.receive,
                role="implant",
                timeout_s=self.PAIRING_TIMEOUT_S,
                pairing_secret=self.secret,
            )
        except (PairingError, ValueError) as error:
            self.error = str(error)
            console.print(f"[red]--link {self.name}: {error}[/red]")
            return
        self.radio = radio
        self.implant = Implant(radio, stimulator, limits)
        code = radio.endpoint.confirmation_code
        console.print(f"paired over LSL link {self.name}: code {code}")

    def _feel(self, pulses: list) -> None:
        from dataclasses import replace

        self.patient.receive_pulses([replace(p, t_ns=p.t_ns - self.start_ns) for p in pulses])
        self.pulses += len(pulses)

    def start(self) -> None:
        self.start_ns = time.monotonic_ns()

    def on_block(self, elapsed_ns: int) -> None:
        if self.implant is not None:
            now_ns = time.monotonic_ns()
            self.implant.receive(now_ns)
            self.implant.stimulate_until(now_ns + self.AHEAD_NS)
        self.patient.advance(max(0.0, elapsed_ns / 1e9 - self.LAG_S))

    def summary(self) -> dict:
        out: dict = {"paired": self.implant is not None, "pulses_delivered": self.pulses}
        out["steps"] = self.patient.gait_summary().steps
        if self.error:
            out["pairing_error"] = self.error
        if self.implant is not None and self.radio is not None:
            stats = self.implant.stats
            out["link"] = self.radio.metrics()
            out["implant"] = {
                "commands_received": stats.commands_received,
                "executed_stale_commands": stats.executed_stale_commands,
                "executed_replayed_commands": stats.executed_replayed_commands,
                "executed_out_of_limit_pulses": stats.executed_out_of_limit_pulses,
                "stimulator_failures": stats.stimulator_failures,
            }
        return out

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
