"""results.parquet: one row per patient x visit x measure, for every simulated arm."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from openbsi.trials.cohort import Cohort
from openbsi.trials.protocol import Protocol
from openbsi.trials.simulate import ArmCourses

_GRADES = ("", "A", "B", "C", "D", "E")  # "" = no grade (dropped visit)
_STATUS = ("observed", "not_measurable", "dropped")


def _grade_codes(ais: np.ndarray) -> np.ndarray:
    """(n, v) '<U1' grades -> int8 indices into _GRADES, by code point (no Python loop)."""
    points = np.ascontiguousarray(ais.astype("<U1")).view(np.uint32).reshape(ais.shape)
    lookup = np.zeros(128, dtype=np.int8)
    for i, g in enumerate(_GRADES[1:], start=1):
        lookup[ord(g)] = i
    return lookup[np.minimum(points, 127)]


def results_table(protocol: Protocol, cohort: Cohort, courses: list[ArmCourses], trial: int = 0):
    """A pyarrow Table; `status` is observed | not_measurable | dropped, `value` null unless
    observed; `allocated` marks the arm (or sequence) the patient was randomised to."""
    import pyarrow as pa

    n, v = cohort.n_enrolled, len(protocol.visits)
    measures = list(protocol.assessments)
    ids = pa.array([p.patient_id for p in cohort.patients], type=pa.string())
    visit = np.asarray(protocol.visits, dtype=np.int32)
    trial_names = [a.name for a in protocol.trial_arms]
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("arm", "allocated", "measure", "value", "status", "ais")
    }
    for a, c in enumerate(courses):
        if protocol.design.kind == "crossover":
            allocated = cohort.allocation == a
        elif c.counterfactual:
            allocated = np.zeros(n, bool)
        elif protocol.design.kind == "single_arm_run_in":
            allocated = np.ones(n, bool)
        else:
            allocated = cohort.allocation == trial_names.index(c.name)
        grades = _grade_codes(c.ais) if n else np.zeros((0, v), np.int8)
        for j, m in enumerate(measures):
            if m == "ais":  # value = ordinal A=1..E=5
                values = np.where(grades > 0, grades, np.nan).astype(np.float64)
            else:
                values = np.asarray(c.scores[m], dtype=np.float64)
            status = np.where(~c.observed, 2, np.where(np.isfinite(values), 0, 1))
            parts["arm"].append(np.full(n * v, a, dtype=np.int8))
            parts["allocated"].append(np.repeat(allocated, v))
            parts["measure"].append(np.full(n * v, j, dtype=np.int8))
            parts["value"].append(values.ravel())
            parts["status"].append(status.ravel().astype(np.int8))
            parts["ais"].append(grades.ravel())
    joined = {k: np.concatenate(p) if p else np.zeros(0) for k, p in parts.items()}
    blocks = len(courses) * len(measures)
    patient = np.tile(np.repeat(np.arange(n, dtype=np.int32), v), blocks)
    value = joined["value"]

    def categorical(codes: np.ndarray, names) -> pa.DictionaryArray:
        return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int8)), pa.array(names))

    table = pa.table(
        {
            "trial": pa.array(np.full(len(value), trial, dtype=np.int32)),
            "arm": categorical(joined["arm"], [c.name for c in courses]),
            "patient": pa.array(patient),
            "patient_id": pa.DictionaryArray.from_arrays(pa.array(patient), ids),
            "allocated": pa.array(joined["allocated"].astype(bool)),
            "visit_day": pa.array(np.tile(visit, n * blocks)),
            "measure": categorical(joined["measure"], measures),
            "value": pa.array(value, mask=~np.isfinite(value)),
            "status": categorical(joined["status"], list(_STATUS)),
            "ais": categorical(joined["ais"], list(_GRADES)),
        }
    )
    meta = {b"protocol_sha256": protocol.sha256.encode(), b"protocol_name": protocol.name.encode()}
    return table.replace_schema_metadata(meta)


def write_results(path: Path, table) -> None:
    import pyarrow.parquet as pq

    tmp = Path(path).with_suffix(".parquet.tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)
