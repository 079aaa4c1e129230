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
