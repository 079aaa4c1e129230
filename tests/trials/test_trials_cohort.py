"""The population model and the screen: EMSCI grade mix, eligibility, counts, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from openbsi.trials.cohort import GRADE_MIX, allocate, build_cohort, sample_referrals
from openbsi.trials.protocol import LEVELS


def test_grade_mix_matches_emsci() -> None:
    referrals = sample_referrals(40_000, np.random.default_rng(3))
    for grade, share in GRADE_MIX.items():
        assert np.mean(referrals["ais"] == grade) == pytest.approx(share, abs=0.01)


def test_copula_correlation_older_more_cervical() -> None:
    r = sample_referrals(40_000, np.random.default_rng(4))
    cervical = np.char.startswith(r["nli"].astype(str), "C")
    assert r["age_years"][cervical].mean() > r["age_years"][~cervical].mean()


def test_screen_admits_only_the_eligible_and_counts_failures(small) -> None:
    p = small("uplift", n=80)
    cohort = build_cohort(p, trial=0)
    assert cohort.n_enrolled == 80
    for patient in cohort.patients:
        assert patient.ais in ("B", "C", "D")
        assert LEVELS.index("C2") <= LEVELS.index(patient.nli) <= LEVELS.index("C8")
        assert 22 <= patient.age_years <= 75 and patient.days_since_injury >= 365
    assert cohort.n_screened == cohort.n_enrolled + sum(cohort.screen_failures.values())
    assert set(cohort.screen_failures) <= {"ais", "level", "age", "time_since_injury"}
    assert cohort.screen_failures["level"] > 0


def test_same_trial_same_cohort_other_trial_other_cohort(small) -> None:
    p = small("uplift", n=30)
    a, b, c = build_cohort(p, 0), build_cohort(p, 0), build_cohort(p, 1)
    assert a.patients == b.patients
    assert a.patients != c.patients


def test_stratified_allocation_is_balanced_within_strata() -> None:
    strata = np.array(["B"] * 31 + ["C"] * 40 + ["D"] * 29)
    arms = allocate(strata, (1.0, 1.0, 1.0), np.random.default_rng(0))
    for key in ("B", "C", "D"):
        counts = np.bincount(arms[strata == key], minlength=3)
        assert counts.max() - counts.min() <= 2


def test_enrolment_shortfall_is_reported_not_hidden(small) -> None:
    p = small("uplift", n=50, **{"max_screened: 20000": "max_screened: 60"})
    cohort = build_cohort(p, 0)
    assert cohort.n_screened == 60
    assert cohort.n_enrolled < 50


def test_larger_enrolment_keeps_the_first_patients(small) -> None:
    p = small("uplift", n=40)
    a, b = build_cohort(p, 0, n=10), build_cohort(p, 0, n=40)
    assert a.patients == b.patients[:10]
    assert (a.dropout_day == b.dropout_day[:10]).all()
