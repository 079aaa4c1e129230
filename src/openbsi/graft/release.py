"""Release decision: each criterion of a spec measured on a lot's evidence, never a silent pass.

A measure that cannot be computed (assay absent, file missing or unreadable, value not given)
has value None and fails its criterion with the problem stated. The overall verdict is
"release" only when every criterion passes.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openbsi.graft.ephys import analyse_file
from openbsi.graft.flow import analyse_flow, load_panel, proportion_ci
from openbsi.graft.lots import Lot
from openbsi.graft.qpcr import read_ct_csv
from openbsi.graft.spec import Criterion, ReleaseSpec
from openbsi.inputs import InputError

_HASH_CHUNK = 1 << 20


def sha256_of(path: str | os.PathLike[str]) -> str | None:
    """Hex SHA-256 of a file's bytes; None when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
    except OSError:
        return None
    return digest.hexdigest()


class MissingEvidenceError(Exception):
    """A measure cannot be computed; the text says why (the criterion fails)."""

    def __init__(self, problem: str, evidence: list[Path] | None = None) -> None:
        super().__init__(problem)
        self.evidence = evidence or []


@dataclass
class Measured:
    value: Any
    evidence: list[Path]
    detail: dict = field(default_factory=dict)


class LotEvidence:
    """Computes the measures of one lot, reading each file once."""

    def __init__(self, lot: Lot, *, figure_dir: Path | None = None) -> None:
        self.lot = lot
        self.figure_dir = figure_dir
        self._ephys: dict[tuple[Path, float], dict | InputError] = {}
        self._flow: dict[tuple[Path, Path], dict | InputError] = {}
        self.figures: dict[Path, Path] = {}

    # one file each ------------------------------------------------------------------
    def ephys_result(self, path: Path, peak_threshold_mv: float = -20.0) -> dict:
        if (path, peak_threshold_mv) not in self._ephys:
            try:
                recording, result = analyse_file(path, peak_threshold_mv=peak_threshold_mv)
                if self.figure_dir is not None:
                    from openbsi.graft.ephys import plot_recording

                    self.figure_dir.mkdir(parents=True, exist_ok=True)
                    figure = self.figure_dir / f"graft_ephys_{path.stem}.png"
                    self.figures[path] = plot_recording(recording, result, figure)
                self._ephys[path, peak_threshold_mv] = result
            except InputError as error:
                self._ephys[path, peak_threshold_mv] = error
        result = self._ephys[path, peak_threshold_mv]
        if isinstance(result, InputError):
            raise MissingEvidenceError(f"unreadable: {result}", [path])
        return result

    def flow_result(self, path: Path, panel_path: Path) -> dict:
        key = (path, panel_path)
        if key not in self._flow:
            try:
                panel = load_panel(panel_path)
                self._flow[key] = analyse_flow(path, panel)
                if self.figure_dir is not None:
                    from openbsi.graft.flow_figure import plot_flow

                    self.figure_dir.mkdir(parents=True, exist_ok=True)
                    figure = self.figure_dir / f"graft_flow_{path.stem}.png"
                    self.figures[path] = plot_flow(path, panel, self._flow[key], figure)
            except InputError as error:
                self._flow[key] = error
        result = self._flow[key]
        if isinstance(result, InputError):
            raise MissingEvidenceError(f"unreadable: {result}", [path, panel_path])
        return result

    # measures ---------------------------------------------------------------------------
    def measure(self, criterion: Criterion) -> Measured:
        m = criterion.measure
        if m == "harvest_day":
            return Measured(self.lot.harvest_day, [self.lot.source])
        if m == "cells_available":
            return Measured(self.lot.cells_unconsumed(), [self.lot.source])
        if m.startswith("flow_fraction:"):
            return self._flow_fraction(m.split(":", 1)[1], criterion)
        if m.startswith("qpcr_dct:") or m.startswith("qpcr_ddct:"):
            return self._qpcr(m.split(":", 1)[1], double=m.startswith("qpcr_ddct:"))
        if m.startswith("ephys."):
            return self._ephys_flag(m.split(".", 1)[1])
        kind, name = m.split(".", 1)
        return self._manifest_value(kind, name)

    def _single(self, kind: str) -> Any:
        assays = self.lot.assays_of(kind)
        if not assays:
            raise MissingEvidenceError(f"no {kind} assay in the lot manifest")
        if len(assays) > 1:
            raise MissingEvidenceError(
                f"{len(assays)} {kind} assays: which one counts is ambiguous"
            )
        return assays[0]

    def _manifest_value(self, kind: str, name: str) -> Measured:
        assay = self._single(kind)
        evidence = [self.lot.source]
        report = assay.fields.get("report")
        if report is not None:
            evidence.append(report)
            if sha256_of(report) is None:
                raise MissingEvidenceError(
                    f"report file of assay {assay.id} missing or unreadable", evidence
                )
        if name not in assay.fields:
            raise MissingEvidenceError(f"assay {assay.id} gives no {name}", evidence)
        return Measured(assay.fields[name], evidence, {"assay": assay.id, "aliquot": assay.aliquot})

    def _flow_fraction(self, marker: str, criterion: Criterion) -> Measured:
        assays = self.lot.assays_of("flow")
        if not assays:
            raise MissingEvidenceError("no flow assay in the lot manifest")
        positive = events = 0
        evidence: list[Path] = []
        found = False
        for assay in assays:
            panel = assay.fields["panel"]
            for path in assay.fields["files"]:
                result = self.flow_result(path, panel)
                evidence += [path, panel]
                row = next((r for r in result["markers"] if r["marker"] == marker), None)
                if row is None:
                    continue
                found = True
                evidence += [Path(row["control_file"])] if "control_file" in row else []
                positive += row["positive"]
                events += row["events"]
        if not found:
            raise MissingEvidenceError(f"marker {marker} is in no flow panel of the lot", evidence)
        if events == 0:
            raise MissingEvidenceError(f"no gated events for {marker}", evidence)
        low, high = proportion_ci(positive, events)
        estimate = positive / events
        value = estimate
        if criterion.statistic == "ci_bound":  # the conservative side of the 95 % interval
            value = low if criterion.op == ">=" else high
        return Measured(
            value,
            _unique(evidence),
            {
                "positive": positive,
                "events": events,
                "estimate": estimate,
                "ci_low": low,
                "ci_high": high,
                "statistic": criterion.statistic,
            },
        )

    def _qpcr(self, gene: str, *, double: bool) -> Measured:
        assay = self._single("qpcr")
        path = assay.fields["file"]
        try:
            table = read_ct_csv(path, max_cycles=assay.fields["max_cycles"])
            refs = assay.fields["reference_genes"]
            sample = assay.fields["sample"]
            if double:
                value = table.delta_delta_ct(sample, assay.fields["calibrator"], gene, refs)
            else:
                value = table.delta_ct(sample, gene, refs)
        except InputError as error:
            raise MissingEvidenceError(f"unreadable: {error}", [path]) from None
        censored = sorted(f"{s}/{g}" for s, g in table.censored if g in (gene, *refs))
        return Measured(
            value, [path], {"assay": assay.id, "censored": censored, "reference_genes": refs}
        )

    def _ephys_flag(self, flag: str) -> Measured:
        assays = self.lot.assays_of("ephys")
        if not assays:
            raise MissingEvidenceError("no ephys assay in the lot manifest")
        evidence: list[Path] = []
        considered = []
        for assay in assays:
            for path in assay.fields["files"]:
                # an unreadable file fails the criterion
                result = self.ephys_result(path, assay.fields["ap_peak_mv"])
                evidence.append(path)
                if (
                    flag == "fires_action_potentials"
                    and result["protocol"] == "current_clamp_steps"
                ):
                    considered.append(bool(result["fires_action_potentials"]))
                elif (
                    flag in ("na_present", "k_present")
                    and result["protocol"] == "voltage_clamp_steps"
                    and result["activation_range_tested"]
                    and result[flag] is not None
                ):
                    considered.append(bool(result[flag]))
        if not considered:
            what = (
                "current-clamp steps"
                if flag == "fires_action_potentials"
                else "voltage-clamp steps reaching -30 mV"
            )
            raise MissingEvidenceError(f"no {what} recording among the ephys files", evidence)
        cultures = sorted({a.fields["culture"] for a in assays})
        return Measured(
            any(considered), evidence, {"recordings": len(considered), "cultures": cultures}
        )


def _unique(paths: list[Path]) -> list[Path]:
    seen, out = set(), []
    for p in paths:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def _limit_for(criterion: Criterion, lot: Lot) -> Any:
    if criterion.specialised_limit and any(
        m["name"] in criterion.specialised_media for m in lot.media
    ):
        return criterion.specialised_limit
    return criterion.limit


def evaluate_release(lot: Lot, spec: ReleaseSpec, *, figure_dir: Path | None = None) -> dict:
    """The verdict per criterion (value, limit, pass, evidence with SHA-256) and overall."""
    evidence = LotEvidence(lot, figure_dir=figure_dir)
    rows = []
    for criterion in spec.criteria:
        limit = _limit_for(criterion, lot)
        active = Criterion(**{**criterion.__dict__, "limit": limit})
        problem, detail = None, {}
        try:
            measured = evidence.measure(criterion)
            value, files, detail = measured.value, measured.evidence, measured.detail
        except MissingEvidenceError as missing:
            value, files, problem = None, missing.evidence, str(missing)
        passed = active.passes(value)
        if problem is None and not passed:
            problem = f"{value!r} does not meet {criterion.op} {limit!r}"
        figures = [str(evidence.figures[f]) for f in files if f in evidence.figures]
        rows.append(
            {
                "name": criterion.name,
                "measure": criterion.measure,
                "value": value,
                "op": criterion.op,
                "limit": list(limit) if isinstance(limit, tuple) else limit,
                "pass": passed,
                "problem": problem,
                "source": criterion.source,
                "evidence": [{"file": str(f), "sha256": sha256_of(f)} for f in files],
                "figure": figures[0] if figures else None,
                "detail": detail,
            }
        )
    verdict = "release" if rows and all(r["pass"] for r in rows) else "reject"
    inputs = _unique(
        [lot.source, spec.source, *(Path(e["file"]) for r in rows for e in r["evidence"])]
    )
    return {
        "lot": lot.lot,
        "verdict": verdict,
        "criteria": rows,
        "failed": [r["name"] for r in rows if not r["pass"]],
        "spec": spec.name,
        "spec_version": spec.version,
        "harvest_day": lot.harvest_day,
        "inputs": [{"file": str(p), "sha256": sha256_of(p)} for p in inputs],
    }


def potency_record(result: dict, *, certificate_sha256: str) -> dict:
    """The `potency.json` of a released lot, exactly the fields of the recovery contract."""
    if result["verdict"] != "release":
        raise ValueError(f"lot {result['lot']} is not released: no potency record")

    def value(name: str) -> Any:
        for row in result["criteria"]:
            if row["measure"] == name:
                return (
                    row["detail"].get("estimate", row["value"])
                    if row["measure"].startswith("flow_fraction:")
                    else row["value"]
                )
        return None

    functional = [r["pass"] for r in result["criteria"] if r["measure"].startswith("ephys.")]
    viability = value("viability.percent")
    return {
        "lot": result["lot"],
        "spec_version": result["spec_version"],
        "released": True,
        "differentiation_day": float(result["harvest_day"]),
        "purity_fraction": value("flow_fraction:SOX1"),
        "v0_v2_fraction": value("flow_fraction:V0_V2"),
        "functional": bool(functional) and all(functional),
        "viability_fraction": None if viability is None else float(viability) / 100.0,
        "sha256_of_certificate": certificate_sha256,
    }
