"""Pseudo-online harness on the virtual patient (short sessions; the full bar is a benchmark)."""

import numpy as np
import pytest

pytest.importorskip("openbsi.patient.cortex")

from openbsi.decoding import make_decoder
from openbsi.patient.intent import cued_calibration_script
from openbsi.runtime.pseudo_online import record, run_online, score


def test_record_labels_and_online_decoding_beat_chance():
    rng = np.random.default_rng(0)
    cal = record(cued_calibration_script(90.0, rng), rng)
    test = record(cued_calibration_script(30.0, rng), rng)
    assert cal.X.shape[1:] == (10, 15, 64)
    assert len(cal) == (int(90.0 * 586.0) - 586) // 59 + 1  # 59-sample steps (100.7 ms)
    assert set(np.unique(cal.y_state)) >= {0}
    dec = make_decoder("mslm").fit(cal.X, cal.y_state, cal.y_amplitude)
    probs, amps = run_online(dec, test.X)
    metrics = score(test, probs, amps)
    # chance with 7 states and half the time at rest is ~0.5; a working decoder is far above
    assert metrics["state_accuracy"] > 0.65
    assert metrics["amplitude_r"] > 0.3
    np.testing.assert_allclose(probs, dec.predict_proba(test.X), atol=1e-9)


def test_evaluate_reports_keys_per_day():
    from openbsi.runtime.pseudo_online import evaluate

    out = evaluate(["mslm"], seed=1, days=1, calibration_s=45.0, test_s=20.0, recalibration_s=20.0)
    entry = out["decoders"]["mslm"]
    for key in ("state_accuracy", "error_blocks_per_min", "time_to_switch_s", "amplitude_r"):
        assert key in entry
    assert [d["day"] for d in entry["by_day"]] == [0, 1]
    assert 0.0 <= entry["by_day"][1]["adaptive_accuracy"] <= 1.0


def test_minutes_to_accuracy_reads_the_validation_history():
    from openbsi.runtime.pseudo_online import CalibrationResult

    result = CalibrationResult(decoder=None, minutes=2.0)
    result.validation_accuracy = [0.5, 0.7, 0.9, 0.95, 0.95, 0.95, 0.9]
    # the mean of the last 4 first reaches 0.9 at index 5: (0.9 + 3 * 0.95) / 4
    assert result.minutes_to_accuracy(0.90) == (5 + 2) * 15.0 / 60.0
    assert result.minutes_to_accuracy(0.99) is None
