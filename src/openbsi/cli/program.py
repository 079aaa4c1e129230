"""`openbsi program ...` commands."""

from __future__ import annotations

from openbsi.cli.apps import program_app  # noqa: F401
