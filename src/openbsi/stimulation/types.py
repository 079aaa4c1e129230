"""Stimulation types shared by the mapper, the safety supervisor, the backends and the patient.

All pulses are biphasic and charge balanced (cathodic phase first, then an equal anodic phase).
Amplitudes are magnitudes in mA; the return is the stimulator case (monopolar) unless a
backend says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Electrode:
    """One stimulating contact."""

    index: int  # address on its lead / node ID index
    name: str  # e.g. "E05"
    root: str  # nearest dorsal-root entry zone, "L1".."S2" (or "C3".. for surface)
    side: str  # "left", "right" or "midline"
    x_mm: float  # mediolateral position, negative = left
    y_mm: float  # rostrocaudal position from the rostral tip of the lead
    area_mm2: float  # geometric contact area (for charge density)
    material: str = "platinum-iridium"


@dataclass(frozen=True)
class ChannelCommand:
    """A setpoint for one electrode, held until the next command replaces it."""

    electrode: int
    amplitude_ma: float
    pulse_width_us: float  # per phase
    frequency_hz: float
    interphase_gap_us: float = 20.0


@dataclass(frozen=True)
class StimCommand:
    """What the mapper asks of the stimulator for one decode tick.

    t_ns: session-clock time the command was issued; the supervisor's watchdog compares it
    with its own clock to detect stale decoder output. seq increases by one per command.
    """

    t_ns: int
    seq: int
    state: str
    channels: tuple[ChannelCommand, ...]


@dataclass(frozen=True)
class Pulse:
    """One biphasic pulse that a backend emitted (session-clock time of its onset)."""

    t_ns: int
    electrode: int
    amplitude_ma: float
    pulse_width_us: float
    interphase_gap_us: float = 20.0

    @property
    def charge_uc(self) -> float:
        """Charge per phase in microcoulombs (mA x us = nC)."""
        return self.amplitude_ma * self.pulse_width_us * 1e-3
