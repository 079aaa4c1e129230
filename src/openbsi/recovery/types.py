"""The values that cross the recovery API: patient at enrolment, plan, parameters, course."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from openbsi.patient.lesion import AIS_GRADES, SEGMENTS

__all__ = [
    "AIS_GRADES",
    "EVIDENCE_GRADES",
    "KEY_MUSCLE_SEGMENTS",
    "LOWER_KEY_MUSCLES",
    "MEASURES",
    "SEGMENTS",
    "UPPER_KEY_MUSCLES",
    "CohortCourse",
    "Intervention",
    "ParameterInfo",
    "PatientSpec",
    "Plan",
]

# ISNCSCI key muscles, C5-T1 (upper extremity) and L2-S1 (lower extremity), 0-5 each side.
UPPER_KEY_MUSCLES: tuple[str, ...] = ("C5", "C6", "C7", "C8", "T1")
LOWER_KEY_MUSCLES: tuple[str, ...] = ("L2", "L3", "L4", "L5", "S1")
KEY_MUSCLE_SEGMENTS: tuple[str, ...] = UPPER_KEY_MUSCLES + LOWER_KEY_MUSCLES

MEASURES: tuple[str, ...] = (
    "ais",
    "uems",
    "lems",
    "tenmwt_m_s",
    "sixmwt_m",
    "wisci",
    "scim",
    "grassp_strength",
    "grassp_prehension",
)

EVIDENCE_GRADES: tuple[str, ...] = (
    "human_rct",
    "human_cohort",
    "case_series",
    "animal",
    "assumption",
)


@dataclass(frozen=True)
class PatientSpec:
    """The patient at enrolment (a pure value)."""

    patient_id: str
    nli: str  # neurological level of injury, "C1".."S5"
    ais: str  # "A".."E" at baseline
    age_years: float
    days_since_injury: float  # at day 0 of the course
    sex: str = "unknown"  # "female" | "male" | "unknown"
    era: int = 2010  # calendar era covariate for conversion
    # optional baseline scores; None = sampled from the state model given nli/ais
    uems: float | None = None
    lems: float | None = None

    @property
    def tetraplegia(self) -> bool:
        """Cervical injury (C1-C8) by ISNCSCI convention; T1 and below is paraplegia."""
        return self.nli.startswith("C")


@dataclass(frozen=True)
class Intervention:
    """One intervention in a plan: a registered therapy with its timing and dose."""

    therapy: str  # registered name, see therapy_names()
    start_day: float  # course day (0 = enrolment)
    end_day: float | None = None  # None = single event (surgery, injection) or to the end
    dose: Mapping[str, float] = field(default_factory=dict)  # therapy's dose fields, units in names


@dataclass(frozen=True)
class Plan:
    interventions: tuple[Intervention, ...] = ()


@dataclass(frozen=True)
class ParameterInfo:
    """A model or therapy parameter with its plausible range, evidence grade and source."""

    name: str
    value: float
    unit: str
    low: float  # plausible range for sensitivity analyses
    high: float
    grade: str  # one of EVIDENCE_GRADES
    source: str  # citation or "assumption: <why>"


@dataclass(frozen=True)
class CohortCourse:
    """Every patient's assessments at the visits, the safety events and the assumption share."""

    visit_days: np.ndarray  # (n_visits,)
    scores: dict[str, np.ndarray]  # measure -> (n_patients, n_visits) float (nan = not measurable)
    ais: np.ndarray  # (n_patients, n_visits) dtype "<U1"
    events: list[dict]  # {"patient": index, "day", "kind", "severity", "therapy"}
    assumption_share: float  # 0..1: share of the simulated gain resting on assumption-graded params
