"""Stimulator backends behind one interface, with a registry (lazy imports)."""

from openbsi.stimulation.backends.base import Decision, Stimulator, Supervisor
from openbsi.stimulation.backends.registry import (
    backend_names,
    create_stimulator,
    get_backend,
    register_backend,
)

__all__ = [
    "Decision",
    "Stimulator",
    "Supervisor",
    "backend_names",
    "create_stimulator",
    "get_backend",
    "register_backend",
]
