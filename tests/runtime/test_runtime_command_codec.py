import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openbsi.runtime.command_codec import decode_command, encode_command
from openbsi.states import STATES
from openbsi.stimulation.types import ChannelCommand, StimCommand

f32 = st.floats(width=32, allow_nan=False)
channels = st.builds(ChannelCommand, st.integers(0, 15), f32, f32, f32, f32)
commands = st.builds(
    StimCommand,
    t_ns=st.integers(-(2**63), 2**63 - 1),
    seq=st.integers(-(2**63), 2**63 - 1),
    state=st.sampled_from(STATES),
    channels=st.lists(channels, max_size=16).map(tuple),
)


@given(commands)
def test_round_trip(command):
    assert decode_command(encode_command(command)) == command


@given(st.binary(max_size=200))
def test_decoding_arbitrary_bytes_only_raises_value_error(payload):
    try:
        command = decode_command(payload)
    except ValueError:
        return
    assert command.state in STATES


def test_truncated_payload_is_refused_with_a_reason():
    payload = encode_command(StimCommand(1, 2, "left_hip", (ChannelCommand(0, 1.0, 200, 40),)))
    with pytest.raises(ValueError, match="payload must be"):
        decode_command(payload[:-1])
    assert np.isclose(decode_command(payload).channels[0].amplitude_ma, 1.0)
