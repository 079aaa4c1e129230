"""Patient and plan files (strict YAML through openbsi.inputs, every field bounded).

patient.yaml: patient_id, nli, ais, age_years, days_since_injury, [sex, era, uems, lems].
plan.yaml: interventions: a list of {therapy, start_day, [end_day], [dose: {...}],
[lot_potency: FILE]}; `lot_potency` (relative to the plan's folder) is read with
read_lot_potency and becomes the progenitor dose's `potency`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openbsi.inputs import InputError, load_yaml, mapping, number, sequence, string
from openbsi.recovery.plans import (
    MAX_COURSE_DAYS,
    MAX_INTERVENTIONS,
    validate_patient,
    validate_plan,
)
from openbsi.recovery.potency import read_lot_potency
from openbsi.recovery.therapies.registry import get_therapy, therapy_names
from openbsi.recovery.types import AIS_GRADES, SEGMENTS, Intervention, PatientSpec, Plan

MAX_FILE_BYTES = 100_000
_PATIENT_FIELDS = ("patient_id", "nli", "ais", "age_years", "days_since_injury", "sex", "era",
                   "uems", "lems")  # fmt: skip
_PATIENT_REQUIRED = ("patient_id", "nli", "ais", "age_years", "days_since_injury")
_INTERVENTION_FIELDS = ("therapy", "start_day", "end_day", "dose", "lot_potency")


def parse_patient(data: Any, *, source: str) -> PatientSpec:
    d = mapping(data, source=source, field="", allowed=_PATIENT_FIELDS, required=_PATIENT_REQUIRED)
    pid = d["patient_id"]
    if isinstance(pid, int) and not isinstance(pid, bool):
        pid = str(pid)
    spec = PatientSpec(
        patient_id=string(pid, source=source, field="patient_id", max_len=128),
        nli=string(d["nli"], source=source, field="nli", choices=SEGMENTS),
        ais=string(d["ais"], source=source, field="ais", choices=AIS_GRADES),
        age_years=float(number(d["age_years"], source=source, field="age_years", low=0, high=120)),
        days_since_injury=float(number(d["days_since_injury"], source=source,
                                       field="days_since_injury", low=0, high=36500)),
        sex=string(d.get("sex", "unknown"), source=source, field="sex",
                   choices=("female", "male", "unknown")),
        era=int(number(d.get("era", 2010), source=source, field="era", low=1950, high=2100,
                       integer=True)),
        uems=None if d.get("uems") is None else float(number(d["uems"], source=source,
                                                             field="uems", low=0, high=50)),
        lems=None if d.get("lems") is None else float(number(d["lems"], source=source,
                                                             field="lems", low=0, high=50)),
    )  # fmt: skip
    validate_patient(spec, source=source)
    return spec


def parse_plan(data: Any, *, source: str, base_dir: Path | None = None) -> Plan:
    d = mapping(data, source=source, field="", allowed=("interventions",), required=())
    items = sequence(d.get("interventions", []), source=source, field="interventions",
                     max_len=MAX_INTERVENTIONS)  # fmt: skip
    out = []
    for k, item in enumerate(items):
        where = f"interventions[{k}]"
        iv = mapping(item, source=source, field=where, allowed=_INTERVENTION_FIELDS,
                     required=("therapy", "start_day"))  # fmt: skip
        name = string(iv["therapy"], source=source, field=f"{where}.therapy",
                      choices=therapy_names())  # fmt: skip
        cls = get_therapy(name, source=source)
        start = float(number(iv["start_day"], source=source, field=f"{where}.start_day", low=0,
                             high=MAX_COURSE_DAYS))  # fmt: skip
        end = iv.get("end_day")
        if end is not None:
            end = float(number(end, source=source, field=f"{where}.end_day", low=start,
                               high=MAX_COURSE_DAYS))  # fmt: skip
        raw_dose = mapping(iv.get("dose", {}), source=source, field=f"{where}.dose",
                           allowed=cls.dose_fields)  # fmt: skip
        dose = {}
        for key, value in raw_dose.items():
            f = cls.dose_fields[key]
            dose[key] = float(number(value, source=source, field=f"{where}.dose.{key}",
                                     low=f.low, high=f.high))  # fmt: skip
        if "lot_potency" in iv:
            if "potency" not in cls.dose_fields:
                raise InputError(source, f"{where}.lot_potency", "this therapy takes no graft lot",
                                 value=name)  # fmt: skip
            if "potency" in dose:
                raise InputError(source, f"{where}.lot_potency", "give potency or lot_potency")
            rel = string(iv["lot_potency"], source=source, field=f"{where}.lot_potency",
                         max_len=1024)  # fmt: skip
            path = (base_dir or Path(".")) / rel
            dose["potency"] = read_lot_potency(path).potency
        out.append(Intervention(name, start, end, dose))
    plan = Plan(tuple(out))
    validate_plan(plan, source=source)
    return plan


def load_patient(path: str | Path) -> PatientSpec:
    source = str(path)
    return parse_patient(load_yaml(path, source=source, max_bytes=MAX_FILE_BYTES), source=source)


def load_plan(path: str | Path) -> Plan:
    source = str(path)
    data = load_yaml(path, source=source, max_bytes=MAX_FILE_BYTES)
    return parse_plan(data, source=source, base_dir=Path(path).parent)
