"""recovery/: a patient's course over weeks to years.

Neurological state, natural history calibrated to published cohorts, interventions as
plug-ins (rehabilitation, stimulation, BSI, four repair therapies), clinical scales. Imports
nothing from runtime, decoding, features, cli or web.
"""

from __future__ import annotations

from openbsi.recovery.plans import validate_patient, validate_plan
from openbsi.recovery.potency import LotPotency, read_lot_potency
from openbsi.recovery.simulate import simulate_cohort
from openbsi.recovery.therapies.registry import get_therapy, therapy_names
from openbsi.recovery.types import (
    MEASURES,
    CohortCourse,
    Intervention,
    ParameterInfo,
    PatientSpec,
    Plan,
)


def therapy_parameters(name: str) -> list[ParameterInfo]:
    """Every parameter of a registered therapy; an unknown name is an InputError."""
    return get_therapy(name, source="therapy_parameters")().parameters()


def model_parameters() -> list[ParameterInfo]:
    """The natural-history model's parameters ("model.<name>" in overrides)."""
    from openbsi.recovery.model import ModelParams
    from openbsi.recovery.parameters import parameter_infos

    return parameter_infos(ModelParams(), prefix="model.")


__all__ = [
    "MEASURES",
    "CohortCourse",
    "Intervention",
    "LotPotency",
    "ParameterInfo",
    "PatientSpec",
    "Plan",
    "get_therapy",
    "model_parameters",
    "read_lot_potency",
    "simulate_cohort",
    "therapy_names",
    "therapy_parameters",
    "validate_patient",
    "validate_plan",
]
