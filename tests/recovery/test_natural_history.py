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
