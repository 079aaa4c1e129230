"""How much of each stimulator's current reaches each dorsal root: one model for three paths.

Every path is reduced to the same quantity the cord feels, the "paddle-equivalent" current at
each root entry zone (mA at a contact right over the root across the CSF, spinal.CSF_DEPTH_MM),
so that the recruitment curves of spinal.py (Ia < II << motor, Capogrosso 2013) apply to all:

- paddle: a contact over the CSF (spinal.coupling, unchanged);
- nodes: a leadless magnetoelectric node on the dura at its own gap to the root; current
  density near a point source falls as 1/r, so a node closer than the CSF depth couples more
  (CSF_DEPTH / gap, capped); a film tilted against the root couples less;
- transcutaneous: a surface cathode with skin, fat, muscle and bone between it and the roots:
  a large attenuation (thresholds of tens of mA), a wide spread (less selective), midline
  (bilateral), and the field crossing the whole cord (anterior, motor roots closer to the
  posterior roots' threshold than under an epidural contact, still later).

Only `openbsi.stimulation` types are imported (the patient sees pulses, like a body).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from openbsi.patient.spinal import (
    CSF_DEPTH_MM,
    FIBRES,
    REFERENCE_PW_US,
    ROOT_SITES,
    SIDES,
    SPREAD_MM,
    coupling,
    recruitment,
    strength_duration,
)
from openbsi.stimulation.layouts import NodePlacement
from openbsi.stimulation.types import Electrode

PATHS: tuple[str, ...] = ("paddle", "nodes", "transcutaneous")

# Nodes: 1/r near-field gain against the paddle's CSF path, capped so that a node touching
# the rootlets does not couple infinitely (cap at a 1 mm gap; assumption).
NODE_MIN_GAP_MM = 1.0
# A tilted film couples (1 + cos(tilt)) / 2 of its current toward the root (assumption).

# Transcutaneous, lumbar: skin-to-root distance of an adult back (skin, subcutaneous fat,
# paraspinal muscle, lamina, epidural fat, CSF) ~50 mm (assumption, unconfirmed).
SURFACE_DEPTH_MM = 50.0
# Length constant of the surface field's fall-off along the cord: much wider than the
# epidural 4 mm (assumption; posterior-root reflexes appear in most leg muscles at once,
# bilaterally, with lumbar transcutaneous stimulation).
SURFACE_SPREAD_MM = 12.0
# Share of the skin current that reaches a root right under the cathode, paddle-equivalent.
# Calibrated (assumption) so that the first root response (5 % of Ia fibres) needs ~30 mA
# with a 1 ms, 10 kHz-carrier envelope: within published transcutaneous intensities of
# 25-86 mA and 80-120 mA with the carrier (facts.md, "Stimulation safety" and
# "Non-invasive transcutaneous stimulation").
SURFACE_TRANSFER = 0.045
# Motor (anterior-root) fibres: relative excitability under a surface field, the field
# crossing the cord ventrally (assumption; anterior-root co-activation at higher intensities
# is reported with lumbar transcutaneous stimulation; epidural contacts reach it far later).
SURFACE_MOTOR_GAIN = 1.8
# 10 kHz carrier: a 1 ms envelope made of 50 us alternating phases excites less than a 1 ms
# monophasic phase. Threshold x 1.5: ASSUMPTION (direction as expected from the phase
# duration; no published ratio in facts.md).
CARRIER_THRESHOLD_FACTOR = 1.5


@dataclass(frozen=True)
class RootCoupling:
    """What one path delivers to the roots."""

    path: str
    coupling: np.ndarray  # (n_electrodes, n_sites) paddle-equivalent mA per mA at the contact
    # per fibre type: multiplies the current that fibre feels (1 = as under a paddle)
    fibre_gain: dict[str, float] = field(default_factory=lambda: dict.fromkeys(FIBRES, 1.0))
    # waveform threshold multiplier (the carrier); pulse-width effects stay in spinal.py
    threshold_factor: float = 1.0


def node_coupling(
    electrodes: Sequence[Electrode], placements: Sequence[NodePlacement] | None
) -> np.ndarray:
    """Paddle-equivalent coupling of each node to each root site."""
    by_id = {p.node_id: p for p in placements or ()}
    ex = np.array([e.x_mm for e in electrodes])[:, None]
    ey = np.array([e.y_mm for e in electrodes])[:, None]
    sx = np.array([s.x_mm for s in ROOT_SITES])[None, :]
    sy = np.array([s.y_mm for s in ROOT_SITES])[None, :]
    d = np.hypot(ex - sx, ey - sy)
    gap = np.array(
        [by_id[e.name].root_gap_mm if e.name in by_id else 1.0 for e in electrodes], dtype=float
    )[:, None]
    gap = np.maximum(gap, NODE_MIN_GAP_MM)
    tilt = np.array(
        [by_id[e.name].misalignment_deg if e.name in by_id else 0.0 for e in electrodes]
    )[:, None]
    near = CSF_DEPTH_MM / gap
    spread = np.exp(-(np.hypot(d, gap) - gap) / SPREAD_MM)
    return near * spread * (1.0 + np.cos(np.radians(tilt))) / 2.0


def surface_coupling(electrodes: Sequence[Electrode]) -> np.ndarray:
    """Paddle-equivalent coupling of each surface cathode to each root site."""
    ex = np.array([e.x_mm for e in electrodes])[:, None]
    ey = np.array([e.y_mm for e in electrodes])[:, None]
    sx = np.array([s.x_mm for s in ROOT_SITES])[None, :]
    sy = np.array([s.y_mm for s in ROOT_SITES])[None, :]
    d = np.hypot(ex - sx, ey - sy)
    depth = SURFACE_DEPTH_MM
    return SURFACE_TRANSFER * np.exp(-(np.hypot(d, depth) - depth) / SURFACE_SPREAD_MM)


def root_coupling(
    path: str,
    electrodes: Sequence[Electrode],
    placements: Sequence[NodePlacement] | None = None,
) -> RootCoupling:
    """The coupling of a stimulator of kind `path` with these electrodes to every root."""
    if path == "paddle":
        return RootCoupling(path, coupling(electrodes))
    if path == "nodes":
        return RootCoupling(path, node_coupling(electrodes, placements))
    if path == "transcutaneous":
        gains = dict.fromkeys(FIBRES, 1.0) | {"motor": SURFACE_MOTOR_GAIN}
        return RootCoupling(
            path, surface_coupling(electrodes), gains, threshold_factor=CARRIER_THRESHOLD_FACTOR
        )
    raise ValueError(f"path must be one of {PATHS}, got {path!r}")


def misalignment_factor(tilt_deg: float) -> float:
    """Share of a tilted node's current that couples toward its root (assumption)."""
    return (1.0 + math.cos(math.radians(tilt_deg))) / 2.0


def path_recruitment_curves(
    amplitude_ma: np.ndarray,
    path_coupling: RootCoupling,
    electrodes: Sequence[Electrode],
    *,
    side: str = "left",
    pulse_width_us: float = REFERENCE_PW_US,
    threshold_scale: float = 1.0,
) -> dict[str, dict[str, object]]:
    """Per root of `side`: recruitment vs amplitude through the electrode reaching it best.

    {root: {"electrode": name, "coupling": c, "Ia": [...], "II": [...], "motor": [...]}}.
    """
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {side!r}")
    amp = np.asarray(amplitude_ma, dtype=float)
    c = path_coupling.coupling
    sd = strength_duration(pulse_width_us) * path_coupling.threshold_factor
    out: dict[str, dict[str, object]] = {}
    for j, site in enumerate(ROOT_SITES):
        if site.side != side:
            continue
        best = int(np.argmax(c[:, j]))
        rec = recruitment(amp * c[best, j] / sd, threshold_scale, path_coupling.fibre_gain)
        out[site.root] = {
            "electrode": electrodes[best].name,
            "coupling": float(c[best, j]),
            **{f: rec[f] for f in FIBRES},
        }
    return out


def onset_ma(amplitude_ma: np.ndarray, fraction: np.ndarray, level: float = 0.05) -> float | None:
    """Smallest amplitude recruiting at least `level` (None if none does)."""
    hit = np.nonzero(np.asarray(fraction) >= level)[0]
    return float(np.asarray(amplitude_ma)[hit[0]]) if hit.size else None
