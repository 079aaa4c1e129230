"""FaultConfig: parsing, ranges, round trip."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openbsi.link import FaultConfig


def test_parse_the_issue_example() -> None:
    config = FaultConfig.parse("loss=0.3,jitter_ms=50,reorder=0.05,corrupt=0.01")
    assert (config.loss, config.jitter_ms, config.reorder, config.corrupt) == (
        0.3,
        50.0,
        0.05,
        0.01,
    )
    assert config.duplicate == 0.0 and config.drop_after_s is None and not config.is_clean


@pytest.mark.parametrize("text", ["", "none", " NONE "])
def test_empty_means_no_faults(text: str) -> None:
    assert FaultConfig.parse(text) == FaultConfig() and FaultConfig().is_clean


def test_as_text_round_trips() -> None:
    config = FaultConfig(loss=0.1, burst_len=3.0, drop_after_s=2.5, drop_for_s=1.0)
    assert FaultConfig.parse(config.as_text()) == config
    assert FaultConfig.parse("drop_after_s=none") == FaultConfig()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("loss=1.5", r"loss must be in \[0, 1\], got 1.5"),
        ("loss=-0.1", r"loss must be in \[0, 1\]"),
        ("jitter_ms=nan", "jitter_ms must be in"),
        ("loss=abc", r"loss must be a number in \[0, 1\], got 'abc'"),
        ("burst_len=0.5", r"burst_len must be in \[1,"),
        ("lost=0.3", "fault key must be one of"),
        ("loss", "must be key=value"),
        ("loss=0.1,loss=0.2", "given twice"),
        ("loss=0.8,burst_len=2", "burst_len must be >= loss/"),
    ],
)
def test_bad_settings_name_key_range_and_value(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        FaultConfig.parse(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_parse_raises_only_value_error_on_any_text(text: str) -> None:
    try:
        config = FaultConfig.parse(text)
    except ValueError as error:
        assert str(error)  # a message, naming what was wrong
    else:
        assert FaultConfig.parse(config.as_text()) == config
