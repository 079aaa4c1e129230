"""The session surrogate: a BSI session's dose as a function of the patient's state.

A small linear model stored as data (data/session_surrogate.json, with its provenance), fitted
by a tool outside recovery/ on real closed-loop sessions of the virtual patient (recovery/
never imports the runtime). Inputs: decoder accuracy and LEMS / 50; outputs: the share of
stimulation volleys paired with the patient's own intent, successful steps per minute, and the
share of session time on task.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

SURROGATE_FILE = "session_surrogate.json"


@lru_cache(maxsize=1)
def load_surrogate() -> dict[str, Any]:
    text = resources.files("openbsi.recovery").joinpath("data", SURROGATE_FILE).read_text()
    return json.loads(text)


def paired_fraction(lems: np.ndarray, decoder_accuracy: float) -> np.ndarray:
    """Only the intent-paired fraction (what the BSI therapy needs every session day)."""
    c = load_surrogate()["outputs"]["intent_paired_fraction"]
    y = (c["intercept"] + c["decoder_accuracy"] * decoder_accuracy
         + c["lems_fraction"] * np.minimum(np.maximum(lems / 50.0, 0.0), 1.0))  # fmt: skip
    return np.minimum(np.maximum(y, c["low"]), c["high"])


def session_dose(
    lems: np.ndarray | float, decoder_accuracy: np.ndarray | float
) -> dict[str, np.ndarray]:
    """Predicted per-session dose for each patient (arrays broadcast over the inputs)."""
    model = load_surrogate()
    x = {
        "decoder_accuracy": np.asarray(decoder_accuracy, dtype=float),
        "lems_fraction": np.minimum(np.maximum(np.asarray(lems, dtype=float) / 50.0, 0.0), 1.0),
    }
    out = {}
    for name, coef in model["outputs"].items():
        y = coef["intercept"]
        for k in model["inputs"]:
            y = y + coef[k] * x[k]
        out[name] = np.minimum(np.maximum(y, coef["low"]), coef["high"])
    return out


# The session-level virtual patient of a recovery state. Assumption: spared descending drive
# in patient/ scales with LEMS (patient/lesion.py defaults: AIS C 0.15, D 0.45, which this
# maps from LEMS ~9 and ~28); muscle strength follows muscle condition.
SPARED_PER_LEMS_POINT = 0.016


def session_spared_fraction(lems: float, ais: str) -> float:
    """patient/'s spared descending fraction for a recovery state (0 when motor complete)."""
    if ais in ("A", "B"):
        return 0.0
    return float(min(max(SPARED_PER_LEMS_POINT * lems, 0.02), 1.0))


def session_profile(
    nli: str, ais: str, lems: float, muscle_condition: float, days_since_injury: float
):
    """A patient/ PatientProfile for this state (levels below T12 are kept at T12: the
    session's paddle sits over the lumbosacral cord)."""
    from dataclasses import replace

    from openbsi.patient.lesion import Lesion, segment_index
    from openbsi.patient.profiles import DEFAULT_PROFILE, get_profile

    base = get_profile(DEFAULT_PROFILE)
    level = nli if segment_index(nli) <= segment_index("T12") else "T12"
    grade = "D" if ais == "E" else ais
    lesion = Lesion(level=level, ais=grade, spared_fraction=session_spared_fraction(lems, grade),
                    chronic_years=days_since_injury / 365.25)  # fmt: skip
    body = replace(
        base.body, muscle_strength=float(min(max(0.3 + 0.5 * muscle_condition, 0.1), 1.0))
    )
    return replace(base, name=f"recovery-{level}-{grade}", description="from a recovery state",
                   lesion=lesion, body=body)  # fmt: skip
