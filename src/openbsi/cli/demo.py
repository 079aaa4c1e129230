"""`openbsi demo`: a full session on the built-in virtual patient."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from openbsi.cli.apps import UserError, app, console


def _writable_folder(out: Path) -> Path:
    """The run folder, created if needed; a one-line error when it cannot be written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"--out: cannot create folder {out} ({error.strerror})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UserError(f"--out: folder {out} is not writable")
    return out


@app.command()
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", help="Run folder to write."),
    seconds: float = typer.Option(120.0, "--seconds", help="Closed-loop walking, simulated s."),
    seed: int = typer.Option(0, "--seed", help="Seed of every random generator in the run."),
    calibration_s: float = typer.Option(180.0, "--calibration-s", help="Cued calibration, s."),
    decoder: str = typer.Option("mslm", "--decoder", help="Decoder name (see decoding)."),
    json_out: bool = typer.Option(False, "--json", help="Print metrics.json on stdout."),
) -> None:
    """Calibrate a decoder, then walk in closed loop, on the virtual patient."""
    from openbsi.runtime.virtual_session import VirtualSessionConfig, run_virtual_session

    config = VirtualSessionConfig(
        out_dir=out, closed_loop_s=seconds, calibration_s=calibration_s, seed=seed, decoder=decoder
    )
    _writable_folder(out)
    with Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        TextColumn("{task.fields[sim]:>6.1f} s simulated"),
        TimeElapsedColumn(),
        console=console,
        transient=json_out,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(phase: str, done_s: float, total_s: float) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total_s, sim=0.0)
            bar.update(tasks[phase], completed=done_s, sim=done_s)

        result = run_virtual_session(config, progress)
    if json_out:
        print(json.dumps(result.metrics))
        return
    console.print(_summary_table(result.metrics))
    console.print(f"wrote {result.nwb_path}, {result.metrics_path}, {result.report_path}")


def _summary_table(metrics: dict) -> Table:
    table = Table(title="OpenBSI demo", show_header=True)
    table.add_column("measure")
    table.add_column("value", justify="right")
    decoder = metrics["decoder"]
    table.add_row("decoder state accuracy (closed loop)", f"{decoder['state_accuracy']:.3f}")
    for hop, stats in metrics["latency_ms"].items():
        table.add_row(f"latency {hop} p50 / p99 ms", f"{stats['p50']:.3f} / {stats['p99']:.3f}")
    stim = metrics["stimulation"]
    table.add_row("pulses delivered", str(stim["pulses_delivered"]))
    table.add_row("commands vetoed", str(stim["commands_vetoed"]))
    gait = metrics["gait"]
    table.add_row("steps (failed)", f"{gait['steps']} ({gait['failed_steps']})")
    table.add_row(
        "step length m / speed m/s", f"{gait['step_length_m']:.2f} / {gait['speed_m_s']:.2f}"
    )
    return table
