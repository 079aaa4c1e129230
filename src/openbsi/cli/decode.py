"""`openbsi decode evaluate` and `openbsi calibrate`."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from openbsi.cli.apps import (
    SEED_MAX,
    UserError,
    app,
    bounded,
    console,
    decode_app,
    output_file,
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


def _folds(cv: str) -> int:
    kind, _, k = cv.partition(":")
    if kind != "blocked" or not k.isdigit():
        raise UserError(f"--cv must be blocked:K (K in [2, 20]), got {cv!r}")
    return int(k)


def _recording_set(source, labels, channels, line_hz, stream, seconds):
    from openbsi.runtime.pseudo_online import recording_windows

    if labels is None:
        raise UserError(
            "--labels is required with --source "
            f"{source} (channel:NAME[:THRESHOLD] | events:FILE.tsv[:MAPPING] | intervals:NAME)"
        )
    with console.status("reading and windowing the recording"):
        return recording_windows(source, labels, channels, line_hz, stream=stream, seconds=seconds)


def _print_recording_evaluation(result: dict) -> None:
    windows = result["windows"]
    per_state = ", ".join(f"{k} {v}" for k, v in windows["per_state"].items())
    table = Table(
        title=f"{result['cv']} cross-validation of {Path(result['source']).name} (labels: "
        f"{result['labels']}; {windows['n']} windows: {per_state})"
    )
    for col in (
        "decoder",
        "balanced acc.",
        "null p95",
        "accuracy",
        "error blocks/min",
        "switch (s)",
        "amp. r",
    ):
        table.add_column(col, justify="right" if col != "decoder" else "left")

    def fmt(value, spec=".3f"):
        return "n/a" if value is None or value != value else format(value, spec)

    for name, r in result["decoders"].items():
        table.add_row(
            name,
            fmt(r["balanced_accuracy"]),
            fmt(r["null"]["balanced_accuracy_p95"]),
            fmt(r["state_accuracy"]),
            fmt(r["error_blocks_per_min"], ".2f"),
            fmt(r["time_to_switch_s"], ".2f"),
            fmt(r["amplitude_r"], ".2f"),
        )
    console.print(table)
    console.print(f"channels: {', '.join(result['channels'])}")


@decode_app.command("evaluate")
def evaluate_command(
    source: str = typer.Option(
        "virtual", "--source", help="virtual | replay:FILE | lsl:NAME (recordings need --labels)"
    ),
    labels: str = typer.Option(
        None,
        "--labels",
        help="channel:NAME[:THRESHOLD] | events:FILE.tsv[:VALUE=STATE,...] | "
        "events:annotations[:...] | intervals:NAME",
    ),
    channels: str = typer.Option(
        None, "--channels", help="type:ecog or NAME,NAME,... (default: the file's ECoG)"
    ),
    line_hz: float = typer.Option(
        None, "--line-hz", help="Notch frequency where the file does not say (0 = none)."
    ),
    cv: str = typer.Option("blocked:5", "--cv", help="blocked:K cross-validation."),
    null_shifts: int = bounded(
        20, "--null-shifts", low=0, high=1000, help="Shifted-label refits for the chance level."
    ),
    stream: str = typer.Option(None, "--stream", help="Series/stream name in NWB or XDF."),
    seconds: float = bounded(
        60.0, "--seconds", low=1.0, high=24 * 3600.0, help="Recording length for lsl:NAME."
    ),
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
    """Pseudo-online evaluation: on the virtual patient (accuracy and error blocks against the
    intention, cue + mean reaction time), or on a recording (blocked cross-validation, with a
    shifted-label null beside the balanced accuracy)."""
    from openbsi.runtime.pseudo_online import evaluate, evaluate_recording

    if source != "virtual":
        names = _names(decoders, "--decoders")
        folds = _folds(cv)
        if not 0 <= null_shifts <= 1000:
            raise UserError(f"--null-shifts must be in [0, 1000], got {null_shifts}")
        rec = _recording_set(source, labels, channels, line_hz, stream, seconds)
        with console.status("cross-validating"):
            result = evaluate_recording(rec, names, folds, null_shifts, seed)
        if json_out:
            from openbsi.report.metrics import json_safe

            print(json.dumps(json_safe(result)))
            return
        _print_recording_evaluation(result)
        return
    if labels is not None or channels is not None:
        raise UserError("--labels and --channels need --source replay:FILE or lsl:NAME")

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
    source: str = typer.Option("virtual", "--source", help="virtual | replay:FILE | lsl:NAME"),
    labels: str = typer.Option(
        None,
        "--labels",
        help="channel:NAME[:THRESHOLD] | events:FILE.tsv[:VALUE=STATE,...] | "
        "events:annotations[:...] | intervals:NAME",
    ),
    channels: str = typer.Option(
        None, "--channels", help="type:ecog or NAME,NAME,... (default: the file's ECoG)"
    ),
    line_hz: float = typer.Option(
        None, "--line-hz", help="Notch frequency where the file does not say (0 = none)."
    ),
    stream: str = typer.Option(None, "--stream", help="Series/stream name in NWB or XDF."),
    seconds: float = bounded(
        60.0, "--seconds", low=1.0, high=24 * 3600.0, help="Recording length for lsl:NAME."
    ),
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

    if not 0.5 <= minutes <= 60:
        raise UserError(f"--minutes must be in [0.5, 60], got {minutes}")
    name = _names(decoder, "--decoder")[0]
    output_file(out, "--out", force=force)
    if source != "virtual":
        _calibrate_recording(
            out, source, labels, channels, line_hz, stream, seconds, name, json_out
        )
        return
    if labels is not None or channels is not None:
        raise UserError("--labels and --channels need --source replay:FILE or lsl:NAME")
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
    save_model(
        out,
        result.decoder,
        result.feature_config,
        result.sfreq_hz,
        result.n_channels,
        meta,
        channel_names=result.channel_names,
        quality=result.quality,
    )
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


def _calibrate_recording(
    out, source, labels, channels, line_hz, stream, seconds, name, json_out
) -> None:
    from openbsi.decoding.model_file import save_model
    from openbsi.decoding.offline import calibrate_windows, windows_summary

    rec = _recording_set(source, labels, channels, line_hz, stream, seconds)
    with console.status("calibrating"):
        cal = calibrate_windows(name, rec.windows, rec.config, rec.sfreq_hz)
    windows = windows_summary(rec.windows)
    meta = {"source": rec.source, "labels": rec.labels, "windows": windows}
    save_model(
        out,
        cal.decoder,
        rec.config,
        rec.sfreq_hz,
        len(rec.channels),
        meta,
        channel_names=rec.channels,
        state_names=rec.windows.state_names,
        quality=cal.quality,
    )
    summary = {
        "model": str(out),
        "decoder": name,
        "source": rec.source,
        "labels": rec.labels,
        "channels": list(rec.channels),
        "state_names": list(rec.windows.state_names),
        "windows": windows,
        "sfreq_hz": rec.sfreq_hz,
        "line_hz": rec.line_hz,
    }
    if json_out:
        print(json.dumps(summary))
        return
    per_state = ", ".join(f"{k} {v}" for k, v in windows["per_state"].items())
    console.print(
        f"wrote {out}: {name} on {len(rec.channels)} channels at {rec.sfreq_hz:g} Hz, "
        f"states {list(rec.windows.state_names)}, {windows['n']} windows ({per_state}); "
        "run `openbsi decode evaluate` with the same options for cross-validated figures"
    )
