"""Device profiles: each stimulator's own hardware limits.

The safety supervisor's limits must be at least as strict as the profile of the backend it
guards (SafetyLimits.from_profile builds them); the backend also checks every pulse against its
profile before emitting it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from openbsi.stimulation.types import Pulse


def check_ordered_ranges(limits: object, quantities: tuple[str, ...]) -> None:
    """For each quantity q, min_q <= max_q, or an error naming both fields and the values."""
    for quantity in quantities:
        low, high = getattr(limits, f"min_{quantity}"), getattr(limits, f"max_{quantity}")
        if low > high:
            raise ValueError(f"min_{quantity} must be <= max_{quantity} ({high}), got {low}")


@dataclass(frozen=True)
class DeviceProfile:
    """Hardware limits of one kind of stimulator."""

    name: str
    max_amplitude_ma: float  # per channel
    max_total_ma: float  # all channels at once
    min_pulse_width_us: float
    max_pulse_width_us: float
    max_frequency_hz: float
    min_frequency_hz: float = 1.0
    max_interphase_gap_us: float = 100.0
    min_amplitude_ma: float = 0.0  # smallest non-zero amplitude the device can produce
    # > 0: each pulse is an envelope of pulse_width_us filled with a biphasic carrier at this
    # frequency; its charge per phase is that of one carrier half-cycle.
    carrier_hz: float = 0.0
    # > 0: r.m.s. current density limit of surface electrodes (mA/cm^2).
    max_rms_density_ma_cm2: float = 0.0
    # Charge density ceiling per phase the device itself refuses to exceed (0 = none); the
    # clinical warning level on platinum is 30 uC/cm^2 (facts.md).
    max_charge_density_uc_cm2: float = 30.0

    def __post_init__(self) -> None:
        for key in (
            "max_amplitude_ma",
            "max_total_ma",
            "min_pulse_width_us",
            "max_pulse_width_us",
            "max_frequency_hz",
            "min_frequency_hz",
            "max_interphase_gap_us",
            "min_amplitude_ma",
            "carrier_hz",
            "max_rms_density_ma_cm2",
            "max_charge_density_uc_cm2",
        ):
            value = getattr(self, key)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{key} must be a finite number >= 0, got {value!r}")
        check_ordered_ranges(self, ("pulse_width_us", "frequency_hz"))

    def pulse_within(self, pulse: Pulse, area_mm2: float | None = None) -> bool:
        """Whether a single pulse is inside the hardware's amplitude / width / gap range and,
        given the contact area, under its charge-density ceiling (firmware-style check that
        holds even if the supervisor were wrong)."""
        a, pw, gap = pulse.amplitude_ma, pulse.pulse_width_us, pulse.interphase_gap_us
        within = (
            math.isfinite(a)
            and max(self.min_amplitude_ma, 0.0) <= a <= self.max_amplitude_ma
            and a > 0.0
            and math.isfinite(pw)
            and self.min_pulse_width_us <= pw <= self.max_pulse_width_us
            and math.isfinite(gap)
            and 0.0 <= gap <= self.max_interphase_gap_us
        )
        if not within or area_mm2 is None or self.max_charge_density_uc_cm2 <= 0:
            return within
        phase_us = min(pw, 0.5e6 / self.carrier_hz) if self.carrier_hz > 0 else pw
        density_uc_cm2 = a * phase_us * 1e-3 / (area_mm2 / 100.0)
        return density_uc_cm2 <= self.max_charge_density_uc_cm2 * (1.0 + 1e-9)


# Example device limits of a commercial system: 12.7 mA per contact, 20 mA in total, up to
# 255 Hz, 60–450 us (facts.md, "Stimulation safety").
PADDLE_PROFILE = DeviceProfile(
    name="paddle",
    max_amplitude_ma=12.7,
    max_total_ma=20.0,
    min_pulse_width_us=60.0,
    max_pulse_width_us=450.0,
    max_frequency_hz=255.0,
)

# MagNI: biphasic 0.05–1.5 mA, 64–512 us, 0–200 Hz (facts.md, "Battery-free magnetoelectric").
# Total current: each node drives its own current; 6 nodes x 1.5 mA.
NODES_PROFILE = DeviceProfile(
    name="nodes",
    max_amplitude_ma=1.5,
    max_total_ma=9.0,
    min_pulse_width_us=64.0,
    max_pulse_width_us=512.0,
    max_frequency_hz=200.0,
    min_amplitude_ma=0.05,
)

# ARC-EX predecessor protocol: 1 ms biphasic pulses at 30 Hz filled with a 10 kHz carrier,
# 80–120 mA (facts.md, "Non-invasive transcutaneous"); pulses here are the 1 ms envelopes.
TRANSCUTANEOUS_PROFILE = DeviceProfile(
    name="transcutaneous",
    max_amplitude_ma=120.0,
    max_total_ma=240.0,
    min_pulse_width_us=1000.0,
    max_pulse_width_us=1000.0,
    max_frequency_hz=30.0,
    max_interphase_gap_us=0.0,
    carrier_hz=10_000.0,
    max_rms_density_ma_cm2=2.0,  # IEC 60601-2-10 warning level for surface stimulators (facts.md)
)

PROFILES: dict[str, DeviceProfile] = {
    profile.name: profile for profile in (PADDLE_PROFILE, NODES_PROFILE, TRANSCUTANEOUS_PROFILE)
}


def get_profile(name: str) -> DeviceProfile:
    """The device profile of a backend kind; ValueError listing the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"profile must be one of {sorted(PROFILES)}, got {name!r}") from None
