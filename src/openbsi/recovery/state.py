"""The neurological state of a cohort, one row per patient, and its sampling at enrolment.

Every array has the patient on axis 0, so a day's step is one set of numpy operations for the
whole cohort. Patient i's random numbers come only from its own Generator (drawn up front in a
fixed layout), so its course does not depend on the rest of the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from openbsi.recovery.model import ModelParams, a_conversion_probability, recovery_clock
from openbsi.recovery.types import KEY_MUSCLE_SEGMENTS, SEGMENTS, PatientSpec

N_INIT_NORMALS = 40
N_INIT_UNIFORMS = 64
KEY_INDEX = np.array([SEGMENTS.index(s) for s in KEY_MUSCLE_SEGMENTS])  # (10,)
UPPER = np.arange(10) < 5
LOWER = ~UPPER
ZPP_SEGMENTS = 3  # ISNCSCI: motor function "more than three levels below" decides B vs C


@dataclass
class CohortState:
    """Mutable state of n patients (arrays of shape (n,) unless noted)."""

    nli_index: np.ndarray  # int, index into SEGMENTS
    tetraplegia: np.ndarray  # bool
    age_years: np.ndarray
    days_since_injury: np.ndarray
    strength: np.ndarray  # (n, 2, 10) true key-muscle grade 0..5 (left, right)
    below: np.ndarray  # (n, 10) bool: key muscle caudal to the NLI
    zpp: np.ndarray  # (n, 10) bool: 1..3 segments below the NLI (root / partial preservation)
    at_level: np.ndarray  # (n, 10) bool: key muscle at the NLI (>= 3 by definition)
    spared_drive: np.ndarray  # (n, 2) spared descending drive per side, 0..1
    sensory_drive: np.ndarray  # spared sensory conduction, 0..1
    sacral_motor: np.ndarray  # voluntary anal contraction as a latent grade 0..5
    sacral_sensory: np.ndarray  # S4-5 light touch / pin prick as a latent score 0..2
    sensory_fraction: np.ndarray  # total ISNCSCI sensory score / maximum, 0..1
    inflammation: np.ndarray  # 0..1 (1 = acute peak)
    scar: np.ndarray  # 0..1 (1 = mature glial scar)
    cavity: np.ndarray  # 0..1 (cyst size relative to the lesion)
    relay: np.ndarray  # 0..1: relay capacity across the lesion from a graft or scaffold
    repair_switch: np.ndarray  # 0..1: bistable self-sustaining repair ("ignition")
    plasticity: np.ndarray  # cumulative activity-dependent plasticity (hazard units)
    muscle_condition: np.ndarray  # 0..1 (1 = no disuse atrophy)
    fitness: np.ndarray  # 0..1 (cardiorespiratory fitness relative to healthy)
    spasticity: np.ndarray  # 0..1
    # per-patient susceptibilities drawn at enrolment (used by therapies)
    responsiveness: np.ndarray  # log-normal multiplier of activity-dependent gains
    ignition_sensitivity: np.ndarray  # log-normal multiplier of the ignition pulse
    take: np.ndarray  # uniform 0..1: graft / scaffold integration draw
    late_sparing_day: np.ndarray  # course day of late sacral sparing (AIS A only; inf = never)

    @property
    def n(self) -> int:
        return len(self.nli_index)

    def drive_presence(self) -> np.ndarray:
        """(n, 2): 0..1, how much spared drive an activity-dependent therapy can work on.

        AIS B/C regained function with stimulation off, AIS A did not (Angeli 2018, Wagner 2018;
        facts.md): without spared drive training and stimulation leave no lasting gain.
        """
        return np.clip(self.spared_drive / 0.3, 0.0, 1.0)


def _grade_drive(
    ais: np.ndarray, tetra: np.ndarray, era: np.ndarray, dsi: np.ndarray, z: np.ndarray,
    u: np.ndarray, p: ModelParams,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Spared motor drive (n, 2), sensory drive (n,), and whether an A patient converts."""
    n = ais.shape[0]
    median = np.zeros(n)
    median[ais == "D"] = p.drive_median_d
    median[ais == "C"] = p.drive_median_c
    b_resp = (ais == "B") & (u[:, 2] < p.b_responder_fraction)
    median[b_resp] = p.drive_median_b
    median[ais == "E"] = 1.0
    # AIS A: hidden sparing in a share set by level and era; some of them only sensory.
    converter = (ais == "A") & (u[:, 0] < a_conversion_probability(tetra, era, p, dsi))
    motor_converter = converter & (u[:, 1] < p.a_converter_motor_fraction)
    median[motor_converter] = p.a_converter_drive_median
    base = median * np.exp(p.drive_log_sd * z[:, 23])
    drive = base[:, None] * np.exp(p.side_log_sd * z[:, 21:23])
    drive = np.clip(drive, 0.0, 1.0)
    sensory = np.where(ais == "A", 0.0, np.clip(base + 0.2, 0.0, 1.0))
    sensory = np.where(converter, 0.35 + 0.4 * u[:, 27], sensory)
    return drive, sensory, converter


def _baseline_strength(
    ais: np.ndarray, below: np.ndarray, zpp: np.ndarray, at_level: np.ndarray,
    z: np.ndarray, u: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """(n, 2, 10) true grades consistent with the AIS grade at enrolment."""
    n = ais.shape[0]
    level = np.zeros(n)
    level[ais == "C"] = 0.3 + 1.9 * u[ais == "C", 3]
    level[ais == "D"] = 3.0 + 1.5 * u[ais == "D", 3]
    level[ais == "E"] = 5.0
    noise = z[:, :20].reshape(n, 2, 10) * 0.7
    strength = np.clip(level[:, None, None] + noise, 0.0, 5.0)
    # A and B: no motor function below the zone of partial preservation.
    complete = np.isin(ais, ("A", "B"))
    zpp_grade = 2.0 * u[:, 4:24].reshape(n, 2, 10)
    strength = np.where(complete[:, None, None], 0.0, strength)
    strength = np.where(complete[:, None, None] & zpp[:, None, :], zpp_grade, strength)
    # C: fewer than half of the key muscles below the level at >= 3 (cap the strongest).
    # D: at least half at >= 3 (raise the weakest).
    for grade in ("C", "D"):
        rows = np.flatnonzero(ais == grade)
        for i in rows:  # only at enrolment; a few hundred microseconds per thousand patients
            cols = np.flatnonzero(below[i])
            if cols.size == 0:
                continue
            vals = strength[i][:, cols].ravel()
            need = int(np.ceil(vals.size / 2))
            order = np.argsort(vals)
            if grade == "C" and np.sum(vals >= 2.5) >= need:
                vals[order[-need:]] = np.minimum(vals[order[-need:]], 2.4)
            if grade == "D" and np.sum(vals >= 2.5) < need:
                vals[order[-need:]] = np.maximum(vals[order[-need:]], 2.6)
            strength[i][:, cols] = vals.reshape(2, cols.size)
    at_grade = 3.0 + 2.0 * u[:, 40:60].reshape(n, 2, 10)
    strength = np.where(at_level[:, None, :], np.maximum(strength, at_grade), strength)
    above = ~(below | at_level)
    return np.where(above[:, None, :], 5.0, strength)


def _match_total(
    strength: np.ndarray, region: np.ndarray, mask: np.ndarray, total: np.ndarray
) -> np.ndarray:
    """Shift the adjustable grades (mask (n, 10)) so the region sums to `total` (both sides)."""
    out = strength.copy()
    for i in np.flatnonzero(np.isfinite(total)):
        cols = np.flatnonzero(mask[i] & region)
        if cols.size == 0:
            continue
        fixed = out[i][:, region].sum() - out[i][:, cols].sum()
        vals = out[i][:, cols]
        target = float(total[i]) - fixed
        for _ in range(30):  # additive shift with clipping, a few passes converge
            gap = target - vals.sum()
            if abs(gap) < 1e-6:
                break
            vals = np.clip(vals + gap / vals.size, 0.0, 5.0)
        out[i][:, cols] = vals
    return out


def draw_initial(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One patient's enrolment draws, in a fixed layout."""
    return rng.standard_normal(N_INIT_NORMALS), rng.random(N_INIT_UNIFORMS)


def initial_state(
    patients: Sequence[PatientSpec], z: np.ndarray, u: np.ndarray, p: ModelParams
) -> CohortState:
    """The cohort's state at enrolment from the specs and each patient's own draws."""
    n = len(patients)
    nli = np.array([SEGMENTS.index(s.nli) for s in patients])
    ais = np.array([s.ais for s in patients])
    tetra = np.array([s.tetraplegia for s in patients])
    era = np.array([s.era for s in patients])
    dsi = np.array([s.days_since_injury for s in patients], dtype=float)
    dist = KEY_INDEX[None, :] - nli[:, None]
    below = dist > 0
    zpp = (dist > 0) & (dist <= ZPP_SEGMENTS)
    at_level = dist == 0
    drive, sensory_drive, _ = _grade_drive(ais, tetra, era, dsi, z, u, p)
    strength = _baseline_strength(ais, below, zpp, at_level, z, u)
    uems = np.array([np.nan if s.uems is None else s.uems for s in patients], dtype=float)
    lems = np.array([np.nan if s.lems is None else s.lems for s in patients], dtype=float)
    adjustable = below | at_level
    strength = _match_total(strength, UPPER, adjustable, uems)
    strength = _match_total(strength, LOWER, adjustable, lems)
    incomplete = ais != "A"
    sacral_sensory = np.where(incomplete, 1.0 + u[:, 24], 0.0)
    motor_incomplete = np.isin(ais, ("C", "D", "E"))
    sacral_motor = np.where(motor_incomplete, 1.0 + 3.0 * u[:, 25], 0.0)
    below_sens = {"A": 0.02, "B": 0.35, "C": 0.45, "D": 0.65, "E": 1.0}
    frac_below = np.array([below_sens[a] for a in ais]) * (0.7 + 0.6 * u[:, 26])
    above_share = (nli + 1) / len(SEGMENTS)
    sensory_fraction = np.clip(above_share + (1 - above_share) * frac_below, 0.0, 1.0)
    if np.any(ais == "E"):
        sensory_fraction[ais == "E"] = 1.0
    clock = recovery_clock(dsi, p)
    acute = np.clip(1.0 - clock * 3.0, 0.0, 1.0)
    return CohortState(
        nli_index=nli,
        tetraplegia=tetra,
        age_years=np.array([s.age_years for s in patients], dtype=float),
        days_since_injury=dsi,
        strength=strength,
        below=below,
        zpp=zpp,
        at_level=at_level,
        spared_drive=drive,
        sensory_drive=sensory_drive,
        sacral_motor=sacral_motor,
        sacral_sensory=sacral_sensory,
        sensory_fraction=sensory_fraction,
        inflammation=inflammation_curve(dsi),
        scar=scar_curve(dsi),
        cavity=0.5 * scar_curve(dsi),
        relay=np.zeros(n),
        repair_switch=np.zeros(n),
        plasticity=np.zeros(n),
        muscle_condition=np.clip(0.5 + 0.3 * acute + 0.1 * z[:, 25], 0.2, 1.0),
        fitness=np.clip(0.5 + 0.1 * z[:, 26], 0.2, 1.0),
        spasticity=np.clip(0.3 + 0.2 * u[:, 28] * motor_incomplete, 0.0, 1.0),
        responsiveness=np.exp(0.3 * z[:, 27]),
        ignition_sensitivity=np.exp(0.2 * z[:, 24]),
        take=u[:, 29],
        late_sparing_day=_late_sparing_day(ais, dsi, u[:, 30], p),
    )


def _late_sparing_day(ais: np.ndarray, dsi: np.ndarray, u: np.ndarray, p: ModelParams):
    """Rare late conversion: after the first year, sacral sparing appears at a constant rate."""
    if p.late_conversion_per_year <= 0:
        return np.full(ais.shape, np.inf)
    wait_days = -np.log(np.maximum(u, 1e-300)) / p.late_conversion_per_year * 365.25
    day = np.maximum(365.0 - dsi, 0.0) + wait_days
    return np.where(ais == "A", day, np.inf)


# Lesion environment after injury (time in days). Shapes are assumptions, labelled: acute
# inflammation peaking within the first week and resolving over weeks, a glial scar maturing
# over about two months ("too early worsens inflammation, too late meets a solidified scar",
# facts.md "Repair therapies").
INFLAMMATION_PEAK_DAYS = 4.0  # assumption
INFLAMMATION_DECAY_DAYS = 14.0  # assumption
SCAR_ONSET_DAYS = 7.0  # assumption
SCAR_TAU_DAYS = 25.0  # assumption


def inflammation_curve(days_since_injury: np.ndarray | float) -> np.ndarray:
    t = np.maximum(np.asarray(days_since_injury, dtype=float), 0.0)
    # half of the peak within hours (haemorrhage, neutrophils), the peak by day 4 (assumption)
    rise = 1.0 - 0.5 * np.exp(-t / (INFLAMMATION_PEAK_DAYS / 3.0))
    decay = np.exp(-np.maximum(t - INFLAMMATION_PEAK_DAYS, 0.0) / INFLAMMATION_DECAY_DAYS)
    return np.clip(rise * decay, 0.0, 1.0)


def scar_curve(days_since_injury: np.ndarray | float) -> np.ndarray:
    t = np.maximum(np.asarray(days_since_injury, dtype=float) - SCAR_ONSET_DAYS, 0.0)
    return -np.expm1(-t / SCAR_TAU_DAYS)
