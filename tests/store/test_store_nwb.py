"""NWB writer/reader round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pynwb import NWBHDF5IO

from openbsi.states import STATES
from openbsi.store.nwb import log_to_nwb, read_nwb, write_nwb
from openbsi.store.sealed import canonical_channels
from openbsi.store.session_log import LOG_NAME, SessionRecorder, read_log
from openbsi.store.synthetic import record_synthetic_session, synthetic_info

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("session")
    record_synthetic_session(folder, np.random.default_rng(10), seconds=4.0, n_channels=8)
    return folder / LOG_NAME, log_to_nwb(folder / LOG_NAME, folder / "recording.nwb")


def test_round_trip_preserves_everything(recorded: tuple[Path, Path]) -> None:
    log_path, nwb_path = recorded
    a, b = read_log(log_path), read_nwb(nwb_path)
    np.testing.assert_array_equal(a.ecog, b.ecog)
    assert (a.info.name, a.info.sfreq_hz, a.info.channel_names, a.info.unit) == (
        b.info.name,
        b.info.sfreq_hz,
        b.info.channel_names,
        b.info.unit,
    )
    assert canonical_channels(a.info.channel_names, a.info.channel_meta) == canonical_channels(
        b.info.channel_names, b.info.channel_meta
    )
    assert (a.session_id, a.start_time, a.chain_head, a.closed) == (
        b.session_id,
        b.start_time,
        b.chain_head,
        b.closed,
    )
    for name in (
        "intents",
        "phases",
        "decodes",
        "stim_commands",
        "safety_events",
        "latency",
        "gait_events",
        "stim_electrodes",
    ):
        assert getattr(a, name) == getattr(b, name), name
    assert a.ecog_chunks.sha256 == b.ecog_chunks.sha256
    np.testing.assert_array_equal(a.ecog_chunks.first_sample, b.ecog_chunks.first_sample)
    for name in ("t_s", "electrode", "amplitude_ma", "pulse_width_us"):
        np.testing.assert_array_equal(getattr(a.pulses, name), getattr(b.pulses, name))
    assert a.kinematics.keys() == b.kinematics.keys()
    for name, values in a.kinematics.items():  # times rebuilt from a rate: equal to the ns
        np.testing.assert_allclose(values, b.kinematics[name], rtol=0, atol=1e-9)


def test_nwb_layout_follows_the_contract(recorded: tuple[Path, Path]) -> None:
    _, nwb_path = recorded
    with NWBHDF5IO(str(nwb_path), "r") as io:
        nwb = io.read()
        ecog = nwb.acquisition["ECoG"]
        assert ecog.rate == 586.0 and ecog.conversion == 1e-6 and ecog.unit == "volts"
        assert ecog.data.shape == (40 * 59, 8)  # samples x channels
        assert set(nwb.electrode_groups) == {"left", "right"}
        assert set(nwb.intervals) >= {"intent", "phases"}
        assert set(nwb.intervals["intent"]["state"].data[:]) <= set(STATES)
        assert nwb.processing["decoding"]["decodes"]["probabilities"].data.shape == (40, 7)
        commands = nwb.processing["stimulation"]["commands"]
        assert {"vetoed", "clamped", "electrode", "amplitude_ma"} <= set(commands.colnames)
        assert "safety_events" in nwb.processing["stimulation"].data_interfaces
        assert "latency" in nwb.processing["runtime"].data_interfaces
        assert "gait_events" in nwb.processing["behavior"].data_interfaces


def test_empty_session_writes_and_reads(tmp_path: Path) -> None:
    SessionRecorder(tmp_path, synthetic_info(2)).close()
    data = read_nwb(log_to_nwb(tmp_path / LOG_NAME, tmp_path / "r.nwb"))
    assert data.ecog.shape == (0, 2)
    assert data.decodes == [] and len(data.pulses) == 0 and data.closed


def test_compressed_ecog_reads_back_identically(tmp_path: Path) -> None:
    record_synthetic_session(tmp_path, np.random.default_rng(11), seconds=0.5, n_channels=4)
    data = read_log(tmp_path)
    back = read_nwb(write_nwb(data, tmp_path / "c.nwb", compression_level=1))
    np.testing.assert_array_equal(back.ecog, data.ecog)
    assert not (tmp_path / "c.partial.nwb").exists()


def test_streamed_conversion_crosses_batch_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openbsi.store import nwb_stream

    monkeypatch.setattr(nwb_stream, "BATCH_SAMPLES", 100)  # 59-sample chunks, uneven batches
    record_synthetic_session(tmp_path, np.random.default_rng(12), seconds=1.3, n_channels=3)
    streamed = read_nwb(log_to_nwb(tmp_path / LOG_NAME, tmp_path / "s.nwb"))
    np.testing.assert_array_equal(streamed.ecog, read_log(tmp_path).ecog)


def test_channel_meta_survives_the_round_trip(tmp_path: Path) -> None:
    from openbsi.signals.types import StreamInfo

    metas = (
        {
            "group": "left",
            "x_mm": 0.0,
            "y_mm": 4.5,
            "location": "left M1 leg",
            "tuned_to": "left_knee",
        },
        {
            "group": "right",
            "x_mm": 4.0,
            "y_mm": 0.0,
            "location": "right M1 leg",
            "tuned_to": "rest",
        },
    )
    info = StreamInfo("meta", 586.0, ("a", "b"), channel_meta=metas)
    with SessionRecorder(tmp_path, info) as rec:
        rec.ecog(np.ones((2, 3)), 0.0, 0)
    back = read_nwb(log_to_nwb(tmp_path / LOG_NAME, tmp_path / "m.nwb"))
    assert back.info == info
    with NWBHDF5IO(str(tmp_path / "m.nwb"), "r") as io:
        assert list(io.read().electrodes["location"].data[:]) == ["left M1 leg", "right M1 leg"]


def test_failed_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from openbsi.store import nwb as nwb_module

    record_synthetic_session(tmp_path, np.random.default_rng(13), seconds=0.3, n_channels=2)
    data = read_log(tmp_path)

    def full_disk(self: object, *args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(nwb_module.NWBHDF5IO, "write", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_nwb(data, tmp_path / "r.nwb")
    assert not list(tmp_path.glob("*.nwb"))


def test_file_is_valid_against_the_nwb_schema(recorded: tuple[Path, Path]) -> None:
    from pynwb import validate

    assert validate(path=str(recorded[1])) == []


def test_a_gap_is_written_as_separate_segments_never_joined(tmp_path: Path) -> None:
    """A 4.6 s reconnect gap: two ElectricalSeries on the session clock, each verified."""
    from openbsi.store.verify import verify_nwb

    info = synthetic_info(2)
    fs = info.sfreq_hz
    rng = np.random.default_rng(3)
    starts_s = [0.0, 59 / fs, 2 * 59 / fs, 2 * 59 / fs + 4.6, 2 * 59 / fs + 4.6 + 59 / fs]
    with SessionRecorder(tmp_path, info) as rec:
        for k, t_s in enumerate(starts_s):
            rec.ecog(rng.normal(0, 20, (2, 59)), t_s, k)
    path = log_to_nwb(rec.log_path, tmp_path / "gap.nwb")
    with NWBHDF5IO(str(path), "r") as io:
        acq = io.read().acquisition
        assert sorted(acq) == ["ECoG_seg0", "ECoG_seg1"]
        assert acq["ECoG_seg0"].data.shape[0] == 177 and acq["ECoG_seg1"].data.shape[0] == 118
        assert abs(acq["ECoG_seg1"].starting_time - starts_s[3]) < 1 / fs
        assert acq["ECoG_seg1"].rate == fs
    verdict = verify_nwb(path)
    assert verdict["integrity_ok"], verdict
    assert [s["n_samples"] for s in verdict["segments"]] == [177, 118]
    assert any("1 break(s)" in p for p in verdict["problems"])  # a gap is reported
    back = read_nwb(path)
    assert [s.start_s for s in back.segments] == [starts_s[0], starts_s[3]]
