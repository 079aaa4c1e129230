"""LSL on loopback: a publisher in its own process, an inlet that always hands out the newest."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import numpy as np
import pytest

from openbsi.signals import Chunk, StreamInfo
from openbsi.signals.lsl import (
    LslPublisher,
    LslSource,
    from_lsl_info,
    lsl_transport_latency,
    to_lsl_info,
    wakeup_latency,
)

# The publisher process: channel c carries sample_index + 1000 * c, at 1 kHz in real time.
PUBLISHER = """
import sys
import numpy as np
from openbsi.signals import StreamInfo
from openbsi.signals.lsl import LslPublisher, publish_realtime

name, seconds = sys.argv[1], float(sys.argv[2])
info = StreamInfo(name, 1000.0, ("a", "b", "c"))
sent = 0

def ramp(n):
    global sent
    block = np.arange(sent, sent + n, dtype=float)[None, :] + 1000.0 * np.arange(3)[:, None]
    sent += n
    return block

with LslPublisher(info) as publisher:
    print("ready", flush=True)
    publish_realtime(publisher, ramp, seconds)
"""


@pytest.fixture
def publisher_process():
    name = f"openbsi-test-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, name, "20"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        yield name
    finally:
        process.kill()
        process.wait(timeout=10)


def test_freshest_window_across_processes(publisher_process: str) -> None:
    with LslSource(publisher_process, timeout_s=10.0) as source:
        assert source.info.channel_names == ("a", "b", "c") and source.info.sfreq_hz == 1000.0
        assert source.info.unit == "uV"
        chunks: list[Chunk] = []
        while sum(c.n_samples for c in chunks) < 300:  # let a backlog build up, then drain
            time.sleep(0.2)
            chunks.append(source.pull())
        data = np.concatenate([c.data for c in chunks], axis=1)
        ramp = data[0]
        # Nothing lost, duplicated or reordered across pulls; channels stay aligned.
        assert np.array_equal(np.diff(ramp), np.ones(ramp.size - 1))
        assert np.array_equal(data[2] - data[0], np.full(ramp.size, 2000.0))
        # The sample clock continues across pulls.
        assert [c.first_sample for c in chunks] == list(
            np.cumsum([0] + [c.n_samples for c in chunks[:-1]])
        )
        # Each pull drained everything: an immediate second pull has (almost) nothing.
        time.sleep(0.3)
        backlog = source.pull()
        assert backlog.n_samples >= 100
        assert source.pull().n_samples < backlog.n_samples / 4
        assert np.isfinite(source.stats.time_correction_ms)
        assert source.last_source_t_ns > 0


def test_capped_pull_keeps_only_the_newest_samples(publisher_process: str) -> None:
    with LslSource(publisher_process, timeout_s=10.0, max_chunk_samples=50) as source:
        first = source.pull()  # the outlet's backlog from before we connected
        time.sleep(0.4)
        chunk = source.pull()
        received = source.stats.samples_received
        assert chunk.n_samples == 50 and first.n_samples <= 50
        assert source.stats.samples_skipped == received - first.n_samples - chunk.n_samples
        ramp = chunk.data[0]
        assert np.array_equal(np.diff(ramp), np.ones(49))
        assert chunk.first_sample + chunk.n_samples == received  # the newest, not the oldest


def test_stream_info_round_trip_through_lsl() -> None:
    info = StreamInfo("rt", 512.0, ("x1", "x2"), unit="mV")
    back = from_lsl_info(to_lsl_info(info))
    assert (back.name, back.sfreq_hz, back.channel_names, back.unit) == (
        "rt",
        512.0,
        info.channel_names,
        "mV",
    )


def test_publisher_checks_channel_count() -> None:
    info = StreamInfo(f"cc-{uuid.uuid4().hex[:6]}", 100.0, ("a", "b"))
    with (
        LslPublisher(info) as pub,
        pytest.raises(ValueError, match="chunk must have 2 channels"),
    ):
        pub.push(Chunk(np.zeros((3, 4)), 0, 0))


def test_unknown_stream_names_the_ones_seen() -> None:
    with pytest.raises(ValueError, match="LSL stream name must be one of"):
        LslSource(f"nope-{uuid.uuid4().hex[:6]}", timeout_s=0.3)


def test_a_stalled_stream_shows_in_silent_s() -> None:
    info = StreamInfo(f"stall-{uuid.uuid4().hex[:6]}", 100.0, ("a",))
    with LslPublisher(info) as pub, LslSource(info.name, timeout_s=10.0) as source:
        pub.push(Chunk(np.ones((1, 10)), 0, time.monotonic_ns()))
        deadline = time.monotonic() + 5
        while source.pull().n_samples == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        arrived = source.last_arrival_ns
        time.sleep(0.05)
        assert source.pull().n_samples == 0  # the publisher went quiet
        assert source.last_arrival_ns == arrived
        assert source.silent_s(arrived + 2_000_000_000) == 2.0
        assert source.silent_s() >= 0.05


def test_transport_latency_benchmark_reports_percentiles() -> None:
    result = lsl_transport_latency(8, n_chunks=20, publisher="thread")
    assert result["n_chunks"] == 20
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    with pytest.raises(ValueError, match="publisher must be one of"):
        lsl_transport_latency(8, publisher="carrier pigeon")


def test_wakeup_baseline_reports_percentiles() -> None:
    result = wakeup_latency(20, period_s=0.001)
    assert result["n_chunks"] == 20
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]


def test_a_gap_in_the_stream_is_counted_and_skipped_on_the_sample_clock() -> None:
    info = StreamInfo(f"gap-{uuid.uuid4().hex[:6]}", 100.0, ("a",))
    with LslPublisher(info) as pub, LslSource(info.name, timeout_s=10.0) as source:
        t0 = time.monotonic_ns()
        pub.push(Chunk(np.arange(10.0)[None, :], 0, t0))
        pub.push(Chunk(np.arange(10.0, 20.0)[None, :], 100, t0 + 1_000_000_000))  # 1 s later
        chunks, deadline = [], time.monotonic() + 5
        while sum(c.n_samples for c in chunks) < 20 and time.monotonic() < deadline:
            time.sleep(0.02)
            chunks.append(source.pull())
        last = next(c for c in reversed(chunks) if c.n_samples)
        assert source.stats.gaps == 1 and source.stats.samples_missing == 90
        assert last.first_sample + last.n_samples - 1 == 109  # newest sample on the clock
        assert last.data[0, -1] == 19.0


def test_an_irregular_stream_is_refused_as_a_signal_source() -> None:
    from mne_lsl.lsl import StreamInfo as LslInfo

    with pytest.raises(ValueError, match=r"regular sampling rate \(> 0 Hz\), got 0"):
        from_lsl_info(LslInfo("markers", "Markers", 1, 0.0, "float32", "m"))
