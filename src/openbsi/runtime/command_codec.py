"""StimCommand <-> bytes, the payload that crosses the wireless link.

Layout (little endian): t_ns q, seq q, state index B, n_channels B, then per channel:
electrode H, amplitude_ma f, pulse_width_us f, frequency_hz f, interphase_gap_us f.
Decoding refuses anything that is not exactly this shape, with a named reason.
"""

from __future__ import annotations

import struct

from openbsi.states import STATES
from openbsi.stimulation.types import ChannelCommand, StimCommand

_HEAD = struct.Struct("<qqBB")
_CHANNEL = struct.Struct("<Hffff")
MAX_CHANNELS = 64


def encode_command(command: StimCommand) -> bytes:
    if len(command.channels) > MAX_CHANNELS:
        raise ValueError(f"channels must be at most {MAX_CHANNELS}, got {len(command.channels)}")
    state = STATES.index(command.state)
    parts = [_HEAD.pack(command.t_ns, command.seq, state, len(command.channels))]
    for channel in command.channels:
        if not 0 <= channel.electrode <= 0xFFFF:
            raise ValueError(f"electrode must be within [0, 65535], got {channel.electrode}")
        parts.append(
            _CHANNEL.pack(
                channel.electrode,
                channel.amplitude_ma,
                channel.pulse_width_us,
                channel.frequency_hz,
                channel.interphase_gap_us,
            )
        )
    return b"".join(parts)


def decode_command(payload: bytes) -> StimCommand:
    if len(payload) < _HEAD.size:
        raise ValueError(f"payload must be at least {_HEAD.size} bytes, got {len(payload)}")
    t_ns, seq, state, n_channels = _HEAD.unpack_from(payload)
    expected = _HEAD.size + n_channels * _CHANNEL.size
    if len(payload) != expected:
        raise ValueError(
            f"payload must be {expected} bytes for {n_channels} channels, got {len(payload)}"
        )
    if state >= len(STATES):
        raise ValueError(f"state index must be below {len(STATES)}, got {state}")
    channels = tuple(
        ChannelCommand(electrode, amplitude, width, frequency, gap)
        for electrode, amplitude, width, frequency, gap in _CHANNEL.iter_unpack(
            payload[_HEAD.size :]
        )
    )
    return StimCommand(t_ns=t_ns, seq=seq, state=STATES[state], channels=channels)
