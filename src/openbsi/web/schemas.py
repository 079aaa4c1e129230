"""Request bodies: every field bounded, so bad input is a 422 naming the field, never a 500."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query
from pydantic import BaseModel, ConfigDict, Field

RecordId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # a database id in a URL
QueryId = Annotated[int, Query(ge=1, le=2**31 - 1)]
Name = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class PatientIn(Strict):
    pseudonym: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
    kind: Literal["virtual", "human"]
    injury_level: str = Field(pattern=r"^(C[1-8]|T([1-9]|1[0-2])|L[1-5]|S[1-5])$")
    ais: Literal["A", "B", "C", "D", "E"]
    profile: str = Field(default="", max_length=64)


class DeviceIn(Strict):
    name: str = Name
    kind: Literal["paddle", "nodes", "transcutaneous"]
    profile: str = Field(default="", max_length=64)
    charge_warning_uc_cm2: float = Field(default=30.0, gt=0, le=30.0)


class ProgramIn(Strict):
    name: str = Name
    device_id: int = Field(ge=1, le=2**31 - 1)
    yaml_text: str = Field(min_length=1, max_length=200_000)


class CheckIn(Strict):
    device_id: int = Field(ge=1, le=2**31 - 1)
    yaml_text: str = Field(min_length=1, max_length=200_000)


class VersionIn(Strict):
    yaml_text: str = Field(min_length=1, max_length=200_000)


class ValidateIn(Strict):
    charge_reason: str | None = Field(default=None, max_length=2000)


class SignIn(Strict):
    printed_name: str = Field(min_length=1, max_length=128)
    meaning: Literal["approval", "review", "responsibility", "authorship"]
    password: str = Field(min_length=1, max_length=256)


class SessionIn(Strict):
    patient_id: int = Field(ge=1, le=2**31 - 1)
    program_id: int = Field(ge=1, le=2**31 - 1)
    version: int = Field(ge=1, le=2**31 - 1)
    source: str = Field(default="virtual", pattern=r"^(virtual|lsl:[A-Za-z0-9_.-]{1,64})$")
    seconds: float = Field(ge=5, le=4 * 3600)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    # the metadata a lab must enter before recording (NWB / BIDS)
    subject_sex: Literal["M", "F", "U", "O"]
    subject_age_years: int = Field(ge=0, le=120)
    experimenter: str = Field(min_length=1, max_length=128)
    institution: str = Field(min_length=1, max_length=128)


class AnnotationIn(Strict):
    t_s: float = Field(ge=0, le=24 * 3600)
    text: str = Field(min_length=1, max_length=1000)


class EstopIn(Strict):
    reason: str = Field(default="all stimulation off", max_length=500)
