"""`openbsi graft ephys|flow|release|trend|example`."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

from openbsi.cli.apps import UserError, app, console
from openbsi.inputs import InputError

graft_app = typer.Typer(
    help="Graft QC: patch-clamp, flow cytometry, lots, release certificates, trends.",
    no_args_is_help=True,
)
app.add_typer(graft_app, name="graft")

JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]


def _clean(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, non-finite floats to null."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _emit(payload: dict) -> None:
    typer.echo(json.dumps(_clean(payload)))


def _refuse(error: InputError, as_json: bool, **verdict: Any) -> None:
    if as_json:
        _emit({"ok": False, "error": str(error), **verdict})
        raise typer.Exit(2)
    raise UserError(str(error))


@graft_app.command("ephys")
def ephys(
    file: Annotated[Path, typer.Argument(help="patch-clamp file: .abf or .nwb (icephys)")],
    day: Annotated[
        float | None, typer.Option("--day", help="differentiation day, for the maturity verdict")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="folder for the figure")] = None,
    ap_peak_mv: Annotated[
        float,
        typer.Option(
            "--ap-peak-mv",
            min=-60.0,
            max=40.0,
            help="a spike must peak above this (lower it for immature cells)",
        ),
    ] = -20.0,
    as_json: JsonOpt = False,
) -> None:
    """Detect the protocol and compute its features, with a figure and a maturity verdict."""
    from openbsi.graft.ephys import analyse_file, plot_recording

    try:
        recording, result = analyse_file(file, day=day, peak_threshold_mv=ap_peak_mv)
    except InputError as error:
        _refuse(error, as_json)
        return
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        result["figure"] = str(
            plot_recording(recording, result, out / f"graft_ephys_{file.stem}.png")
        )
    if as_json:
        _emit({"ok": True, **result})
        return
    console.print(f"{file.name}: {result['protocol']} ({recording.n_sweeps} sweeps)")
    keys = {
        "current_clamp_steps": (
            "resting_potential_mv",
            "input_resistance_mohm",
            "tau_ms",
            "capacitance_pf",
            "rheobase_pa",
            "max_rate_hz",
            "sag_fraction",
        ),
        "voltage_clamp_steps": (
            "na_present",
            "k_present",
            "activation_range_tested",
            "max_step_mv",
        ),
        "membrane_test": ("access_resistance_mohm", "membrane_resistance_mohm", "capacitance_pf"),
    }.get(result["protocol"], ())
    for key in keys:
        value = result[key]
        console.print(f"  {key}: {value:.4g}" if isinstance(value, float) else f"  {key}: {value}")
    if result.get("first_ap"):
        ap = result["first_ap"]
        console.print(
            "  first AP: "
            + ", ".join(
                f"{k} {ap[k]:.2f}"
                for k in ("threshold_mv", "amplitude_mv", "peak_mv", "half_width_ms")
                if ap[k] is not None
            )
        )
    maturity = result.get("maturity") or {}
    if maturity:
        console.print(
            f"  maturity: {maturity.get('verdict')} (benchmark {maturity.get('benchmark')})"
            if maturity.get("benchmark")
            else f"  maturity: {maturity.get('reason')}"
        )
    if out is not None:
        console.print(f"  figure: {result['figure']}")


@graft_app.command("flow")
def flow(
    file: Annotated[Path, typer.Argument(help="FCS 2.0-3.1 file")],
    panel: Annotated[Path, typer.Option("--panel", help="panel YAML (markers, controls, gates)")],
    out: Annotated[Path | None, typer.Option("--out", help="folder for the figure")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Compensate, gate debris / singlets / live cells, and report % positive per marker."""
    from openbsi.graft.flow import analyse_flow, load_panel

    try:
        loaded = load_panel(panel)
        result = analyse_flow(file, loaded)
    except InputError as error:
        _refuse(error, as_json)
        return
    if out is not None:
        from openbsi.graft.flow_figure import plot_flow

        out.mkdir(parents=True, exist_ok=True)
        result["figure"] = str(plot_flow(file, loaded, result, out / f"graft_flow_{file.stem}.png"))
    if as_json:
        _emit({"ok": True, **result})
        return
    gates = result["gates"]
    console.print(
        f"{file.name}: {gates['total']} events -> {gates['gated']} gated "
        f"(not debris {gates['not_debris']}, singlets {gates['singlets']}, live {gates['live']})"
        f"; compensated {result['compensated']}"
    )
    for row in result["markers"]:
        if row["fraction"] is None:
            console.print(f"  {row['marker']}: n/a (no gated events)")
            continue
        console.print(
            f"  {row['marker']}: {100 * row['fraction']:.3f} % ({row['positive']}/{row['events']}, "
            f"95 % CI {100 * row['ci_low']:.3f}-{100 * row['ci_high']:.3f} %)"
        )
    for note in gates["notes"]:
        console.print(f"  [yellow]note:[/yellow] {note}")
    if out is not None:
        console.print(f"  figure: {result['figure']}")


@graft_app.command("release")
def release(
    lot: Annotated[Path, typer.Argument(help="lot manifest YAML")],
    out: Annotated[Path, typer.Option("--out", help="folder for the certificate and records")],
    reviewer: Annotated[str, typer.Option("--reviewer", help="name of the person signing")],
    spec: Annotated[
        Path | None, typer.Option("--spec", help="release spec YAML (default: packaged)")
    ] = None,
    meaning: Annotated[
        str | None, typer.Option("--meaning", help="meaning of the signature")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Judge a lot against its release spec; write a signed certificate (and potency.json)."""
    from openbsi.graft.certificate import write_release
    from openbsi.graft.lots import load_lot
    from openbsi.graft.release import evaluate_release
    from openbsi.graft.spec import load_spec

    try:
        result = evaluate_release(load_lot(lot), load_spec(spec), figure_dir=out)
    except InputError as error:  # an unreadable manifest or spec is never a release
        _refuse(error, as_json, lot=None, verdict="reject")
        return
    signed = write_release(result, out, reviewer=reviewer, meaning=meaning)
    if as_json:
        keep = (
            "lot",
            "verdict",
            "criteria",
            "failed",
            "spec",
            "spec_version",
            "inputs",
            "signature",
            "certificate",
            "certificate_sha256",
            "potency",
        )
        _emit({k: signed[k] for k in keep})
    else:
        colour = "green" if result["verdict"] == "release" else "red"
        console.print(
            f"lot {result['lot']}: [{colour}]{result['verdict']}[/{colour}] "
            f"(spec {result['spec']} {result['spec_version']})"
        )
        for row in result["criteria"]:
            mark = "pass" if row["pass"] else "[red]FAIL[/red]"
            console.print(
                f"  {mark} {row['name']}: {_short(row['value'])} {row['op']} {row['limit']}"
                + (f" — {row['problem']}" if row["problem"] and not row["pass"] else "")
            )
        console.print(f"certificate: {signed['certificate']}")
        if signed["potency"]:
            console.print(f"potency: {signed['potency']}")
    if result["verdict"] != "release":
        raise typer.Exit(1)


@graft_app.command("trend")
def trend(
    lots: Annotated[list[Path], typer.Argument(help="lot manifests, in production order")],
    out: Annotated[
        Path | None, typer.Option("--out", help="folder for the control-chart figure")
    ] = None,
    spec: Annotated[
        Path | None, typer.Option("--spec", help="release spec YAML (default: packaged)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Individuals / moving-range charts, CV and out-of-trend rules across lots."""
    from openbsi.graft.trend import lot_attributes, plot_trend, trend_report

    try:
        table = lot_attributes(lots, spec)
    except InputError as error:
        _refuse(error, as_json)
        return
    report = trend_report(table)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        report["figure"] = str(plot_trend(table, report, out / "graft_trend.png"))
    if as_json:
        _emit({"ok": True, **report})
        return
    console.print(f"{len(report['lots'])} lots")
    for name, chart in report["attributes"].items():
        mean, cv = chart["mean"], chart["cv"]
        console.print(
            f"  {name}: mean {'n/a' if mean is None else f'{mean:.4g}'}, "
            f"CV {'n/a' if cv is None else f'{cv:.3g}'}, signals {len(chart['signals'])}"
        )
        for signal in chart["signals"]:
            console.print(f"    [yellow]{signal['rule']}[/yellow] at lot {signal['lot']}")


@graft_app.command("example")
def example(
    out: Annotated[
        Path, typer.Option("--out", help="folder to write a synthetic in-spec lot into")
    ],
    seed: Annotated[int, typer.Option("--seed", help="random seed")] = 0,
    harvest_day: Annotated[float, typer.Option("--harvest-day")] = 10.0,
) -> None:
    """Write a complete synthetic lot (manifest, FCS, NWB, qPCR) to try `graft release` on."""
    import numpy as np

    from openbsi.graft.demo_lot import write_demo_lot

    path = write_demo_lot(out, rng=np.random.default_rng(seed), harvest_day=harvest_day)
    console.print(f"wrote {path}")
