"""Real-time settings: applied where permitted, reported where not, and undone afterwards."""

import gc
import os
import time

import numpy as np
import pytest

from openbsi.bench.latency import competing_load, realtime_comparison
from openbsi.runtime.realtime import RealtimeSettings


def test_settings_are_applied_or_reported_and_undone():
    policy = os.sched_getscheduler(0)
    affinity = os.sched_getaffinity(0)
    gc_enabled = gc.isenabled()
    with RealtimeSettings(lock_memory=False) as report:
        for setting in ("SCHED_FIFO", "CPU affinity"):  # each one set, or said why not
            applied = any(a.startswith(setting) for a in report.applied)
            assert applied != (setting in report.not_applied)
        if any(a.startswith("SCHED_FIFO") for a in report.applied):
            assert os.sched_getscheduler(0) == os.SCHED_FIFO
        if any(a.startswith("CPU affinity") for a in report.applied):
            assert len(os.sched_getaffinity(0)) == 1
        assert not gc.isenabled()
        assert all(line.startswith("realtime:") for line in report.lines())
    assert os.sched_getscheduler(0) == policy
    assert os.sched_getaffinity(0) == affinity
    assert gc.isenabled() == gc_enabled


def test_a_cpu_outside_the_allowed_set_is_reported_not_raised():
    with RealtimeSettings(cpu=10_000, lock_memory=False, gc_control=False) as report:
        assert "CPU affinity" in report.not_applied
        assert "10000" in report.not_applied["CPU affinity"]


def test_priority_is_checked():
    with pytest.raises(ValueError, match=r"priority must be in \[1, 99\]"):
        RealtimeSettings(priority=0)


def test_competing_load_is_there_throughout_and_ends_with_the_block():
    with competing_load(2, max_s=30.0) as load:
        pass
    assert load["alive_at_end"] == 2


@pytest.mark.slow
def test_comparison_measures_both_modes_in_one_run():
    result = realtime_comparison(16, 40, np.random.default_rng(0), load_processes=1, pace_ms=1.0)
    for mode in ("default", "realtime"):
        e2e = result[mode]["end_to_end"]
        assert 0 < e2e["p50_ms"] <= e2e["p99_ms"] <= e2e["max_ms"]
    assert result["load"]["alive_at_end"] == 1
    assert result["settings"]["applied"] or result["settings"]["not_applied"]


def test_collect_ahead_runs_the_due_collection_at_half_threshold():
    from openbsi.runtime.realtime import collect_ahead

    threshold = gc.get_threshold()
    seen: list[int] = []

    def record(phase, info):
        if phase == "start":
            seen.append(info["generation"])

    gc.collect()
    gc.set_threshold(1000, 10, 10)  # no automatic collection in this test
    gc.callbacks.append(record)
    try:
        keep = [[] for _ in range(100)]  # well below half the threshold: nothing to do
        collect_ahead()
        assert seen == []
        keep += [[] for _ in range(600)]
        collect_ahead()
        assert seen == [0]
        assert gc.get_count()[0] < 100
    finally:
        gc.callbacks.remove(record)
        gc.set_threshold(*threshold)
    assert len(keep) == 700


def test_no_garbage_collection_lands_inside_the_compute_path():
    from openbsi.bench.latency import TICK_NS, _bench_loop

    starts: list[int] = []

    def record(phase, info):
        if phase == "start":
            starts.append(time.monotonic_ns())

    loop = _bench_loop(8, np.random.default_rng(3))
    spans = []
    gc.callbacks.append(record)
    try:
        for k in range(400):
            stamps = loop.tick(k, k * TICK_NS, TICK_NS).stamps_ns
            spans.append((stamps["acquired"], stamps["stimulated"]))
    finally:
        gc.callbacks.remove(record)
    assert starts, "the run must allocate enough to need collections"
    inside = [t for t in starts if any(a <= t <= b for a, b in spans)]
    assert inside == []
