"""The command groups, shared so that each module can add its own commands to them."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

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


SEED_MAX = 2**32 - 1  # numpy accepts larger seeds; a documented range is easier to repeat
MAX_CHANNELS = 4096  # assumption: 16x the 256 channels of the largest ECoG grids in use
MAX_SESSION_S = 24 * 3600.0


def _finite(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise click.BadParameter(f"must be a finite number, got {value}", ctx=ctx, param=param)
    return value


def bounded(default: Any, *names: str, low: float, high: float, help: str = "") -> Any:
    """A numeric option with a documented range: an out-of-range or non-finite value is refused
    before anything runs, in one line naming the option ("Invalid value for '--seed': ...")."""
    text = f"{help} [{low:g}..{high:g}]".strip()
    return typer.Option(default, *names, min=low, max=high, callback=_finite, help=text)


def in_range(*names: str, low: float, high: float, help: str = "") -> Any:
    """bounded() for `Annotated[int, in_range("--seed", low=0, high=SEED_MAX)] = 0` options."""
    text = f"{help} [{low:g}..{high:g}]".strip()
    return typer.Option(*names, min=low, max=high, callback=_finite, help=text)


def parse_int_list(text: str, option: str, *, high: int = MAX_CHANNELS) -> list[int]:
    """ "64,256,1024" -> [64, 256, 1024]; a one-line error naming the option otherwise."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"{option} must be comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1 or max(values) > high or len(values) > 64:
        raise UserError(f"{option} must list up to 64 integers in [1, {high}], got {text!r}")
    return values


RUN_FOLDER_FILES = ("session.obsilog", "recording.nwb", "metrics.json", "report.html")


def output_file(path: Path, option: str, *, force: bool = False, suffix: str = "") -> Path:
    """A file an option will write: not empty, not a folder, in an existing folder, and not
    already there unless `force` (writers keep their temporary files beside the target)."""
    text = str(path)
    if text in ("", "."):
        raise UserError(f"{option}: must name a file, got {text!r}")
    if path.is_dir():
        raise UserError(f"{option}: must name a file, not the folder {path}")
    if suffix and path.suffix != suffix:
        raise UserError(f"{option}: must end in {suffix}, got {path}")
    if not path.parent.is_dir():
        raise UserError(f"{option}: folder {path.parent} does not exist")
    if path.exists() and not force:
        raise UserError(f"{option}: {path} exists; pass --force to replace it")
    return path


def output_folder(path: Path, option: str, *, force: bool = False) -> Path:
    """A run folder an option will write: not empty, and holding no earlier run unless `force`
    (checked before anything starts: a refused or failed start never touches it)."""
    text = str(path)
    if text in ("", "."):
        raise UserError(f"{option}: must name a run folder, got {text!r}")
    if path.exists() and not path.is_dir():
        raise UserError(f"{option}: {path} is a file, not a folder")
    held = [name for name in RUN_FOLDER_FILES if (path / name).exists()]
    if held and not force:
        raise UserError(f"{option}: {path} already holds a run ({held[0]}); pass --force")
    return path


def _json_verdict(message: str) -> None:
    """With --json, stdout always carries one JSON object, an error included."""
    if "--json" in sys.argv[1:]:
        print(json.dumps({"ok": False, "valid": False, "error": " ".join(message.split())}))


def run(application: typer.Typer) -> None:
    """Run the app; bad input becomes one line on stderr and a non-zero exit, no traceback."""
    try:
        code = application(standalone_mode=False)
    except (UserError, ValueError, OSError) as error:
        _json_verdict(str(error))
        console.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        console.print("aborted")
        sys.exit(130)
    except _USAGE_ERRORS as error:  # bad option values, unknown options or commands
        message = error.format_message() if hasattr(error, "format_message") else str(error)
        _json_verdict(message)
        console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
        sys.exit(error.exit_code)
    except Exception as error:  # a bug must still end in one line (OPENBSI_DEBUG=1: traceback)
        if os.environ.get("OPENBSI_DEBUG"):
            raise
        _json_verdict(f"internal error: {type(error).__name__}: {error}")
        console.print(f"[red]internal error:[/red] {type(error).__name__}: {error}", soft_wrap=True)
        sys.exit(3)
    if isinstance(code, int) and code != 0:
        sys.exit(code)
