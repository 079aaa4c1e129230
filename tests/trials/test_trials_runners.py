"""Runners: identical results for every runner and batch size; an interrupted run resumes to the
same result; results.parquet has one row per patient x visit x measure."""

from __future__ import annotations

import pytest

from openbsi.trials.results import results_table
from openbsi.trials.run import run_protocol
from openbsi.trials.runners import ProcessRunner


def _strip(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in ("runner", "wall_s")}


@pytest.fixture
def protocol(small):
    return small("bsi-walking", n=30)


def test_batch_size_and_runner_do_not_change_the_result(protocol, fake_course) -> None:
    ref = run_protocol(protocol, batch_size=30, simulate=fake_course, longitudinal=False)
    other = run_protocol(protocol, batch_size=7, simulate=fake_course, longitudinal=False)
    pool = run_protocol(protocol, runner=ProcessRunner(2), batch_size=4, simulate=fake_course,
                        longitudinal=False)  # fmt: skip
    assert _strip(ref.summary) == _strip(other.summary) == _strip(pool.summary)
    assert pool.summary["runner"] == "process"


class InterruptError(Exception):
    pass


def test_interrupted_run_resumes_to_the_same_result(protocol, tmp_path, fake_course) -> None:
    fresh = run_protocol(protocol, batch_size=5, simulate=fake_course, longitudinal=False)
    seen = []

    def stop_after_four(task, result):
        seen.append(task.key)
        if len(seen) == 4:
            raise InterruptError

    with pytest.raises(InterruptError):
        run_protocol(protocol, batch_size=5, simulate=fake_course, checkpoint_dir=tmp_path,
                     on_batch=stop_after_four, longitudinal=False)  # fmt: skip
    assert len(list(tmp_path.glob("t*.npz"))) == 4
    computed = []

    def counting(patients, plan, **kw):
        computed.append(len(patients))
        return fake_course(patients, plan, **kw)

    resumed = run_protocol(protocol, batch_size=5, simulate=counting, checkpoint_dir=tmp_path,
                           longitudinal=False)  # fmt: skip
    n_tasks = 3 * 6  # 3 arms x 30 patients / 5
    assert len(computed) == n_tasks - 4  # the 4 finished batches were not recomputed
    assert _strip(resumed.summary) == _strip(fresh.summary)


def test_checkpoint_of_another_protocol_is_not_reused(
    protocol, small, tmp_path, fake_course
) -> None:
    run_protocol(protocol, batch_size=10, simulate=fake_course, checkpoint_dir=tmp_path,
                 longitudinal=False)  # fmt: skip
    other = small("bsi-walking", n=30, **{"seed: 2023": "seed: 9"})
    computed = []

    def counting(patients, plan, **kw):
        computed.append(1)
        return fake_course(patients, plan, **kw)

    run_protocol(other, batch_size=10, simulate=counting, checkpoint_dir=tmp_path,
                 longitudinal=False)  # fmt: skip
    assert len(computed) == 9


def test_results_table_one_row_per_patient_visit_measure(protocol, fake_course) -> None:
    run = run_protocol(protocol, simulate=fake_course, longitudinal=False)
    table = results_table(protocol, run.cohort, run.courses)
    n_rows = 3 * run.cohort.n_enrolled * len(protocol.visits) * len(protocol.assessments)
    assert table.num_rows == n_rows
    assert table.schema.metadata[b"protocol_sha256"].decode() == protocol.sha256
    keys = set(zip(*(table.column(c).to_pylist() for c in ("arm", "patient", "visit_day",
                                                            "measure")), strict=True))  # fmt: skip
    assert len(keys) == n_rows
    allocated = table.filter(table.column("allocated")).num_rows
    assert allocated == n_rows // 3  # each patient is randomised to exactly one arm


def test_paired_difference_reflects_the_plans(protocol, fake_course) -> None:
    run = run_protocol(protocol, simulate=fake_course, longitudinal=False)
    paired = [c for c in run.summary["comparisons"] if c["kind"] == "paired_in_silico"]
    bsi_vs_rehab = next(c for c in paired if {c["arm"], c["versus"]} == {"bsi", "rehabilitation"})
    diff = bsi_vs_rehab["change"]["lems"]["difference"]
    sign = 1 if bsi_vs_rehab["arm"] == "bsi" else -1
    assert sign * diff > 0  # two interventions gain more than one, same patients, same streams
    lo, hi = bsi_vs_rehab["change"]["lems"]["ci95"]
    assert lo <= diff <= hi


@pytest.mark.slow
def test_real_model_resume_equals_fresh(small, tmp_path) -> None:
    protocol = small("uplift", n=24)
    fresh = run_protocol(protocol, batch_size=6, longitudinal=False)
    calls = []

    def stop_after_three(task, result):
        calls.append(task.key)
        if len(calls) == 3:
            raise InterruptError

    with pytest.raises(InterruptError):
        run_protocol(protocol, batch_size=6, checkpoint_dir=tmp_path, on_batch=stop_after_three,
                     longitudinal=False)  # fmt: skip
    resumed = run_protocol(protocol, batch_size=6, checkpoint_dir=tmp_path, longitudinal=False)
    assert _strip(resumed.summary) == _strip(fresh.summary)
    assert resumed.summary["arms"]["uplift"]["responders"]["both"]["n"] > 0
