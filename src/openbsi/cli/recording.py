"""`openbsi recording recover|verify|export-bids` and `openbsi report`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from openbsi.cli.apps import UserError, app, console, in_range, output_file

recording_app = typer.Typer(
    help="Recordings: recover after a crash, verify integrity, export to BIDS.",
    no_args_is_help=True,
)
app.add_typer(recording_app, name="recording")


@recording_app.command("recover")
def recover(
    log: Annotated[Path, typer.Argument(help="session.obsilog (or the folder holding it)")],
    out: Annotated[Path, typer.Option("--out", help="NWB file to write")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    force: Annotated[bool, typer.Option("--force", help="replace an existing --out file")] = False,
) -> None:
    """Rebuild an NWB file from a session log, e.g. after the session was killed."""
    from openbsi.store.log_reader import read_log
    from openbsi.store.nwb import write_nwb

    if not log.exists():
        raise UserError(f"LOG must exist, got {log}")
    output_file(out, "--out", force=force, suffix=".nwb")
    data = read_log(log, load_ecog=False)  # samples are streamed: memory stays flat
    path = write_nwb(data, out)
    summary = {
        "nwb": str(path),
        "duration_s": data.duration_s,
        "chunks": len(data.ecog_chunks),
        "closed": data.closed,
        "recovered": not data.closed,
        "dropped_records": data.dropped_records,
        "chain_head": data.chain_head,
        "seal": data.seal,
        "problems": data.problems,
    }
    if as_json:
        typer.echo(json.dumps(summary))
        return
    state = "closed cleanly" if data.closed else "not closed (recovered after a crash)"
    console.print(
        f"wrote {path}: {data.duration_s:.2f} s of ECoG in {len(data.ecog_chunks)} "
        f"chunks; log {state}; seal {data.seal}"
    )
    for problem in data.problems:
        console.print(f"  [yellow]note:[/yellow] {problem}")


@recording_app.command("verify")
def verify(
    file: Annotated[Path, typer.Argument(help="recording.nwb or session.obsilog")],
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    head: Annotated[
        str | None,
        typer.Option("--head", help="expected ECoG chain head (hex) published after the session"),
    ] = None,
    seal: Annotated[
        str | None, typer.Option("--seal", help="expected seal (hex) published after the session")
    ] = None,
) -> None:
    """Check integrity, the SHA-256 hash chain and event digests; exit code 1 on a mismatch."""
    from openbsi.store.verify import verify_recording

    result = verify_recording(file, expected_head=head, expected_seal=seal)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        mark = "[green]OK[/green]" if result["ok"] else "[red]FAILED[/red]"
        console.print(
            f"{mark} {file}: {result['chunks']} chunks, {result['duration_s']:.2f} s, "
            f"hash chain {'ok' if result['hash_chain_ok'] else 'BROKEN'}"
        )
        for problem in result["problems"]:
            console.print(f"  - {problem}")
    if not result["ok"]:
        raise typer.Exit(1)


@recording_app.command("export-bids")
def export_bids_command(
    file: Annotated[Path, typer.Argument(help="recording.nwb")],
    root: Annotated[Path, typer.Option("--root", help="BIDS dataset root folder")],
    subject: Annotated[str, typer.Option(help="BIDS subject label")] = "01",
    session: Annotated[str | None, typer.Option(help="BIDS session label")] = None,
    task: Annotated[str, typer.Option(help="BIDS task label")] = "bsi",
    run: Annotated[int | None, in_range("--run", low=1, high=9999, help="BIDS run index")] = None,
    line_freq: Annotated[
        float, in_range("--line-freq", low=1.0, high=999.0, help="power-line frequency, Hz")
    ] = 50.0,
) -> None:
    """Write the recording as BIDS-iEEG (BrainVision + events + sidecars) with mne-bids."""
    from openbsi.store.bids import export_bids

    if not file.is_file():
        raise UserError(f"FILE must be an existing .nwb file, got {file}")
    path = export_bids(
        file, root, subject=subject, session=session, task=task, run=run, line_freq_hz=line_freq
    )
    console.print(f"wrote {path}")


@app.command("report")
def report(
    recording: Annotated[Path, typer.Argument(help="recording.nwb")],
    out: Annotated[Path, typer.Option("--out", help="folder for metrics.json and report.html")],
    force: Annotated[bool, typer.Option("--force", help="replace an earlier report")] = False,
) -> None:
    """Rebuild metrics.json and report.html (+ figures) from a recording."""
    from openbsi.report.html import write_report
    from openbsi.report.metrics import compute_metrics

    if not recording.is_file():
        raise UserError(f"RECORDING must be an existing .nwb file, got {recording}")
    if str(out) in ("", "."):
        raise UserError(f"--out: must name a folder, got {str(out)!r}")
    if (out / "metrics.json").exists() and not force:
        raise UserError(f"--out: {out} already holds metrics.json; pass --force to replace it")
    metrics = compute_metrics(recording)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, allow_nan=False))
    page = write_report(recording, metrics, out)
    console.print(f"wrote {out / 'metrics.json'} and {page}")
