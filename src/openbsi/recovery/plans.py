"""Checking plans and patient specs (values from Python or from YAML) with named fields."""

from __future__ import annotations

import math

from openbsi.inputs import InputError
from openbsi.recovery.therapies.registry import get_therapy
from openbsi.recovery.types import AIS_GRADES, SEGMENTS, PatientSpec, Plan

MAX_COURSE_DAYS = 3650  # ten years
MAX_INTERVENTIONS = 32


def _num(value: object, source: str, field: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(source, field, "must be a finite number", limit=f"[{low}, {high}]",
                         value=value)  # fmt: skip
    if not low <= value <= high:
        raise InputError(source, field, "out of range", limit=f"[{low}, {high}]", value=value)
    return float(value)


def validate_plan(plan: Plan, *, source: str) -> None:
    """Raise an InputError naming the field of the first problem in the plan."""
    if not isinstance(plan, Plan):
        raise InputError(source, "plan", "must be a Plan", value=type(plan).__name__)
    if len(plan.interventions) > MAX_INTERVENTIONS:
        raise InputError(source, "interventions", "too many", limit=MAX_INTERVENTIONS,
                         value=len(plan.interventions))  # fmt: skip
    for k, iv in enumerate(plan.interventions):
        where = f"interventions[{k}]"
        cls = get_therapy(iv.therapy, source=source)
        start = _num(iv.start_day, source, f"{where}.start_day", 0.0, MAX_COURSE_DAYS)
        if iv.end_day is not None:
            _num(iv.end_day, source, f"{where}.end_day", start, MAX_COURSE_DAYS)
        for key, value in iv.dose.items():
            if key not in cls.dose_fields:
                raise InputError(source, f"{where}.dose.{key}", "unknown dose field",
                                 limit=f"one of {sorted(cls.dose_fields)}")  # fmt: skip
            f = cls.dose_fields[key]
            _num(value, source, f"{where}.dose.{key}", f.low, f.high)


def validate_patient(spec: PatientSpec, *, source: str) -> None:
    """Raise an InputError naming the field of the first problem in a patient spec."""
    if not isinstance(spec.patient_id, str) or not 0 < len(spec.patient_id) <= 128:
        raise InputError(source, "patient_id", "must be a string of 1-128 characters",
                         value=spec.patient_id)  # fmt: skip
    if spec.nli not in SEGMENTS:
        raise InputError(source, "nli", "unknown level", limit="C1..S5", value=spec.nli)
    if spec.ais not in AIS_GRADES:
        raise InputError(source, "ais", "unknown grade", limit="A..E", value=spec.ais)
    _num(spec.age_years, source, "age_years", 0.0, 120.0)
    _num(spec.days_since_injury, source, "days_since_injury", 0.0, 36500.0)
    if spec.sex not in ("female", "male", "unknown"):
        raise InputError(source, "sex", "unknown value", limit="female | male | unknown",
                         value=spec.sex)  # fmt: skip
    if isinstance(spec.era, bool) or not isinstance(spec.era, int):
        raise InputError(source, "era", "must be an integer year", value=spec.era)
    _num(spec.era, source, "era", 1950, 2100)
    for name in ("uems", "lems"):
        value = getattr(spec, name)
        if value is not None:
            _num(value, source, name, 0.0, 50.0)
