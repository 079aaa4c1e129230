"""Protocol detection from the command waveform alone.

The command of every sweep is cut into epochs at the union of its change points; each epoch has
one level per sweep. The holding level is the first epoch's. From these:
  - gap-free: the command never leaves holding;
  - membrane test: voltage clamp, the same step on every sweep, small (<= 20 mV from holding);
  - voltage-clamp steps: voltage clamp with an epoch whose level varies across sweeps;
  - current-clamp steps: current clamp with at least one step epoch.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from openbsi.graft.ephys_io import CURRENT_CLAMP, Recording
from openbsi.inputs import InputError

GAP_FREE = "gap_free"
MEMBRANE_TEST = "membrane_test"
VOLTAGE_CLAMP_STEPS = "voltage_clamp_steps"
CURRENT_CLAMP_STEPS = "current_clamp_steps"

MEMBRANE_TEST_MAX_STEP_MV = 20.0  # assumption: a seal/membrane test steps 5-10 mV, IV steps more
_LEVEL_TOLERANCE = 1e-6  # command levels are digital; this only absorbs float noise
MAX_EPOCHS = 500  # assumption: real step protocols have tens of epochs; more is a damaged file


@dataclass(frozen=True)
class Epoch:
    start: int  # first sample
    stop: int  # one past the last sample
    levels: np.ndarray  # (n_sweeps,) command level of this epoch in each sweep

    @property
    def varies(self) -> bool:
        return bool(np.ptp(self.levels) > _LEVEL_TOLERANCE)


@dataclass(frozen=True)
class Protocol:
    kind: str
    holding: float  # command units (pA in current clamp, mV in voltage clamp)
    epochs: tuple[Epoch, ...]
    step_epoch: Epoch | None  # the epoch whose level is the sweep's "step"


def epochs_of(command: np.ndarray) -> tuple[Epoch, ...]:
    """Cut (n_sweeps, n_samples) commands into epochs of constant level in every sweep."""
    changes = np.flatnonzero(np.any(np.abs(np.diff(command, axis=1)) > _LEVEL_TOLERANCE, axis=0))
    if changes.size >= MAX_EPOCHS:
        raise InputError(
            "command",
            "epochs",
            "too many command changes",
            limit=MAX_EPOCHS,
            value=int(changes.size) + 1,
        )
    bounds = [0, *(int(i) + 1 for i in changes), command.shape[1]]
    epochs = []
    for start, stop in itertools.pairwise(bounds):
        if stop > start:
            epochs.append(Epoch(start, stop, np.median(command[:, start:stop], axis=1)))
    return tuple(epochs)


def detect_protocol(recording: Recording) -> Protocol:
    """Classify the recording's protocol from its command waveform."""
    try:
        epochs = epochs_of(recording.command)
    except InputError as error:
        raise InputError(
            recording.source, "command", error.problem, limit=error.limit, value=error.value
        ) from None
    holding = float(np.median(epochs[0].levels))
    steps = [e for e in epochs if np.any(np.abs(e.levels - holding) > _LEVEL_TOLERANCE)]
    if not steps:
        return Protocol(GAP_FREE, holding, epochs, None)
    varying = [e for e in steps if e.varies]
    if recording.clamp_mode == CURRENT_CLAMP:
        # the first epoch that varies across sweeps carries the f-I steps; else the first step
        step = varying[0] if varying else steps[0]
        return Protocol(CURRENT_CLAMP_STEPS, holding, epochs, step)
    if varying:
        # the epoch with the most distinct levels is the test pulse of an I-V
        step = max(varying, key=lambda e: (len(np.unique(np.round(e.levels, 3))), -e.start))
        return Protocol(VOLTAGE_CLAMP_STEPS, holding, epochs, step)
    step = steps[0]
    if abs(float(step.levels[0]) - holding) <= MEMBRANE_TEST_MAX_STEP_MV:
        return Protocol(MEMBRANE_TEST, holding, epochs, step)
    return Protocol(VOLTAGE_CLAMP_STEPS, holding, epochs, step)
