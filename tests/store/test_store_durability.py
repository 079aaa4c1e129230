"""Durability: periodic fsync, flat memory while recording."""

from __future__ import annotations

import os
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from openbsi.store import session_log
from openbsi.store.session_log import SessionRecorder
from openbsi.store.synthetic import synthetic_info


def test_quiet_recorder_is_still_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The background thread fsyncs pending records even when no further call arrives."""
    calls: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(session_log.os, "fsync", lambda fd: (calls.append(fd), real_fsync(fd)))
    rec = SessionRecorder(tmp_path, synthetic_info(2), sync_interval_s=0.05)
    before = len(calls)
    rec.phase(0.0, 1.0, "calibration")  # one record, then silence
    deadline = time.monotonic() + 5.0
    while len(calls) == before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(calls) > before
    rec.close()


def test_close_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(session_log.os, "fsync", lambda fd: (calls.append(fd), real_fsync(fd)))
    rec = SessionRecorder(tmp_path, synthetic_info(2), sync_interval_s=1.0)
    rec.phase(0.0, 1.0, "x")
    before = len(calls)
    rec.close()
    assert len(calls) > before


def test_recording_keeps_no_data_in_memory(tmp_path: Path) -> None:
    """Python-heap growth over 2000 chunks (~9 MB of samples) stays under 1 MB."""
    rng = np.random.default_rng(40)
    block = rng.normal(size=(64, 59)).astype("f4")
    rec = SessionRecorder(tmp_path, synthetic_info(64))
    for k in range(100):  # warm up
        rec.ecog(block, k * 0.1, k)
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    for k in range(100, 2100):
        rec.ecog(block, k * 0.1, k)
        rec.decode(k * 0.1, "rest", np.full(7, 1 / 7), 0.0)
        rec.latency(k, {"acquired": k, "stimulated": k + 1})
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rec.close()
    assert current - base < 1_000_000
    assert (tmp_path / session_log.LOG_NAME).stat().st_size > 2000 * 64 * 59 * 4


def test_concurrent_writers_interleave_whole_records(tmp_path: Path) -> None:
    """The loop and a stimulator thread may record at once: no record is torn or lost."""
    import threading

    rng = np.random.default_rng(41)
    blocks = [rng.normal(size=(4, 10)).astype("f4") for _ in range(200)]
    rec = SessionRecorder(tmp_path, synthetic_info(4))

    def acquire() -> None:
        for k, block in enumerate(blocks):
            rec.ecog(block, k * 10 / 586.0, k)

    def stimulate() -> None:
        for k in range(500):
            rec.pulses(np.array([k * 0.01]), np.array([k % 16]), np.array([1.0]), np.array([200.0]))

    threads = [threading.Thread(target=acquire), threading.Thread(target=stimulate)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rec.close()
    data = session_log.read_log(tmp_path)
    assert not data.problems and data.closed
    np.testing.assert_array_equal(data.ecog, np.concatenate(blocks, axis=1).T)
    np.testing.assert_allclose(data.pulses.t_s, np.arange(500) * 0.01)
    assert data.seal == rec.seal


def test_the_caller_never_waits_for_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Between creation and close, every fsync runs on the recorder's own thread."""
    import threading

    threads: list[str] = []
    real_fsync = os.fsync
    rec = SessionRecorder(tmp_path, synthetic_info(2), sync_interval_s=0.02)
    monkeypatch.setattr(
        session_log.os,
        "fsync",
        lambda fd: (threads.append(threading.current_thread().name), real_fsync(fd)),
    )
    deadline = time.monotonic() + 5.0
    k = 0
    while (len(threads) < 3 or k < 50) and time.monotonic() < deadline:
        rec.decode(k * 0.1, "rest", np.full(7, 1 / 7), 0.0)
        k += 1
        time.sleep(0.005)
    monkeypatch.undo()
    rec.close()
    assert len(threads) >= 3
    assert set(threads) == {"obsilog-sync"}
