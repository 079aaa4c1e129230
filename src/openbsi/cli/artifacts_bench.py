"""`openbsi bench artifacts`: closed-loop accuracy against stimulation artifact size."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from openbsi.cli.apps import UserError, bench_app, console


@bench_app.command("artifacts")
def bench_artifacts_command(
    levels: str = typer.Option("0,10,30,100", "--levels", help="Artifact sizes, uV/mA."),
    seconds: float = typer.Option(60.0, "--seconds", help="Closed loop per level, simulated s."),
    calibration_s: float = typer.Option(120.0, "--calibration-s", help="Calibration, s."),
    seed: int = typer.Option(0, "--seed"),
    removal: bool = typer.Option(
        True, "--removal/--no-removal", help="Subtract artifacts at the loop's pulse times."
    ),
    calibration_stimulation: bool = typer.Option(
        True,
        "--calibration-stimulation/--calibration-without-stimulation",
        help="Calibrate with the cued program's stimulation on.",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Sweep the virtual cortex's artifact size; closed-loop intention accuracy at each."""
    from openbsi.runtime.bench_artifacts import artifact_sweep

    try:
        values = [float(part) for part in levels.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"--levels must be comma-separated numbers, got {levels!r}") from None
    if not values:
        raise UserError(f"--levels must list at least one number, got {levels!r}")
    with console.status("sweeping") as status:
        result = artifact_sweep(
            values,
            seconds=seconds,
            calibration_s=calibration_s,
            seed=seed,
            removal=removal,
            calibration_stimulation=calibration_stimulation,
            progress=status.update,
        )
    if json_out:
        print(json.dumps(result))
        return
    table = Table(title="Closed-loop intention accuracy vs stimulation artifact")
    for column in ("uV/mA", "intention accuracy", "drop vs 0", "pulses"):
        table.add_column(column, justify="right")
    for level, row in result["levels"].items():
        accuracy, drop = row["intention_accuracy"], row["drop"]
        table.add_row(
            level,
            "n/a" if accuracy is None else f"{accuracy:.3f}",
            "n/a" if drop is None else f"{drop:+.3f}",
            str(row["pulses_delivered"]),
        )
    console.print(table)
    for level, bar in result["bars"].items():
        console.print(f"bar at {level} uV/mA: drop <= {bar['allowed_drop']}: {bar['met']}")
