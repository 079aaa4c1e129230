"""`openbsi program example|validate|show`: stimulation program files (docs/programs.md)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from openbsi.cli.apps import UserError, console, output_file, program_app
from openbsi.stimulation.program import BACKEND_KINDS, Program, dump_program, load_program
from openbsi.stimulation.types import Electrode

_HEADER = """\
# OpenBSI stimulation program (schema: docs/programs.md), backend: {backend}
# For each decoded state (rest, left_/right_ hip|knee|ankle), a list of steps. A step fires its
# electrodes (indices into the backend's layout) with biphasic charge-balanced pulses:
#   amplitude_ma      at full decoded amplitude; the decoded amplitude a in [0, 1] scales it by
#                     min_amplitude_fraction + (1 - min_amplitude_fraction) * a
#   pulse_width_us    per phase (transcutaneous: the 1 ms envelope filled with a 10 kHz carrier)
#   frequency_hz      pulses per second;  interphase_gap_us  between the two phases
#   onset_ms          after the state began;  duration_ms  how long (null = while it holds)
# Check it with: openbsi program validate FILE --backend {backend}
"""


def _backend_option(value: str | None) -> str | None:
    if value is not None and value not in BACKEND_KINDS:
        raise UserError(f"--backend must be one of {', '.join(BACKEND_KINDS)}, got {value!r}")
    return value


@program_app.command("example")
def example(
    backend: str = typer.Option("paddle", "--backend", help="paddle | nodes | transcutaneous"),
) -> None:
    """Print a valid, documented example program (YAML) for a backend."""
    from openbsi.stimulation.examples import example_program

    _backend_option(backend)
    print(_HEADER.format(backend=backend) + dump_program(example_program(backend)), end="")


def _checked(path: Path, backend: str | None) -> tuple[Program | None, list]:
    """The program and every violation: a file that cannot be loaded (size, YAML, schema) is
    one violation naming the field, a loaded one is checked against the backend's limits."""
    from openbsi.inputs import InputError
    from openbsi.safety.program_check import Violation, validate_program

    if not path.is_file():
        raise UserError(f"FILE: no such program file {path}")
    nan = float("nan")
    try:
        program = load_program(path)
    except InputError as error:
        return None, [Violation(error.field, nan, nan, "schema", str(error))]
    except ValueError as error:
        return None, [Violation("file", nan, nan, "schema", str(error))]
    return program, validate_program(program, backend=backend)


def _print_violations(path: Path, violations: list) -> None:
    table = Table(title=f"{path}: {len(violations)} violation(s)")
    table.add_column("field", no_wrap=True)
    for column in ("value", "limit", "rule", "message"):
        table.add_column(column, overflow="fold")
    for v in violations:
        table.add_row(v.field, f"{v.value:.6g}", f"{v.limit:.6g}", v.rule, v.message)
    console.print(table)


def _verdict(violations: list) -> dict:
    return {"valid": not violations, "violations": [v.to_json() for v in violations]}


@program_app.command("validate")
def validate(
    file: Path = typer.Argument(..., help="Program YAML file."),
    backend: str | None = typer.Option(None, "--backend", help="Check against this backend."),
    json_out: bool = typer.Option(False, "--json", help="Print {valid, violations} as JSON."),
) -> None:
    """Exit 0 when the program is valid for its backend, 1 listing every violation if not."""
    _backend_option(backend)
    program, violations = _checked(file, backend)
    if json_out:
        print(json.dumps(_verdict(violations)))
    elif violations:
        _print_violations(file, violations)
    else:
        console.print(f"{file}: valid for backend {backend or program.backend}")  # type: ignore[union-attr]
    raise typer.Exit(1 if violations else 0)


@program_app.command("show")
def show(
    file: Path = typer.Argument(..., help="Program YAML file."),
    out: Path | None = typer.Option(
        None, "--out", help="PNG to write, or a folder for FILE.png (default: FILE.png)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing --out file."),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout."),
) -> None:
    """Validate the program, print it and draw the electrode map firing in each state."""
    from openbsi.stimulation.program import program_layout

    program, violations = _checked(file, None)
    if violations or program is None:
        if json_out:
            print(json.dumps(_verdict(violations)))
        else:
            _print_violations(file, violations)
        raise typer.Exit(1)
    if out is not None and out.is_dir():
        out = out / file.with_suffix(".png").name
    if out is not None:
        output_file(out, "--out", force=force, suffix=".png")
    layout = program_layout(program)
    png = out if out is not None else file.with_suffix(".png")
    write_program_map(program, layout, png)
    summary = {
        "valid": True,
        "violations": [],
        "name": program.name,
        "backend": program.backend,
        "figure": str(png),
        "states": {
            state: [
                {
                    "electrodes": list(s.electrodes),
                    "amplitude_ma": s.amplitude_ma,
                    "pulse_width_us": s.pulse_width_us,
                    "frequency_hz": s.frequency_hz,
                    "onset_ms": s.onset_ms,
                    "duration_ms": s.duration_ms,
                    "period_ms": s.period_ms,
                }
                for s in steps
            ]
            for state, steps in program.states.items()
        },
    }
    if json_out:
        print(json.dumps(summary))
        return
    by_index = {e.index: e for e in layout}
    table = Table(title=f"{program.name} ({program.backend}): {program.description}")
    for column in ("state", "electrodes", "mA", "us", "Hz", "onset ms", "duration ms"):
        table.add_column(column)
    for state, steps in program.states.items():
        for s in steps:
            names = ", ".join(
                f"{by_index[e].name}/{by_index[e].side[0].upper()}{by_index[e].root}"
                if e in by_index
                else f"?{e}"
                for e in s.electrodes
            )
            duration = "hold" if s.duration_ms is None else f"{s.duration_ms:g}"
            table.add_row(
                state,
                names,
                f"{s.amplitude_ma:g}",
                f"{s.pulse_width_us:g}",
                f"{s.frequency_hz:g}",
                f"{s.onset_ms:g}",
                duration,
            )
    console.print(table)
    console.print(f"wrote {png}")


def write_program_map(program: Program, layout: tuple[Electrode, ...], path: Path) -> Path:
    """One panel per state: the electrode map, firing contacts coloured by amplitude."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    states = list(program.states) or ["rest"]
    peak = max((s.amplitude_ma for steps in program.states.values() for s in steps), default=1.0)
    xs = [e.x_mm for e in layout]
    ys = [e.y_mm for e in layout]
    fig, axes = plt.subplots(
        1, len(states), figsize=(1.9 * len(states) + 1.0, 4.2), sharey=True, squeeze=False
    )
    cmap = plt.get_cmap("plasma")
    for ax, state in zip(axes[0], states, strict=True):
        ax.scatter(xs, ys, s=120, facecolors="none", edgecolors="0.6", marker="s")
        for step in program.steps(state):
            for e in step.electrodes:
                electrode = next((el for el in layout if el.index == e), None)
                if electrode is None:
                    continue
                ax.scatter(
                    [electrode.x_mm],
                    [electrode.y_mm],
                    s=120,
                    marker="s",
                    color=cmap(min(step.amplitude_ma / peak, 1.0)),
                )
                timing = "" if step.duration_ms is None else f"\n{step.duration_ms:g} ms"
                ax.annotate(
                    f"{step.amplitude_ma:g}{timing}",
                    (electrode.x_mm, electrode.y_mm),
                    xytext=(7, -3),
                    textcoords="offset points",
                    fontsize=6,
                )
        for electrode in layout:
            ax.annotate(
                electrode.root,
                (electrode.x_mm, electrode.y_mm),
                xytext=(-16, -3),
                textcoords="offset points",
                fontsize=5,
                color="0.4",
            )
        ax.set_title(state, fontsize=8)
        ax.set_xlim(min(xs) - 8, max(xs) + 10)
        ax.set_xlabel("x mm (left -)", fontsize=7)
        ax.tick_params(labelsize=6)
    axes[0][0].invert_yaxis()
    axes[0][0].set_ylabel("rostrocaudal mm", fontsize=7)
    fig.suptitle(
        f"{program.name} ({program.backend}); colour = amplitude_ma (max {peak:g})", fontsize=9
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
