"""The command groups, shared so that each module can add its own commands to them."""

from __future__ import annotations

import sys

import click
import typer
from rich.console import Console

app = typer.Typer(
    name="openbsi",
    help="OpenBSI: an open-source brain-spine interface (research use, not a medical device).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
bench_app = typer.Typer(help="Benchmarks: speed, latency and safety figures.", no_args_is_help=True)
decode_app = typer.Typer(help="Decoders: pseudo-online evaluation.", no_args_is_help=True)
program_app = typer.Typer(
    help="Stimulation programs: example, validate, show.", no_args_is_help=True
)
patient_app = typer.Typer(help="The virtual patient.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
app.add_typer(decode_app, name="decode")
app.add_typer(program_app, name="program")
app.add_typer(patient_app, name="patient")

console = Console(stderr=True)


# typer >= 0.29 vendors click, so its usage errors derive from typer.TyperException.
_USAGE_ERRORS = (click.ClickException, getattr(typer, "TyperException", click.ClickException))


class UserError(Exception):
    """A problem with what the user asked for: printed as one line, exit code 2."""


def parse_int_list(text: str, option: str) -> list[int]:
    """ "64,256,1024" -> [64, 256, 1024]; a one-line error naming the option otherwise."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"{option} must be comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise UserError(f"{option} must list integers >= 1, got {text!r}")
    return values


def run(application: typer.Typer) -> None:
    """Run the app; bad input becomes one line on stderr and a non-zero exit, no traceback."""
    try:
        code = application(standalone_mode=False)
    except (UserError, ValueError, OSError) as error:
        console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        console.print("aborted")
        sys.exit(130)
    except _USAGE_ERRORS as error:  # bad option values, unknown options or commands
        error.show()
        sys.exit(error.exit_code)
    if isinstance(code, int) and code != 0:
        sys.exit(code)
