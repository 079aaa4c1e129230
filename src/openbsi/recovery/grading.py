"""AIS grade from a rated ISNCSCI examination (vectorised over patients).

A: no sensory or motor function in S4-S5. B: sensory but no motor function preserved below
the level (none more than three levels below). C: motor incomplete with fewer than half of the
key muscles below the level at grade >= 3. D: at least half at >= 3. E: normal motor and
sensory function (only for a patient who had a deficit). The NLI stands in for the motor level
on each side (a simplification, stated in docs/recovery.md).
"""

from __future__ import annotations

import numpy as np

from openbsi.recovery.state import KEY_INDEX, ZPP_SEGMENTS


def grade_ais(
    rated: np.ndarray,  # (n, 2, 10) integer key-muscle grades
    vac: np.ndarray,  # (n,) bool: voluntary anal contraction
    sacral_sensory: np.ndarray,  # (n,) bool: S4-5 light touch / pin prick / deep anal pressure
    sensory_normal: np.ndarray,  # (n,) bool
    nli_index: np.ndarray,  # (n,)
) -> np.ndarray:
    """(n,) array of "A".."E"."""
    dist = KEY_INDEX[None, :] - nli_index[:, None]
    below = dist > 0
    far = dist > ZPP_SEGMENTS
    motor_far = np.any((rated >= 1) & far[:, None, :], axis=(1, 2))
    motor_incomplete = vac | (sacral_sensory & motor_far)
    n_below = 2 * below.sum(axis=1)
    strong = np.sum((rated >= 3) & below[:, None, :], axis=(1, 2))
    # With no key muscle below the level (sacral injuries), VAC strength decides.
    most_strong = np.where(n_below > 0, 2 * strong >= np.maximum(n_below, 1), vac)
    all_normal = np.all(rated == 5, axis=(1, 2)) & sensory_normal & vac & sacral_sensory
    grade = np.full(rated.shape[0], "A", dtype="<U1")
    grade[sacral_sensory | vac] = "B"
    grade[motor_incomplete] = "C"
    grade[motor_incomplete & most_strong] = "D"
    grade[all_normal] = "E"
    return grade
