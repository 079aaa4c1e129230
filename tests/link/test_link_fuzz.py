"""open() must refuse arbitrary bytes with LinkRejected and nothing else."""

from __future__ import annotations

import os
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from openbsi.link import REJECT_REASONS, LinkRejected, pair

BASE, IMPLANT = pair()
GOOD = BASE.seal(b"program=walk;amplitude_ma=4.0", 10**9)


def _assert_refused(frame: bytes) -> None:
    try:
        IMPLANT.open(frame, 10**9)
    except LinkRejected as rejected:
        assert rejected.reason in REJECT_REASONS
    else:
        raise AssertionError("an arbitrary frame was accepted")


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_refused(data: bytes) -> None:
    _assert_refused(data)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_with_a_valid_crc_are_refused(data: bytes) -> None:
    _assert_refused(data + (zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big"))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(GOOD) - 5), st.binary(min_size=1, max_size=8), st.booleans())
def test_spliced_real_frames_are_refused(offset: int, patch: bytes, fix_crc: bool) -> None:
    body = bytearray(GOOD[:-4])
    end = min(len(body), offset + len(patch))
    if bytes(body[offset:end]) == patch[: end - offset]:
        return  # nothing changed
    body[offset:end] = patch[: end - offset]
    crc = zlib.crc32(bytes(body)) & 0xFFFFFFFF if fix_crc else int.from_bytes(GOOD[-4:], "big")
    _assert_refused(bytes(body) + crc.to_bytes(4, "big"))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=5))
def test_a_radio_end_drops_arbitrary_messages_without_raising(messages: list[bytes]) -> None:
    from openbsi.link import RadioEnd
    from openbsi.link.pairing import Commit, Reply, Reveal, parse_pairing_message

    end = RadioEnd(IMPLANT, lambda m: None, lambda: list(messages))
    assert end.receive(10**9) == []
    for message in messages:
        parsed = parse_pairing_message(message)
        assert parsed is None or isinstance(parsed, Commit | Reply | Reveal)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=120), max_size=6), st.booleans())
def test_pairing_survives_garbage_on_the_air(messages: list[bytes], hello: bool) -> None:
    """Arbitrary messages during pairing (after a real base commitment and reveal, or not): it
    times out with PairingError, nothing else."""
    from openbsi.link import PairingError, handshake
    from openbsi.link.pairing import Commit, PairingParty, Reveal

    if hello:
        base = PairingParty.create(os.urandom).hello()
        messages = [Commit(base.commitment()).to_bytes(), Reveal(base).to_bytes(), *messages]

    clock = {"ns": 0}

    def sleep(seconds: float) -> None:
        clock["ns"] += int(seconds * 1e9)

    batches = [list(messages)]
    try:
        handshake(
            lambda m: None,
            lambda: batches.pop() if batches else [],
            role="implant",
            timeout_s=0.05,
            resend_s=0.01,
            clock_ns=lambda: clock["ns"],
            sleep_s=sleep,
        )
    except PairingError:
        pass
    else:
        raise AssertionError("paired with garbage")
