"""Named virtual patients: a lesion plus cortex, spinal and body parameters."""

from __future__ import annotations

from dataclasses import dataclass, field

from openbsi.patient.lesion import Lesion


@dataclass(frozen=True)
class CortexParams:
    """Parameters of the virtual cortex (sources in openbsi.patient.cortex)."""

    knee_hz: float = 70.0  # Miller et al. 2009: knee near 70 Hz
    background_uv: float = 25.0  # RMS of the aperiodic background per channel (typical ECoG)
    beta_uv: float = 20.0  # RMS of the 13-30 Hz rhythm at rest
    hg_gain: float = 1.4  # peak amplitude gain of broadband power on a tuned channel at effort 1
    beta_drop: float = 0.6  # contralateral fractional drop of beta amplitude at effort 1
    ipsi_fraction: float = 0.25  # ipsilateral share of the tuned response (weaker)
    line_hz: float = 50.0
    line_uv: float = 4.0
    noise_uv: float = 0.3  # amplifier (white) noise RMS
    reaction_time_s: tuple[float, float] = (0.2, 0.4)  # cortex follows the cue after 0.2-0.4 s
    ramp_tau_s: float = 0.15  # rise/fall time constant of the modulation
    block_jitter: float = 0.2  # trial-to-trial variability of amplitude and tuning (log-sd)
    slow_fluctuation: float = 0.1  # non-task broadband fluctuations (log-sd, ~2 s time scale)
    # Day-to-day drift: mean-reverting random walks (unconfirmed magnitudes, chosen so that a
    # static decoder degrades over days to weeks, the problem adaptive decoders address):
    drift_tau_days: float = 30.0  # time constant of the walks
    tuning_drift_sd: float = 0.3  # log-gain of each contact's tuning to each movement
    hotspot_drift_sd_mm: float = 2.5  # somatotopic hotspot position (mm)
    impedance_drift_sd: float = 0.2  # log-gain of each contact's recorded signal
    n_bad_channels: int = 0
    # Far-field EES artifact at the cortex per mA (at 300 us), before the channel's gain;
    # epidural spinal stimulation is seen on the ECoG as spikes at the stimulation rate
    # (magnitude unconfirmed). At 10 uV/mA the demo's closed-loop accuracy fell from 0.85 to
    # 0.49 (a decoder calibrated without stimulation); raise it to test artifact handling.
    stim_artifact_uv_per_ma: float = 1.0


@dataclass(frozen=True)
class SpinalParams:
    """Scaling of the spinal model (per patient: lead-to-cord distance, excitability)."""

    threshold_scale: float = 1.0  # multiplies all recruitment thresholds (CSF thickness)
    reflex_gain: float = 1.0  # gain of afferent volleys onto motor pools


@dataclass(frozen=True)
class BodyParams:
    # Fraction of body weight carried by the harness. 30-50 % is the usual range of
    # body-weight-supported EES gait training (unconfirmed; the walking-BSI participant used
    # body-weight support and a walker, Lorach 2023).
    body_weight_support: float = 0.4
    belt_speed_m_s: float = 0.3  # treadmill belt speed (0 = overground-like)
    mass_kg: float = 75.0
    height_m: float = 1.78
    # Peak muscle force relative to a healthy adult (disuse atrophy of chronically paralysed
    # muscles; unconfirmed modelling default: roughly half, more kept after an AIS D lesion).
    muscle_strength: float = 0.5


@dataclass(frozen=True)
class PatientProfile:
    name: str
    description: str
    lesion: Lesion
    cortex: CortexParams = field(default_factory=CortexParams)
    spinal: SpinalParams = field(default_factory=SpinalParams)
    body: BodyParams = field(default_factory=BodyParams)
    anatomy_seed: int = 0  # fixes this patient's anatomy (tuning map); sessions pass their own rng


PROFILES: dict[str, PatientProfile] = {
    p.name: p
    for p in (
        PatientProfile(
            name="bsi-walker",
            description=(
                "Chronic incomplete SCI (AIS C, T8), like the walking-BSI participant "
                "(Lorach 2023); default."
            ),
            lesion=Lesion(level="T8", ais="C", chronic_years=10.0),
            anatomy_seed=2023,
        ),
        PatientProfile(
            name="complete-thoracic",
            description="Complete thoracic SCI (T10, AIS A): no voluntary drive to the legs.",
            lesion=Lesion(level="T10", ais="A", chronic_years=4.0),
            body=BodyParams(body_weight_support=0.6),
            anatomy_seed=101,
        ),
        PatientProfile(
            name="cervical-incomplete",
            description="Cervical incomplete SCI (C5, AIS D), the upper-limb path's population.",
            lesion=Lesion(level="C5", ais="D", chronic_years=2.0),
            body=BodyParams(body_weight_support=0.3, muscle_strength=0.7),
            anatomy_seed=55,
        ),
        PatientProfile(
            name="cervical-motor-complete",
            description="Cervical sensory-incomplete SCI (C6, AIS B): no motor drive below C6.",
            lesion=Lesion(level="C6", ais="B", chronic_years=3.0),
            body=BodyParams(body_weight_support=0.6),
            anatomy_seed=66,
        ),
    )
}
DEFAULT_PROFILE = "bsi-walker"


def get_profile(name: str) -> PatientProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {name!r}") from None
