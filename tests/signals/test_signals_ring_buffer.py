import numpy as np
import pytest

from openbsi.signals import Chunk, RingBuffer, StreamInfo


def _chunk(start: int, n: int, n_channels: int = 3) -> Chunk:
    samples = np.arange(start, start + n, dtype=float)
    data = np.vstack([samples + 1000 * c for c in range(n_channels)])
    return Chunk(data=data, first_sample=start, t_ns=start)


@pytest.mark.parametrize("sizes", [[5, 5, 5], [7, 1, 13, 2, 9], [40], [3] * 20])
def test_latest_is_always_the_freshest_samples(sizes):
    buffer = RingBuffer(n_channels=3, capacity=16)
    start = 0
    for n in sizes:
        buffer.push(_chunk(start, n))
        start += n
        k = min(start, 16)
        window = buffer.latest(k)
        expected = np.arange(start - k, start, dtype=float)
        np.testing.assert_array_equal(window[0], expected)
        np.testing.assert_array_equal(window[2], expected + 2000)
    assert buffer.n_pushed == sum(sizes)
    assert buffer.last_t_ns == start - sizes[-1]


def test_latest_refuses_more_than_available():
    buffer = RingBuffer(n_channels=3, capacity=16)
    buffer.push(_chunk(0, 4))
    with pytest.raises(ValueError, match=r"n_samples must be in \[1, 4\].*got 5"):
        buffer.latest(5)


def test_latest_returns_a_copy():
    buffer = RingBuffer(n_channels=3, capacity=8)
    buffer.push(_chunk(0, 8))
    window = buffer.latest(8)
    window[:] = -1
    assert buffer.latest(8)[0, 0] == 0


def test_channel_mismatch_is_named():
    buffer = RingBuffer(n_channels=2, capacity=8)
    with pytest.raises(ValueError, match="3 channels, buffer holds 2"):
        buffer.push(_chunk(0, 4, n_channels=3))


def test_stream_info_validates():
    with pytest.raises(ValueError, match="sfreq_hz"):
        StreamInfo("x", sfreq_hz=0.0, channel_names=("a",))
    with pytest.raises(ValueError, match="channel_meta"):
        StreamInfo("x", 586.0, ("a", "b"), channel_meta=({},))
    assert StreamInfo("x", 586.0, ("a", "b")).n_channels == 2
