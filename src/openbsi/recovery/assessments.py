"""Clinical scales computed from the state, with rater / measurement noise, floors and ceilings.

ISNCSCI (key-muscle grades, UEMS, LEMS, AIS), 10MWT (m/s), 6MWT (m), WISCI II (0-20),
SCIM III (0-100), GRASSP strength (0-100, 10 muscles x 2 sides x 0-5) and prehension
performance (0-60, 6 tasks x 2 sides x 0-5). Walking tests of a patient who cannot walk 10 m
are not measurable (nan), never 0.
"""

from __future__ import annotations

import numpy as np

from openbsi.recovery.grading import grade_ais
from openbsi.recovery.model import ModelParams
from openbsi.recovery.state import LOWER, UPPER, CohortState
from openbsi.recovery.types import KEY_MUSCLE_SEGMENTS, SEGMENTS

N_VISIT_NORMALS = 32
_L3 = KEY_MUSCLE_SEGMENTS.index("L3")
_S1 = KEY_MUSCLE_SEGMENTS.index("S1")
_HAND = [KEY_MUSCLE_SEGMENTS.index(s) for s in ("C7", "C8", "T1")]
_L3_SEG = SEGMENTS.index("L3")


def walking_capacity(state: CohortState) -> np.ndarray:
    """0..1 capacity to walk, from the van Middendorp 2011 (Lancet) prediction rule.

    score = -10 if age >= 65, + 2 x (L3 + S1 motor, better side), + 5 x (L3 + S1 light touch);
    logistic p = 1 / (1 + exp(-(0.267 score - 3.273))) (third-party transcription,
    unconfirmed), used here as a deterministic capacity and scaled by LEMS (assumption).
    """
    motor = state.strength[:, :, _L3] + state.strength[:, :, _S1]  # (n, 2)
    best_motor = motor.max(axis=1)
    above_share = (state.nli_index + 1) / len(SEGMENTS)
    below_sens = np.clip(
        (state.sensory_fraction - above_share) / np.maximum(1 - above_share, 1e-9), 0.0, 1.0
    )
    light_touch = np.where(state.nli_index >= _L3_SEG, 2.0, 2.0 * below_sens) * 2.0
    score = -10.0 * (state.age_years >= 65) + 2.0 * best_motor + 5.0 * light_touch
    p_walk = 1.0 / (1.0 + np.exp(-(0.267 * score - 3.273)))
    lems = state.strength[:, :, LOWER].sum(axis=(1, 2))
    return p_walk * np.sqrt(np.clip(lems / 40.0, 0.0, 1.0))


def assess(state: CohortState, z: np.ndarray, p: ModelParams) -> dict[str, np.ndarray]:
    """Every measure for every patient at one visit; z: (n, N_VISIT_NORMALS) standard normals."""
    n = state.n
    # A normal muscle is rated normal and an absent contraction absent: the rater's noise
    # fades out toward both ends of the scale (assumption).
    s = state.strength
    confidence = np.clip(np.minimum(s, 5.0 - s) / 0.5, 0.0, 1.0)
    noisy = s + p.rater_sd_grade * confidence * z[:, :20].reshape(n, 2, 10)
    rated = np.clip(np.rint(noisy), 0, 5)
    vac = state.sacral_motor + 0.25 * np.clip(state.sacral_motor / 0.5, 0, 1) * z[:, 20] >= 0.5
    sacral = (
        state.sacral_sensory + 0.2 * np.clip(state.sacral_sensory / 0.3, 0, 1) * z[:, 21] >= 0.5
    )
    sensory_normal = state.sensory_fraction + 0.01 * z[:, 22] >= 0.985
    ais = grade_ais(rated, vac, sacral, sensory_normal, state.nli_index)
    uems = rated[:, :, UPPER].sum(axis=(1, 2))
    lems = rated[:, :, LOWER].sum(axis=(1, 2))

    capacity = walking_capacity(state)
    walks = capacity >= 0.15  # assumption: below this the 10 m cannot be walked
    ability = np.clip((capacity - 0.15) / 0.85, 0.0, 1.0)
    # rater noise 0.5 level: WISCI II smallest real difference 1.15-1.68 levels (facts.md) ~ 2.77 sd
    wisci = np.where(walks, np.clip(np.rint(4.0 + 16.0 * ability + 0.5 * z[:, 23]), 1, 20), 0.0)
    # 10MWT: 1.3 m/s for an unimpaired capacity (assumption), reduced by deconditioning.
    condition = (0.7 + 0.3 * state.fitness) * (0.75 + 0.25 * state.muscle_condition)
    speed = 1.3 * ability**1.2 * condition * (1.0 - 0.3 * state.spasticity)
    speed = np.maximum(speed * (1.0 + p.gait_noise_fraction * z[:, 24]), 0.02)
    tenmwt = np.where(walks, np.round(speed, 3), np.nan)
    six = speed * 360.0 * (0.75 + 0.2 * state.fitness) * (1.0 + p.gait_noise_fraction * z[:, 25])
    sixmwt = np.where(walks, np.round(np.maximum(six, 1.0), 1), np.nan)

    uems_true = state.strength[:, :, UPPER].sum(axis=(1, 2))
    self_care = 20.0 * np.clip((uems_true - 10.0) / 35.0, 0.0, 1.0) ** 0.8
    respiration = np.where(state.nli_index >= SEGMENTS.index("C5"), 10.0, 4.0)
    sphincter = 30.0 * np.clip(0.5 * state.sacral_motor / 5.0 + 0.5 * state.sacral_sensory / 2.0,
                               0.0, 1.0)  # fmt: skip
    mobility = 20.0 * np.clip(uems_true / 50.0, 0.0, 1.0) + 20.0 * ability
    scim = np.clip(np.rint(self_care + respiration + sphincter + mobility + 2.0 * z[:, 26]), 0, 100)
    # noise fades at the ceiling: an unimpaired hand scores full marks (assumption)
    near_top = np.clip((100.0 - 2.0 * uems_true) / 4.0, 0.0, 1.0)
    grassp_strength = np.clip(np.rint(2.0 * uems_true + 2.0 * near_top * z[:, 27]), 0, 100)
    hand = state.strength[:, :, _HAND].mean(axis=2)  # (n, 2)
    prehension_side = 30.0 * np.clip((hand - 0.5) / 4.0, 0.0, 1.0)
    prehension = prehension_side.sum(axis=1)
    near_top = np.clip((60.0 - prehension) / 3.0, 0.0, 1.0)
    grassp_prehension = np.clip(np.rint(prehension + 1.5 * near_top * z[:, 28]), 0, 60)
    return {
        "ais": ais,
        "uems": uems.astype(float),
        "lems": lems.astype(float),
        "tenmwt_m_s": tenmwt,
        "sixmwt_m": sixmwt,
        "wisci": wisci,
        "scim": scim,
        "grassp_strength": grassp_strength,
        "grassp_prehension": grassp_prehension,
    }
