"""The `openbsi` command. One module per command group; each registers itself on import."""

from __future__ import annotations

from openbsi.cli import (  # noqa: F401  (registration)
    artifacts_bench,
    decode,
    latency_bench,
    patient,
    program,
    recording,
    safety_bench,
    session,
    stream,
)
from openbsi.cli.apps import app, run


def main() -> None:
    run(app)


__all__ = ["app", "main"]
