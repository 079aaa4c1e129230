"""Natural-history parameters of the longitudinal patient (calibrated to facts.md).

The recovery clock: a muscle below the lesion moves toward grade 5 with a hazard
`lambda * dH(t)`, where H(t) = (1 - w)(1 - exp(-t / tau_fast)) + w (1 - exp(-t / tau_slow)) is
the share of spontaneous recovery elapsed by day t after injury; the remaining deficit is
multiplied by exp(-lambda * dH) each day. This makes the gain proportional to what is still
available (proportional recovery, Nat Commun 2023, doi:10.1038/s41467-023-36390-7) and puts
most of it in the first 3-9 months with a plateau by 12-18 months.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from openbsi.recovery.parameters import param

_PR = "Nat Commun 2023 (EMSCI n=748), doi:10.1038/s41467-023-36390-7"
_K21 = "Kirshblum 2021 review, J Neurotrauma, doi:10.1089/neu.2020.7473"


@dataclass(frozen=True)
class ModelParams:
    # --- time course ---------------------------------------------------------------------
    tau_fast_days: float = param(
        70.0, "days", 45.0, 110.0, "assumption",
        "assumption: no published time constant; chosen so most recovery falls in months 0-9 "
        "and the fastest in the first 3 (Kirshblum 2021); to be fitted to EMSCI visits",
    )  # fmt: skip
    slow_weight: float = param(
        0.1, "fraction", 0.0, 0.3, "assumption",
        "assumption: a slow share so that strength can recover for up to 2 years (Kirshblum 2021)",
    )  # fmt: skip
    tau_slow_days: float = param(
        300.0, "days", 150.0, 600.0, "assumption",
        "assumption: slow component lasting ~2 years (Kirshblum 2021)",
    )  # fmt: skip
    lambda_max: float = param(
        2.5, "1 (hazard per unit of recovery clock at full spared drive)", 1.5, 4.0, "assumption",
        "assumption: scale of the spared drive; with drive medians below it gives 0.59 of the "
        f"available motor score recovered weeks 4->48 in AIS D ({_PR})",
    )  # fmt: skip
    # --- spared drive by grade (median, log-sd) --------------------------------------------
    drive_median_d: float = param(
        0.52, "fraction", 0.3, 0.8, "human_cohort",
        f"calibrated: AIS D recovers 0.59 of available weeks 4->48 ({_PR})",
    )  # fmt: skip
    drive_median_c: float = param(
        0.3, "fraction", 0.2, 0.7, "human_cohort",
        "calibrated: AIS C -> D at 1 year 66.7 % (Marino 1999), 84.8 % (Spiess 2009), 72.5 % "
        "(Kirshblum 2016)",
    )  # fmt: skip
    drive_median_b: float = param(
        0.3, "fraction", 0.1, 0.6, "human_cohort",
        "calibrated: tetraplegic AIS B at 1 year: 34 % motor complete, 30 % C, 37 % D (SCIMS "
        "n=1,436; Kirshblum 2021)",
    )  # fmt: skip
    b_responder_fraction: float = param(
        0.66, "fraction", 0.5, 0.8, "human_cohort",
        "SCIMS tetraplegia: 34 % of AIS B stay motor complete at 1 year (Kirshblum 2021)",
    )  # fmt: skip
    drive_log_sd: float = param(
        0.45, "log units", 0.2, 0.8, "assumption",
        "assumption: spread between patients, sized to LEMS +8.8 +/- 13.9 in cervical AIS B "
        "(Kirshblum 2021)",
    )  # fmt: skip
    side_log_sd: float = param(
        0.15, "log units", 0.0, 0.4, "assumption", "assumption: left-right asymmetry of drive",
    )  # fmt: skip
    # --- AIS A conversion -------------------------------------------------------------------
    a_convert_logit_2010: float = param(
        -1.25, "log-odds", -2.5, 0.0, "human_cohort",
        "AIS A -> incomplete at 1 year: 15.4 % (Marino 1999), 30.2 % (Spiess 2009), 26.1 % "
        "(van Middendorp 2009), 27.8 % (Kirshblum 2016); paraplegia, era 2010",
    )  # fmt: skip
    a_convert_tetra_log_odds: float = param(
        0.45, "log-odds", 0.0, 1.0, "human_cohort",
        "conversion is higher in tetraplegia than paraplegia (Kirshblum 2021); size assumed",
    )  # fmt: skip
    a_convert_era_log_odds_per_year: float = param(
        0.035, "log-odds / year", 0.0, 0.08, "human_cohort",
        "conversion rose over the decades: 15.4 % (SCIMS, 1990s; Marino 1999) to 27.8 % (SCIMS, "
        "2010s; Kirshblum 2016)",
    )  # fmt: skip
    a_converter_motor_fraction: float = param(
        0.6, "fraction", 0.4, 0.8, "human_cohort",
        "of A converters, share reaching C/D: 8.1/15.4 (Marino 1999), 17.1/27.8 (Kirshblum 2016)",
    )  # fmt: skip
    a_converter_drive_median: float = param(
        0.18, "fraction", 0.05, 0.4, "human_cohort",
        "calibrated: cervical AIS A LEMS +2.3 +/- 7.4 at 1 year (n=187; Kirshblum 2021)",
    )  # fmt: skip
    late_conversion_per_year: float = param(
        0.015, "1/year", 0.0, 0.05, "human_cohort",
        "calibrated: 94 % of injuries complete at 1 year are still complete at 5 years "
        "(Kirshblum 2021): 1 - 0.985^4 = 5.9 %; as late sacral sparing (A -> B)",
    )  # fmt: skip
    # --- zone of partial preservation, sensation -------------------------------------------
    root_recovery_lambda: float = param(
        0.75, "1", 0.3, 1.5, "human_cohort",
        "calibrated: UEMS rises 9-11 points in a year in tetraplegic AIS A (SCIMS; Kirshblum "
        "2021); +7.8 +/- 6.5 in cervical motor complete A",
    )  # fmt: skip
    sensory_lambda: float = param(
        1.2, "1", 0.3, 3.0, "assumption",
        "assumption: sensory recovery at about the pace of motor recovery",
    )  # fmt: skip
    # --- assessment noise ---------------------------------------------------------------------
    rater_sd_grade: float = param(
        0.25, "MRC grade", 0.0, 0.6, "assumption",
        "assumption: inter-rater noise of a key-muscle grade before rounding",
    )  # fmt: skip
    gait_noise_fraction: float = param(
        0.08, "fraction", 0.0, 0.3, "assumption",
        "assumption: test-retest noise of 10MWT / 6MWT (Nair 2012 MDC 21-80 % is for gait "
        "parameters, not speed)",
    )  # fmt: skip


def recovery_clock(days_since_injury: np.ndarray | float, p: ModelParams) -> np.ndarray:
    """H(t): the share of spontaneous recovery elapsed by day t after injury (0 at injury)."""
    t = np.maximum(np.asarray(days_since_injury, dtype=float), 0.0)
    w = p.slow_weight
    return (1.0 - w) * -np.expm1(-t / p.tau_fast_days) + w * -np.expm1(-t / p.tau_slow_days)


def a_conversion_probability(
    tetraplegia: np.ndarray,
    era: np.ndarray,
    p: ModelParams,
    days_since_injury: np.ndarray | float = 28.0,
) -> np.ndarray:
    """Probability that an AIS A patient has hidden sparing that converts (by level, era and
    time since injury: a patient still A later is less likely a converter, since converters
    convert along the recovery clock; calibrated at week 4)."""
    remaining = (1.0 - recovery_clock(days_since_injury, p)) / (1.0 - recovery_clock(28.0, p))
    logit = (
        p.a_convert_logit_2010
        + p.a_convert_tetra_log_odds * tetraplegia.astype(float)
        + p.a_convert_era_log_odds_per_year * (era.astype(float) - 2010.0)
    )
    return np.minimum(remaining / (1.0 + np.exp(-logit)), 0.6)
