"""The therapy registry: name -> plug-in class."""

from __future__ import annotations

from openbsi.inputs import InputError
from openbsi.recovery.therapies.base import Therapy
from openbsi.recovery.therapies.progenitors import Progenitors
from openbsi.recovery.therapies.repair import AutologousGraft, InjectableDepot, ScaffoldOrganoid
from openbsi.recovery.therapies.training import (
    BsiStimulation,
    EpiduralNodes,
    EpiduralPaddle,
    Rehabilitation,
    TranscutaneousCervical,
    TranscutaneousLumbar,
)

_REGISTRY: dict[str, type[Therapy]] = {
    cls.name: cls
    for cls in (
        Rehabilitation,
        EpiduralPaddle,
        EpiduralNodes,
        TranscutaneousCervical,
        TranscutaneousLumbar,
        BsiStimulation,
        AutologousGraft,
        ScaffoldOrganoid,
        InjectableDepot,
        Progenitors,
    )
}


def therapy_names() -> list[str]:
    return list(_REGISTRY)


def registered() -> dict[str, type[Therapy]]:
    return dict(_REGISTRY)


def get_therapy(name: str, *, source: str = "therapy") -> type[Therapy]:
    """The plug-in class of a registered therapy; an unknown name is an InputError."""
    if not isinstance(name, str) or name not in _REGISTRY:
        raise InputError(source, "therapy", "unknown therapy", limit=f"one of {list(_REGISTRY)}",
                         value=name)  # fmt: skip
    return _REGISTRY[name]
