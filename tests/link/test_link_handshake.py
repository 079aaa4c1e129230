"""Pairing over a byte transport between two parties (threads here, processes in real use):
honest pairing, a man in the middle, a stranger's hello first, low-order keys, clock offset."""

from __future__ import annotations

import os
import queue
import threading
import time

import pytest

from openbsi.link import PairingError, RadioEnd, handshake
from openbsi.link.clock_sync import OffsetEstimator
from openbsi.link.pairing import (
    Commit,
    Hello,
    PairingParty,
    Reply,
    Reveal,
    parse_pairing_message,
)

FAST = {"timeout_s": 5.0, "resend_s": 0.005}
ZERO_KEY = bytes(32)  # a low-order X25519 point: the shared secret would be all zero


class Wire:
    """One direction of an in-memory transport; drops the first `deaf` messages (a receiver
    that joined late)."""

    def __init__(self, deaf: int = 0) -> None:
        self.q: queue.Queue[bytes] = queue.Queue()
        self.deaf = deaf

    def send(self, message: bytes) -> None:
        if self.deaf > 0:
            self.deaf -= 1
            return
        self.q.put(message)

    def receive(self) -> list[bytes]:
        out = []
        while True:
            try:
                out.append(self.q.get_nowait())
            except queue.Empty:
                return out


def _run_both(parties: dict[str, tuple]) -> dict[str, object]:
    """Run handshake(*args, **kw) for each named party in its own thread; results or errors."""
    result: dict[str, object] = {}

    def run(name: str, args: tuple, kw: dict) -> None:
        try:
            result[name] = handshake(*args, **kw)
        except PairingError as error:
            result[name] = error

    threads = [
        threading.Thread(target=run, args=(name, args, kw)) for name, (args, kw) in parties.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
    return result


def _pair(down: Wire, up: Wire, **kw) -> tuple[RadioEnd, RadioEnd]:
    result = _run_both(
        {
            "base": ((down.send, up.receive), {"role": "base", **FAST, **kw}),
            "implant": ((up.send, down.receive), {"role": "implant", **FAST, **kw}),
        }
    )
    for name in ("base", "implant"):
        assert not isinstance(result[name], Exception), result[name]
    return RadioEnd(result["base"], down.send, up.receive), RadioEnd(
        result["implant"], up.send, down.receive
    )


@pytest.mark.parametrize("deaf", [0, 3])
def test_honest_pairing_shows_matching_codes_then_commands_both_ways(deaf: int) -> None:
    down, up = Wire(deaf=deaf), Wire()
    base, implant = _pair(down, up)
    assert base.endpoint.confirmation_code == implant.endpoint.confirmation_code
    assert len(base.endpoint.confirmation_code) == 6
    now = time.monotonic_ns()
    for i in range(5):
        base.send_down(bytes([i]), now)
    implant.send_up(b"telemetry", now)
    got = [d.payload for d in implant.receive_down(now)]
    assert got == [bytes([i]) for i in range(5)]  # late pairing and time frames are not data
    assert [d.payload for d in base.receive_up(now)] == [b"telemetry"]
    m = implant.metrics()
    assert m["role"] == "implant" and m["frames_accepted"] >= 5 and m["rejected_forged"] == 0


def test_replayed_pairing_messages_never_complete_pairing() -> None:
    old = PairingParty.create(os.urandom).hello()
    recorded = [Commit(old.commitment()).to_bytes(), Reveal(old).to_bytes()]
    with pytest.raises(PairingError, match="no authentic base"):
        handshake(lambda m: None, lambda: list(recorded), role="implant", timeout_s=0.2)


def test_nothing_at_the_other_end_times_out() -> None:
    with pytest.raises(PairingError, match="no authentic implant"):
        handshake(lambda m: None, list, role="base", timeout_s=0.1, resend_s=0.01)


def _man_in_the_middle(**kw) -> dict[str, object]:
    """Mallory relays nothing: she pairs with each side separately, as implant and as base."""
    base_down, mallory_up = Wire(), Wire()  # base <-> mallory
    mallory_down, implant_up = Wire(), Wire()  # mallory <-> implant
    honest = {**FAST, **kw}
    mallory = {**FAST, "timeout_s": honest["timeout_s"]}  # she does not know the secret
    return _run_both(
        {
            "base": ((base_down.send, mallory_up.receive), {"role": "base", **honest}),
            "m_implant": ((mallory_up.send, base_down.receive), {"role": "implant", **mallory}),
            "m_base": ((mallory_down.send, implant_up.receive), {"role": "base", **mallory}),
            "implant": ((implant_up.send, mallory_down.receive), {"role": "implant", **honest}),
        }
    )


def test_a_man_in_the_middle_shows_different_codes_and_the_operator_refuses() -> None:
    codes: dict[str, str] = {}
    seen = threading.Barrier(2, timeout=10)

    def operator(side: str):
        def compare(code: str) -> bool:  # the operator reads both screens, then decides
            codes[side] = code
            seen.wait()
            return codes["base"] == codes["implant"]

        return compare

    result = _man_in_the_middle()
    assert result["base"].confirmation_code != result["implant"].confirmation_code
    # the same attack with the operator comparing the two screens: both sides refuse
    result = _run_mitm_with_operator(operator)
    assert isinstance(result["base"], PairingError) and "not confirmed" in str(result["base"])
    assert isinstance(result["implant"], PairingError)


def _run_mitm_with_operator(operator) -> dict[str, object]:
    base_down, mallory_up = Wire(), Wire()
    mallory_down, implant_up = Wire(), Wire()
    return _run_both(
        {
            "base": (
                (base_down.send, mallory_up.receive),
                {"role": "base", "confirm_code": operator("base"), **FAST},
            ),
            "m_implant": ((mallory_up.send, base_down.receive), {"role": "implant", **FAST}),
            "m_base": ((mallory_down.send, implant_up.receive), {"role": "base", **FAST}),
            "implant": (
                (implant_up.send, mallory_down.receive),
                {"role": "implant", "confirm_code": operator("implant"), **FAST},
            ),
        }
    )


def test_a_man_in_the_middle_without_the_pairing_secret_fails_on_both_sides() -> None:
    result = _man_in_the_middle(pairing_secret=b"delivered out of band", timeout_s=1.0)
    assert isinstance(result["base"], PairingError)
    assert isinstance(result["implant"], PairingError)
    down, up = Wire(), Wire()  # the same secret on an honest link pairs
    base, implant = _pair(down, up, pairing_secret=b"delivered out of band")
    assert base.endpoint.confirmation_code == implant.endpoint.confirmation_code


def test_a_strangers_hello_first_does_not_block_the_real_base() -> None:
    down, up = Wire(), Wire()
    stranger = PairingParty.create(os.urandom).hello()
    down.send(Commit(stranger.commitment()).to_bytes())  # the implant hears Mallory first
    down.send(Reveal(Hello(ZERO_KEY, stranger.nonce)).to_bytes())  # and a low-order key
    fake_implant = PairingParty.create(os.urandom).hello()
    base, implant = _pair_with_injected_replies(down, up, fake_implant)
    assert base.endpoint.confirmation_code == implant.endpoint.confirmation_code


def _pair_with_injected_replies(down: Wire, up: Wire, fake: Hello) -> tuple[RadioEnd, RadioEnd]:
    """The base also hears replies from a fake implant (one with a zero key) to its commit."""
    forwarded: set[bytes] = set()

    def base_receive() -> list[bytes]:
        out = up.receive()
        for message in down.q.queue:  # Mallory listens to the air and answers every commit
            parsed = parse_pairing_message(message)
            if isinstance(parsed, Commit) and parsed.commitment not in forwarded:
                forwarded.add(parsed.commitment)
                out.insert(0, Reply(parsed.commitment, fake).to_bytes())
                out.insert(0, Reply(parsed.commitment, Hello(ZERO_KEY, fake.nonce)).to_bytes())
        return out

    result = _run_both(
        {
            "base": ((down.send, base_receive), {"role": "base", **FAST}),
            "implant": ((up.send, down.receive), {"role": "implant", **FAST}),
        }
    )
    for name in ("base", "implant"):
        assert not isinstance(result[name], Exception), result[name]
    return RadioEnd(result["base"], down.send, up.receive), RadioEnd(
        result["implant"], up.send, down.receive
    )


def test_pairing_message_encoding_round_trip_and_rejects() -> None:
    hello = PairingParty.create(lambda n: b"\x07" * n).hello()
    for message in (Commit(hello.commitment()), Reply(hello.commitment(), hello), Reveal(hello)):
        data = message.to_bytes()
        assert parse_pairing_message(data) == message
        assert parse_pairing_message(data[:-1]) is None
        assert parse_pairing_message(b"X" + data[1:]) is None


def test_clock_offset_of_seconds_is_measured_and_followed() -> None:
    """The implant's clock runs 7 s ahead: commands are aged on its own clock, not refused."""
    offset = {"ns": 7_000_000_000}

    def implant_clock() -> int:
        return time.monotonic_ns() + offset["ns"]

    down, up = Wire(), Wire()
    estimator = OffsetEstimator()
    result = _run_both(
        {
            "base": ((down.send, up.receive), {"role": "base", "estimator": estimator, **FAST}),
            "implant": (
                (up.send, down.receive),
                {"role": "implant", "clock_ns": implant_clock, **FAST},
            ),
        }
    )
    assert not isinstance(result["base"], Exception), result["base"]
    assert not isinstance(result["implant"], Exception), result["implant"]
    measured_ms = result["base"].peer_offset_ns / 1e6
    assert result["implant"].peer_offset_ns == -result["base"].peer_offset_ns
    base = RadioEnd(result["base"], down.send, up.receive, resync_s=0.0)
    base.estimator = estimator
    estimate = estimator.estimate()
    # t2 lies between t1 + offset and t4 + offset: the error is at most half the round trip
    assert abs(measured_ms - 7000.0) <= estimate.rtt_ns / 2e6 + 1e-3
    implant = RadioEnd(result["implant"], up.send, down.receive)
    base.send_down(b"cmd", time.monotonic_ns())
    got = implant.receive_down(implant_clock())
    assert [d.payload for d in got] == [b"cmd"]
    assert abs(got[0].age_ms) < 50.0  # on the implant's clock, through the offset
    assert implant.endpoint.stats.rejected_stale == 0
    offset["ns"] += 40_000_000  # the implant's crystal jumps 40 ms: the base follows it
    for _ in range(20):
        base.receive_up(time.monotonic_ns())
        implant.receive_down(implant_clock())
        time.sleep(0.002)
    estimate = estimator.estimate()
    assert abs(base.endpoint.peer_offset_ns / 1e6 - 7040.0) <= estimate.rtt_ns / 2e6 + 1e-3
    assert abs(implant.endpoint.peer_offset_ns + base.endpoint.peer_offset_ns) < 1e6
    base.send_down(b"cmd2", time.monotonic_ns())
    assert [d.payload for d in implant.receive_down(implant_clock())] == [b"cmd2"]


def test_commands_sent_right_after_pairing_are_not_lost() -> None:
    down, up = Wire(), Wire()
    results: dict[str, RadioEnd] = {}

    def base_side() -> None:
        end = RadioEnd.pair(down.send, up.receive, role="base", **FAST)
        now = time.monotonic_ns()
        end.send_down(b"cmd1", now)
        end.send_down(b"cmd2", now)
        results["base"] = end

    thread = threading.Thread(target=base_side)
    thread.start()
    implant = RadioEnd.pair(up.send, down.receive, role="implant", **FAST)
    thread.join(timeout=10)
    got = [d.payload for d in implant.receive_down(time.monotonic_ns())]
    assert got == [b"cmd1", b"cmd2"]
    assert implant.endpoint.stats.rejected == 0
