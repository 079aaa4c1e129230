"""The append-only session log: framing, torn tails, hash chain, write errors."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

from openbsi.store.framing import (
    MAGIC,
    SYNC,
    RecordType,
    decode_payload,
    encode_payload,
    frame,
)
from openbsi.store.session_log import LOG_NAME, SessionRecorder, read_log
from openbsi.store.synthetic import record_synthetic_session, synthetic_info
from openbsi.store.verify import verify_recording


def test_payload_round_trip_keeps_arrays_and_json() -> None:
    rng = np.random.default_rng(0)
    arrays = (rng.normal(size=(3, 5)).astype("f4"), np.arange(4, dtype="i8"))
    meta, back = decode_payload(encode_payload({"a": 1, "s": "x"}, arrays))
    assert meta == {"a": 1, "s": "x"}
    for original, restored in zip(arrays, back, strict=True):
        assert restored.dtype == original.dtype
        np.testing.assert_array_equal(restored, original)


def test_frame_header_holds_length_and_type() -> None:
    record = frame(RecordType.PHASE, b"abc")
    assert len(record) == 14 + 3
    assert record[:4] == SYNC
    assert int.from_bytes(record[8:12], "little") == 3
    assert int.from_bytes(record[12:14], "little") == RecordType.PHASE


def test_recorder_round_trips_every_record(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    rec = record_synthetic_session(tmp_path, rng, seconds=3.0, n_channels=8)
    data = read_log(tmp_path / LOG_NAME)
    assert data.closed and not data.problems
    assert data.ecog.shape == (30 * 59, 8)
    assert len(data.ecog_chunks) == 30 == rec.n_chunks
    assert data.chain_head == rec.chain_head != data.chain_genesis
    assert len(data.decodes) == 30
    assert len(data.decodes[0]["probs"]) == 7
    assert {p["name"] for p in data.phases} == {"calibration", "closed_loop"}
    assert len(data.stim_electrodes) == 16
    assert data.pulses.t_s.size == data.pulses.electrode.size > 0
    assert set(data.kinematics) == {"t_s", "left_knee_rad", "left_foot_height_m"}
    assert data.latency[0]["stamps_ns"]["stimulated"] > data.latency[0]["stamps_ns"]["acquired"]


def test_ecog_samples_are_stored_exactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    info = synthetic_info(4)
    blocks = [rng.normal(size=(4, n)).astype("f4") for n in (5, 7, 3)]
    with SessionRecorder(tmp_path, info) as rec:
        for i, block in enumerate(blocks):
            rec.ecog(block, float(i), i)
    data = read_log(tmp_path)
    np.testing.assert_array_equal(data.ecog, np.concatenate(blocks, axis=1).T)
    np.testing.assert_array_equal(data.ecog_chunks.first_sample, [0, 5, 12])


def test_wrong_channel_count_names_the_shape(tmp_path: Path) -> None:
    rec = SessionRecorder(tmp_path, synthetic_info(4))
    with pytest.raises(ValueError, match="n_channels=4"):
        rec.ecog(np.zeros((3, 10)), 0.0, 0)
    rec.close()


@pytest.mark.parametrize("cut", [1, 5, 11, 200])
def test_reader_stops_at_a_torn_tail(tmp_path: Path, cut: int) -> None:
    record_synthetic_session(tmp_path, np.random.default_rng(3), seconds=1.0, n_channels=4)
    path = tmp_path / LOG_NAME
    full = read_log(path)
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size - cut)
    torn = read_log(path)
    assert not torn.closed  # the CLOSE record is the last one, so it is gone
    assert any("trailing byte" in p for p in torn.problems)
    assert torn.ecog.shape[0] <= full.ecog.shape[0]
    np.testing.assert_array_equal(torn.ecog, full.ecog[: torn.ecog.shape[0]])


def test_damage_in_the_middle_is_skipped_and_reported(tmp_path: Path) -> None:
    """A flipped bit costs one record: the reader resyncs and keeps everything after it."""
    rng = np.random.default_rng(4)
    blocks = [rng.normal(size=(4, 20)).astype("f4") for _ in range(5)]
    with SessionRecorder(tmp_path, synthetic_info(4)) as rec:
        for i, block in enumerate(blocks):
            rec.ecog(block, i * 20 / 586.0, i)
    path = tmp_path / LOG_NAME
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x40  # inside the third chunk's samples
    path.write_bytes(bytes(raw))
    data = read_log(path)
    assert data.closed  # the records after the damage were all read
    assert len(data.ecog_chunks) == 4
    assert any("damaged byte(s) skipped" in p for p in data.problems)
    assert sum("hash chain broken" in p for p in data.problems) == 1
    np.testing.assert_array_equal(data.ecog[-20:], blocks[-1].T)


def test_not_a_log_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.obsilog"
    path.write_bytes(b"hello world")
    with pytest.raises(ValueError, match="magic"):
        read_log(path)
    assert MAGIC != b"hello wo"


def test_full_disk_drops_records_and_keeps_the_log_readable(tmp_path: Path) -> None:
    """ENOSPC mid-record: the partial record is cut, the session goes on, a gap is logged."""
    state = {"full": False}

    class FlakyDisk(SessionRecorder):
        def _os_write(self, fd: int, data: memoryview) -> int:
            if state["full"]:
                written = os.write(fd, data[: len(data) // 2])  # a partial write, then ENOSPC
                if written:
                    raise OSError(errno.ENOSPC, "No space left on device")
            return os.write(fd, data)

    rng = np.random.default_rng(5)
    rec = FlakyDisk(tmp_path, synthetic_info(4))
    for i in range(10):
        state["full"] = 3 <= i < 6
        rec.ecog(rng.normal(size=(4, 10)), i * 0.1, i)
    rec.close()
    assert rec.write_error is not None and rec.write_error.errno == errno.ENOSPC
    assert rec.dropped_records == 3
    data = read_log(tmp_path)
    assert data.closed and data.dropped_records == 3
    assert len(data.ecog_chunks) == 7
    assert data.dropped_ecog_samples == 30  # exactly the three lost chunks' samples
    verdict = verify_recording(tmp_path)
    assert not verdict["ok"] and verdict["integrity_ok"]
    assert any("3 record(s) lost to write errors" in p for p in verdict["problems"])
    assert not any("hash chain" in p for p in data.problems)
    np.testing.assert_allclose(data.ecog_chunks.t_s, [0, 0.1, 0.2, 0.6, 0.7, 0.8, 0.9])


def test_recorder_keeps_a_previous_log_aside(tmp_path: Path) -> None:
    first = SessionRecorder(tmp_path, synthetic_info(2))
    first.close()
    second = SessionRecorder(tmp_path, synthetic_info(2))
    second.close()
    kept = list(tmp_path.glob("session-*.obsilog"))
    assert len(kept) == 1
    assert read_log(kept[0]).session_id == first.session_id
    assert read_log(tmp_path / LOG_NAME).session_id == second.session_id


def test_chunks_off_the_sample_clock_are_flagged(tmp_path: Path) -> None:
    with SessionRecorder(tmp_path, synthetic_info(2)) as rec:
        rec.ecog(np.zeros((2, 59)), 0.0, 0)
        rec.ecog(np.zeros((2, 59)), 59 / 586.0, 1)  # on time
        rec.ecog(np.zeros((2, 59)), 0.5, 2)  # ~0.3 s of samples lost upstream
    data = read_log(tmp_path)
    assert not data.problems  # timing is a warning, not an integrity problem
    assert len(data.warnings) == 1 and "1 break(s) in the stream" in data.warnings[0]
    assert [s.n_samples for s in data.segments] == [118, 59]


def test_appending_after_close_is_an_error(tmp_path: Path) -> None:
    rec = SessionRecorder(tmp_path, synthetic_info(2))
    rec.close()
    rec.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        rec.phase(0.0, 1.0, "x")


def test_sync_interval_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="sync_interval_s"):
        SessionRecorder(tmp_path, synthetic_info(2), sync_interval_s=5.0)


FILE_LIMIT_WRITER = """
import errno, json, resource, signal, sys
import numpy as np
from pathlib import Path
from openbsi.store.session_log import SessionRecorder
from openbsi.store.synthetic import synthetic_info
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the kernel then fails write() with EFBIG
rec = SessionRecorder(Path(sys.argv[1]), synthetic_info(8))
block = np.ones((8, 59))
for k in range(20):
    rec.ecog(block, k * 59 / 586.0, k)
_, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (rec.path.stat().st_size + 3000, hard))  # disk full
for k in range(20, 40):
    rec.ecog(block, k * 59 / 586.0, k)
    rec.decode(k * 0.1, "rest", np.full(7, 1 / 7), 0.0)
resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))  # space is back
for k in range(40, 50):
    rec.ecog(block, k * 59 / 586.0, k)
rec.close()
print(json.dumps({"errno": rec.write_error.errno, "dropped": rec.dropped_records}))
"""


def test_kernel_refused_writes_are_survived(tmp_path: Path) -> None:
    """A real write() failure from the kernel (file-size limit, like a full disk)."""
    import json
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", FILE_LIMIT_WRITER, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    report = json.loads(out.stdout)
    assert report["errno"] == errno.EFBIG and report["dropped"] > 0
    data = read_log(tmp_path)
    assert data.closed and data.dropped_records == report["dropped"]
    assert any("lost to write errors" in p for p in verify_recording(tmp_path)["problems"])
    assert not any("hash chain" in p for p in data.problems)
    kept = np.round(data.ecog_chunks.t_s * 586.0 / 59).astype(int)
    assert kept[:20].tolist() == list(range(20)) and kept[-10:].tolist() == list(range(40, 50))


def test_latency_stamps_are_checked_and_missing_hops_kept_as_minus_one(tmp_path: Path) -> None:
    with SessionRecorder(tmp_path, synthetic_info(2)) as rec:
        rec.latency(0, {"acquired": 5, "stimulated": 9})
        with pytest.raises(ValueError, match="stamps_ns keys"):
            rec.latency(1, {"acquired": 5, "sent": 7})
    (row,) = list(read_log(tmp_path).latency)
    assert row["stamps_ns"] == {
        "acquired": 5,
        "features": -1,
        "decoded": -1,
        "safety": -1,
        "stimulated": 9,
    }


def test_decode_needs_one_probability_per_state(tmp_path: Path) -> None:
    with SessionRecorder(tmp_path, synthetic_info(2)) as rec:
        with pytest.raises(ValueError, match="probs must hold 7"):
            rec.decode(0.0, "rest", np.ones(6) / 6, 0.0)
        rec.decode(0.0, "rest", np.ones(7) / 7, 0.0)
    assert len(read_log(tmp_path).decodes) == 1


def test_a_disk_full_at_start_is_an_error(tmp_path: Path) -> None:
    class FullDisk(SessionRecorder):
        def _os_write(self, fd: int, data: memoryview) -> int:
            if len(data) > len(MAGIC):
                raise OSError(errno.ENOSPC, "No space left on device")
            return os.write(fd, data)

    with pytest.raises(OSError, match="No space"):
        FullDisk(tmp_path, synthetic_info(2))
