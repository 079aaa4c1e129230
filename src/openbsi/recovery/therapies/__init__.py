"""Registered therapies (plug-ins)."""

from __future__ import annotations

from openbsi.recovery.therapies.base import DayContext, DoseField, Effect, Therapy
from openbsi.recovery.therapies.registry import get_therapy, registered, therapy_names

__all__ = [
    "DayContext",
    "DoseField",
    "Effect",
    "Therapy",
    "get_therapy",
    "registered",
    "therapy_names",
]
