"""Power by simulation and the sensitivity tornado (real recovery model, small cohorts)."""

from __future__ import annotations

import pytest

from openbsi.trials.power import assumption_parameters, power_curve, sensitivity
from openbsi.trials.run import run_protocol


def test_assumption_parameters_are_the_assumption_graded_ones(small) -> None:
    from openbsi.recovery import therapy_parameters

    protocol = small("uplift", n=10)
    names = {name for name, _ in assumption_parameters(protocol)}
    expected = {
        p.name
        for t in ("rehabilitation", "transcutaneous_cervical")
        for p in therapy_parameters(t)
        if p.grade == "assumption" and p.low < p.high
    }
    assert names == expected and names


@pytest.mark.slow
def test_tornado_rows_sorted_by_swing(small) -> None:
    protocol = small("uplift", n=16)
    base = run_protocol(protocol, longitudinal=False).summary["success"]
    tornado = sensitivity(protocol, base, max_parameters=4)
    swings = [r["swing"] for r in tornado["parameters"]]
    assert len(swings) == 4 and swings == sorted(swings, reverse=True)
    assert all(s >= 0 for s in swings)
    assert set(tornado["conclusion_depends_on"]) <= {r["parameter"] for r in tornado["parameters"]}


@pytest.mark.slow
def test_power_grows_with_the_sample_size(small, fake_course) -> None:
    wisci_10 = {
        "measure: wisci\n    mcid: 2": "measure: wisci\n    mcid: 10",
        "versus: epidural": "versus: rehabilitation",
    }
    protocol = small("bsi-walking", n=10, **wisci_10)
    result = power_curve(protocol, [6, 600], trials=20, simulate=fake_course)
    assert result["n"] == [6, 600]
    assert result["power"][0] < 0.5 < 0.8 < result["power"][1]
    assert all(lo <= p <= hi for p, (lo, hi) in zip(result["power"], result["ci95"], strict=True))
