"""The independent audit catches each kind of out-of-limit pulse."""

from __future__ import annotations

import math

from openbsi.safety.audit import count_out_of_limit, out_of_limit_mask
from openbsi.safety.limits import SafetyLimits
from openbsi.stimulation.electrodes import PADDLE_16
from openbsi.stimulation.types import Pulse

MS = 1_000_000


def test_audit_flags_each_violation_and_passes_good_pulses() -> None:
    limits = SafetyLimits()
    good = [Pulse(k * 25 * MS, 1, 4.0, 300.0) for k in range(5)]
    assert count_out_of_limit(good, limits, PADDLE_16) == 0
    bad = [
        Pulse(0, 2, 13.0, 100.0),  # amplitude
        Pulse(0, 3, 4.0, 500.0),  # pulse width
        Pulse(0, 4, 4.0, 300.0, interphase_gap_us=150.0),  # gap
        Pulse(0, 5, 11.0, 450.0),  # Shannon
        Pulse(0, 99, 1.0, 100.0),  # unknown electrode
        Pulse(0, 6, math.nan, 100.0),
        Pulse(0, 7, -1.0, 100.0),
    ]
    mask = out_of_limit_mask(bad, limits, PADDLE_16)
    assert mask.tolist() == [True] * len(bad)
    too_fast = [Pulse(0, 8, 1.0, 100.0), Pulse(2 * MS, 8, 1.0, 100.0)]  # 500 Hz
    assert out_of_limit_mask(too_fast, limits, PADDLE_16).tolist() == [False, True]
    total = [Pulse(0, e, 7.0, 100.0) for e in (9, 10, 11)]  # 21 mA at once
    assert out_of_limit_mask(total, limits, PADDLE_16).tolist() == [False, False, True]
    after = [Pulse(0, 9, 7.0, 100.0), Pulse(0, 10, 7.0, 100.0), Pulse(MS, 11, 7.0, 100.0)]
    assert count_out_of_limit(after, limits, PADDLE_16) == 0
