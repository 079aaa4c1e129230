"""Metrics from an NWB built from a hand-made session with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from openbsi.report.metrics import compute_metrics
from openbsi.store.nwb import log_to_nwb
from openbsi.store.session_log import LOG_NAME, SessionRecorder
from openbsi.store.synthetic import synthetic_info

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _stamps(base: int, gaps_ms: tuple[float, float, float, float]) -> dict[str, int]:
    keys = ("acquired", "features", "decoded", "safety", "stimulated")
    times = base + np.concatenate([[0], np.cumsum(np.array(gaps_ms) * 1e6)]).astype(int)
    return dict(zip(keys, (int(t) for t in times), strict=True))


@pytest.fixture(scope="module")
def metrics(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("known")
    rec = SessionRecorder(folder, synthetic_info(2), meta={"intention_delay_s": 0.2})
    rec.ecog(np.zeros((2, 586)), 0.0, 0)
    rec.phase(0.0, 1.0, "calibration")
    rec.phase(1.0, 3.0, "closed_loop")
    rec.intent(1.0, 2.0, "left_hip", 1.0)  # [0, 1) and [2, 3) have no intent: rest
    probs = np.full(7, 1 / 7)
    for k in range(10):  # calibration: all wrong, must not count
        rec.decode(0.05 + 0.1 * k, "right_ankle", probs, 0.0)
    for k in range(10):  # left_hip intended: 8 right, 2 decoded as rest
        rec.decode(1.05 + 0.1 * k, "left_hip" if k < 8 else "rest", probs, 1.0)
    for k in range(10):  # rest intended: 9 right, 1 decoded as left_knee
        rec.decode(2.05 + 0.1 * k, "rest" if k else "left_knee", probs, 0.0)
    for tick in range(100):
        slow = tick == 99  # one slow tick: the max, beyond p99's reach of the others
        rec.latency(tick, _stamps(tick * 100_000_000, (1.0, 2.0 if not slow else 20.0, 0.5, 0.25)))
    rec.stim_command(
        1.0,
        0,
        "left_hip",
        False,
        True,
        [{"electrode": 1, "amplitude_ma": 2, "pulse_width_us": 300, "frequency_hz": 40}],
    )
    rec.stim_command(1.1, 1, "left_hip", True, False, [])
    rec.safety_event(1.1, "max_amplitude", "amplitude_ma", 12.0, 8.0, "veto", 1)
    rec.pulses(
        np.array([1.0, 1.025, 1.05]), np.array([1, 1, 1]), np.full(3, 2.0), np.full(3, 300.0)
    )
    for t, length, failed in ((1.2, 0.4, False), (1.8, 0.6, False), (2.4, 0.1, True)):
        rec.gait_event(t, "left", length, 0.05, failed)
    rec.close()
    return compute_metrics(log_to_nwb(folder / LOG_NAME, folder / "recording.nwb"))


def test_decoder_accuracy_counts_closed_loop_only(metrics: dict) -> None:
    decoder = metrics["decoder"]
    assert decoder["n_decodes"] == 20 and decoder["scope"] == "closed_loop"
    assert decoder["state_accuracy"] == pytest.approx(17 / 20)
    # against the intention (cue + 0.2 s): the first 2 left_hip decodes are early, the 2 rest
    # decodes late, and the first 2 rest-cue decodes fall inside the intended left_hip
    assert decoder["intention_accuracy"] == pytest.approx(14 / 20)
    labels, matrix = decoder["confusion"]["labels"], np.array(decoder["confusion"]["matrix"])
    assert matrix.sum() == 20
    assert matrix[labels.index("left_hip"), labels.index("rest")] == 2
    assert matrix[labels.index("rest"), labels.index("left_knee")] == 1
    assert matrix[:, labels.index("right_ankle")].sum() == 0


def test_latency_per_hop_from_stamps(metrics: dict) -> None:
    lat = metrics["latency_ms"]
    assert lat["acquire->features"]["p50"] == pytest.approx(1.0, abs=1e-6)
    assert lat["features->decoder"]["p50"] == pytest.approx(2.0, abs=1e-6)
    assert lat["features->decoder"]["max"] == pytest.approx(20.0, abs=1e-6)
    assert lat["safety->stimulator"]["p99"] == pytest.approx(0.25, abs=1e-6)
    assert lat["end_to_end"]["p50"] == pytest.approx(3.75, abs=1e-6)
    assert lat["end_to_end"]["n"] == 100


def test_stimulation_and_gait_counts(metrics: dict) -> None:
    stim = metrics["stimulation"]
    assert (
        stim["pulses_delivered"],
        stim["commands_vetoed"],
        stim["commands_clamped"],
        stim["safety_events"],
    ) == (3, 1, 1, 1)
    gait = metrics["gait"]
    assert (gait["steps"], gait["failed_steps"]) == (3, 1)
    assert gait["step_length_m"] == pytest.approx(0.5)
    assert gait["speed_m_s"] == pytest.approx(1.0 / 2.0)  # 1 m walked over 2 s closed loop


def test_metrics_are_valid_json(metrics: dict) -> None:
    text = json.dumps(metrics, allow_nan=False)
    assert json.loads(text)["recording"]["closed"] is True


def test_empty_session_gives_none_not_nan(tmp_path: Path) -> None:
    SessionRecorder(tmp_path, synthetic_info(2)).close()
    result = compute_metrics(log_to_nwb(tmp_path / LOG_NAME, tmp_path / "r.nwb"))
    assert result["decoder"]["state_accuracy"] is None
    assert result["latency_ms"]["end_to_end"]["p99"] is None
    assert result["gait"]["speed_m_s"] is None
    json.dumps(result, allow_nan=False)


def test_recorded_summaries_reach_metrics_and_the_seal(tmp_path: Path) -> None:
    from openbsi.store.verify import verify_recording

    rec = SessionRecorder(tmp_path, synthetic_info(2))
    rec.ecog(np.zeros((2, 10)), 0.0, 0)
    rec.summary("link", {"frames_sent": 10, "frames_lost": 3})
    rec.summary(
        "link",
        {
            "frames_sent": 12,
            "frames_lost": 4,
            "age_p99_ms": float("nan"),
            "uplink": {"age_p50_ms": float("inf")},
        },
    )  # the later one wins
    rec.summary("stimulation", {"pulses_delivered": -1, "energy_uj": 5.0})
    rec.close()
    nwb_path = log_to_nwb(tmp_path / LOG_NAME, tmp_path / "r.nwb")
    result = compute_metrics(nwb_path)
    assert result["link"] == {
        "frames_sent": 12,
        "frames_lost": 4,
        "age_p99_ms": None,
        "uplink": {"age_p50_ms": None},
    }
    json.dumps(result, allow_nan=False)
    assert result["stimulation"]["energy_uj"] == 5.0
    assert result["stimulation"]["pulses_delivered"] == 0  # computed from the file wins
    assert verify_recording(nwb_path, expected_seal=rec.seal)["ok"]
