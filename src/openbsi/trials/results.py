"""results.parquet: one row per patient x visit x measure, for every simulated arm."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from openbsi.trials.cohort import Cohort
from openbsi.trials.protocol import Protocol
from openbsi.trials.simulate import ArmCourses

AIS_ORDINAL = {"A": 1.0, "B": 2.0, "C": 3.0, "D": 4.0, "E": 5.0}  # ais rows: value = ordinal


def results_table(protocol: Protocol, cohort: Cohort, courses: list[ArmCourses], trial: int = 0):
    """A pyarrow Table; `status` is observed | not_measurable | dropped, `value` null unless
    observed; `allocated` marks the arm (or sequence) the patient was randomised to."""
    import pyarrow as pa

    n, v = cohort.n_enrolled, len(protocol.visits)
    measures = list(protocol.assessments)
    ids = np.array([p.patient_id for p in cohort.patients])
    visit = np.asarray(protocol.visits, dtype=np.int32)
    trial_names = [a.name for a in protocol.trial_arms]
    columns: dict[str, list] = {
        k: []
        for k in (
            "arm",
            "patient",
            "patient_id",
            "allocated",
            "visit_day",
            "measure",
            "value",
            "status",
            "ais",
        )
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
        for m in measures:
            if m == "ais":
                values = (
                    np.vectorize(lambda g: AIS_ORDINAL.get(g, np.nan), otypes=[float])(c.ais)
                    if n
                    else np.zeros((0, v))
                )
            else:
                values = c.scores[m]
            status = np.where(
                ~c.observed, "dropped", np.where(np.isfinite(values), "observed", "not_measurable")
            )
            columns["arm"].append(np.full(n * v, c.name))
            columns["patient"].append(np.repeat(np.arange(n, dtype=np.int32), v))
            columns["patient_id"].append(np.repeat(ids, v))
            columns["allocated"].append(np.repeat(allocated, v))
            columns["visit_day"].append(np.tile(visit, n))
            columns["measure"].append(np.full(n * v, m))
            columns["value"].append(values.ravel())
            columns["status"].append(status.ravel())
            columns["ais"].append(c.ais.ravel())
    joined = {k: np.concatenate(parts) if parts else np.array([]) for k, parts in columns.items()}
    value = joined["value"].astype(np.float64)
    table = pa.table(
        {
            "trial": pa.array(np.full(len(value), trial, dtype=np.int32)),
            "arm": pa.array(joined["arm"]).dictionary_encode(),
            "patient": pa.array(joined["patient"]),
            "patient_id": pa.array(joined["patient_id"]),
            "allocated": pa.array(joined["allocated"]),
            "visit_day": pa.array(joined["visit_day"]),
            "measure": pa.array(joined["measure"]).dictionary_encode(),
            "value": pa.array(value, mask=~np.isfinite(value)),
            "status": pa.array(joined["status"]).dictionary_encode(),
            "ais": pa.array(joined["ais"]).dictionary_encode(),
        }
    )
    meta = {b"protocol_sha256": protocol.sha256.encode(), b"protocol_name": protocol.name.encode()}
    return table.replace_schema_metadata(meta)


def write_results(path: Path, table) -> None:
    import pyarrow.parquet as pq

    tmp = Path(path).with_suffix(".parquet.tmp")
    pq.write_table(table, tmp, compression="zstd")
    tmp.replace(path)
