"""Subject and study options shared by `session`, `demo` and `patient simulate` (NWB metadata)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

MetadataFile = Annotated[
    Path | None,
    typer.Option("--metadata", help="YAML with subject: and study: (docs/recording.md)."),
]
SubjectId = Annotated[str | None, typer.Option("--subject-id", help="Subject identifier.")]
Sex = Annotated[str | None, typer.Option("--sex", help="M, F, O or U (NWB).")]
Age = Annotated[str | None, typer.Option("--age", help="ISO 8601 duration, e.g. P38Y.")]
DateOfBirth = Annotated[
    str | None, typer.Option("--date-of-birth", help="ISO 8601 date, e.g. 1985-04-02.")
]
Species = Annotated[str | None, typer.Option("--species", help="Default: Homo sapiens.")]
Experimenter = Annotated[
    list[str] | None, typer.Option("--experimenter", help="Last, First (repeatable).")
]
Institution = Annotated[str | None, typer.Option("--institution", help="Institution.")]


def collect(
    metadata: Path | None,
    subject_id: str | None,
    sex: str | None,
    age: str | None,
    date_of_birth: str | None,
    species: str | None,
    experimenter: list[str] | None,
    institution: str | None,
) -> tuple[dict[str, str], dict[str, Any]]:
    """(subject, study), checked; a one-line InputError naming the field otherwise."""
    from openbsi.store.metadata import session_metadata

    subject = {
        "subject_id": subject_id,
        "sex": sex,
        "age": age,
        "date_of_birth": date_of_birth,
        "species": species,
    }
    study = {"experimenter": experimenter or None, "institution": institution}
    return session_metadata(metadata, subject, study)
