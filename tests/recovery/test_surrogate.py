"""The session surrogate: its data file, the fit, and one real closed-loop session (slow)."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from openbsi.recovery.surrogate import (
    load_surrogate,
    session_dose,
    session_profile,
    session_spared_fraction,
)


def test_surrogate_file_has_provenance_and_tolerance():
    model = load_surrogate()
    assert model["provenance"]
    for name in ("intent_paired_fraction", "successful_steps_per_min", "time_on_task_fraction"):
        assert name in model["outputs"] and model["tolerance"][name] > 0
    dose = session_dose(np.array([10.0, 40.0]), 0.9)
    assert np.all((dose["intent_paired_fraction"] >= 0) & (dose["intent_paired_fraction"] <= 1))


def test_profile_from_recovery_state():
    assert session_spared_fraction(30.0, "B") == 0.0
    assert session_spared_fraction(10.0, "C") < session_spared_fraction(30.0, "D")
    p = session_profile("L3", "D", 35.0, 0.8, 400.0)
    assert p.lesion.level == "T12" and p.lesion.ais == "D"
    assert 0 < p.lesion.descending_fraction <= 1 and 0.1 <= p.body.muscle_strength <= 1


def test_fit_recovers_a_linear_model():
    from openbsi.runtime.session_surrogate import fit

    rng = np.random.default_rng(0)
    rows = []
    for acc in (0.5, 0.7, 0.9):
        for lems in (8.0, 20.0, 35.0):
            rows.append({"decoder_accuracy": acc, "lems": lems,
                         "intent_paired_fraction": 0.1 + 0.8 * acc + rng.normal(0, 0.01),
                         "successful_steps_per_min": 5 + 20 * lems / 50,
                         "time_on_task_fraction": None if lems == 8.0 else 0.5 * acc})  # fmt: skip
    model = fit(rows)
    out = model["outputs"]["intent_paired_fraction"]
    assert out["decoder_accuracy"] == pytest.approx(0.8, abs=0.05)
    assert model["outputs"]["successful_steps_per_min"]["lems_fraction"] == pytest.approx(20)
    assert model["outputs"]["time_on_task_fraction"]["n"] == 6  # None rows are left out


def test_degraded_decoder_makes_wrong_decodes():
    from openbsi.runtime.session_surrogate import DegradedDecoder

    class Fixed:
        def step(self, x):
            return np.array([0.0, 1.0, 0, 0, 0, 0, 0]), 0.5

    wrapped = DegradedDecoder(Fixed(), 0.3, np.random.default_rng(1))
    states = [int(np.argmax(wrapped.step(None)[0])) for _ in range(2000)]
    assert np.mean(np.array(states) != 1) == pytest.approx(0.3, abs=0.04)


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    from openbsi.runtime.session_surrogate import calibrate_model

    return calibrate_model(tmp_path_factory.mktemp("cal"), seed=3, calibration_s=60.0)


@pytest.mark.slow
def test_real_session_dose_is_measured(tmp_path, calibrated):
    from openbsi.runtime.session_surrogate import run_dose_session

    kw = {"nli": "T8", "ais": "C", "lems": 20.0, "muscle_condition": 0.6,
          "days_since_injury": 400.0, "model": calibrated, "seconds": 10.0, "seed": 3}  # fmt: skip
    row = run_dose_session(tmp_path / "s", **kw)
    assert row["pulses"] > 0 and 0.0 <= row["intent_paired_fraction"] <= 1.0
    assert 0.0 <= row["time_on_task_fraction"] <= 1.0
    assert row["decoder_accuracy"] is not None
    bad = run_dose_session(tmp_path / "b", decoder_error=0.6, **kw)
    assert bad["decoder_accuracy"] < row["decoder_accuracy"]
    assert bad["intent_paired_fraction"] < row["intent_paired_fraction"]


@pytest.mark.slow
def test_recovery_session_command(tmp_path, calibrated):
    import json

    from typer.testing import CliRunner

    from openbsi.cli import app

    patient = str(resources.files("openbsi.recovery") / "examples" / "patient.yaml")
    result = CliRunner().invoke(app, ["recovery", "session", patient, "--week", "8", "--seconds",
                                      "30", "--model", str(calibrated), "--out", str(tmp_path),
                                      "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["week"] == 8 and isinstance(data["agrees"], bool)
    paired = data["dose"]["intent_paired_fraction"]
    assert paired["measured"] is not None and paired["tolerance"] > 0
    # the surrogate was fitted on 30 s walking sessions; this one is another patient state,
    # another calibration and another seed
    assert paired["agrees"], paired
