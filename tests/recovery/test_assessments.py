"""Clinical scales from the state: ranges, floors and ceilings, not-measurable walking tests."""

from __future__ import annotations

import numpy as np

from openbsi.recovery import PatientSpec, Plan, simulate_cohort
from openbsi.recovery.grading import grade_ais

RANGES = {
    "uems": (0, 50), "lems": (0, 50), "wisci": (0, 20), "scim": (0, 100),
    "grassp_strength": (0, 100), "grassp_prehension": (0, 60),
}  # fmt: skip


def course(spec: PatientSpec, n: int = 50, days: int = 84):
    return simulate_cohort([spec] * n, Plan(), days=days, visit_days=[0, days],
                           rngs=[np.random.default_rng(s) for s in range(n)])  # fmt: skip


def test_scores_stay_in_range():
    for spec in (PatientSpec("a", "C5", "A", 30, 10), PatientSpec("d", "L1", "D", 60, 60)):
        c = course(spec)
        for m, (lo, hi) in RANGES.items():
            v = c.scores[m]
            assert np.all((v >= lo) & (v <= hi)), m
        walk = c.scores["tenmwt_m_s"]
        assert np.all(np.isnan(walk) | (walk > 0))


def test_complete_paraplegia_cannot_walk_and_has_full_arms():
    c = course(PatientSpec("a", "T10", "A", 40, 400))
    assert np.all(np.isnan(c.scores["tenmwt_m_s"])) and np.all(np.isnan(c.scores["sixmwt_m"]))
    assert np.all(c.scores["wisci"] == 0)
    assert np.all(c.scores["uems"] == 50)  # muscles above the level are rated normal
    assert np.all(c.scores["grassp_strength"] == 100)  # ceiling without noise
    assert np.all(c.ais == "A")


def test_incomplete_walker_walks_and_cervical_hands_are_weak():
    walker = course(PatientSpec("d", "T10", "D", 40, 400))
    assert np.mean(np.isfinite(walker.scores["tenmwt_m_s"][:, -1])) > 0.8
    assert np.all(walker.scores["lems"] >= 15)
    tetra = course(PatientSpec("c", "C5", "B", 40, 400))
    assert np.all(tetra.scores["uems"] < 30) and np.all(tetra.scores["grassp_prehension"] < 30)


def test_rater_noise_and_patient_spread():
    spec = PatientSpec("c", "T8", "C", 40, 2000)
    same = simulate_cohort([spec] * 5, Plan(), days=1, visit_days=[0],
                           rngs=[np.random.default_rng(7) for _ in range(5)])  # fmt: skip
    assert np.ptp(same.scores["lems"]) == 0  # same stream, same exam
    other = simulate_cohort([spec] * 40, Plan(), days=1, visit_days=[0],
                            rngs=[np.random.default_rng(s) for s in range(40)])  # fmt: skip
    assert np.std(other.scores["lems"]) > 1.0  # patients differ


def test_grade_rules():
    nli = np.array([12, 12, 12, 12, 12])  # T5
    rated = np.zeros((5, 2, 10))
    rated[:, :, :5] = 5  # arms normal
    rated[2, :, 5:] = 1  # C: weak legs
    rated[3, :, 5:] = 3  # D: legs >= 3
    rated[4] = 5
    vac = np.array([False, False, True, True, True])
    sacral = np.array([False, True, True, True, True])
    normal = np.array([False, False, False, False, True])
    assert list(grade_ais(rated, vac, sacral, normal, nli)) == ["A", "B", "C", "D", "E"]
