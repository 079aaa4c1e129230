"""Sessions on real sources: an LSL stream published by another process (with the pulses
going back to that process over LSL), and a replayed NWB recording."""

import json
import subprocess
import sys
import uuid

import pytest

from openbsi.runtime.clock import MonotonicClock, SimulatedClock
from openbsi.runtime.live_session import LiveSessionConfig, run_live_session

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    """A calibration session: its model and its recording serve the tests below."""
    out = tmp_path_factory.mktemp("calibration")
    run_live_session(
        LiveSessionConfig(out_dir=out, seconds=5.0, calibration_s=40.0, seed=2),
        clock=SimulatedClock(),
    )
    return out


def _session_beside_a_patient_process(tmp_path, calibrated, stimulator_flag: str):
    """Run a 6 s session on the ECoG of a patient process; `stimulator_flag` is --pulses
    (the patient feels the pulses we publish) or --link (the patient runs the implant).
    Returns the session's result and the patient process's JSON summary."""
    ecog, other = f"ecog-{uuid.uuid4().hex[:8]}", f"stim-{uuid.uuid4().hex[:8]}"
    command = [
        sys.executable,
        "-m",
        "openbsi",
        "stream",
        "virtual",
        "--name",
        ecog,
        "--seconds",
        "20",
        "--seed",
        "2",
        stimulator_flag,
        other,
        "--json",
    ]
    patient = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    kind = "lsl" if stimulator_flag == "--pulses" else "link"
    try:
        config = LiveSessionConfig(
            out_dir=tmp_path,
            seconds=6.0,
            source=f"lsl:{ecog}",
            stimulator=f"{kind}:{other}",
            model=calibrated / "model.obsi",
        )
        result = run_live_session(config, clock=MonotonicClock())
        summary = json.loads(patient.communicate(timeout=60)[0].strip().splitlines()[-1])
    finally:
        patient.kill()
    return result, summary


def test_session_across_processes_over_lsl(tmp_path, calibrated):
    result, summary = _session_beside_a_patient_process(tmp_path, calibrated, "--pulses")
    metrics = result.metrics
    assert metrics["decoder"]["n_decodes"] >= 40  # 6 s at 10 Hz, less the first full window
    delivered = metrics["stimulation"]["pulses_delivered"]
    assert delivered > 0
    assert summary["pulses_received"] == delivered  # every pulse reached the other process
    assert metrics["recording"]["duration_s"] >= 5.0


def test_commands_cross_an_authenticated_link_to_an_implant_process(tmp_path, calibrated):
    """--stimulator link:NAME: the supervisor and stimulator run in the patient's process."""
    result, summary = _session_beside_a_patient_process(tmp_path, calibrated, "--link")
    sent = result.metrics["link"]["frames_sent"]
    assert sent >= 40
    assert summary["paired"]
    implant = summary["implant"]
    assert implant["commands_received"] >= 0.9 * sent
    assert implant["executed_stale_commands"] == implant["executed_replayed_commands"] == 0
    assert implant["executed_out_of_limit_pulses"] == 0
    assert summary["pulses_delivered"] > 0


def test_session_replaying_a_recording(tmp_path, calibrated):
    config = LiveSessionConfig(
        out_dir=tmp_path,
        seconds=8.0,
        source=f"replay:{calibrated / 'recording.nwb'}",
        stimulator="paddle",
        model=calibrated / "model.obsi",
    )
    result = run_live_session(config, clock=SimulatedClock())
    assert result.metrics["decoder"]["n_decodes"] >= 65
    assert result.metrics["recording"]["duration_s"] == pytest.approx(8.0, abs=0.2)


def test_replay_past_its_end_ends_the_session_with_a_message_and_latency_on_one_clock(
    tmp_path, calibrated
):
    """The calibration recording holds 45 s: a 60 s session on it ends at the file's end."""
    heard: list[str] = []
    config = LiveSessionConfig(
        out_dir=tmp_path,
        seconds=60.0,
        source=f"replay:{calibrated / 'recording.nwb'}",
        stimulator="paddle",
        model=calibrated / "model.obsi",
    )
    result = run_live_session(config, clock=SimulatedClock(), notify=heard.append)
    events = result.metrics["source_events"]["events"]
    assert [e["kind"] for e in events] == ["ended"]
    assert events[0]["t_s"] == pytest.approx(45.0, abs=0.3)
    assert any("end of replay" in message for message in heard)
    assert result.exit_code == 0 and result.stop_reason == "end of replay file"
    # --fast: the simulated session clock never leaks into the compute latency
    assert 0 < result.metrics["latency_ms"]["end_to_end"]["p99"] < 100.0
