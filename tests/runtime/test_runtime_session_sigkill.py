"""SIGKILL a real-time session at random moments: the recovered NWB verifies and holds the
data up to the moment of the kill (the bar: at most 1 s lost)."""

import numpy as np
import pytest

from openbsi.bench.sigkill import kill_once
from openbsi.runtime.clock import SimulatedClock
from openbsi.runtime.live_session import LiveSessionConfig, run_live_session

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("calibration")
    run_live_session(
        LiveSessionConfig(out_dir=out, seconds=1.0, calibration_s=40.0), clock=SimulatedClock()
    )
    return out / "model.obsi"


def test_killed_session_recovers_to_within_a_second(tmp_path, model_path):
    rng = np.random.default_rng(1)
    for k in range(3):
        result = kill_once(model_path, tmp_path / f"kill{k}", float(rng.uniform(0.5, 3.0)), k)
        assert result["verified"], result["problems"]
        assert result["chunks"] >= 5
        assert result["newest_chunk_age_s"] <= 1.0
