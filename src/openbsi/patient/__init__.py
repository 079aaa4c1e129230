"""The virtual patient: cortex (ECoG source), lesion, spinal cord, legs (stimulated body).

Main entry points: openbsi.patient.virtual.VirtualPatient, openbsi.patient.intent (scripts),
openbsi.patient.profiles (named patients), openbsi.patient.session.run_patient. Names are
imported lazily so that `import openbsi.patient` stays light (no MuJoCo).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "VirtualPatient": "openbsi.patient.virtual",
    "StepEvent": "openbsi.patient.gait",
    "GaitSummary": "openbsi.patient.gait",
    "VirtualCortex": "openbsi.patient.cortex",
    "IntentBlock": "openbsi.patient.intent",
    "IntentScript": "openbsi.patient.intent",
    "cued_calibration_script": "openbsi.patient.intent",
    "walking_script": "openbsi.patient.intent",
    "PatientProfile": "openbsi.patient.profiles",
    "PROFILES": "openbsi.patient.profiles",
    "DEFAULT_PROFILE": "openbsi.patient.profiles",
    "get_profile": "openbsi.patient.profiles",
    "run_patient": "openbsi.patient.session",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'openbsi.patient' has no attribute {name!r}")
