"""Pairing over any byte transport (another process, a real radio): hellos, then key proof.

    1. Each side sends HELLO (role, ephemeral X25519 public key, nonce) every `resend_s`
       until it has the peer's hello (a late-joining receiver still gets one).
    2. With the peer's hello it derives the session keys (openbsi.link.pairing) and sends, with
       every further hello, a CONFIRM frame sealed with the new key.
    3. It is paired when an authentic CONFIRM from the peer arrives: the peer holds the same
       keys. A replayed or forged hello can never produce one, so pairing times out instead.

Data frames carry a one-byte kind before the payload (see `wrap` / `unwrap`), so late
CONFIRM frames are told apart from data after pairing. Compare `confirmation_code` on both
sides out of band to rule out a man in the middle.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from openbsi.link.endpoint import DEFAULT_MAX_AGE_MS, LinkEndpoint
from openbsi.link.errors import LinkRejected
from openbsi.link.pairing import ROLES, Hello, PairingParty, derive_session_keys

KIND_DATA = 0
KIND_CONFIRM = 1
CONFIRM_PAYLOAD = b"openbsi-pairing-confirm"


class PairingError(Exception):
    """No authentic peer completed the handshake in time."""


def wrap(kind: int, payload: bytes) -> bytes:
    return bytes([kind]) + payload


def unwrap(message: bytes) -> tuple[int, bytes]:
    if not message:
        return -1, b""
    return message[0], message[1:]


def handshake(
    send: Callable[[bytes], None],
    receive: Callable[[], list[bytes]],
    *,
    role: str,
    rng_bytes: Callable[[int], bytes] = os.urandom,
    timeout_s: float = 10.0,
    resend_s: float = 0.1,
    clock_ns: Callable[[], int] = time.monotonic_ns,
    sleep_s: Callable[[float], None] = time.sleep,
    max_age_ms: float = DEFAULT_MAX_AGE_MS,
    window_size: int = 64,
    on_data: Callable[[bytes, int], None] | None = None,
    leftovers: list[bytes] | None = None,
) -> LinkEndpoint:
    """Pair with the peer behind send/receive; returns this side's endpoint.

    receive() must return every message that arrived since the last call (possibly none).
    A peer that already paired may send data at once: such frames also prove the key, their
    payloads go to on_data(payload, sent_t_ns), and messages that arrived after the proof in
    the same batch are appended, unopened, to `leftovers` (see RadioEnd.pair, which uses both
    so nothing is lost). Raises PairingError after timeout_s without an authentic proof. The
    endpoint's stats include the pairing's CONFIRM frames.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    if not 0 < timeout_s <= 3600:
        raise ValueError(f"timeout_s must be in (0, 3600] s, got {timeout_s}")
    peer_role = ROLES[1 - ROLES.index(role)]
    me = PairingParty.create(rng_bytes)
    hello = me.hello().to_bytes(role)
    endpoint: LinkEndpoint | None = None
    deadline_ns = clock_ns() + int(timeout_s * 1e9)
    while clock_ns() < deadline_ns:
        send(hello)
        if endpoint is not None:
            send(endpoint.seal(wrap(KIND_CONFIRM, CONFIRM_PAYLOAD), clock_ns()))
        paired = False
        for message in receive():
            if paired:
                if leftovers is not None:
                    leftovers.append(message)
                continue
            parsed = Hello.from_bytes(message)
            if parsed is not None:
                their_role, peer = parsed
                if endpoint is None and their_role == peer_role:
                    keys = derive_session_keys(me, peer, initiator=role == "base")
                    endpoint = LinkEndpoint(
                        keys.send_key,
                        keys.receive_key,
                        max_age_ms=max_age_ms,
                        window_size=window_size,
                        role=role,
                        confirmation_code=keys.confirmation_code,
                    )
                continue
            if endpoint is None:
                continue
            try:
                kind, payload = unwrap(endpoint.open(message, clock_ns()))
            except LinkRejected:
                continue
            if kind == KIND_CONFIRM and payload == CONFIRM_PAYLOAD:
                paired = True
            elif kind == KIND_DATA:
                paired = True
                if on_data is not None:
                    on_data(payload, endpoint.last_t_ns)
        if paired and endpoint is not None:
            send(endpoint.seal(wrap(KIND_CONFIRM, CONFIRM_PAYLOAD), clock_ns()))
            return endpoint
        sleep_s(resend_s)
    raise PairingError(
        f"no authentic {peer_role} completed pairing within {timeout_s:g} s"
        + (" (a hello arrived, but no key proof)" if endpoint is not None else "")
    )
