"""SafetyLimits: validation and the charge formulas (Shannon 1992, facts.md)."""

from __future__ import annotations

import math

import pytest

from openbsi.safety.limits import SafetyLimits
from openbsi.stimulation.profiles import NODES_PROFILE, PADDLE_PROFILE


def test_shannon_charge_matches_the_criterion() -> None:
    limits = SafetyLimits(max_charge_density_uc_cm2=1e9)  # Shannon alone
    area_mm2 = 12.0
    q = limits.max_charge_uc(area_mm2)
    d = q / (area_mm2 / 100.0)
    assert math.log10(d) == pytest.approx(limits.shannon_k - math.log10(q))
    stricter = SafetyLimits(shannon_k=1.5, max_charge_density_uc_cm2=1e9)
    assert stricter.max_charge_uc(area_mm2) < q


def test_density_limit_binds_on_small_contacts() -> None:
    limits = SafetyLimits()
    small, large = 4.0, 12.0  # mm^2; the two limits cross near 7.9 mm^2 at k = 1.85
    assert limits.max_charge_uc(small) == pytest.approx(30.0 * small / 100.0)
    assert limits.max_charge_uc(small) < limits.shannon_charge_uc(small)
    assert limits.max_charge_uc(large) == pytest.approx(limits.shannon_charge_uc(large))


def test_max_amplitude_for_width_respects_charge() -> None:
    limits = SafetyLimits()
    a = limits.max_amplitude_for(12.0, 450.0)
    assert a * 450.0 * 1e-3 <= limits.max_charge_uc(12.0)
    assert limits.max_amplitude_for(12.0, 60.0) == limits.max_amplitude_ma


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"max_amplitude_ma": -1.0}, "max_amplitude_ma"),
        ({"shannon_k": math.nan}, "shannon_k"),
        ({"min_pulse_width_us": 500.0}, "min_pulse_width_us"),
        ({"min_frequency_hz": 300.0}, "min_frequency_hz"),
        ({"max_duty_fraction": 2.0}, "max_duty_fraction"),
        ({"ramp_down_ms": 0.0}, "ramp_down_ms"),
    ],
)
def test_invalid_limits_name_the_parameter(kwargs, name) -> None:
    with pytest.raises(ValueError, match=name):
        SafetyLimits(**kwargs)


def test_from_profile_takes_hardware_limits_and_refuses_looser() -> None:
    nodes = SafetyLimits.from_profile(NODES_PROFILE)
    assert nodes.max_amplitude_ma == NODES_PROFILE.max_amplitude_ma
    assert nodes.min_pulse_width_us == NODES_PROFILE.min_pulse_width_us
    assert nodes.max_frequency_hz == NODES_PROFILE.max_frequency_hz
    tighter = SafetyLimits.from_profile(PADDLE_PROFILE, max_amplitude_ma=8.0)
    assert tighter.max_amplitude_ma == 8.0
    with pytest.raises(ValueError, match="max_amplitude_ma"):
        SafetyLimits.from_profile(PADDLE_PROFILE, max_amplitude_ma=20.0)


def test_rms_current_density_bound_for_surface_electrodes() -> None:
    from openbsi.stimulation.profiles import TRANSCUTANEOUS_PROFILE

    limits = SafetyLimits.from_profile(TRANSCUTANEOUS_PROFILE, max_amplitude_ma=120.0)
    assert limits.max_rms_density_ma_cm2 == 2.0
    small_mm2 = 400.0  # 4 cm^2: 1 ms at 30 Hz -> duty 0.03 -> 2 x 4 / sqrt(0.03) = 46 mA
    bound = limits.max_amplitude_for(small_mm2, 1000.0)
    assert bound == pytest.approx(2.0 * 4.0 / math.sqrt(0.03), rel=1e-6)
    assert limits.binding_rule(small_mm2, 1000.0) == "rms_current_density"
    assert limits.binding_rule(2500.0, 1000.0) == "max_amplitude"
    assert "rms_current_density" not in SafetyLimits().amplitude_bounds(12.0, 300.0)
