"""Edge cases of the anti-replay window."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbsi.link import ReplayWindow


def test_first_number_and_duplicates() -> None:
    window = ReplayWindow(64)
    assert window.is_fresh(0)
    window.update(0)
    assert not window.is_fresh(0)
    assert window.is_fresh(1)


def test_edges_of_the_window() -> None:
    window = ReplayWindow(64)
    window.update(100)
    assert window.is_fresh(100 - 63)  # oldest slot inside
    assert not window.is_fresh(100 - 64)  # first slot outside
    window.update(37)
    assert not window.is_fresh(37)


def test_a_jump_larger_than_the_window_clears_it() -> None:
    window = ReplayWindow(4)
    for s in range(4):
        window.update(s)
    window.update(1000)
    assert [window.is_fresh(s) for s in (996, 997, 998, 999, 1000)] == [
        False,
        True,
        True,
        True,
        False,
    ]


def test_a_jump_inside_the_window_keeps_earlier_marks() -> None:
    window = ReplayWindow(8)
    window.update(10)
    window.update(13)
    assert not window.is_fresh(10) and window.is_fresh(11) and window.is_fresh(12)


def test_size_is_checked() -> None:
    with pytest.raises(ValueError, match=r"size must be in \[1, 65536\]"):
        ReplayWindow(0)


@given(st.lists(st.integers(min_value=0, max_value=300), max_size=200), st.integers(1, 70))
def test_window_matches_a_set_model(sequence: list[int], size: int) -> None:
    """Fresh iff never accepted and not `size` or more below the highest accepted."""
    window = ReplayWindow(size)
    seen: set[int] = set()
    for s in sequence:
        expected = s not in seen and (not seen or s > max(seen) - size)
        assert window.is_fresh(s) == expected
        if expected:
            window.update(s)
            seen.add(s)
