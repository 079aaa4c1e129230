"""`openbsi patient ...` commands."""

from __future__ import annotations

from openbsi.cli.apps import patient_app  # noqa: F401
