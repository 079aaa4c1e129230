"""Round trip and 100 % refusal of forged, modified, replayed and stale frames."""

from __future__ import annotations

import os
import zlib

import numpy as np
import pytest

from openbsi.link import LinkEndpoint, LinkRejected, pair
from openbsi.link.frame import HEADER_BYTES, OVERHEAD_BYTES

T0 = 1_000_000_000  # ns


def _recrc(body: bytes) -> bytes:
    return body + (zlib.crc32(body) & 0xFFFFFFFF).to_bytes(4, "big")


def _reason(endpoint: LinkEndpoint, frame: bytes, now_ns: int) -> str:
    with pytest.raises(LinkRejected) as info:
        endpoint.open(frame, now_ns)
    return info.value.reason


def test_round_trip_both_directions() -> None:
    base, implant = pair()
    for i in range(5):
        payload = os.urandom(i * 37)
        assert implant.open(base.seal(payload, T0 + i), T0 + i + 10) == payload
        assert base.open(implant.seal(payload[::-1], T0 + i), T0 + i + 10) == payload[::-1]
    assert base.stats.frames_sent == 5 and implant.stats.frames_received == 5
    assert implant.stats.rejected == 0 and implant.stats.frames_missing == 0


def test_pairing_gives_fresh_distinct_keys_and_matching_codes() -> None:
    base1, implant1 = pair()
    _base2, implant2 = pair()
    assert base1.confirmation_code == implant1.confirmation_code
    assert len(base1.confirmation_code) == 6
    # A frame from session 1 means nothing in session 2 (no fixed keys).
    assert _reason(implant2, base1.seal(b"stim", T0), T0) == "forged"
    # Keys are per direction: a frame cannot be reflected back to its sender.
    assert _reason(base1, base1.seal(b"stim", T0), T0) == "forged"


def test_pairing_is_deterministic_given_the_random_source() -> None:
    rng = np.random.default_rng(3)
    a1, _b1 = pair(lambda n: rng.bytes(n))
    rng = np.random.default_rng(3)
    a2, b2 = pair(lambda n: rng.bytes(n))
    assert b2.open(a1.seal(b"x", T0), T0) == b"x"
    assert a1.confirmation_code == a2.confirmation_code


def test_pairing_rejects_a_short_random_source() -> None:
    with pytest.raises(ValueError, match="rng_bytes"):
        pair(lambda n: b"\x01" * (n - 1))


def test_every_single_bit_flip_is_refused() -> None:
    base, implant = pair()
    frame = base.seal(b"amplitude_ma=3.5", T0)
    reasons = set()
    for bit in range(8 * len(frame)):
        damaged = bytearray(frame)
        damaged[bit // 8] ^= 1 << (bit % 8)
        reasons.add(_reason(implant, bytes(damaged), T0))
    assert reasons == {"corrupt"}
    assert implant.stats.rejected_corrupt == 8 * len(frame)
    assert implant.open(frame, T0) == b"amplitude_ma=3.5"  # the window was not moved


def test_every_bit_flip_with_a_recomputed_crc_is_refused() -> None:
    """An attacker who fixes the CRC still cannot change a byte of header or body."""
    base, implant = pair()
    frame = base.seal(b"amplitude_ma=3.5", T0)
    body = frame[:-4]
    for bit in range(8 * len(body)):
        damaged = bytearray(body)
        damaged[bit // 8] ^= 1 << (bit % 8)
        reason = _reason(implant, _recrc(bytes(damaged)), T0)
        in_header = bit // 8 < HEADER_BYTES
        # version/length edits are malformed; sequence edits may land on a seen number; the
        # tag catches every other change.
        assert reason in ({"forged", "malformed"} if in_header else {"forged"})
    assert implant.stats.frames_received == 0
    assert implant.open(frame, T0) == b"amplitude_ma=3.5"


def test_forged_frames_under_a_wrong_key_are_all_refused() -> None:
    _, implant = pair()
    attacker, _ = pair()
    for i in range(200):
        assert _reason(implant, attacker.seal(b"max current", T0 + i), T0 + i) == "forged"
    assert implant.stats.rejected_forged == 200 and implant.stats.frames_received == 0


def test_replayed_frames_are_all_refused_in_and_out_of_window() -> None:
    base, implant = pair()
    frames = [base.seal(bytes([i]), T0) for i in range(100)]
    for frame in frames:
        implant.open(frame, T0)
    for frame in frames:
        assert _reason(implant, frame, T0) == "replayed"
    assert implant.stats.rejected_replayed == 100


def test_late_but_in_window_frames_are_accepted_once() -> None:
    base, implant = pair()
    frames = [base.seal(bytes([i]), T0) for i in range(10)]
    for i in (0, 1, 5, 9, 3, 2):
        assert implant.open(frames[i], T0) == bytes([i])
    assert _reason(implant, frames[3], T0) == "replayed"
    assert implant.stats.frames_missing == 4  # 4, 6, 7, 8 never arrived


def test_frames_older_than_the_window_are_refused() -> None:
    base, implant = pair(window_size=8)
    frames = [base.seal(b"", T0) for _ in range(20)]
    implant.open(frames[19], T0)
    assert _reason(implant, frames[11], T0) == "replayed"  # 8 behind: just outside
    assert implant.open(frames[12], T0) == b""  # 7 behind: just inside


@pytest.mark.parametrize("max_age_ms", [20.0, 150.0])
def test_stale_and_future_frames_are_refused(max_age_ms: float) -> None:
    base, implant = pair(max_age_ms=max_age_ms)
    limit_ns = int(max_age_ms * 1e6)
    on_time = base.seal(b"a", T0)
    assert implant.open(on_time, T0 + limit_ns) == b"a"  # exactly at the limit
    assert _reason(implant, base.seal(b"b", T0), T0 + limit_ns + 1) == "stale"
    assert _reason(implant, base.seal(b"c", T0 + limit_ns + 1), T0) == "stale"
    assert implant.stats.rejected_stale == 2
    # A stale frame does not use up its sequence number ... but it stays stale.
    assert implant.stats.highest_sequence == 0


def test_short_and_garbage_frames_are_malformed_or_corrupt() -> None:
    base, implant = pair()
    assert _reason(implant, b"", T0) == "malformed"
    assert _reason(implant, b"\x00" * (OVERHEAD_BYTES - 1), T0) == "malformed"
    assert _reason(implant, os.urandom(100), T0) == "corrupt"
    frame = base.seal(b"abc", T0)
    assert _reason(implant, _recrc(b"\x02" + frame[1:-4]), T0) == "malformed"  # version
    assert _reason(implant, _recrc(frame[:-5]), T0) == "malformed"  # truncated body


def test_rejections_reach_the_security_log_callback() -> None:
    base, implant = pair()
    events: list[tuple[str, str]] = []
    implant.on_reject = lambda reason, detail: events.append((reason, detail))
    frame = base.seal(b"x", T0)
    implant.open(frame, T0)
    with pytest.raises(LinkRejected):
        implant.open(frame, T0)
    assert events and events[0][0] == "replayed" and "sequence 0" in events[0][1]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"send_key": b"k" * 31}, "send_key must be 32 bytes"),
        ({"receive_key": b"k" * 32}, "must differ"),
        ({"max_age_ms": 0.0}, "max_age_ms"),
    ],
)
def test_endpoint_parameters_are_checked(kwargs: dict, match: str) -> None:
    args = {"send_key": b"k" * 32, "receive_key": b"r" * 32} | kwargs
    with pytest.raises(ValueError, match=match):
        LinkEndpoint(args.pop("send_key"), args.pop("receive_key"), **args)


def test_seal_refuses_oversize_payloads() -> None:
    base, _ = pair()
    with pytest.raises(ValueError, match="payload must be <= 65536"):
        base.seal(b"\x00" * 65_537, T0)


def test_a_clock_jump_makes_frames_stale_until_both_clocks_agree() -> None:
    base, implant = pair()
    assert implant.open(base.seal(b"a", T0), T0) == b"a"
    jump = 10_000_000_000  # the sender's clock jumps 10 s ahead
    for k in range(5):
        assert _reason(implant, base.seal(b"b", T0 + jump + k), T0 + k) == "stale"
    # Receiver's clock catches up (e.g. re-synchronised): fresh frames pass again.
    assert implant.open(base.seal(b"c", T0 + jump + 10), T0 + jump + 20) == b"c"
    # A frame sealed before the jump, delivered after it, is stale.
    old = base.seal(b"d", T0)
    assert _reason(implant, old, T0 + jump + 30) == "stale"
