"""Lot manifests (YAML): where a lot came from, its aliquots, and the assays that consumed them.

Every result belongs to a named aliquot, and an assay uses its aliquot up (patching and
intracellular staining consume or fix cells, facts.md "Graft quality control"): an aliquot
consumed by two assays, or an assay naming an unknown aliquot, is refused. Files are resolved
beside the manifest; whether they exist is the release's business (a missing file fails its
criterion, it does not make the manifest unreadable).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openbsi.inputs import InputError, load_yaml, mapping, number, sequence, string

ASSAY_KINDS = (
    "ephys",
    "flow",
    "qpcr",
    "karyotype",
    "sterility",
    "mycoplasma",
    "endotoxin",
    "viability",
)
_RESULTS = ("negative", "positive", "pending", "invalid")
_ASSAY_FIELDS = {
    "ephys": ("files", "culture", "culture_day", "ap_peak_mv"),
    "flow": ("files", "panel"),
    "qpcr": ("file", "sample", "calibrator", "reference_genes", "max_cycles"),
    "karyotype": ("normal_fraction", "clonal_abnormality", "tetraploid_fraction", "report"),
    "sterility": ("result", "report"),
    "mycoplasma": ("result", "report"),
    "endotoxin": ("eu_per_ml", "report"),
    "viability": ("percent", "report"),
}
_COMMON = ("id", "kind", "aliquot", "date", "operator")


@dataclass(frozen=True)
class Aliquot:
    id: str
    cells: float
    consumed_by: str | None


@dataclass(frozen=True)
class Assay:
    id: str
    kind: str
    aliquot: str | None
    fields: dict[str, Any]  # the kind's own fields, file paths resolved


@dataclass(frozen=True)
class Lot:
    source: Path
    lot: str
    cell_line: str
    donor_id: str
    autologous: bool
    differentiation_start: str
    harvest_day: float
    media: tuple[dict, ...]
    aliquots: tuple[Aliquot, ...]
    assays: tuple[Assay, ...]
    notes: str = ""
    extra: dict = field(default_factory=dict)

    def assays_of(self, kind: str) -> list[Assay]:
        return [a for a in self.assays if a.kind == kind]

    def cells_unconsumed(self) -> float:
        return float(sum(a.cells for a in self.aliquots if a.consumed_by is None))


def _date(value: Any, source: str, where: str) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    text = string(value, source=source, field=where, max_len=32)
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise InputError(source, where, "must be a date YYYY-MM-DD", value=text) from None


def _path(value: Any, base: Path, source: str, where: str) -> Path:
    text = string(value, source=source, field=where, max_len=1024)
    return Path(text) if Path(text).is_absolute() else base / text


def load_lot(path: str | os.PathLike[str]) -> Lot:
    """Read a lot manifest strictly; a one-line InputError names the field otherwise."""
    source = str(path)
    base = Path(path).resolve().parent
    raw = mapping(
        load_yaml(path, source=source),
        source=source,
        field="",
        allowed=(
            "lot",
            "cell_line",
            "donor",
            "differentiation_start",
            "harvest_day",
            "media",
            "aliquots",
            "assays",
            "notes",
        ),
        required=(
            "lot",
            "cell_line",
            "donor",
            "differentiation_start",
            "harvest_day",
            "aliquots",
            "assays",
        ),
    )
    donor = mapping(
        raw["donor"],
        source=source,
        field="donor",
        allowed=("id", "autologous"),
        required=("id", "autologous"),
    )
    if not isinstance(donor["autologous"], bool):
        raise InputError(
            source, "donor.autologous", "must be true or false", value=donor["autologous"]
        )
    media = []
    for k, item in enumerate(
        sequence(raw.get("media", []), source=source, field="media", max_len=100)
    ):
        item = mapping(
            item,
            source=source,
            field=f"media[{k}]",
            allowed=("name", "from_day", "to_day"),
            required=("name",),
        )
        media.append(
            {
                "name": string(item["name"], source=source, field=f"media[{k}].name"),
                "from_day": number(
                    item.get("from_day", 0),
                    source=source,
                    field=f"media[{k}].from_day",
                    low=0,
                    high=365,
                ),
                "to_day": number(
                    item["to_day"], source=source, field=f"media[{k}].to_day", low=0, high=365
                )
                if "to_day" in item
                else None,
            }
        )
    aliquots = []
    for k, item in enumerate(
        sequence(raw["aliquots"], source=source, field="aliquots", max_len=10_000)
    ):
        where = f"aliquots[{k}]"
        item = mapping(
            item,
            source=source,
            field=where,
            allowed=("id", "cells", "consumed_by"),
            required=("id", "cells"),
        )
        consumed = item.get("consumed_by")
        aliquots.append(
            Aliquot(
                id=string(item["id"], source=source, field=f"{where}.id", max_len=64),
                cells=float(
                    number(item["cells"], source=source, field=f"{where}.cells", low=0, high=1e12)
                ),
                consumed_by=None
                if consumed is None
                else string(consumed, source=source, field=f"{where}.consumed_by", max_len=64),
            )
        )
    ids = [a.id for a in aliquots]
    if len(set(ids)) != len(ids):
        raise InputError(source, "aliquots", "aliquot ids must be unique", value=ids)
    assays = []
    for k, item in enumerate(sequence(raw["assays"], source=source, field="assays", max_len=1_000)):
        assays.append(_assay(item, k, base, source))
    assay_ids = [a.id for a in assays]
    if len(set(assay_ids)) != len(assay_ids):
        raise InputError(source, "assays", "assay ids must be unique", value=assay_ids)
    by_id = {a.id: a for a in aliquots}
    users: dict[str, str] = {}
    for assay in assays:
        if assay.aliquot is None:
            continue
        if assay.aliquot not in by_id:
            raise InputError(
                source,
                f"assays.{assay.id}.aliquot",
                "names no aliquot",
                limit=ids,
                value=assay.aliquot,
            )
        if assay.aliquot in users:
            raise InputError(
                source,
                f"assays.{assay.id}.aliquot",
                f"aliquot already consumed by assay {users[assay.aliquot]}",
                value=assay.aliquot,
            )
        users[assay.aliquot] = assay.id
        recorded = by_id[assay.aliquot].consumed_by
        if recorded != assay.id:
            raise InputError(
                source,
                f"aliquots.{assay.aliquot}.consumed_by",
                "must name the assay that used the aliquot",
                limit=assay.id,
                value=recorded,
            )
    for aliquot in aliquots:
        if aliquot.consumed_by is not None and aliquot.consumed_by not in users.values():
            raise InputError(
                source,
                f"aliquots.{aliquot.id}.consumed_by",
                "names no assay using it",
                value=aliquot.consumed_by,
            )
    return Lot(
        source=Path(path),
        lot=string(raw["lot"], source=source, field="lot", max_len=64),
        cell_line=string(raw["cell_line"], source=source, field="cell_line"),
        donor_id=string(donor["id"], source=source, field="donor.id", max_len=64),
        autologous=donor["autologous"],
        differentiation_start=_date(raw["differentiation_start"], source, "differentiation_start"),
        harvest_day=float(
            number(raw["harvest_day"], source=source, field="harvest_day", low=0, high=365)
        ),
        media=tuple(media),
        aliquots=tuple(aliquots),
        assays=tuple(assays),
        notes=string(raw.get("notes", ""), source=source, field="notes", max_len=10_000),
    )


def _assay(item: Any, k: int, base: Path, source: str) -> Assay:
    where = f"assays[{k}]"
    head = mapping(item, source=source, field=where, required=("id", "kind"))
    kind = string(head["kind"], source=source, field=f"{where}.kind", choices=ASSAY_KINDS)
    mapping(item, source=source, field=where, allowed=_COMMON + _ASSAY_FIELDS[kind])
    assay_id = string(head["id"], source=source, field=f"{where}.id", max_len=64)
    aliquot = item.get("aliquot")
    if aliquot is not None:
        aliquot = string(aliquot, source=source, field=f"{where}.aliquot", max_len=64)
    fields: dict[str, Any] = {}
    for key in ("date",):
        if key in item:
            fields[key] = _date(item[key], source, f"{where}.{key}")
    if "operator" in item:
        fields["operator"] = string(item["operator"], source=source, field=f"{where}.operator")
    if "report" in item:
        fields["report"] = _path(item["report"], base, source, f"{where}.report")
    if kind in ("ephys", "flow"):
        files = sequence(
            item.get("files", []), source=source, field=f"{where}.files", max_len=1_000
        )
        fields["files"] = [
            _path(f, base, source, f"{where}.files[{j}]") for j, f in enumerate(files)
        ]
        if not files:
            raise InputError(source, f"{where}.files", "must list at least one file")
    if kind == "ephys":
        fields["culture"] = string(
            item.get("culture", "lot"),
            source=source,
            field=f"{where}.culture",
            choices=("lot", "sister"),
        )
        fields["ap_peak_mv"] = float(
            number(
                item.get("ap_peak_mv", -20.0),
                source=source,
                field=f"{where}.ap_peak_mv",
                low=-60.0,
                high=40.0,
            )
        )
        if "culture_day" in item:
            fields["culture_day"] = number(
                item["culture_day"], source=source, field=f"{where}.culture_day", low=0, high=365
            )
    elif kind == "flow":
        if "panel" not in item:
            raise InputError(source, f"{where}.panel", "is required")
        fields["panel"] = _path(item["panel"], base, source, f"{where}.panel")
    elif kind == "qpcr":
        for key in ("file", "sample", "calibrator", "reference_genes"):
            if key not in item:
                raise InputError(source, f"{where}.{key}", "is required")
        fields["file"] = _path(item["file"], base, source, f"{where}.file")
        fields["sample"] = string(
            item["sample"], source=source, field=f"{where}.sample", max_len=128
        )
        fields["calibrator"] = string(
            item["calibrator"], source=source, field=f"{where}.calibrator", max_len=128
        )
        genes = sequence(
            item["reference_genes"], source=source, field=f"{where}.reference_genes", max_len=16
        )
        if not genes:
            raise InputError(source, f"{where}.reference_genes", "must name at least one gene")
        fields["reference_genes"] = [
            string(g, source=source, field=f"{where}.reference_genes", max_len=64) for g in genes
        ]
        fields["max_cycles"] = float(
            number(
                item.get("max_cycles", 40),
                source=source,
                field=f"{where}.max_cycles",
                low=20,
                high=60,
            )
        )
    elif kind == "karyotype":
        for key in ("normal_fraction", "tetraploid_fraction"):
            if key in item:
                fields[key] = float(
                    number(item[key], source=source, field=f"{where}.{key}", low=0, high=1)
                )
        if "clonal_abnormality" in item:
            if not isinstance(item["clonal_abnormality"], bool):
                raise InputError(
                    source,
                    f"{where}.clonal_abnormality",
                    "must be true or false",
                    value=item["clonal_abnormality"],
                )
            fields["clonal_abnormality"] = item["clonal_abnormality"]
    elif kind in ("sterility", "mycoplasma"):
        if "result" in item:
            fields["result"] = string(
                item["result"], source=source, field=f"{where}.result", choices=_RESULTS
            )
    elif kind == "endotoxin" and "eu_per_ml" in item:
        fields["eu_per_ml"] = float(
            number(item["eu_per_ml"], source=source, field=f"{where}.eu_per_ml", low=0, high=1e6)
        )
    elif kind == "viability" and "percent" in item:
        fields["percent"] = float(
            number(item["percent"], source=source, field=f"{where}.percent", low=0, high=100)
        )
    return Assay(assay_id, kind, aliquot, fields)
