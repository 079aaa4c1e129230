"""Natural proprioception and its erasure by EES (antidromic collision; Formento et al. 2018).

Each EES pulse that recruits an afferent fibre sends an antidromic spike toward the muscle;
a natural (orthodromic) spike travelling on the same fibre meets it and both vanish. A natural
spike is lost when it is emitted within a window of about twice the conduction time (plus the
refractory period) around an EES pulse. With ~16 ms conduction in humans (Formento 2018:
conduction delays ~16 ms, refractory period ~1.6 ms) the window is ~34 ms, so at >= 30 Hz a
recruited fibre carries almost no natural information; in rats (~2 ms) far less is lost.

Natural Ia firing follows muscle stretch: a resting rate plus a term in lengthening velocity
(spindle primary endings are velocity sensitive; numbers unconfirmed defaults).
"""

from __future__ import annotations

import numpy as np

from openbsi.patient.body_reduced import MOMENT
from openbsi.patient.spinal import MUSCLES

HUMAN_CONDUCTION_S = 0.016  # Formento 2018 (facts.md)
AFFERENT_REFRACTORY_S = 0.0016  # Formento 2018 (facts.md)
IA_REST_HZ = 10.0  # resting spindle Ia rate (unconfirmed, typical)
IA_VELOCITY_HZ_PER_RAD_S = 40.0  # Ia rate per rad/s of joint-driven lengthening (unconfirmed)
IA_MAX_HZ = 200.0


def collision_window_s(
    conduction_s: float = HUMAN_CONDUCTION_S, refractory_s: float = AFFERENT_REFRACTORY_S
) -> float:
    """Span around each EES pulse within which a natural spike on the same fibre is lost."""
    if conduction_s < 0 or refractory_s < 0:
        raise ValueError(
            f"conduction_s and refractory_s must be >= 0, got {conduction_s}, {refractory_s}"
        )
    return 2.0 * conduction_s + refractory_s


def erased_fraction(
    frequency_hz: np.ndarray | float,
    recruited_fraction: np.ndarray | float,
    *,
    conduction_s: float = HUMAN_CONDUCTION_S,
    refractory_s: float = AFFERENT_REFRACTORY_S,
) -> np.ndarray:
    """Share of natural afferent spikes erased: recruited fibres lose min(1, f x window)."""
    f = np.asarray(frequency_hz, dtype=float)
    r = np.asarray(recruited_fraction, dtype=float)
    if np.any(f < 0):
        raise ValueError(f"frequency_hz must be >= 0, got {f.min()}")
    if np.any((r < 0) | (r > 1)):
        raise ValueError(f"recruited_fraction must be in [0, 1], got {r.min()}..{r.max()}")
    window = collision_window_s(conduction_s, refractory_s)
    return r * np.minimum(1.0, f * window)


def _arm_matrix() -> np.ndarray:
    """(7 muscles, 3 joints) moment arms normalized by each muscle's largest arm."""
    arms = np.array([MOMENT[m] for m in MUSCLES], dtype=float)
    return arms / np.abs(arms).max(axis=1, keepdims=True)


ARMS = _arm_matrix()


def natural_ia_hz(joint_velocity_rad_s: np.ndarray) -> np.ndarray:
    """Natural Ia rate per pool from joint velocities (2 sides x 3 joints: hip, knee, ankle).

    A muscle lengthens when its joint moves against the muscle's action."""
    qd = np.asarray(joint_velocity_rad_s, dtype=float).reshape(2, 3)
    lengthening = -(qd @ ARMS.T)  # (2 sides, 7 muscles)
    rate = IA_REST_HZ + IA_VELOCITY_HZ_PER_RAD_S * np.clip(lengthening, 0.0, None)
    return np.minimum(rate, IA_MAX_HZ).ravel()
