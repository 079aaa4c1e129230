"""Real-time settings: applied where permitted, reported where not, and undone afterwards."""

import gc
import os

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
