"""Mapper: state onset tracking, seq, amplitude scaling."""

from __future__ import annotations

import math

import pytest

from openbsi.stimulation.electrodes import PADDLE_16
from openbsi.stimulation.mapper import Mapper
from openbsi.stimulation.program import Program, StimStep, default_paddle_program

MS = 1_000_000


def _program() -> Program:
    return Program(
        "t",
        "paddle",
        {
            "rest": (StimStep((6,), 2.0, 200.0, 40.0),),
            "left_hip": (
                StimStep((0, 2), 6.0, 300.0, 40.0, duration_ms=500.0),
                StimStep((2,), 8.0, 300.0, 40.0, onset_ms=200.0, duration_ms=100.0),
            ),
        },
        min_amplitude_fraction=0.5,
    )


def test_seq_increments_and_state_onset_is_tracked() -> None:
    mapper = Mapper(_program(), PADDLE_16)
    seqs, sets = [], []
    for k in range(8):
        command = mapper.map("left_hip", 1.0, 1_000 * MS + k * 100 * MS)
        seqs.append(command.seq)
        sets.append({c.electrode: c.amplitude_ma for c in command.channels})
    assert seqs == list(range(1, 9))
    assert mapper.state_onset_ns == 1_000 * MS
    assert sets[0] == {0: 6.0, 2: 6.0}
    assert sets[2] == {0: 6.0, 2: 8.0}  # 200 ms: the stronger overlapping step wins
    assert sets[3] == {0: 6.0, 2: 6.0}  # 300 ms: the 100 ms step is over
    assert sets[5] == {} and sets[7] == {}  # the 500 ms train ended


def test_state_change_restarts_onset() -> None:
    mapper = Mapper(_program(), PADDLE_16)
    mapper.map("left_hip", 1.0, 0)
    mapper.map("left_hip", 1.0, 600 * MS)
    assert mapper.map("left_hip", 1.0, 700 * MS).channels == ()
    mapper.map("rest", 1.0, 800 * MS)
    command = mapper.map("left_hip", 1.0, 900 * MS)
    assert mapper.state_onset_ns == 900 * MS
    assert {c.electrode for c in command.channels} == {0, 2}


@pytest.mark.parametrize(
    ("amplitude", "expected_ma"),
    [
        (0.0, 1.0),
        (1.0, 2.0),
        (0.5, 1.5),
        (math.nan, 1.0),
        (-5.0, 1.0),
        (9.0, 2.0),
        (math.inf, 2.0),
        (-math.inf, 1.0),
    ],
)
def test_amplitude_scaling_clips(amplitude: float, expected_ma: float) -> None:
    command = Mapper(_program(), PADDLE_16).map("rest", amplitude, 0)
    assert command.channels[0].amplitude_ma == pytest.approx(expected_ma)


def test_unknown_state_maps_to_nothing_and_program_electrodes_are_checked() -> None:
    assert Mapper(_program(), PADDLE_16).map("fly", 1.0, 0).channels == ()
    bad = Program("b", "paddle", {"rest": (StimStep((99,), 1.0, 200.0, 40.0),)})
    with pytest.raises(ValueError, match="electrode 99"):
        Mapper(bad, PADDLE_16)


def test_default_program_maps_every_state() -> None:
    mapper = Mapper(default_paddle_program(), PADDLE_16)
    for state in ("rest", "left_hip", "right_knee", "right_ankle"):
        mapper.reset()
        assert mapper.map(state, 0.7, 0).channels
