"""`openbsi decode evaluate`, `openbsi calibrate` and `openbsi bench decode`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from openbsi.cli.apps import (
    SEED_MAX,
    UserError,
    app,
    bench_app,
    bounded,
    console,
    decode_app,
    output_file,
    parse_int_list,
)


def _names(text: str, option: str) -> list[str]:
    from openbsi.decoding import DECODERS

    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in DECODERS]
    if not names or unknown:
        raise UserError(f"{option} must list decoders from {sorted(DECODERS)}, got {text!r}")
    return names


def _status_progress(status):
    return lambda phase, done, total: status.update(f"{phase} ({done:.0f}/{total:.0f})")


@decode_app.command("evaluate")
def evaluate_command(
    profile: str = typer.Option(None, "--profile", help="Virtual patient profile."),
    seed: int = bounded(0, "--seed", low=0, high=SEED_MAX),
    days: int = bounded(0, "--days", low=0, high=3650, help="Simulated days of drift after day 0."),
    decoders: str = typer.Option(
        "mslm,mslm_nohmm,bandpower_lda,kalman", "--decoders", help="Comma-separated names."
    ),
    calibration_min: float = bounded(
        5.0, "--calibration-min", low=0.5, high=120.0, help="Cued calibration."
    ),
    test_min: float = bounded(
        4.0, "--test-min", low=0.5, high=240.0, help="Walking session decoded per day."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """Pseudo-online evaluation on the virtual patient: accuracy and error blocks against the
    intention (cue + the patient's mean reaction time), switch time from the cue."""
    from openbsi.runtime.pseudo_online import evaluate

    if days < 0 or days > 30:
        raise UserError(f"--days must be in [0, 30], got {days}")
    if not 0.5 <= calibration_min <= 30 or not 0.5 <= test_min <= 60:
        raise UserError(
            "--calibration-min must be in [0.5, 30] and --test-min in [0.5, 60], "
            f"got {calibration_min} and {test_min}"
        )
    names = _names(decoders, "--decoders")
    with console.status("evaluating") as status:
        result = evaluate(
            names,
            seed=seed,
            profile=profile,
            days=days,
            calibration_s=calibration_min * 60.0,
            test_s=test_min * 60.0,
            progress=_status_progress(status),
        )
    if json_out:
        from openbsi.report.metrics import json_safe

        print(json.dumps(json_safe(result)))
        return
    table = Table(title=f"Pseudo-online decoding (seed {seed}; labels: {result['labels']})")
    columns = ("decoder", "accuracy", "error blocks/min", "cue-locked acc.", "switch (s)", "amp. r")
    for col in columns:
        table.add_column(col, justify="right" if col != "decoder" else "left")
    for name, r in result["decoders"].items():
        table.add_row(
            name,
            f"{r['state_accuracy']:.3f}",
            f"{r['error_blocks_per_min']:.2f}",
            f"{r['cue_locked']['state_accuracy']:.3f}",
            f"{r['time_to_switch_s']:.2f}",
            f"{r['amplitude_r']:.2f}",
        )
    console.print(table)
    if days:
        drift = Table(title="Accuracy over days: adaptive / frozen")
        drift.add_column("decoder")
        for d in range(days + 1):
            drift.add_column(f"day {d}", justify="right")
        for name, r in result["decoders"].items():
            drift.add_row(
                name,
                *[f"{e['adaptive_accuracy']:.3f}/{e['frozen_accuracy']:.3f}" for e in r["by_day"]],
            )
        console.print(drift)


@app.command("calibrate")
def calibrate_command(
    out: Path = typer.Option(..., "--out", help="Model file to write (.obsi)."),
    source: str = typer.Option("virtual", "--source", help="Only 'virtual' for now."),
    minutes: float = bounded(5.0, "--minutes", low=0.5, high=120.0, help="Longest calibration."),
    decoder: str = typer.Option("mslm", "--decoder"),
    profile: str = typer.Option(None, "--profile"),
    seed: int = bounded(0, "--seed", low=0, high=SEED_MAX),
    no_plateau_stop: bool = typer.Option(
        False, "--no-plateau-stop", help="Run all minutes even if accuracy has plateaued."
    ),
    json_out: bool = typer.Option(False, "--json"),
    force: bool = typer.Option(False, "--force", help="Replace an existing --out file."),
) -> None:
    """Cued calibration with 15 s recursive updates; stops when validation accuracy plateaus."""
    from rich.progress import BarColumn, Progress, TextColumn

    from openbsi.decoding.model_file import save_model
    from openbsi.runtime.pseudo_online import calibrate_virtual

    if source != "virtual":
        raise UserError(f"--source must be 'virtual' (hardware sources: not yet), got {source!r}")
    if not 0.5 <= minutes <= 60:
        raise UserError(f"--minutes must be in [0.5, 60], got {minutes}")
    name = _names(decoder, "--decoder")[0]
    output_file(out, "--out", force=force)
    with Progress(
        TextColumn("calibration"),
        BarColumn(),
        TextColumn("{task.completed:.2f} min  {task.fields[note]}"),
        console=console,
    ) as bar:
        task = bar.add_task("cal", total=minutes, note="")

        def progress(note: str, done: float, total: float) -> None:
            bar.update(task, completed=done, note=note)

        result = calibrate_virtual(
            name,
            minutes=minutes,
            seed=seed,
            profile=profile,
            stop_on_plateau=not no_plateau_stop,
            progress=progress,
        )
    history = result.validation_accuracy
    meta = {
        "source": source,
        "profile": profile or "default",
        "seed": seed,
        "minutes": result.minutes,
        "validation_accuracy": history,
        "stopped_on_plateau": result.stopped_early,
    }
    save_model(out, result.decoder, result.feature_config, result.sfreq_hz, result.n_channels, meta)
    summary = {
        "model": str(out),
        "decoder": name,
        "minutes": result.minutes,
        "stopped_on_plateau": result.stopped_early,
        "final_validation_accuracy": float(sum(history[-4:]) / len(history[-4:]))
        if history
        else None,
        "n_components": getattr(result.decoder, "n_components_", None),
        "minutes_to_accuracy_0_90": result.minutes_to_accuracy(0.90),
        "validation_accuracy": history,
    }
    if json_out:
        print(json.dumps(summary))
        return
    console.print(
        f"wrote {out}: {name}, {result.minutes:.2f} simulated min, "
        f"validation accuracy (last minute) {summary['final_validation_accuracy']:.3f}"
        + (" (plateau reached)" if result.stopped_early else "")
    )


@bench_app.command("decode")
def bench_decode_command(
    channels: str = typer.Option("64,256,1024", "--channels"),
    windows: int = bounded(
        300, "--windows", low=1, high=100_000, help="Timed decodes per channel count."
    ),
    reference_windows: int = bounded(30, "--reference-windows", low=1, high=10_000),
    seed: int = bounded(0, "--seed", low=0, high=SEED_MAX),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Per-decode latency (features + decoder) vs the MNE + scikit-learn reference path."""
    from openbsi.decoding.benchmark import bench_decode

    counts = parse_int_list(channels, "--channels")
    if windows < 10 or reference_windows < 1:
        raise UserError(
            f"--windows must be >= 10 and --reference-windows >= 1, got {windows}, "
            f"{reference_windows}"
        )
    with console.status("benchmarking") as status:
        result = bench_decode(
            counts,
            n_windows=windows,
            n_reference=reference_windows,
            seed=seed,
            progress=lambda text: status.update(text),
        )
    if json_out:
        print(json.dumps(result))
        return
    table = Table(title="Per-decode latency (ms), one BLAS thread")
    for col in (
        "channels",
        "features p99",
        "decoder p99",
        "total p50/p99",
        "reference p99",
        "speedup (p50)",
        "max rel diff",
    ):
        table.add_column(col, justify="right")
    for n, r in result["channels"].items():
        table.add_row(
            n,
            f"{r['features_p99_ms']:.3f}",
            f"{r['decoder_p99_ms']:.3f}",
            f"{r['total_p50_ms']:.3f}/{r['total_p99_ms']:.3f}",
            f"{r['reference_total_p99_ms']:.1f}",
            f"{r['speedup']:.0f}x",
            f"{r['max_rel_diff']:.1e}",
        )
    console.print(table)
