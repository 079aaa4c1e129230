"""The `openbsi` command. One module per command group; each registers itself on import."""

from __future__ import annotations

from openbsi.cli import (  # noqa: F401  (registration)
    bench,
    compare,
    decode,
    graft,
    nodes,
    patient,
    program,
    recording,
    recovery,
    serve,
    session,
    stream,
    trial,
)
from openbsi.cli.apps import app, run


def main() -> None:
    run(app)


__all__ = ["app", "main"]
