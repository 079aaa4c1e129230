"""EventList: a compact list of event dicts."""

from __future__ import annotations

import numpy as np
import pytest

from openbsi.store.session_data import EventList


def test_event_list_behaves_like_a_list_of_dicts() -> None:
    events = [
        {"t_s": 0.1 * i, "state": "rest", "probs": [0.5, 0.5], "ok": i % 2 == 0} for i in range(5)
    ]
    stored = EventList(events)
    assert len(stored) == 5 and list(stored) == events and stored == events
    assert stored[-1] == events[-1] and stored[1:3] == events[1:3]
    assert stored.columns("t_s", "ok") == {
        "t_s": [e["t_s"] for e in events],
        "ok": [e["ok"] for e in events],
    }
    assert stored != events[:4] and EventList() == []
    with pytest.raises(IndexError, match="event index"):
        stored[5]


def test_event_list_stores_numpy_scalars_as_python_values() -> None:
    stored = EventList([{"n": np.int64(3), "x": np.float32(0.5), "v": np.arange(2)}])
    assert stored[0] == {"n": 3, "x": 0.5, "v": [0, 1]}
    assert type(stored[0]["n"]) is int


def test_event_list_is_smaller_than_dicts() -> None:
    import sys

    events = [
        {"t_s": 0.1 * i, "state": "left_knee", "amplitude": 0.3, "probs": [1 / 7] * 7}
        for i in range(1000)
    ]
    stored = EventList(events)
    dict_bytes = sum(
        sys.getsizeof(e)
        + sum(sys.getsizeof(v) for v in e.values())
        + sum(sys.getsizeof(p) for p in e["probs"])
        for e in events
    )
    assert len(stored._blob) + stored._ends.itemsize * len(stored) < dict_bytes / 2
