"""Who and where a recording is of: subject and study metadata, from options or a YAML file.

The file (through openbsi.inputs: strict YAML, bounded fields):

    subject: {subject_id: P01, sex: F, age: P38Y, species: Homo sapiens}
    study: {experimenter: [Doe, Jane], institution: ..., lab: ...}

`sex` is one of NWB's M, F, O, U; `age` an ISO 8601 duration (P38Y, P38Y6M, or a range
P30Y/P40Y, P18Y/ for "18 or older"); `date_of_birth` an ISO 8601 date. Options given on the
command line override the file's fields.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from typing import Any

from openbsi.inputs import InputError, load_yaml, mapping, sequence, string
from openbsi.store.sealed import STUDY_KEYS, SUBJECT_KEYS

SEXES = ("M", "F", "O", "U")
_DURATION = r"P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"
AGE_PATTERN = re.compile(rf"(?:{_DURATION})(?:/(?:{_DURATION})?)?|/{_DURATION}")
MAX_METADATA_BYTES = 64_000


def check_subject(subject: dict[str, Any], source: str) -> dict[str, str]:
    """Checked subject fields (None values left out)."""
    out: dict[str, str] = {}
    for key, value in subject.items():
        if value is None:
            continue
        field = f"subject.{key}"
        text = string(value, source=source, field=field, max_len=256)
        if key == "sex":
            string(text, source=source, field=field, choices=SEXES)
        elif key == "age" and not AGE_PATTERN.fullmatch(text):
            raise InputError(
                source, field, "must be an ISO 8601 duration", limit="e.g. P38Y", value=text
            )
        elif key == "date_of_birth":
            try:
                dt.datetime.fromisoformat(text)
            except ValueError:
                raise InputError(
                    source, field, "must be an ISO 8601 date", limit="YYYY-MM-DD", value=text
                ) from None
        out[key] = text
    return out


def check_study(study: dict[str, Any], source: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in study.items():
        if value is None:
            continue
        field = f"study.{key}"
        if key == "experimenter":
            names = [value] if isinstance(value, str) else value
            sequence(names, source=source, field=field, max_len=32)
            out[key] = [string(n, source=source, field=field, max_len=256) for n in names]
        else:
            out[key] = string(value, source=source, field=field, max_len=4000)
    return out


def load_metadata(path: str | os.PathLike[str]) -> tuple[dict[str, str], dict[str, Any]]:
    """(subject, study) from a metadata YAML file; an InputError naming the field otherwise."""
    source = str(path)
    data = load_yaml(path, source=source, max_bytes=MAX_METADATA_BYTES)
    mapping(data, source=source, field="", allowed=("subject", "study"))
    subject = mapping(
        data.get("subject") or {}, source=source, field="subject", allowed=SUBJECT_KEYS
    )
    study = mapping(data.get("study") or {}, source=source, field="study", allowed=STUDY_KEYS)
    return check_subject(subject, source), check_study(study, source)


def session_metadata(
    path: str | os.PathLike[str] | None, subject: dict[str, Any], study: dict[str, Any]
) -> tuple[dict[str, str], dict[str, Any]]:
    """The file's metadata (if any) with the options' non-None fields on top, all checked."""
    file_subject, file_study = load_metadata(path) if path is not None else ({}, {})
    merged_subject = file_subject | check_subject(subject, "options")
    merged_study = file_study | check_study(study, "options")
    return merged_subject, merged_study
