"""`openbsi demo` and `openbsi session`: run the interface and write a run folder."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from openbsi.cli import metadata_options as meta
from openbsi.cli.apps import (
    MAX_SESSION_S,
    SEED_MAX,
    UserError,
    app,
    bounded,
    console,
    output_folder,
)

_PROGRAM_HELP = "Program file (YAML) for the --stimulator's path (default: its walking example)."


def _writable_folder(out: Path, force: bool = False) -> Path:
    """The run folder, created if needed; a one-line error when it cannot be written or holds
    an earlier run (unless force)."""
    output_folder(out, "--out", force=force)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"--out: cannot create folder {out} ({error.strerror})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UserError(f"--out: folder {out} is not writable")
    return out


@contextmanager
def _progress_bars(quiet: bool) -> Iterator:
    with Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        TextColumn("{task.fields[sim]:>7.1f} s"),
        TimeElapsedColumn(),
        console=console,
        transient=quiet,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(phase: str, done_s: float, total_s: float) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total_s, sim=0.0)
            bar.update(tasks[phase], completed=done_s, sim=done_s)

        yield progress


def _report(result, json_out: bool, title: str) -> None:
    """metrics.json (or the console table), how the session ended, and its exit code."""
    ended = {
        "stop_reason": result.stop_reason,
        "failures": result.failures,
        "lost": result.lost,
        "exit_code": result.exit_code,
    }
    if json_out:
        print(json.dumps({**result.metrics, "session": ended}))
    else:
        if result.metrics:
            console.print(_summary_table(result.metrics, title))
        if result.stop_reason:
            console.print(f"[yellow]stopped early:[/yellow] {result.stop_reason}")
        if result.lost:
            console.print(
                f"[red]ALARM: {result.lost['records']} record(s) not recorded "
                f"({result.lost['ecog_samples']} ECoG samples): {result.lost['error']}[/red]"
            )
        for part, why in result.failures.items():
            console.print(f"[red]not written:[/red] {part}: {why}")
        written = [p for p in (result.nwb_path, result.metrics_path, result.report_path)]
        console.print("wrote " + ", ".join(str(p) for p in written if p.exists()))
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _summary_table(metrics: dict, title: str) -> Table:
    table = Table(title=title)
    table.add_column("measure")
    table.add_column("value", justify="right")
    accuracy = metrics["decoder"].get("state_accuracy")
    shown = "n/a (no intent recorded)" if accuracy is None else f"{accuracy:.3f}"
    table.add_row("decoder state accuracy (closed loop, cue)", shown)
    intention = metrics["decoder"].get("intention_accuracy")
    shown = "n/a" if intention is None else f"{intention:.3f}"
    table.add_row("decoder accuracy vs intention (cue + reaction time)", shown)
    for hop, stats in metrics["latency_ms"].items():
        if stats.get("p50") is not None:
            table.add_row(f"latency {hop} p50 / p99 ms", f"{stats['p50']:.3f} / {stats['p99']:.3f}")
    stim = metrics["stimulation"]
    table.add_row("pulses delivered", str(stim["pulses_delivered"]))
    table.add_row("commands vetoed", str(stim["commands_vetoed"]))
    gait = metrics["gait"]
    table.add_row("steps (failed)", f"{gait['steps']} ({gait['failed_steps']})")
    if gait.get("step_length_m") is not None:
        table.add_row(
            "step length m / speed m/s", f"{gait['step_length_m']:.2f} / {gait['speed_m_s']:.2f}"
        )
    link, safety = metrics.get("link"), metrics.get("safety")
    if link and link.get("faults"):
        table.add_row("link frames sent / lost", f"{link['frames_sent']} / {link['frames_lost']}")
    executed_keys = (
        "executed_stale_commands",
        "executed_replayed_commands",
        "executed_forged_commands",
        "executed_out_of_limit_pulses",
    )
    if safety and all(key in safety for key in executed_keys):
        executed = sum(safety[key] for key in executed_keys)
        table.add_row("stale/replayed/forged/out-of-limit executed", str(executed))
        table.add_row(
            "watchdog trips / overruns", f"{safety['watchdog_trips']} / {safety['overruns']}"
        )
    elif safety:
        table.add_row("implant", "remote (see the implant process)")
        table.add_row("overruns", str(safety["overruns"]))
    return table


@app.command()
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", help="Run folder to write."),
    seconds: float = bounded(
        120.0, "--seconds", low=1.0, high=MAX_SESSION_S, help="Closed-loop walking, simulated s."
    ),
    seed: int = bounded(0, "--seed", low=0, high=SEED_MAX, help="Seed of every generator."),
    calibration_s: float = bounded(
        240.0, "--calibration-s", low=30.0, high=3600.0, help="Cued calibration, s."
    ),
    decoder: str = typer.Option("mslm", "--decoder", help="Decoder name."),
    program: Path | None = typer.Option(None, "--program", help=_PROGRAM_HELP),
    body: str = typer.Option("mujoco", "--body", help="Legs: mujoco (MyoLeg) | reduced."),
    stimulator: str = typer.Option(
        "virtual", "--stimulator", help="virtual (paddle) | paddle | nodes | transcutaneous"
    ),
    json_out: bool = typer.Option(False, "--json", help="Print metrics.json on stdout."),
    force: bool = typer.Option(False, "--force", help="Write into a folder holding a run."),
    metadata: meta.MetadataFile = None,
    subject_id: meta.SubjectId = None,
    sex: meta.Sex = None,
    age: meta.Age = None,
    date_of_birth: meta.DateOfBirth = None,
    species: meta.Species = None,
    experimenter: meta.Experimenter = None,
    institution: meta.Institution = None,
) -> None:
    """Calibrate a decoder, then walk in closed loop, on the virtual patient (simulated clock)."""
    from openbsi.runtime.clock import SimulatedClock
    from openbsi.runtime.live_session import LiveSessionConfig, run_live_session

    subject, study = meta.collect(
        metadata, subject_id, sex, age, date_of_birth, species, experimenter, institution
    )
    config = LiveSessionConfig(
        out_dir=out,
        seconds=seconds,
        calibration_s=calibration_s,
        seed=seed,
        decoder=decoder,
        program=program,
        body=body,
        subject=subject,
        study=study,
        stimulator=stimulator,
    )
    _writable_folder(out, force)
    with _progress_bars(json_out) as progress:
        result = run_live_session(config, progress, clock=SimulatedClock())
    _report(result, json_out, "OpenBSI demo")


@app.command()
def session(
    source: str = typer.Option("virtual", "--source", help="virtual | lsl:NAME | replay:FILE"),
    stimulator: str = typer.Option(
        "virtual",
        "--stimulator",
        help="virtual | paddle | nodes | transcutaneous | lsl:NAME | link:NAME",
    ),
    model: Path | None = typer.Option(None, "--model", help="Decoder model file (.obsi)."),
    seconds: float = bounded(
        60.0, "--seconds", low=1.0, high=MAX_SESSION_S, help="Closed-loop duration, s."
    ),
    out: Path = typer.Option(Path("runs/session"), "--out", help="Run folder to write."),
    faults: str = typer.Option("", "--faults", help="Link faults, e.g. loss=0.3,jitter_ms=50."),
    seed: int = bounded(0, "--seed", low=0, high=SEED_MAX, help="Seed of every generator."),
    calibration_s: float = bounded(
        240.0,
        "--calibration-s",
        low=30.0,
        high=3600.0,
        help="Cued calibration on the virtual patient when no --model.",
    ),
    fast: bool = typer.Option(False, "--fast", help="Simulated clock: as fast as computed."),
    program: Path | None = typer.Option(None, "--program", help=_PROGRAM_HELP),
    body: str = typer.Option("mujoco", "--body", help="Legs: mujoco (MyoLeg) | reduced."),
    grace_s: float = typer.Option(
        2.0, "--grace-s", help="A lost signal ends the session (exit 3) this long after."
    ),
    wait_reconnect: bool = typer.Option(
        False, "--wait-reconnect", help="A lost signal waits for its return instead of ending."
    ),
    artifact_removal: bool = typer.Option(
        False, "--artifact-removal", help="Subtract stimulation artifacts at the pulse times."
    ),
    realtime: bool = typer.Option(
        False, "--realtime", help="SCHED_FIFO, CPU affinity, locked memory, gc control."
    ),
    pairing_secret_file: Path | None = typer.Option(
        None,
        "--pairing-secret-file",
        help="With --stimulator link:NAME: a secret (>= 16 bytes) delivered out of band; a man "
        "in the middle without it cannot pair. Without it, compare the codes on both ends.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print metrics.json on stdout."),
    force: bool = typer.Option(False, "--force", help="Write into a folder holding a run."),
    continue_unrecorded: bool = typer.Option(
        False,
        "--continue-unrecorded",
        help="Go on stimulating when the recording cannot be written (alarm, exact loss count).",
    ),
    metadata: meta.MetadataFile = None,
    subject_id: meta.SubjectId = None,
    sex: meta.Sex = None,
    age: meta.Age = None,
    date_of_birth: meta.DateOfBirth = None,
    species: meta.Species = None,
    experimenter: meta.Experimenter = None,
    institution: meta.Institution = None,
) -> None:
    """Run the interface in real time over the authenticated link, and record it."""
    from openbsi.runtime.clock import MonotonicClock, SimulatedClock
    from openbsi.runtime.live_session import LiveSessionConfig, run_live_session

    subject, study = meta.collect(
        metadata, subject_id, sex, age, date_of_birth, species, experimenter, institution
    )
    config = LiveSessionConfig(
        out_dir=out,
        seconds=seconds,
        source=source,
        stimulator=stimulator,
        model=model,
        faults=faults,
        seed=seed,
        calibration_s=calibration_s,
        program=program,
        body=body,
        subject=subject,
        study=study,
        continue_unrecorded=continue_unrecorded,
        grace_s=grace_s,
        wait_reconnect=wait_reconnect,
        realtime=realtime,
        artifact_removal=artifact_removal,
        pairing_secret_file=pairing_secret_file,
    )
    if model is not None and not model.is_file():
        raise UserError(f"--model: file {model} does not exist")
    _writable_folder(out, force)
    clock = SimulatedClock() if fast else MonotonicClock()
    with _progress_bars(json_out) as progress:
        result = run_live_session(config, progress, clock=clock, notify=_notify)
    _report(result, json_out, "OpenBSI session")


def _notify(message: str) -> None:
    """What happens to the signal, on the console at once."""
    console.print(f"[yellow]{message}[/yellow]", highlight=False, soft_wrap=True)
