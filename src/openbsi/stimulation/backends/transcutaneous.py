"""The transcutaneous backend: surface electrodes, 1 ms biphasic envelopes at 30 Hz filled with
a 10 kHz carrier (ARC-EX predecessor protocol, facts.md), with a session timer and ramps.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from openbsi.stimulation.backends.base import Stimulator, Supervisor
from openbsi.stimulation.backends.registry import register_backend
from openbsi.stimulation.energy import SURFACE_EFFICIENCY, SURFACE_LOAD_OHM, pulse_energy_j
from openbsi.stimulation.layouts import transcutaneous_layout
from openbsi.stimulation.profiles import TRANSCUTANEOUS_PROFILE
from openbsi.stimulation.types import Electrode, Pulse

_NS_PER_S = 1_000_000_000


def carrier_waveform(pulse: Pulse, carrier_hz: float, sfreq_hz: float) -> np.ndarray:
    """Current (mA) of one envelope filled with a biphasic square carrier, sampled at sfreq_hz."""
    if not (carrier_hz > 0 and sfreq_hz >= 2 * carrier_hz):
        raise ValueError(f"sfreq_hz must be >= 2 x carrier_hz ({2 * carrier_hz}), got {sfreq_hz}")
    n = max(round(pulse.pulse_width_us * 1e-6 * sfreq_hz), 1)
    centre_s = (np.arange(n) + 0.5) / sfreq_hz  # sample centres: no rounding at phase edges
    phase = np.floor(2.0 * carrier_hz * centre_s).astype(np.int64) % 2  # 0 cathodic, 1 anodic
    return np.where(phase == 0, -pulse.amplitude_ma, pulse.amplitude_ma)


@register_backend("transcutaneous")
class TranscutaneousStimulator(Stimulator):
    """Surface stimulator (device limits: TRANSCUTANEOUS_PROFILE)."""

    default_profile = TRANSCUTANEOUS_PROFILE

    def __init__(
        self,
        supervisor: Supervisor,
        electrodes: tuple[Electrode, ...] | None = None,
        *,
        placement: str = "cervical",
        session_max_s: float = 3600.0,  # per-session cap (unconfirmed; Up-LIFT sessions ~1 h)
        session_ramp_s: float = 5.0,  # ramp in at the start, out before the cap (unconfirmed)
        history: int = 100_000,
        **kw: Any,
    ) -> None:
        layout = electrodes if electrodes is not None else transcutaneous_layout(placement)
        super().__init__(supervisor, layout, **kw)
        if not (math.isfinite(session_max_s) and 0.0 < session_max_s <= 4 * 3600.0):
            raise ValueError(f"session_max_s must be in (0, 14400], got {session_max_s!r}")
        if not (math.isfinite(session_ramp_s) and 0.0 <= session_ramp_s <= session_max_s / 2):
            raise ValueError(
                f"session_ramp_s must be in [0, {session_max_s / 2}], got {session_ramp_s!r}"
            )
        assert self.profile is not None
        self.carrier_hz = self.profile.carrier_hz
        self.session_max_ns = int(session_max_s * _NS_PER_S)
        self.session_ramp_ns = int(session_ramp_s * _NS_PER_S)
        self.session_start_ns: int | None = None
        self.emitted: deque[Pulse] = deque(maxlen=history)
        self._pulse_energy_j = 0.0
        self.peak_density_ma_cm2 = 0.0

    def deliver(self, command: Any, now_ns: int) -> Any:
        decision = super().deliver(command, now_ns)
        if self.session_start_ns is None and not decision.vetoed and command.channels:
            self.session_start_ns = int(now_ns)
        return decision

    def session_elapsed_s(self, now_ns: int) -> float:
        """Seconds since the session's first stimulating command (0 before it)."""
        return 0.0 if self.session_start_ns is None else (now_ns - self.session_start_ns) / 1e9

    def _scale_at(self, t_ns: int) -> float:
        if self.session_start_ns is None:
            return 0.0
        elapsed = t_ns - self.session_start_ns
        remaining = self.session_max_ns - elapsed
        if elapsed < 0 or remaining <= 0:
            return 0.0
        if self.session_ramp_ns == 0:
            return 1.0
        return min(1.0, elapsed / self.session_ramp_ns, remaining / self.session_ramp_ns)

    def _emit(self, pulses: list[Pulse]) -> None:
        self.emitted.extend(pulses)
        self._pulse_energy_j += pulse_energy_j(
            pulses, SURFACE_LOAD_OHM, SURFACE_EFFICIENCY, carrier=True
        )
        for p in pulses:  # r.m.s. skin current density over the envelope at this rate
            area_cm2 = self._area_mm2[p.electrode] / 100.0
            self.peak_density_ma_cm2 = max(self.peak_density_ma_cm2, p.amplitude_ma / area_cm2)

    def delivery_summary(self, elapsed_s: float | None = None) -> dict[str, Any]:
        """Shared figures plus surface stimulator energy and the peak skin current density
        during an envelope (mA/cm^2; the IEC 60601-2-10 warning is on the r.m.s. value)."""
        return super().delivery_summary(elapsed_s) | {
            "energy_j": self._pulse_energy_j if elapsed_s else None,
            "peak_skin_density_ma_cm2": self.peak_density_ma_cm2,
        }
