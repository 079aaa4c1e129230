"""Safety limits: what the supervisor lets through, whatever the decoder, mapper or user asks.

Defaults suit the 16-contact paddle (facts.md, "Stimulation safety"):
- Shannon (1992): damage when log10(D) > k - log10(Q), D = charge density per phase (uC/cm^2),
  Q = charge per phase (uC); k = 1.85 is the lowest k at which damage was seen.
  Equivalent: Q <= sqrt(10**k * A) for a contact of area A (cm^2).
- Clinical programmers warn at 30 uC/cm^2 per phase on platinum contacts.
- Example device limits: 12.7 mA per contact, 20 mA in total, up to 255 Hz, 60–450 us.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from openbsi.stimulation.profiles import DeviceProfile, check_ordered_ranges

_MM2_PER_CM2 = 100.0
# Relative margin under each computed charge limit, so clamped values pass the per-pulse gate
# despite floating-point rounding.
CLAMP_MARGIN = 1e-9


@dataclass(frozen=True)
class SafetyLimits:
    """Every limit the supervisor enforces (all configurable; defaults for the paddle)."""

    max_amplitude_ma: float = 12.7  # per electrode (device example, facts.md)
    min_amplitude_ma: float = 0.0  # smaller non-zero setpoints are switched off
    max_total_ma: float = 20.0  # all electrodes at once (device example, facts.md)
    min_pulse_width_us: float = 60.0  # device example, facts.md
    max_pulse_width_us: float = 450.0  # device example, facts.md
    min_frequency_hz: float = 2.0  # below this a channel is switched off (unconfirmed)
    max_frequency_hz: float = 255.0  # device example, facts.md
    max_interphase_gap_us: float = 100.0  # unconfirmed, typical programmable range
    shannon_k: float = 1.85  # Shannon 1992 (facts.md)
    max_charge_density_uc_cm2: float = 30.0  # clinical warning on Pt contacts (facts.md)
    max_duty_fraction: float = 0.5  # share of time an electrode may be inside a pulse
    # Ramp-up limit. The published 0.03 mA/s (adaptive neurostimulator, facts.md) is a comfort
    # setting far too slow for phase-locked gait programs; 50 mA/s reaches 5 mA in 100 ms
    # (unconfirmed, chosen for this platform). Decreases are applied at once (always safer).
    max_ramp_up_ma_per_s: float = 50.0
    watchdog_age_ms: float = 250.0  # newest command older than this -> ramp to zero
    ramp_down_ms: float = 200.0  # watchdog ramp to zero completes within this time
    max_future_ms: float = 50.0  # commands stamped further ahead of the clock are vetoed
    # > 0: pulses are envelopes filled with a biphasic carrier (transcutaneous, 10 kHz); the
    # charge per phase is then amplitude x half a carrier period.
    carrier_hz: float = 0.0
    # > 0: r.m.s. current density limit for surface electrodes (mA/cm^2), judged at the highest
    # allowed rate; IEC 60601-2-10 asks surface stimulators to warn above 2 mA/cm^2 (facts.md).
    max_rms_density_ma_cm2: float = 0.0

    def __post_init__(self) -> None:
        for key, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key} must be a number, got {value!r}")
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{key} must be finite and >= 0, got {value!r}")
        positive = ("max_pulse_width_us", "max_frequency_hz", "max_duty_fraction", "ramp_down_ms")
        for key in positive:
            if getattr(self, key) <= 0:
                raise ValueError(f"{key} must be > 0, got {getattr(self, key)!r}")
        check_ordered_ranges(self, ("pulse_width_us", "frequency_hz"))
        if self.max_duty_fraction > 1.0:
            raise ValueError(f"max_duty_fraction must be in (0, 1], got {self.max_duty_fraction}")

    @classmethod
    def from_profile(cls, profile: DeviceProfile, **overrides: Any) -> SafetyLimits:
        """Limits no looser than a device profile's hard limits (overrides may only tighten)."""
        base = cls()
        limits = replace(
            base,
            max_amplitude_ma=profile.max_amplitude_ma,
            min_amplitude_ma=profile.min_amplitude_ma,
            max_total_ma=profile.max_total_ma,
            min_pulse_width_us=profile.min_pulse_width_us,
            max_pulse_width_us=profile.max_pulse_width_us,
            min_frequency_hz=max(profile.min_frequency_hz, 0.0),
            max_frequency_hz=profile.max_frequency_hz,
            max_interphase_gap_us=profile.max_interphase_gap_us,
            carrier_hz=profile.carrier_hz,
            max_rms_density_ma_cm2=profile.max_rms_density_ma_cm2,
        )
        limits = replace(limits, **overrides)
        if profile.max_charge_density_uc_cm2 > 0:
            limits = replace(
                limits,
                max_charge_density_uc_cm2=min(
                    limits.max_charge_density_uc_cm2, profile.max_charge_density_uc_cm2
                ),
            )
        for key in ("max_amplitude_ma", "max_total_ma", "max_pulse_width_us", "max_frequency_hz"):
            if getattr(limits, key) > getattr(profile, key):
                raise ValueError(
                    f"{key} must be <= the {profile.name} profile's {getattr(profile, key)}, "
                    f"got {getattr(limits, key)}"
                )
        return limits

    def shannon_charge_uc(self, area_mm2: float) -> float:
        """Largest charge per phase (uC) the Shannon criterion allows on this contact."""
        area_cm2 = area_mm2 / _MM2_PER_CM2
        return math.sqrt(10.0**self.shannon_k * area_cm2)

    def density_charge_uc(self, area_mm2: float) -> float:
        """Largest charge per phase (uC) under the charge-density limit on this contact."""
        return self.max_charge_density_uc_cm2 * area_mm2 / _MM2_PER_CM2

    def max_charge_uc(self, area_mm2: float) -> float:
        """Largest charge per phase (uC): the tighter of Shannon and charge density."""
        return min(self.shannon_charge_uc(area_mm2), self.density_charge_uc(area_mm2))

    def phase_width_us(self, pulse_width_us: float) -> float:
        """Duration of one phase: the pulse width, or half a carrier period with a carrier."""
        if self.carrier_hz > 0:
            return min(pulse_width_us, 0.5e6 / self.carrier_hz)
        return pulse_width_us

    def pulse_span_us(self, pulse_width_us: float, interphase_gap_us: float) -> float:
        """Time one pulse occupies: both phases and the gap, or the carrier envelope."""
        if self.carrier_hz > 0:
            return pulse_width_us
        return 2.0 * pulse_width_us + interphase_gap_us

    def amplitude_bounds(self, area_mm2: float, pulse_width_us: float) -> dict[str, float]:
        """Each rule's largest amplitude (mA) at this pulse width on a contact of this area."""
        bounds = {"max_amplitude": self.max_amplitude_ma}
        phase_us = self.phase_width_us(pulse_width_us)
        if phase_us > 0:
            per_us = 1.0 / (phase_us * 1e-3) * (1.0 - CLAMP_MARGIN)
            bounds["shannon"] = self.shannon_charge_uc(area_mm2) * per_us
            bounds["charge_density"] = self.density_charge_uc(area_mm2) * per_us
        if self.max_rms_density_ma_cm2 > 0 and pulse_width_us > 0:
            # r.m.s. current at the highest allowed rate: current flows during both phases
            # (or the whole carrier envelope).
            conducting_s = (pulse_width_us if self.carrier_hz > 0 else 2 * pulse_width_us) * 1e-6
            duty = min(self.max_frequency_hz * conducting_s, 1.0)
            bounds["rms_current_density"] = (
                self.max_rms_density_ma_cm2
                * area_mm2
                / _MM2_PER_CM2
                / math.sqrt(duty)
                * (1.0 - CLAMP_MARGIN)
            )
        return bounds

    def max_amplitude_for(self, area_mm2: float, pulse_width_us: float) -> float:
        """Largest amplitude (mA) allowed at this pulse width on a contact of this area."""
        return min(self.amplitude_bounds(area_mm2, pulse_width_us).values())

    def binding_rule(self, area_mm2: float, pulse_width_us: float) -> str:
        """The rule that sets max_amplitude_for (for clamp and violation messages)."""
        bounds = self.amplitude_bounds(area_mm2, pulse_width_us)
        return min(bounds, key=lambda rule: bounds[rule])

    def max_frequency_for(self, pulse_width_us: float, interphase_gap_us: float) -> float:
        """Largest frequency (Hz) at this waveform: the hard limit and the duty limit."""
        pulse_s = self.pulse_span_us(pulse_width_us, interphase_gap_us) * 1e-6
        if pulse_s <= 0:
            return self.max_frequency_hz
        return min(self.max_frequency_hz, self.max_duty_fraction / pulse_s)
