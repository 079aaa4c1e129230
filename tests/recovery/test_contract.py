"""The API the trials helper builds on (docs: /work/brief/recovery-contract.md)."""

from __future__ import annotations

import numpy as np
import pytest

from openbsi.inputs import InputError
from openbsi.recovery import (
    MEASURES,
    CohortCourse,
    Intervention,
    ParameterInfo,
    PatientSpec,
    Plan,
    simulate_cohort,
    therapy_names,
    therapy_parameters,
    validate_plan,
)

PATIENTS = [
    PatientSpec("p0", "T8", "C", 40.0, 28.0),
    PatientSpec("p1", "C6", "A", 30.0, 14.0, sex="male", era=2000),
    PatientSpec("p2", "L1", "D", 70.0, 400.0, uems=50.0, lems=30.0),
    PatientSpec("p3", "C5", "B", 55.0, 60.0),
]
PLAN = Plan(
    (
        Intervention("rehabilitation", 0.0, 84.0, {"sessions_per_week": 5.0}),
        Intervention("bsi", 28.0, 120.0, {"decoder_accuracy": 0.9}),
        Intervention("injectable_depot", 3.0),
    )
)


def rngs(seeds):
    return [np.random.default_rng(s) for s in seeds]


def test_course_shapes_and_types():
    course = simulate_cohort(PATIENTS, PLAN, days=120, visit_days=[0, 60, 120], rngs=rngs(range(4)))
    assert isinstance(course, CohortCourse)
    assert list(course.visit_days) == [0, 60, 120]
    assert course.ais.shape == (4, 3) and course.ais.dtype == np.dtype("<U1")
    assert set(course.scores) == set(MEASURES) - {"ais"}
    for measure, values in course.scores.items():
        assert values.shape == (4, 3), measure
        assert values.dtype == float
    assert 0.0 <= course.assumption_share <= 1.0
    for event in course.events:
        assert set(event) == {"patient", "day", "kind", "severity", "therapy"}
    # the given baseline scores are respected at enrolment (rater noise aside)
    assert abs(course.scores["lems"][2, 0] - 30.0) <= 3.0


def test_patient_course_does_not_depend_on_the_batch():
    alone = simulate_cohort([PATIENTS[0]], PLAN, days=90, visit_days=[0, 90], rngs=rngs([7]))
    batch = simulate_cohort(
        [PATIENTS[1], PATIENTS[0], PATIENTS[3]], PLAN, days=90, visit_days=[0, 90],
        rngs=rngs([3, 7, 5]),
    )  # fmt: skip
    for measure in alone.scores:
        np.testing.assert_array_equal(alone.scores[measure][0], batch.scores[measure][1])
    np.testing.assert_array_equal(alone.ais[0], batch.ais[1])
    mine = [{**e, "patient": 0} for e in batch.events if e["patient"] == 1]
    assert mine == alone.events


def test_same_seed_same_course_other_seed_differs():
    a = simulate_cohort(PATIENTS, PLAN, days=60, visit_days=[60], rngs=rngs(range(4)))
    b = simulate_cohort(PATIENTS, PLAN, days=60, visit_days=[60], rngs=rngs(range(4)))
    c = simulate_cohort(PATIENTS, PLAN, days=60, visit_days=[60], rngs=rngs(range(10, 14)))
    np.testing.assert_array_equal(a.scores["lems"], b.scores["lems"])
    assert not np.array_equal(a.scores["scim"], c.scores["scim"])


def test_therapy_registry_and_parameters():
    names = therapy_names()
    for required in ("rehabilitation", "epidural_paddle", "epidural_nodes",
                     "transcutaneous_cervical", "transcutaneous_lumbar", "bsi",
                     "autologous_graft", "scaffold_organoid", "injectable_depot",
                     "ipsc_progenitors"):  # fmt: skip
        assert required in names
    for name in names:
        infos = therapy_parameters(name)
        assert infos and all(isinstance(i, ParameterInfo) for i in infos)
        for info in infos:
            assert info.grade in (
                "human_rct",
                "human_cohort",
                "case_series",
                "animal",
                "assumption",
            )
            assert info.low <= info.value <= info.high
            assert info.source
            assert info.name.startswith(f"{name}.")
    with pytest.raises(InputError, match="unknown therapy"):
        therapy_parameters("homeopathy")


@pytest.mark.parametrize(
    ("plan", "field"),
    [
        (Plan((Intervention("nope", 0.0),)), "therapy"),
        (Plan((Intervention("rehabilitation", -1.0),)), "interventions[0].start_day"),
        (Plan((Intervention("rehabilitation", 10.0, 5.0),)), "interventions[0].end_day"),
        (
            Plan((Intervention("rehabilitation", 0.0, None, {"sessions_per_week": 99.0}),)),
            "interventions[0].dose.sessions_per_week",
        ),
        (Plan((Intervention("bsi", 0.0, None, {"volts": 1.0}),)), "interventions[0].dose.volts"),
    ],
)
def test_validate_plan_names_the_field(plan, field):
    with pytest.raises(InputError) as info:
        validate_plan(plan, source="plan.yaml")
    assert info.value.field == field
    assert str(info.value).startswith("plan.yaml: ")


def test_overrides_change_the_course_and_unknown_names_are_refused():
    kw = {"days": 200, "visit_days": [200]}
    base = simulate_cohort([PATIENTS[0]] * 20, Plan(), rngs=rngs(range(20)), **kw)
    slow = simulate_cohort([PATIENTS[0]] * 20, Plan(), rngs=rngs(range(20)),
                           overrides={"model.lambda_max": 1.5}, **kw)  # fmt: skip
    assert slow.scores["lems"].mean() < base.scores["lems"].mean()
    for bad in ("model.nope", "nope.x", "rehabilitation.nope", "lambda_max"):
        with pytest.raises(InputError):
            simulate_cohort([PATIENTS[0]], Plan(), rngs=rngs([0]), overrides={bad: 1.0}, **kw)


def test_fractional_start_days_and_empty_cohort():
    plan = Plan((Intervention("ipsc_progenitors", 2.5), Intervention("rehabilitation", 0.5, 9.5)))
    course = simulate_cohort([PATIENTS[0]], plan, days=30, visit_days=[0, 30], rngs=rngs([0]))
    assert np.isfinite(course.scores["lems"]).all()
    empty = simulate_cohort([], plan, days=10, visit_days=[0, 10], rngs=[])
    assert empty.ais.shape == (0, 2) and empty.scores["uems"].shape == (0, 2)
