import numpy as np
import pytest

from openbsi.runtime.latency import HOPS, STAMPS, TickStamps, summarize_ms


def test_stamps_are_monotonic_and_hops_add_up():
    stamps = TickStamps()
    for name in STAMPS:
        stamps.stamp(name)
    values = [stamps.stamps_ns[name] for name in STAMPS]
    assert values == sorted(values)
    parts = sum(stamps.hop_ms(h) for h in HOPS if h != "end_to_end")
    assert parts == pytest.approx(stamps.hop_ms("end_to_end"))


def test_unknown_stamp_is_refused():
    with pytest.raises(ValueError, match="stamp name"):
        TickStamps().stamp("decoder")


def test_summary_percentiles():
    summary = summarize_ms(np.arange(1, 101, dtype=float))
    assert summary["max"] == 100
    assert summary["p50"] == pytest.approx(50.5)
    assert 99 <= summary["p99"] <= 100
    assert np.isnan(summarize_ms(np.array([]))["p50"])
