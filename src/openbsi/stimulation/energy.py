"""Energy a stimulator spends to deliver its pulses (for comparing paths, not for safety).

All constants are modelling assumptions (unconfirmed), stated so that a comparison of paths
shows its inputs:
- an implanted pulse generator drives each biphasic pulse into ~1 kOhm (electrode-tissue
  load of an epidural contact) with ~50 % conversion efficiency, plus a ~50 uW quiescent draw;
- a surface stimulator drives the 10 kHz carrier envelope into ~1 kOhm (skin-electrode
  impedance at kHz frequencies) with ~50 % efficiency;
- the node network's transmitter draws its own power for the whole session
  (HarvestModel.transmitter_power_w).
"""

from __future__ import annotations

from collections.abc import Iterable

from openbsi.stimulation.types import Pulse

IPG_LOAD_OHM = 1000.0  # assumption: epidural contact load
IPG_EFFICIENCY = 0.5  # assumption
IPG_QUIESCENT_W = 50e-6  # assumption: an IPG's standby draw
SURFACE_LOAD_OHM = 1000.0  # assumption: skin-electrode impedance at 10 kHz
SURFACE_EFFICIENCY = 0.5  # assumption


def pulse_energy_j(
    pulses: Iterable[Pulse], load_ohm: float, efficiency: float, *, carrier: bool = False
) -> float:
    """Energy drawn to deliver these pulses: I^2 R over the conducting time / efficiency
    (both phases of a biphasic pulse, or the whole envelope of a carrier burst)."""
    total = 0.0
    for p in pulses:
        conducting_s = (p.pulse_width_us if carrier else 2.0 * p.pulse_width_us) * 1e-6
        total += (p.amplitude_ma * 1e-3) ** 2 * load_ohm * conducting_s
    return total / efficiency


def ipg_energy_j(pulse_energy: float, elapsed_s: float | None) -> float | None:
    """IPG battery energy: pulses plus the quiescent draw (None without a duration)."""
    if elapsed_s is None or elapsed_s <= 0:
        return None
    return pulse_energy + IPG_QUIESCENT_W * elapsed_s
