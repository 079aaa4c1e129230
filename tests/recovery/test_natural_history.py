"""Natural-history bars (issue #11) on a fixed seed, n = 2000."""

from __future__ import annotations

import numpy as np
import pytest

from openbsi.recovery.natural_history import BARS, run_natural_history, summarise


@pytest.fixture(scope="module")
def summary():
    patients, course = run_natural_history(2000, 12, seed=11)
    return summarise(patients, course, 12)


def inside(value, bar):
    return bar[0] <= value <= bar[1]


def test_a_converts_to_incomplete_in_the_published_range(summary):
    assert inside(summary["conversion"]["A"]["to_incomplete"], BARS["A_to_incomplete"])


def test_c_to_d(summary):
    assert inside(summary["conversion"]["C"]["to_D"], BARS["C_to_D"])


def test_d_stays_d(summary):
    assert inside(summary["conversion"]["D"]["unchanged"], BARS["D_stays_D"])


def test_proportional_slope_in_ais_d(summary):
    assert inside(summary["proportional_recovery"]["ais_d_slope"], BARS["ais_d_proportional_slope"])


def test_a_motor_gain_clearly_below_b_c_d(summary):
    lems = summary["lems_gain"]
    for grade in ("B", "C", "D"):
        assert lems["A"]["mean"] < 0.6 * lems[grade]["mean"]


def test_conversion_higher_in_tetraplegia(summary):
    tetra = summary["by_level"]["tetraplegia"]["A"]["to_incomplete"]
    para = summary["by_level"]["paraplegia"]["A"]["to_incomplete"]
    assert tetra > para


def test_era_raises_conversion():
    from openbsi.recovery.model import ModelParams, a_conversion_probability

    p = ModelParams()
    old = a_conversion_probability(np.array([True]), np.array([1990]), p)
    new = a_conversion_probability(np.array([True]), np.array([2015]), p)
    assert new > old


def _course(spec, n, days, visits):
    from openbsi.recovery import Plan, simulate_cohort

    return simulate_cohort([spec] * n, Plan(), days=days, visit_days=visits,
                           rngs=[np.random.default_rng(1000 + s) for s in range(n)])  # fmt: skip


def test_plateau_by_12_to_18_months():
    from openbsi.recovery import PatientSpec

    # enrolled at week 4; visits at 3, 9, 12 and 18 months after injury
    visits = [0, 91 - 28, 274 - 28, 365 - 28, 548 - 28]
    c = _course(PatientSpec("c", "T10", "C", 40.0, 28.0), 300, 548 - 28, visits)
    lems = c.scores["lems"].mean(axis=0)
    first_3 = lems[1] - lems[0]
    months_9_12 = lems[3] - lems[2]
    months_12_18 = lems[4] - lems[3]
    total = lems[4] - lems[0]
    assert first_3 > 0.4 * total  # fastest in the first 3 months
    assert (lems[2] - lems[0]) > 0.85 * total  # most by 9 months
    assert months_12_18 < 0.05 * total and months_9_12 < 0.1 * total  # plateau


def test_late_conversion_is_rare():
    from openbsi.recovery import PatientSpec

    # complete at 1 year, followed to 5 years (94 % still complete at 5 years, facts.md)
    c = _course(PatientSpec("a", "C6", "A", 35.0, 365.0), 400, 4 * 365, [0, 4 * 365])
    still = np.mean(c.ais[:, -1] == "A")
    assert 0.9 <= still <= 0.99  # rare, but it happens
