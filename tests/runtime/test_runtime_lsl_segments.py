"""LslSource.pull_timed: samples placed by their stamps; a gap or a restart opens a segment."""

import time
import uuid

import numpy as np

from openbsi.signals import Chunk, StreamInfo
from openbsi.signals.lsl import LslPublisher, LslSource


def _pull_all(source: LslSource, n_expected: int) -> list:
    pieces, deadline = [], time.monotonic() + 5
    while sum(p.chunk.n_samples for p in pieces) < n_expected and time.monotonic() < deadline:
        time.sleep(0.02)
        pieces.extend(source.pull_timed())
    return pieces


def test_a_gap_opens_a_new_segment_at_its_true_time_and_is_never_joined() -> None:
    info = StreamInfo(f"seg-{uuid.uuid4().hex[:6]}", 100.0, ("a",))
    with LslPublisher(info) as pub, LslSource(info.name, timeout_s=10.0) as source:
        pub.push(Chunk(np.zeros((1, 5)), 0, time.monotonic_ns()))  # the start-up backlog
        deadline = time.monotonic() + 5
        while source.inlet.samples_available < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        source.start()
        assert source.stats.backlog_discarded == 5
        t0 = time.monotonic_ns()
        pub.push(Chunk(np.arange(10.0)[None, :], 0, t0))  # last sample stamped t0
        pub.push(Chunk(np.arange(10.0, 20.0)[None, :], 100, t0 + 1_000_000_000))  # 1 s later
        pieces = _pull_all(source, 20)
    assert [p.chunk.n_samples for p in pieces if p.starts_segment] == [10, 10]
    first, second = (p for p in pieces if p.starts_segment)
    # the last sample of the first run carries t0; the first sample is 9 samples earlier
    assert abs(first.first_sample_t_ns - (t0 - 90_000_000)) < 1_000_000
    assert abs(second.first_sample_t_ns - (t0 + 910_000_000)) < 1_000_000
    assert second.chunk.data[0, 0] == 10.0
    assert source.stats.gaps == 1 and source.stats.segments == 2
