"""`openbsi decode ...` commands."""

from __future__ import annotations

from openbsi.cli.apps import decode_app  # noqa: F401
