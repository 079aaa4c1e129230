"""`openbsi compare paths`: paddle, nodes and transcutaneous side by side on one patient."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from openbsi.cli.apps import UserError, app, console

compare_app = typer.Typer(help="Compare stimulation paths on one virtual patient.")
app.add_typer(compare_app, name="compare")

ROWS: tuple[tuple[str, str], ...] = (
    ("steps", "steps"),
    ("failed_steps", "failed steps (clearance < 10 cm)"),
    ("speed_m_s", "speed m/s"),
    ("step_length_m", "step length m"),
    ("charge_uc_per_h", "charge uC/h (cathodic)"),
    ("energy_j", "energy J (IPG / transmitter / surface)"),
    ("pulses_requested", "pulses requested"),
    ("pulses_delivered", "pulses delivered"),
)


def _fmt(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items()) or "none"
    return str(value)


def _table_rows(result: dict) -> list[tuple[str, list[str]]]:
    paths = result["paths"]
    rows = [(label, [_fmt(paths[p].get(key)) for p in paths]) for key, label in ROWS]
    rows.append(("refused (reason: n)", [_fmt(paths[p]["refused"]) for p in paths]))
    rows.append(("peak knee / hip rad, foot m", [_fmt(paths[p].get("kinematics")) for p in paths]))
    muscles = sorted({m for p in paths.values() for m in p["selectivity"]})
    for m in muscles:
        rows.append((f"selectivity {m}", [_fmt(paths[p]["selectivity"].get(m)) for p in paths]))
    executed = ("stale", "replayed", "forged", "out_of_limit")
    rows.append(
        (
            "executed stale/replayed/forged/out-of-limit",
            [
                "/".join(
                    _fmt(
                        paths[p]["safety"].get(
                            f"executed_{k}_{'pulses' if k == 'out_of_limit' else 'commands'}"
                        )
                    )
                    for k in executed
                )
                for p in paths
            ],
        )
    )
    return rows


def _figure(result: dict, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = list(result["paths"])
    rows = result["paths"]
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.4))
    panels = (
        ("steps (failed hatched)", "steps"),
        ("speed m/s", "speed_m_s"),
        ("charge uC/h", "charge_uc_per_h"),
        ("energy J", "energy_j"),
    )
    for ax, (title, key) in zip(axes, panels, strict=True):
        values = [rows[p][key] if rows[p][key] is not None else 0.0 for p in paths]
        ax.bar(paths, values, color=["#4c72b0", "#55a868", "#c44e52"][: len(paths)])
        if key == "steps":
            ax.bar(paths, [rows[p]["failed_steps"] for p in paths], color="none", hatch="//")
        if key in ("charge_uc_per_h", "energy_j"):
            ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    path = out / "compare_paths.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _write_report(result: dict, out: Path, title: str) -> Path:
    figure = _figure(result, out)
    header = "".join(f"<th>{html.escape(p)}</th>" for p in result["paths"])
    body = "".join(
        f"<tr><td>{html.escape(label)}</td>"
        + "".join(f"<td>{html.escape(v)}</td>" for v in values)
        + "</tr>"
        for label, values in _table_rows(result)
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;"
        "padding:4px 8px;text-align:right}td:first-child{text-align:left}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<img src='{figure.name}' alt='paths compared'>"
        f"<table><tr><th>measure</th>{header}</tr>{body}</table>"
        "<p>Energy models and couplings: docs/virtual-patient.md (assumptions labelled).</p>"
        "</body></html>"
    )
    report = out / "report.html"
    report.write_text(page)
    return report


@compare_app.command("paths")
def paths(
    out: Annotated[Path, typer.Option("--out", help="folder for the runs and report.html")],
    profile: Annotated[str, typer.Option("--profile", help="virtual patient")] = "bsi-walker",
    seconds: Annotated[float, typer.Option("--seconds", help="closed-loop walking, s")] = 60.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    calibration_s: Annotated[float, typer.Option("--calibration-s")] = 240.0,
    body: Annotated[str, typer.Option("--body", help="mujoco (MyoLeg) | reduced")] = "mujoco",
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """The same patient, intent script and decoder through paddle, nodes and transcutaneous."""
    from openbsi.patient.profiles import get_profile
    from openbsi.runtime.compare_paths import CompareConfig, compare_paths

    get_profile(profile)  # a named error for an unknown profile
    if not 5.0 <= seconds <= 3600.0:
        raise UserError(f"--seconds must be in [5, 3600], got {seconds}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"--out: cannot create folder {out} ({error.strerror})") from None
    config = CompareConfig(
        out, profile=profile, seconds=seconds, seed=seed, calibration_s=calibration_s, body=body
    )
    result = compare_paths(config)
    (out / "compare.json").write_text(json.dumps(result, indent=1))
    report = _write_report(result, out, f"OpenBSI: stimulation paths compared ({profile})")
    if as_json:
        typer.echo(json.dumps(result))
        return
    table = Table(title=f"paths compared, {profile}, {seconds:g} s, seed {seed}")
    table.add_column("measure")
    for p in result["paths"]:
        table.add_column(p, justify="right")
    for label, values in _table_rows(result):
        table.add_row(label, *values)
    console.print(table)
    console.print(f"wrote {report}")
