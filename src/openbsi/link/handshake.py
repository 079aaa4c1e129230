"""Pairing over any byte transport (another process, a real radio), then clock sync.

    1. Commitment exchange (openbsi.link.pairing): the base repeats COMMIT; the implant answers
       every distinct commitment with a REPLY (up to `MAX_CANDIDATES`, so a stranger's hello
       never blocks the real base); the base then repeats REVEAL and, for each reply, a CONFIRM
       frame sealed with the keys that reply gives.
    2. Key proof: a side is paired when an authentic CONFIRM (or data) frame from its peer
       opens under one candidate's keys. Low-order or reflected keys are ignored, replayed or
       forged messages never produce a proof, and two implants proving at once is refused.
       With a pairing secret, a party without it can never prove; without one, the operator
       compares `confirmation_code` on both ends (`confirm_code` is asked before going on).
    3. Clock sync (openbsi.link.clock_sync): the base measures the implant's clock offset by
       `sync_rounds` round trips and sends it; both endpoints then check frame ages on their
       own clock. The RadioEnd repeats the exchange while the link runs.

Data frames carry a one-byte kind before the payload (see `wrap` / `unwrap`), so late CONFIRM
and time frames are told apart from data after pairing.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable

from openbsi.link import clock_sync
from openbsi.link.endpoint import DEFAULT_MAX_AGE_MS, LinkEndpoint
from openbsi.link.errors import LinkRejected
from openbsi.link.pairing import (
    ROLES,
    Commit,
    Hello,
    PairingParty,
    Reply,
    Reveal,
    derive_session_keys,
    parse_pairing_message,
)

KIND_DATA = 0
KIND_CONFIRM = 1
CONFIRM_PAYLOAD = b"openbsi-pairing-confirm"
MAX_CANDIDATES = 8
MAX_PAIRING_SECRET_BYTES = 4096


class PairingError(Exception):
    """No authentic peer completed the handshake in time (or the operator refused its code)."""


def wrap(kind: int, payload: bytes) -> bytes:
    return bytes([kind]) + payload


def unwrap(message: bytes) -> tuple[int, bytes]:
    if not message:
        return -1, b""
    return message[0], message[1:]


class _Candidates:
    """Endpoints for each peer key heard so far, tried in turn on every incoming frame."""

    def __init__(self, me: PairingParty, role: str, secret: bytes, **endpoint_kw) -> None:
        self.me, self.role, self.secret, self.endpoint_kw = me, role, secret, endpoint_kw
        self.endpoints: OrderedDict[bytes, LinkEndpoint] = OrderedDict()
        self.ignored_keys = 0

    def add(self, tag: bytes, peer: Hello) -> None:
        if tag in self.endpoints or len(self.endpoints) >= MAX_CANDIDATES:
            return
        try:
            keys = derive_session_keys(
                self.me, peer, initiator=self.role == "base", pairing_secret=self.secret
            )
        except ValueError:  # low-order, malformed or reflected key: not a peer
            self.ignored_keys += 1
            return
        endpoint = LinkEndpoint(
            keys.send_key,
            keys.receive_key,
            role=self.role,
            confirmation_code=keys.confirmation_code,
            **self.endpoint_kw,
        )
        endpoint.check_age = False  # no clock offset yet: ages are checked after the sync
        self.endpoints[tag] = endpoint

    def open(self, message: bytes, now_ns: int) -> tuple[LinkEndpoint, int, bytes] | None:
        for endpoint in self.endpoints.values():
            try:
                kind, payload = unwrap(endpoint.open(message, now_ns))
            except LinkRejected:
                continue
            return endpoint, kind, payload
        return None


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
    pairing_secret: bytes = b"",
    confirm_code: Callable[[str], bool] | None = None,
    sync_rounds: int = 8,
    estimator: clock_sync.OffsetEstimator | None = None,
) -> LinkEndpoint:
    """Pair with the peer behind send/receive; returns this side's endpoint, clock-synced.

    receive() must return every message that arrived since the last call (possibly none).
    Data the peer sends once it is paired goes to on_data(payload, sent_t_ns); messages that
    arrive after pairing completed in the same batch are appended, unopened, to `leftovers`
    (RadioEnd.pair uses both so nothing is lost). Raises PairingError after timeout_s.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    if not 0 < timeout_s <= 3600:
        raise ValueError(f"timeout_s must be in (0, 3600] s, got {timeout_s}")
    if len(pairing_secret) > MAX_PAIRING_SECRET_BYTES:
        raise ValueError(
            f"pairing_secret must be <= {MAX_PAIRING_SECRET_BYTES} bytes, got {len(pairing_secret)}"
        )
    if not 1 <= sync_rounds <= 64:
        raise ValueError(f"sync_rounds must be in [1, 64], got {sync_rounds}")
    me = PairingParty.create(rng_bytes)
    candidates = _Candidates(
        me, role, pairing_secret, max_age_ms=max_age_ms, window_size=window_size
    )
    deadline_ns = clock_ns() + int(timeout_s * 1e9)
    if role == "base":
        pairing: _BaseSide | _ImplantSide = _BaseSide(me, candidates, sync_rounds, estimator)
    else:
        pairing = _ImplantSide(me, candidates)
    proven: LinkEndpoint | None = None
    while clock_ns() < deadline_ns:
        for message in pairing.outgoing(clock_ns()):
            send(message)
        for message in receive():
            if proven is not None and pairing.synced:
                if leftovers is not None:
                    leftovers.append(message)
                continue
            parsed = parse_pairing_message(message)
            if parsed is not None:
                pairing.take_pairing(parsed)
                continue
            opened = candidates.open(message, clock_ns())
            if opened is None:
                continue
            endpoint, kind, payload = opened
            if proven is None:
                proven = endpoint
                _confirm(endpoint, confirm_code)
                pairing.proven = endpoint
            elif endpoint is not proven:
                raise PairingError("two peers proved the pairing keys: refusing both")
            if kind == KIND_DATA and on_data is not None:
                on_data(payload, endpoint.to_local_ns(endpoint.last_t_ns))
            elif kind in clock_sync.TIME_KINDS:
                pairing.take_time(kind, payload, clock_ns, send)
        if proven is not None and pairing.synced:
            if role == "implant":  # one last proof for a base that missed the earlier ones
                send(proven.seal(wrap(KIND_CONFIRM, CONFIRM_PAYLOAD), clock_ns()))
            return proven
        sleep_s(resend_s)
    peer_role = ROLES[1 - ROLES.index(role)]
    heard = " (a peer answered, but gave no key proof)" if candidates.endpoints else ""
    if proven is not None:
        heard = " (keys proven, but the clock sync did not finish)"
    raise PairingError(f"no authentic {peer_role} completed pairing within {timeout_s:g} s{heard}")


def _confirm(endpoint: LinkEndpoint, confirm_code: Callable[[str], bool] | None) -> None:
    if confirm_code is not None and not confirm_code(endpoint.confirmation_code):
        raise PairingError(f"pairing refused: code {endpoint.confirmation_code} not confirmed")


class _BaseSide:
    def __init__(
        self,
        me: PairingParty,
        candidates: _Candidates,
        rounds: int,
        estimator: clock_sync.OffsetEstimator | None,
    ) -> None:
        self.hello = me.hello()
        self.commit = Commit(self.hello.commitment())
        self.candidates = candidates
        self.proven: LinkEndpoint | None = None
        self.synced = False
        self.samples = estimator if estimator is not None else clock_sync.OffsetEstimator()
        self.sent_set: bytes | None = None
        self.rounds = rounds

    def outgoing(self, now_ns: int) -> list[bytes]:
        if self.proven is None:
            out = [self.commit.to_bytes()]
            if self.candidates.endpoints:
                out.append(Reveal(self.hello).to_bytes())
                out += [
                    ep.seal(wrap(KIND_CONFIRM, CONFIRM_PAYLOAD), now_ns)
                    for ep in self.candidates.endpoints.values()
                ]
            return out
        if self.samples.n_samples < self.rounds:
            return [
                self.proven.seal(wrap(clock_sync.KIND_TIME_PING, clock_sync.ping(now_ns)), now_ns)
            ]
        estimate = self.samples.estimate()
        assert estimate is not None
        self.sent_set = clock_sync.offset_set(1, estimate.offset_ns, estimate.rtt_ns)
        return [self.proven.seal(wrap(clock_sync.KIND_TIME_SET, self.sent_set), now_ns)]

    def take_pairing(self, message: object) -> None:
        if isinstance(message, Reply) and message.commitment == self.commit.commitment:
            self.candidates.add(message.hello.public_key + message.hello.nonce, message.hello)

    def take_time(self, kind: int, payload: bytes, clock_ns, send) -> None:
        fields = clock_sync.parse(kind, payload)
        if fields is None or self.proven is None:
            return
        if kind == clock_sync.KIND_TIME_PONG:
            now_ns = clock_ns()
            self.samples.add(fields[0], fields[1], now_ns)
            if self.samples.n_samples < self.rounds:  # the next round trip at once
                send(
                    self.proven.seal(
                        wrap(clock_sync.KIND_TIME_PING, clock_sync.ping(now_ns)), now_ns
                    )
                )
        elif kind == clock_sync.KIND_TIME_ACK and self.sent_set is not None:
            _epoch, offset_ns, _rtt_ns = clock_sync.parse(clock_sync.KIND_TIME_SET, self.sent_set)
            self.proven.peer_offset_ns = offset_ns  # what the implant applied
            self.proven.check_age = True
            self.synced = True


class _ImplantSide:
    def __init__(self, me: PairingParty, candidates: _Candidates) -> None:
        self.hello = me.hello()
        self.candidates = candidates
        self.replies: OrderedDict[bytes, bytes] = OrderedDict()  # commitment -> reply
        self.proven: LinkEndpoint | None = None
        self.synced = False

    def outgoing(self, now_ns: int) -> list[bytes]:
        if self.proven is not None:
            return [self.proven.seal(wrap(KIND_CONFIRM, CONFIRM_PAYLOAD), now_ns)]
        out = list(self.replies.values())
        out += [
            ep.seal(wrap(KIND_CONFIRM, CONFIRM_PAYLOAD), now_ns)
            for ep in self.candidates.endpoints.values()
        ]
        return out

    def take_pairing(self, message: object) -> None:
        if isinstance(message, Commit) and message.commitment not in self.replies:
            if len(self.replies) >= MAX_CANDIDATES:  # forget the oldest base never revealed
                for commitment in self.replies:
                    if commitment not in self.candidates.endpoints:
                        del self.replies[commitment]
                        break
                else:
                    return
            self.replies[message.commitment] = Reply(message.commitment, self.hello).to_bytes()
        elif isinstance(message, Reveal):
            commitment = message.hello.commitment()
            if commitment in self.replies:
                self.candidates.add(commitment, message.hello)

    def take_time(self, kind: int, payload: bytes, clock_ns, send) -> None:
        fields = clock_sync.parse(kind, payload)
        if fields is None or self.proven is None:
            return
        answer = answer_time(self.proven, kind, fields, clock_ns())
        if answer is not None:
            send(answer)
        if kind == clock_sync.KIND_TIME_SET:
            self.synced = True


def answer_time(
    endpoint: LinkEndpoint, kind: int, fields: tuple[int, ...], now_ns: int
) -> bytes | None:
    """The implant's answer to a time frame: PONG to PING; SET applies the offset, then ACK."""
    if kind == clock_sync.KIND_TIME_PING:
        return endpoint.seal(
            wrap(clock_sync.KIND_TIME_PONG, clock_sync.pong(fields[0], now_ns)), now_ns
        )
    if kind == clock_sync.KIND_TIME_SET:
        epoch, offset_ns, _rtt_ns = fields
        endpoint.peer_offset_ns = -offset_ns  # the base's clock minus ours
        endpoint.check_age = True
        return endpoint.seal(wrap(clock_sync.KIND_TIME_ACK, clock_sync.ack(epoch)), now_ns)
    return None
