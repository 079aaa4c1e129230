"""`openbsi bench ...`: every benchmark command; the measuring code is in openbsi.bench."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from openbsi.bench.safety import BACKENDS
from openbsi.cli.apps import (
    SEED_MAX,
    UserError,
    bench_app,
    bounded,
    console,
    in_range,
    parse_int_list,
)
from openbsi.cli.recovery import _clean, _percent_list
from openbsi.cli.trial import _fail
from openbsi.report.metrics import json_safe

JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]


def _emit(result: dict) -> None:
    """--json: one JSON object on stdout (a figure that could not be computed is null)."""
    typer.echo(json.dumps(json_safe(result)))


def _num(value: float | None, spec: str = ".3f") -> str:
    return "n/a" if value is None else format(value, spec)


def _p50_p99_max(s: dict) -> str:
    return " / ".join(_num(s[key]) for key in ("p50_ms", "p99_ms", "max_ms"))


def _with_status(label: str, run: Callable[..., dict], *args: Any, **kwargs: Any) -> dict:
    """run(*args, progress=..., **kwargs) under a rich status line that shows its progress."""
    with console.status(label) as status:
        return run(*args, progress=status.update, **kwargs)


@bench_app.command("latency")
def bench_latency_command(
    channels: str = typer.Option("64,256,1024", "--channels", help="Channel counts, e.g. 64,256."),
    transport: str = typer.Option("inproc,lsl", "--transport", help="inproc and/or lsl."),
    ticks: int = bounded(
        600, "--ticks", low=1, high=1_000_000, help="Decode ticks per channel count."
    ),
    seed: int = bounded(0, "--seed", low=0, high=SEED_MAX),
    realtime: bool = typer.Option(
        False,
        "--realtime",
        help="Also compare the default against SCHED_FIFO/affinity/mlockall/gc settings, "
        "both under a bounded competing CPU load (--load-processes busy processes).",
    ),
    load_processes: int = bounded(
        2, "--load-processes", low=0, high=16, help="Competing busy processes."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
) -> None:
    """p50/p99/max latency of each hop (in process) and of LSL transport on loopback."""
    from openbsi.bench.latency import bench_latency

    counts = parse_int_list(channels, "--channels")
    transports = [t.strip() for t in transport.split(",") if t.strip()]
    result = _with_status(
        "benchmarking",
        bench_latency,
        counts,
        transports,
        n_ticks=ticks,
        seed=seed,
        realtime=realtime,
        load_processes=load_processes,
    )
    if json_out:
        _emit(result)
        return
    table = Table(title="OpenBSI latency (ms): p50 / p99 / max")
    table.add_column("transport")
    table.add_column("channels", justify="right")
    table.add_column("hop")
    table.add_column("p50 / p99 / max", justify="right")
    for kind, by_channels in result.items():
        if kind == "realtime":
            continue
        for n, hops in by_channels.items():
            for hop, s in hops.items():
                table.add_row(kind, n, hop, _p50_p99_max(s))
    for n, comparison in result.get("realtime", {}).items():
        for mode in ("default", "realtime"):
            s = comparison[mode]["end_to_end"]
            table.add_row(
                f"under load: {mode}",
                n,
                "end_to_end",
                _p50_p99_max(s),
            )
        settings = comparison["settings"] or {}
        for what, why in settings.get("not_applied", {}).items():
            console.print(f"realtime: could not set {what} ({why})")
    console.print(table)


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
    from openbsi.bench.artifacts import artifact_sweep

    try:
        values = [float(part) for part in levels.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"--levels must be comma-separated numbers, got {levels!r}") from None
    if not values:
        raise UserError(f"--levels must list at least one number, got {levels!r}")
    result = _with_status(
        "sweeping",
        artifact_sweep,
        values,
        seconds=seconds,
        calibration_s=calibration_s,
        seed=seed,
        removal=removal,
        calibration_stimulation=calibration_stimulation,
    )
    if json_out:
        _emit(result)
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


@bench_app.command("safety")
def bench_safety(
    cases: int = bounded(
        1000, "--cases", low=1, high=1_000_000, help="Random command sequences per backend."
    ),
    seed: int = bounded(0, "--seed", low=0, high=SEED_MAX, help="Seed of the case generator."),
    backend: list[str] = typer.Option(
        [], "--backend", help=f"Only these backends (repeatable); default all: {BACKENDS}."
    ),
    workers: int = bounded(
        1, "--workers", low=1, high=64, help="Processes to spread the cases over."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
) -> None:
    """Adversarial command sequences through supervisor + every backend; count bad pulses."""
    if not 1 <= cases <= 10_000_000:
        raise UserError(f"--cases must be in [1, 10000000], got {cases}")
    chosen = tuple(backend) if backend else BACKENDS
    from openbsi.bench.safety import run_safety_bench

    result = run_safety_bench(cases, seed=seed, backends=chosen, workers=workers)
    if json_out:
        _emit(result)
        return
    from rich.table import Table

    table = Table(title=f"bench safety: {cases} cases per backend, seed {seed}")
    for column in ("backend", "pulses checked", "out of limit", "blocked", "vetoed", "accepted"):
        table.add_column(column, justify="right")
    for name, row in result["by_backend"].items():
        table.add_row(
            name,
            str(row["pulses_checked"]),
            str(row["out_of_limit_pulses"]),
            str(row["pulses_blocked"]),
            str(row["commands_vetoed"]),
            str(row["commands_accepted"]),
        )
    console.print(table)
    console.print(
        f"out-of-limit pulses: {result['out_of_limit_pulses']} in {result['elapsed_s']} s"
    )
    if result["out_of_limit_pulses"]:
        raise typer.Exit(1)


@bench_app.command("integrity")
def bench_integrity(
    cases: int = bounded(60, "--cases", low=1, high=10_000, help="Hostile files per class."),
    signals: int = bounded(
        0, "--signals", low=0, high=50, help="Signal runs per signal (10 for the bar)."
    ),
    seed: int = bounded(0, "--seed", low=0, high=SEED_MAX),
    quick: bool = typer.Option(False, "--quick", help="Skip the NWB tamper and CLI suites."),
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Tamper and hostile-input suites: what `verify` and the loaders caught, per class."""
    from openbsi.bench.integrity import run_integrity

    result = run_integrity(cases, signals=signals, seed=seed, quick=quick)
    classes = result["classes"]
    if json_out:
        _emit(result)
    else:
        for name, c in classes.items():
            mark = "[green]ok[/green]" if not c["missed"] else "[red]MISSED[/red]"
            console.print(f"{mark} {name}: {c['caught']}/{c['cases']} caught ({c['seconds']} s)")
            for m in c["missed_cases"][:5]:
                console.print(f"    missed {m['case']}: {m['detail']}")
    if not result["ok"]:
        raise typer.Exit(1)


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
    from openbsi.bench.decode import bench_decode

    counts = parse_int_list(channels, "--channels")
    if windows < 10 or reference_windows < 1:
        raise UserError(
            f"--windows must be >= 10 and --reference-windows >= 1, got {windows}, "
            f"{reference_windows}"
        )
    result = _with_status(
        "benchmarking",
        bench_decode,
        counts,
        n_windows=windows,
        n_reference=reference_windows,
        seed=seed,
    )
    if json_out:
        _emit(result)
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
            _num(r["features_p99_ms"]),
            _num(r["decoder_p99_ms"]),
            f"{_num(r['total_p50_ms'])}/{_num(r['total_p99_ms'])}",
            _num(r["reference_total_p99_ms"], ".1f"),
            f"{_num(r['speedup'], '.0f')}x",
            _num(r["max_rel_diff"], ".1e"),
        )
    console.print(table)


@bench_app.command("patient")
def bench_patient_command(
    seconds: Annotated[
        float, in_range("--seconds", low=1.0, high=86400.0, help="simulated s")
    ] = 60.0,
    profile: Annotated[str, typer.Option("--profile")] = "complete-thoracic",
    body: Annotated[str, typer.Option("--body", help="reduced or mujoco")] = "reduced",
    seed: Annotated[int, in_range("--seed", low=0, high=SEED_MAX)] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Whole-patient speed (cortex + spinal cord + body) while stepping (S1 push-off, L1 swing,
    L3 stance)."""
    from openbsi.bench.patient import bench_patient

    if not 0 < seconds <= 3600:
        raise UserError(f"--seconds must be in (0, 3600], got {seconds}")
    payload = bench_patient(seconds, profile=profile, body=body, seed=seed)
    if as_json:
        _emit(payload)
        return
    console.print(
        f"{payload['simulated_s']:.0f} s simulated in {payload['wall_s']:.2f} s: "
        f"{payload['realtime_factor']}x real time ({body} body); CPU time "
        f"{payload['cpu_s']:.2f} s ({payload['cpu_realtime_factor']}x)"
    )
    for part in payload["parts"]:
        console.print(f"  {part['name']}: {part['wall_s']} s ({part['realtime_factor']}x)")


@bench_app.command("recovery")
def bench_recovery_command(
    n: Annotated[int, typer.Option("--n", help="cohort size")] = 10_000,
    repeats: Annotated[int, typer.Option("--repeats", help="single-course repeats")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Speed: one 52-week course (bar <= 50 ms) and n patients x 12 months (bar <= 10 s)."""
    from openbsi.bench.recovery import bench_recovery

    result = bench_recovery(n, repeats)
    if as_json:
        _emit(result)
        return
    single, cohort = result["single_course_52_weeks"], result["cohort"]
    wall_c, cpu_c = cohort["seconds"], cohort["cpu_seconds"]
    load = result["load_average_1_5_15"]
    for name, s in single.items():
        console.print(f"one 52-week course ({name}): {s['median_ms']:.1f} ms median "
                      f"(cpu {s['median_cpu_ms']:.1f} ms; bar 50 ms)", highlight=False)  # fmt: skip
    console.print(f"{n} patients x 12 months: {wall_c:.2f} s (cpu {cpu_c:.2f} s; bar 10 s)",
                  highlight=False)  # fmt: skip
    console.print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores"
    )


SURROGATE_PATH = (
    Path(__file__).resolve().parents[1] / "recovery" / "data" / "session_surrogate.json"
)


@bench_app.command("fit-session-surrogate")
def fit_session_surrogate(
    out: Annotated[Path, typer.Option("--out", help="folder for the grid's sessions")] = Path(
        "runs/session-surrogate"
    ),
    lems: Annotated[str, typer.Option("--lems", help="LEMS grid")] = "8,20,35",
    errors: Annotated[str, typer.Option("--errors", help="decoder error rates (%)")] = "0,20,40",
    seconds: Annotated[float, typer.Option("--seconds", help="closed loop per session, s")] = 30.0,
    write: Annotated[
        Path, typer.Option("--write", help="surrogate JSON to write")
    ] = SURROGATE_PATH,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    reuse: Annotated[bool, typer.Option("--reuse", help="re-measure finished sessions")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run real closed-loop sessions on a grid (lesion state x program x decoder accuracy),
    measure each session's dose and fit the surrogate recovery/ uses."""
    from openbsi.cli.apps import parse_int_list
    from openbsi.runtime.session_surrogate import calibrate_model, fit_and_write, run_dose_session
    from openbsi.stimulation.examples import WALKING_PROGRAM_FILE

    lems_grid = parse_int_list(lems, "--lems")
    error_grid = [e / 100.0 for e in _percent_list(errors, "--errors")]
    programs = [None, WALKING_PROGRAM_FILE]
    out.mkdir(parents=True, exist_ok=True)
    model = out / "calibration" / "model.obsi"
    if not (reuse and model.exists()):
        model = calibrate_model(out / "calibration", seed=seed)
    rows = []
    for lv in lems_grid:
        ais = "C" if lv < 25 else "D"
        for err in error_grid:
            for k, program in enumerate(programs):
                folder = out / f"lems{lv}-err{round(err * 100)}-p{k}"
                row = run_dose_session(folder, nli="T8", ais=ais, lems=float(lv),
                                       muscle_condition=0.6, days_since_injury=365.0,
                                       model=model, decoder_error=err, seconds=seconds,
                                       seed=seed + len(rows), program=program,
                                       reuse=reuse)  # fmt: skip
                rows.append(row)
                console.print(json.dumps(_clean(row)), highlight=False)
    doc = fit_and_write(rows, write, command=f"openbsi bench fit-session-surrogate --lems {lems} "
                        f"--errors {errors} --seconds {seconds:g} --seed {seed}")  # fmt: skip
    if as_json:
        typer.echo(json.dumps(_clean({k: doc[k] for k in ("outputs", "tolerance", "provenance")})))


@bench_app.command("trial")
def bench_trial(
    patients: int = typer.Option(10_000, "--patients", help="Virtual patients per arm."),
    months: int = typer.Option(12, "--months", help="Course length."),
    json_out: bool = typer.Option(False, "--json"),
    ray_workers: str = typer.Option("1,2", "--ray-workers", help="Ray worker counts ('' none)."),
    batch_size: int = typer.Option(500, "--batch-size"),
) -> None:
    """10,000 patients x 2 arms x 12 months: serial and Ray throughput (patient-weeks/s)."""
    from openbsi.bench.trial import bench

    if not 1 <= patients <= 1_000_000 or not 1 <= months <= 120:
        _fail(UserError("--patients in [1, 1e6] and --months in [1, 120]"), json_out)
    counts = parse_int_list(ray_workers, "--ray-workers") if ray_workers.strip() else []
    result = bench(
        patients,
        months,
        ray_workers=counts,
        batch_size=batch_size,
        progress=None if json_out else console.print,
    )
    if json_out:
        _emit(result)
    else:
        console.print_json(json.dumps(result))
    sys.stdout.flush()


@bench_app.command("graft")
def bench_graft(
    as_json: JsonOpt = False,
    repeats: Annotated[int, typer.Option("--repeats", min=1, max=50)] = 5,
) -> None:
    """Time a 20-sweep ABF analysis (bar <= 0.5 s) and a 100,000-event FCS gating (bar <= 1 s)."""
    from openbsi.bench.graft import run_bench

    result = run_bench(repeats=repeats)
    if as_json:
        _emit(result)
        return
    for name, row in result["cases"].items():
        if row["median_s"] is None:
            console.print(f"{name}: not measured ({row['note']})")
            continue
        state = "meets" if row["pass"] else "MISSES"
        console.print(
            f"{name}: median {row['median_s']:.3f} s over {row['repeats']} runs "
            f"({state} bar {row['bar_s']} s) — {row['what']}"
        )
    console.print(f"load average {result['load_average']} on {result['cpus']} CPUs")


@bench_app.command("web")
def bench_web(
    load_s: float = typer.Option(60.0, "--load-s", min=5, max=3600, help="Watched phase, s."),
    unwatched_s: float = typer.Option(
        30.0, "--unwatched-s", min=5, max=3600, help="Unwatched phase before it, s."
    ),
    clients: int = typer.Option(50, "--clients", min=1, max=500, help="Concurrent clients."),
    estop_trials: int = typer.Option(
        3, "--estop-trials", min=0, max=50, help="Extra short sessions, one stop each."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """The clinic app under load on loopback: live view latency, e-stop, 50 clients, loop."""
    from openbsi.bench.web import run_bench

    figures = run_bench(
        load_s=load_s,
        unwatched_s=unwatched_s,
        clients=clients,
        estop_trials=estop_trials,
        progress=lambda text: console.print(text, highlight=False),
    )
    if json_out:
        _emit(figures)
        return
    for key, value in figures.items():
        console.print(f"{key}: {value}", highlight=False)
