"""Backend registry: names -> Stimulator classes, imported lazily on first use."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from openbsi.stimulation.backends.base import Stimulator

# Where each built-in backend lives; imported only when asked for (hardware libraries stay
# optional until used).
_BUILTIN_MODULES: dict[str, str] = {
    "virtual": "openbsi.stimulation.backends.virtual",
    "paddle": "openbsi.stimulation.backends.paddle",
    "nodes": "openbsi.stimulation.backends.nodes",
    "transcutaneous": "openbsi.stimulation.backends.transcutaneous",
    "lsl": "openbsi.stimulation.backends.lsl",
}
_REGISTRY: dict[str, type[Stimulator]] = {}


def register_backend(name: str) -> Callable[[type[Stimulator]], type[Stimulator]]:
    """Class decorator: make a Stimulator subclass available as create_stimulator(name)."""

    def decorate(cls: type[Stimulator]) -> type[Stimulator]:
        if not (isinstance(cls, type) and issubclass(cls, Stimulator)):
            raise ValueError(f"register_backend({name!r}) needs a Stimulator subclass, got {cls!r}")
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def backend_names() -> tuple[str, ...]:
    """Every known backend name (built-in and registered)."""
    return tuple(sorted(set(_BUILTIN_MODULES) | set(_REGISTRY)))


def get_backend(name: str) -> type[Stimulator]:
    """The Stimulator class registered under name; ValueError listing the known names."""
    if name not in _REGISTRY and name in _BUILTIN_MODULES:
        importlib.import_module(_BUILTIN_MODULES[name])
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"backend must be one of {backend_names()}, got {name!r}") from None


def create_stimulator(name: str, **kwargs: Any) -> Stimulator:
    """Build a backend by name; kwargs go to its constructor (supervisor, electrodes, ...)."""
    return get_backend(name)(**kwargs)
