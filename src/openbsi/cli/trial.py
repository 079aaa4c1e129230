"""`openbsi trial example|validate|run|power` (docs/trials.md)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from openbsi.cli.apps import UserError, app, console, parse_int_list
from openbsi.inputs import InputError

trial_app = typer.Typer(
    help="In-silico trials: example, validate, run, power.", no_args_is_help=True
)
app.add_typer(trial_app, name="trial")

DESIGN_CHOICES = ("uplift", "bsi-walking", "combination", "injectable-timing")


def _fail(error: Exception, json_out: bool, **extra) -> None:
    """One line on stderr (and a verdict object with --json), exit 2."""
    if json_out:
        print(json.dumps({"ok": False, "error": str(error), **extra}))
    console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def _runner(ray: str | None, workers: int):
    from openbsi.trials.runners import make_runner

    if workers < 1 or workers > 256:
        raise UserError(f"--workers must be in [1, 256], got {workers}")
    return make_runner(ray, workers)


@trial_app.command("example")
def example(
    design: str = typer.Option("uplift", "--design", help=" | ".join(DESIGN_CHOICES)),
) -> None:
    """Print a documented example protocol (YAML)."""
    from openbsi.trials.examples import example_text

    if design not in DESIGN_CHOICES:
        raise UserError(f"--design must be one of {', '.join(DESIGN_CHOICES)}, got {design!r}")
    print(example_text(design), end="")


@trial_app.command("validate")
def validate(
    file: Path = typer.Argument(..., help="Protocol YAML file."),
    json_out: bool = typer.Option(False, "--json", help="Print {valid, error, ...} as JSON."),
) -> None:
    """Exit 0 when the protocol is valid, 2 with one line naming the field if not."""
    from openbsi.trials.protocol import load_protocol

    try:
        protocol, _ = load_protocol(file)
    except InputError as error:
        if json_out:
            print(json.dumps({"valid": False, "error": str(error), "field": error.field}))
        console.print(f"[red]invalid:[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    info = {
        "valid": True,
        "name": protocol.name,
        "design": protocol.design.kind,
        "arms": [a.name for a in protocol.arms],
        "n_enrolled": protocol.n_enrolled,
        "primary": protocol.primary,
        "protocol_sha256": protocol.sha256,
    }
    if json_out:
        print(json.dumps(info))
    else:
        console.print(
            f"{file}: valid ({protocol.design.kind}, arms {info['arms']}, "
            f"sha256 {protocol.sha256[:16]}...)"
        )


@trial_app.command("run")
def run(
    file: Path = typer.Argument(..., help="Protocol YAML file."),
    out: Path = typer.Option(..., "--out", help="Output folder."),
    json_out: bool = typer.Option(False, "--json", help="Print summary.json on stdout."),
    ray: str | None = typer.Option(None, "--ray", help="auto | ADDRESS: run batches on Ray."),
    workers: int = typer.Option(1, "--workers", help="Processes (or Ray tasks in flight)."),
    batch_size: int = typer.Option(64, "--batch-size", help="Patients per task."),
    power_n: str | None = typer.Option(None, "--power-n", help="Sizes for the power curve."),
    power_trials: int | None = typer.Option(
        None, "--power-trials", help="Trials per size (0: none; default 40 within a budget)."
    ),
    sensitivity: bool = typer.Option(True, "--sensitivity/--no-sensitivity"),
) -> None:
    """Run the protocol: summary.json, results.parquet, report.html in --out (resumable)."""
    from openbsi.trials.power import power_curve
    from openbsi.trials.power import sensitivity as run_sensitivity
    from openbsi.trials.protocol import load_protocol
    from openbsi.trials.report import write_report
    from openbsi.trials.results import results_table, write_results
    from openbsi.trials.run import preregister, run_protocol
    from openbsi.trials.validation import validation_evidence

    if not 1 <= batch_size <= 100_000:
        _fail(UserError(f"--batch-size must be in [1, 100000], got {batch_size}"), json_out)
    if power_trials is not None and not 0 <= power_trials <= 100_000:
        _fail(UserError(f"--power-trials must be in [0, 100000], got {power_trials}"), json_out)
    try:
        protocol, data = load_protocol(file)
    except InputError as error:
        _fail(error, json_out, field=error.field)
    ns = parse_int_list(power_n, "--power-n") if power_n else _default_ns(protocol.n_enrolled)
    runner = _runner(ray, workers)
    preregister(protocol, data, out)  # the hash is on disk before anything is simulated
    try:
        result = run_protocol(
            protocol,
            runner=runner,
            batch_size=batch_size,
            checkpoint_dir=out / "checkpoint",
            quiet=json_out,
        )
        summary = result.summary
        write_results(
            out / "results.parquet", results_table(protocol, result.cohort, result.courses)
        )
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
        power = None
        if power_trials is None:
            power_trials = auto_power_trials(protocol, ns)
        if power_trials > 0:
            power = power_curve(
                protocol, ns, trials=power_trials, runner=runner, batch_size=batch_size
            )
            (out / "power.json").write_text(json.dumps(power, indent=1))
        sens = None
        if sensitivity:
            sens = run_sensitivity(
                protocol, summary["success"], runner=runner, batch_size=batch_size
            )
            (out / "sensitivity.json").write_text(json.dumps(sens, indent=1))
        evidence = validation_evidence(protocol.seed)
        write_report(
            out / "report.html",
            protocol,
            result.cohort,
            result.courses,
            summary,
            power,
            sens,
            evidence,
        )
    except InputError as error:
        _fail(error, json_out, field=error.field)
    except KeyboardInterrupt:
        done = len(list((out / "checkpoint").glob("t*.npz")))
        message = f"interrupted: {done} batches checkpointed in {out}; rerun to resume"
        if json_out:
            print(json.dumps({"ok": False, "error": message, "interrupted": True}))
        console.print(message)
        raise typer.Exit(130) from None
    except (ConnectionError, RuntimeError, TimeoutError) as error:  # e.g. Ray unreachable
        _fail(UserError(f"--ray {ray}: {error}" if ray else str(error)), json_out)
    finally:
        runner.close()
    if json_out:
        print(json.dumps(summary))
        return
    _print_summary(summary, out)


POWER_BUDGET_COURSES = 400_000  # assumption: a few minutes on 2 cores for the default power


def auto_power_trials(protocol, ns: list[int]) -> int:
    """40 trials per size, fewer (>= 5) when that would exceed the course budget, else 0."""
    from openbsi.trials.simulate import sim_arms

    per_trial = sum(ns) * len(sim_arms(protocol))
    trials = min(40, POWER_BUDGET_COURSES // max(per_trial, 1))
    return trials if trials >= 5 else 0


def _default_ns(n: int) -> list[int]:
    return sorted({max(4, round(n * f)) for f in (0.5, 1.0, 1.5)})


def _print_summary(summary: dict, out: Path) -> None:
    from rich.table import Table

    table = Table(title=f"{summary['protocol']} ({summary['design']}): responders")
    for column in ("arm", "endpoint", "k/n", "rate", "95 % CI"):
        table.add_column(column)
    for arm, block in summary["arms"].items():
        for e, r in block["responders"].items():
            ci = "null" if r["ci95"] is None else f"[{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]"
            rate = "null" if r["rate"] is None else f"{r['rate']:.3f}"
            table.add_row(arm, e, f"{r['k']}/{r['n']}", rate, ci)
    console.print(table)
    primary = summary["primary"]
    if summary["comparisons"]:
        comp = Table(title=f"differences in '{primary}' responder rate (Newcombe 95 %)")
        for column in ("kind", "arm - versus", "difference", "95 % CI", "n"):
            comp.add_column(column)
        for c in summary["comparisons"]:
            r = c["responders"][primary]
            ci = "null" if r["ci95"] is None else f"[{r['ci95'][0]:+.3f}, {r['ci95'][1]:+.3f}]"
            diff = "null" if r["difference"] is None else f"{r['difference']:+.3f}"
            comp.add_row(c["kind"], f"{c['arm']} - {c['versus']}", diff, ci, str(r["n"]))
        console.print(comp)
    s = summary["success"]
    console.print(
        f"primary '{summary['primary']}': estimate {s.get('estimate')}, "
        f"95 % CI {s.get('ci95')}, met = {s.get('met')}"
    )
    console.print(
        f"wrote {out}/summary.json, results.parquet, report.html "
        f"({summary['runner']}, {summary['wall_s']} s)"
    )


@trial_app.command("power")
def power(
    file: Path = typer.Argument(..., help="Protocol YAML file."),
    n: str = typer.Option("20,40,60", "--n", help="Comma-separated enrolment sizes."),
    trials: int = typer.Option(100, "--trials", help="Simulated trials per size."),
    json_out: bool = typer.Option(False, "--json", help="Print {n, power} as JSON."),
    ray: str | None = typer.Option(None, "--ray", help="auto | ADDRESS"),
    workers: int = typer.Option(1, "--workers"),
    batch_size: int = typer.Option(64, "--batch-size"),
) -> None:
    """Probability of meeting the primary endpoint per sample size, by simulation."""
    from openbsi.trials.power import power_curve
    from openbsi.trials.protocol import load_protocol

    if not 1 <= trials <= 100_000:
        _fail(UserError(f"--trials must be in [1, 100000], got {trials}"), json_out)
    try:
        ns = parse_int_list(n, "--n")
        protocol, _ = load_protocol(file)
    except (InputError, UserError) as error:
        _fail(error, json_out)
    if max(ns) > 200_000:
        _fail(UserError(f"--n: at most 200000 patients, got {max(ns)}"), json_out)
    runner = _runner(ray, workers)
    try:
        result = power_curve(protocol, ns, trials=trials, runner=runner, batch_size=batch_size)
    finally:
        runner.close()
    if json_out:
        print(json.dumps(result))
        return
    for size, p, ci in zip(result["n"], result["power"], result["ci95"], strict=True):
        console.print(f"n = {size:5d}: power {p:.3f}  95 % CI {ci}")
