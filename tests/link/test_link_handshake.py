"""Pairing over a byte transport between two parties (threads here, processes in real use)."""

from __future__ import annotations

import queue
import threading
import time

import pytest

from openbsi.link import PairingError, RadioEnd, handshake
from openbsi.link.pairing import Hello, PairingParty

T0 = 10**9


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


def _pair(down: Wire, up: Wire, **kw) -> tuple[RadioEnd, RadioEnd]:
    result: dict[str, object] = {}

    def base_side() -> None:
        try:
            result["base"] = handshake(down.send, up.receive, role="base", **kw)
        except PairingError as error:
            result["base"] = error

    thread = threading.Thread(target=base_side)
    thread.start()
    implant = handshake(up.send, down.receive, role="implant", **kw)
    thread.join(timeout=10)
    base = result["base"]
    assert not isinstance(base, Exception), base
    return RadioEnd(base, down.send, up.receive), RadioEnd(implant, up.send, down.receive)


@pytest.mark.parametrize("deaf", [0, 3])
def test_pairing_over_a_wire_then_commands_both_ways(deaf: int) -> None:
    down, up = Wire(deaf=deaf), Wire()
    base, implant = _pair(down, up, timeout_s=5.0, resend_s=0.005)
    assert base.endpoint.confirmation_code == implant.endpoint.confirmation_code
    now = time.monotonic_ns()
    for i in range(5):
        base.send_down(bytes([i]), now)
    implant.send_up(b"telemetry", now)
    got = [d.payload for d in implant.receive_down(now)]
    assert got == [bytes([i]) for i in range(5)]  # late pairing messages are not data
    assert [d.payload for d in base.receive_up(now)] == [b"telemetry"]
    m = implant.metrics()
    assert m["role"] == "implant" and m["frames_accepted"] >= 5 and m["rejected_forged"] == 0


def test_a_replayed_hello_never_completes_pairing() -> None:
    old_implant = PairingParty.create(lambda n: bytes(range(n)))
    old_hello = old_implant.hello().to_bytes("implant")
    with pytest.raises(PairingError, match="a hello arrived, but no key proof"):
        handshake(lambda m: None, lambda: [old_hello], role="base", timeout_s=0.2, resend_s=0.01)


def test_nothing_at_the_other_end_times_out() -> None:
    with pytest.raises(PairingError, match="no authentic implant"):
        handshake(lambda m: None, list, role="base", timeout_s=0.1, resend_s=0.01)


def test_a_man_in_the_middle_shows_in_the_confirmation_codes() -> None:
    """Mallory pairs with each side separately; only the out-of-band code comparison shows it."""
    base_down, mallory_up = Wire(), Wire()  # base <-> mallory
    mallory_down, implant_up = Wire(), Wire()  # mallory <-> implant
    result: dict[str, object] = {}
    kw = {"timeout_s": 5.0, "resend_s": 0.005}

    def run(name: str, send, receive, role: str) -> None:
        result[name] = handshake(send, receive, role=role, **kw)

    threads = [
        threading.Thread(target=run, args=("base", base_down.send, mallory_up.receive, "base")),
        threading.Thread(
            target=run, args=("m_implant", mallory_up.send, base_down.receive, "implant")
        ),
        threading.Thread(
            target=run, args=("m_base", mallory_down.send, implant_up.receive, "base")
        ),
        threading.Thread(
            target=run, args=("implant", implant_up.send, mallory_down.receive, "implant")
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert result["base"].confirmation_code == result["m_implant"].confirmation_code
    assert result["implant"].confirmation_code == result["m_base"].confirmation_code
    assert result["base"].confirmation_code != result["implant"].confirmation_code


def test_hello_encoding_round_trip_and_rejects() -> None:
    hello = PairingParty.create(lambda n: b"\x07" * n).hello()
    message = hello.to_bytes("implant")
    assert Hello.from_bytes(message) == ("implant", hello)
    assert Hello.from_bytes(message[:-1]) is None
    assert Hello.from_bytes(b"X" + message[1:]) is None
    bad_role = bytearray(message)
    bad_role[len(b"OBSI-HELLO1")] = 9
    assert Hello.from_bytes(bytes(bad_role)) is None


def _scripted_base(sent: list[bytes], batch: list[str]):
    """A base station that answers the implant's first hello with one batch: its hello, then
    `batch` items ("confirm", or a data payload), all sealed with the derived keys."""
    from openbsi.link import LinkEndpoint
    from openbsi.link.handshake import CONFIRM_PAYLOAD, KIND_CONFIRM, KIND_DATA, wrap
    from openbsi.link.pairing import derive_session_keys

    me = PairingParty.create(lambda n: b"\x05" * n)
    state = {"done": False}

    def receive() -> list[bytes]:
        if state["done"] or not sent:
            return []
        parsed = Hello.from_bytes(sent[0])
        assert parsed is not None and parsed[0] == "implant"
        keys = derive_session_keys(me, parsed[1], initiator=True)
        base = LinkEndpoint(keys.send_key, keys.receive_key, role="base")
        now = time.monotonic_ns()
        out = [me.hello().to_bytes("base")]
        for item in batch:
            if item == "confirm":
                out.append(base.seal(wrap(KIND_CONFIRM, CONFIRM_PAYLOAD), now))
            else:
                out.append(base.seal(wrap(KIND_DATA, item.encode()), now))
        state["done"] = True
        return out

    return receive


@pytest.mark.parametrize(
    "batch",
    [["confirm", "cmd1", "cmd2"], ["cmd1", "cmd2"], ["confirm", "confirm", "cmd1", "cmd2"]],
)
def test_commands_sent_right_after_pairing_are_not_lost(batch: list[str]) -> None:
    sent: list[bytes] = []
    end = RadioEnd.pair(
        sent.append, _scripted_base(sent, batch), role="implant", timeout_s=2.0, resend_s=0.01
    )
    got = [d.payload for d in end.receive_down(time.monotonic_ns())]
    assert got == [b"cmd1", b"cmd2"]
    assert end.endpoint.stats.rejected == 0
