"""Electrode grids over the leg motor cortex and the somatotopic tuning of each contact.

Default (Lorach et al. 2023): two WIMAGINE implants, one per hemisphere, 8 x 8 contacts on a
4 mm x 4.5 mm pitch, 32 of 64 streamed per implant -> 64 channels "L01".."L32", "R01".."R32".
Which 32 were streamed is not published: we take the 4 central rows (8 columns each).

Somatotopy (Penfield's homunculus; Miller 2012 for high-gamma following the moving part): the
foot/ankle is represented most medially (near the midline), then the knee, then the hip more
laterally. Hotspot positions are modelling defaults (unconfirmed numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from openbsi.patient.intent import MOVEMENTS
from openbsi.states import side_and_joint

PITCH_X_MM = 4.0  # mediolateral pitch (Lorach 2023)
PITCH_Y_MM = 4.5  # rostrocaudal pitch (Lorach 2023)
# Mediolateral (distance from the midline) and rostrocaudal hotspot of each joint, mm.
JOINT_HOTSPOT_MM: dict[str, tuple[float, float]] = {
    "ankle": (6.0, 2.0),
    "knee": (14.0, 0.0),
    "hip": (22.0, -2.0),
}
HOTSPOT_SIGMA_MM = (5.0, 6.0)  # spread of a joint's high-gamma map (x, y), unconfirmed
TUNED_THRESHOLD = 0.35  # a contact is "tuned" to the movement whose weight exceeds this


@dataclass(frozen=True)
class GridLayout:
    """Contact positions; x_mm < 0 on the left hemisphere, distance from the midline = |x_mm|."""

    names: tuple[str, ...]
    group: tuple[str, ...]  # "left" | "right" hemisphere
    x_mm: np.ndarray
    y_mm: np.ndarray

    @property
    def n_channels(self) -> int:
        return len(self.names)


def bilateral_grid(
    n_cols: int = 8, n_rows: int = 4, pitch_x_mm: float = PITCH_X_MM, pitch_y_mm: float = PITCH_Y_MM
) -> GridLayout:
    """Two implants (left, right hemisphere), n_rows x n_cols streamed contacts each."""
    if n_cols < 1 or n_rows < 1:
        raise ValueError(f"n_cols and n_rows must be >= 1, got {n_cols}, {n_rows}")
    names: list[str] = []
    group: list[str] = []
    xs: list[float] = []
    ys: list[float] = []
    for hemi, prefix, sign in (("left", "L", -1.0), ("right", "R", 1.0)):
        k = 0
        for row in range(n_rows):
            for col in range(n_cols):
                k += 1
                names.append(f"{prefix}{k:02d}")
                group.append(hemi)
                xs.append(sign * (2.0 + col * pitch_x_mm))
                ys.append((row - (n_rows - 1) / 2.0) * pitch_y_mm)
    return GridLayout(tuple(names), tuple(group), np.array(xs), np.array(ys))


def contralateral_group(leg_side: str) -> str:
    """The hemisphere that controls a leg: left leg -> right hemisphere."""
    return "right" if leg_side == "left" else "left"


# Beta desynchronisation is broad but deepest over the active area (Miller 2007, J Neurosci
# 27:2424: the beta decrease covers the high-gamma sites and more); the focal extra share is
# an assumption, chosen so that beta and high-gamma changes across channels are not
# positively correlated (issue #10: in the real ECoG they move in opposite directions).
BETA_FOCAL_SHARE = 1.0


def tuning_maps(
    layout: GridLayout,
    anatomy_rng: np.random.Generator,
    ipsi_fraction: float,
    shift_mm: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """High-gamma and beta tuning weights, each (n_channels, 6 movements), in [0, ~1].

    High-gamma: Gaussian hotspot per joint on the contralateral grid (ipsilateral grid at
    `ipsi_fraction`), per-patient jitter of hotspot position and contact gain.
    Beta: diffuse, 1 on the contralateral grid and 0.5 on the ipsilateral one (Miller 2012:
    spatially broad, stronger contralateral), with mild per-contact variation.
    shift_mm: (6, 2) displacement of each movement's hotspot (day-to-day drift).
    """
    n = layout.n_channels
    groups = np.array(layout.group)
    dist = np.abs(layout.x_mm)
    w_hg = np.zeros((n, len(MOVEMENTS)))
    w_beta = np.zeros((n, len(MOVEMENTS)))
    contact_gain = np.exp(0.15 * anatomy_rng.standard_normal(n))
    beta_var = np.exp(0.1 * anatomy_rng.standard_normal(n))
    for k, movement in enumerate(MOVEMENTS):
        parsed = side_and_joint(movement)
        assert parsed is not None
        side, joint = parsed
        hx, hy = JOINT_HOTSPOT_MM[joint]
        hx += 1.5 * anatomy_rng.standard_normal()
        hy += 1.5 * anatomy_rng.standard_normal()
        if shift_mm is not None:
            hx, hy = hx + shift_mm[k, 0], hy + shift_mm[k, 1]
        bump = np.exp(
            -0.5 * ((dist - hx) / HOTSPOT_SIGMA_MM[0]) ** 2
            - 0.5 * ((layout.y_mm - hy) / HOTSPOT_SIGMA_MM[1]) ** 2
        )
        contra = groups == contralateral_group(side)
        w_hg[:, k] = bump * contact_gain * np.where(contra, 1.0, ipsi_fraction)
        # Diffuse, plus a focal part over the moving part's hotspot (BETA_FOCAL_SHARE)
        w_beta[:, k] = beta_var * np.where(contra, 1.0, 0.5) * (1.0 + BETA_FOCAL_SHARE * bump)
    return w_hg, np.clip(w_beta, 0.0, 1.0 + BETA_FOCAL_SHARE)


def drift(
    anatomy_seed: int,
    day: int,
    n_channels: int,
    *,
    tau_days: float,
    tuning_sd: float,
    hotspot_sd_mm: float,
    impedance_sd: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slow day-to-day changes, fixed by the patient (same day -> same state; day d continues
    day d-1): hotspot shifts (6, 2) mm, per-contact signal gain (impedance, (n,)) and
    per-contact-and-movement tuning gain (n, 6). Each follows a mean-reverting random walk
    (Ornstein-Uhlenbeck, time constant tau_days, stationary sd as given): maps wander but stay
    anatomically bounded."""
    if day < 0:
        raise ValueError(f"day must be >= 0, got {day}")
    if tau_days <= 0:
        raise ValueError(f"tau_days must be > 0, got {tau_days}")
    a = float(np.exp(-1.0 / tau_days))

    def walk(stream: int, shape: tuple[int, ...], sd: float) -> np.ndarray:
        x = np.zeros(shape)
        if day == 0 or sd == 0:
            return x
        rng = np.random.default_rng([anatomy_seed, 7, stream])
        for step in rng.standard_normal((day, *shape)):
            x = a * x + np.sqrt(1.0 - a * a) * sd * step
        return x

    n_mov = len(MOVEMENTS)
    shift = walk(0, (n_mov, 2), hotspot_sd_mm)
    impedance = np.exp(walk(1, (n_channels,), impedance_sd))
    tuning = np.exp(walk(2, (n_channels, n_mov), tuning_sd))
    return shift, impedance, tuning


def tuned_to(w_hg: np.ndarray) -> tuple[str, ...]:
    """For each contact, the movement it is most tuned to, or '' when none is strong."""
    best = np.argmax(w_hg, axis=1)
    return tuple(
        MOVEMENTS[int(b)] if w_hg[i, b] >= TUNED_THRESHOLD else "" for i, b in enumerate(best)
    )


def spatial_mixing(layout: GridLayout, sigma_mm: float, shared: float = 0.0) -> np.ndarray:
    """Row-normalized mixing matrix (volume conduction): Gaussian kernel within a hemisphere,
    plus a `shared` fraction common to both hemispheres. Preserves unit variance per row."""
    groups = np.array(layout.group)
    dx = layout.x_mm[:, None] - layout.x_mm[None, :]
    dy = layout.y_mm[:, None] - layout.y_mm[None, :]
    kernel = np.exp(-0.5 * (dx**2 + dy**2) / sigma_mm**2)
    kernel *= groups[:, None] == groups[None, :]
    kernel += shared
    return kernel / np.linalg.norm(kernel, axis=1, keepdims=True)
