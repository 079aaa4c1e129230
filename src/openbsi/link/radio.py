"""Base station <-> implant over a simulated radio: paired endpoints + one channel each way.

The session loop sends stimulation commands down (`send_down` / `receive_down`) and telemetry
up; `metrics()` is the `link` block of metrics.json. Frames an attacker injected are tracked
by origin, so `accepted_injected` proves none was ever taken for a real one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from openbsi.link import clock_sync
from openbsi.link.channel import FaultyChannel
from openbsi.link.endpoint import DEFAULT_MAX_AGE_MS, LinkEndpoint, pair
from openbsi.link.errors import LinkRejected
from openbsi.link.faults import FaultConfig
from openbsi.link.handshake import KIND_DATA, answer_time, handshake, unwrap, wrap
from openbsi.link.pairing import parse_pairing_message

AGE_HISTORY = 10_000  # frames (about 17 min of 100 ms commands) for the age percentiles


class AgeRing:
    """The ages (ms) of the latest accepted frames, in memory allocated once (flat over hours)."""

    def __init__(self, size: int = AGE_HISTORY) -> None:
        self._values = np.empty(size)
        self._next = 0
        self.count = 0  # ages ever added

    def append(self, age_ms: float) -> None:
        self._values[self._next] = age_ms
        self._next = (self._next + 1) % self._values.size
        self.count += 1

    def values(self) -> np.ndarray:
        return self._values[: min(self.count, self._values.size)]

    def percentile(self, q: float) -> float:
        held = self.values()
        return float(np.percentile(held, q)) if held.size else float("nan")


SecurityEvent = Callable[[str, str, str], None]  # (direction "down"/"up", reason, detail)


@dataclass
class Delivery:
    """One accepted payload and when it was sealed (sender's clock) and opened."""

    payload: bytes
    sent_t_ns: int
    opened_t_ns: int

    @property
    def age_ms(self) -> float:
        return (self.opened_t_ns - self.sent_t_ns) / 1e6


@dataclass
class _Direction:
    sender: LinkEndpoint
    receiver: LinkEndpoint
    channel: FaultyChannel
    accepted_injected: int = 0  # must stay 0: an attacker's frame taken for a real one
    # Ages of the latest accepted frames (bounded: memory stays flat over long sessions).
    ages_ms: AgeRing = field(default_factory=AgeRing)

    def send(self, payload: bytes, t_ns: int) -> None:
        self.channel.send(self.sender.seal(payload, t_ns), t_ns)

    def receive(self, now_ns: int) -> list[Delivery]:
        out = []
        for frame, origin in self.channel.receive_tagged(now_ns):
            try:
                payload = self.receiver.open(frame, now_ns)
            except LinkRejected:
                continue
            if origin != "radio":
                self.accepted_injected += 1
            sent_t_ns = self.receiver.last_t_ns
            self.ages_ms.append((now_ns - sent_t_ns) / 1e6)
            out.append(Delivery(payload, sent_t_ns, now_ns))
        return out

    def metrics(self) -> dict[str, float | int]:
        s, c = self.receiver.stats, self.channel.stats
        return {
            "frames_sent": self.sender.stats.frames_sent,
            "frames_lost": c.lost,
            "frames_accepted": s.frames_received,
            "frames_missing": s.frames_missing,
            "rejected_forged": s.rejected_forged,
            "rejected_replayed": s.rejected_replayed,
            "rejected_stale": s.rejected_stale,
            "rejected_corrupt": s.rejected_corrupt,
            "rejected_malformed": s.rejected_malformed,
            "duplicated": c.duplicated,
            "reordered": c.reordered,
            "corrupted": c.corrupted,
            "dropped_link_down": c.dropped_link_down,
            "injected_forged": c.injected_forged,
            "injected_tampered": c.injected_tampered,
            "injected_replayed": c.injected_replayed,
            "accepted_injected": self.accepted_injected,
            "delivery_ratio": s.frames_received / max(1, self.sender.stats.frames_sent),
            "age_p50_ms": self.ages_ms.percentile(50),
            "age_p99_ms": self.ages_ms.percentile(99),
        }


class SimulatedRadio:
    """A paired link with faults applied independently on the downlink and the uplink.

    on_security_event(direction, reason, detail) is called for every refused frame, for the
    session's security event log (FDA 2023 guidance asks for one; facts.md).
    """

    def __init__(
        self,
        config: FaultConfig,
        rng: np.random.Generator,
        *,
        rng_bytes: Callable[[int], bytes] = os.urandom,
        max_age_ms: float = DEFAULT_MAX_AGE_MS,
        window_size: int = 64,
        uplink_config: FaultConfig | None = None,
        on_security_event: SecurityEvent | None = None,
    ) -> None:
        self.config = config
        self.base, self.implant = pair(rng_bytes, max_age_ms=max_age_ms, window_size=window_size)
        down_rng, up_rng = rng.spawn(2)
        self._down = _Direction(self.base, self.implant, FaultyChannel(config, down_rng))
        self._up = _Direction(
            self.implant, self.base, FaultyChannel(uplink_config or config, up_rng)
        )
        if on_security_event is not None:
            log = on_security_event
            self.implant.on_reject = lambda reason, detail: log("down", reason, detail)
            self.base.on_reject = lambda reason, detail: log("up", reason, detail)

    @property
    def downlink(self) -> FaultyChannel:
        return self._down.channel

    @property
    def uplink(self) -> FaultyChannel:
        return self._up.channel

    def send_down(self, payload: bytes, t_ns: int) -> None:
        """Base station -> implant (stimulation commands)."""
        self._down.send(payload, t_ns)

    def receive_down(self, now_ns: int) -> list[Delivery]:
        """What the implant accepted by now_ns (refused frames are only counted)."""
        return self._down.receive(now_ns)

    def to_local_ns(self, peer_t_ns: int) -> int:
        """Both ends of the simulated radio share one clock."""
        return int(peer_t_ns)

    def send_up(self, payload: bytes, t_ns: int) -> None:
        """Implant -> base station (telemetry, acknowledgements)."""
        self._up.send(payload, t_ns)

    def receive_up(self, now_ns: int) -> list[Delivery]:
        return self._up.receive(now_ns)

    def metrics(self) -> dict[str, object]:
        """The `link` block of metrics.json: downlink figures at the top level, plus uplink."""
        out: dict[str, object] = dict(self._down.metrics())
        out["faults"] = self.config.as_text()
        out["uplink"] = self._up.metrics()
        return out


class RadioEnd:
    """One side of a paired link over an external byte transport (another process, hardware).

    Build it from `handshake(...)`'s endpoint and the same send/receive callables. The other
    side runs its own RadioEnd. Aliases let it stand where a SimulatedRadio's base side
    (send_down, receive_up) or implant side (receive_down, send_up) is expected.
    """

    def __init__(
        self,
        endpoint: LinkEndpoint,
        send: Callable[[bytes], None],
        receive: Callable[[], list[bytes]],
        *,
        on_security_event: SecurityEvent | None = None,
        estimator: clock_sync.OffsetEstimator | None = None,
        resync_s: float = 1.0,
    ) -> None:
        self.endpoint = endpoint
        self._send = send
        self._receive = receive
        self.ages_ms = AgeRing()
        self.confirmations_ignored = 0
        self.data_frames_sent = 0
        if estimator is None and endpoint.role == "base":
            estimator = clock_sync.OffsetEstimator()
        self.estimator = estimator  # the base side's clock-offset filter (None on the implant)
        self.resync_ns = int(resync_s * 1e9)
        self._last_ping_ns: int | None = None
        self._sync_epoch = 1
        self._pending: list[Delivery] = []  # data opened during pairing
        self._pending_raw: list[bytes] = []  # messages that arrived right after pairing
        if on_security_event is not None:
            log = on_security_event
            endpoint.on_reject = lambda reason, detail: log(endpoint.role, reason, detail)

    @classmethod
    def pair(
        cls,
        send: Callable[[bytes], None],
        receive: Callable[[], list[bytes]],
        *,
        role: str,
        timeout_s: float = 10.0,
        on_security_event: SecurityEvent | None = None,
        **handshake_kw: Any,
    ) -> RadioEnd:
        """Pair over send/receive (openbsi.link.handshake) and keep whatever data the peer
        sent meanwhile, so no command is lost at the start of a session."""
        pending: list[Delivery] = []
        raw: list[bytes] = []
        clock_ns = handshake_kw.get("clock_ns", time.monotonic_ns)
        estimator = clock_sync.OffsetEstimator() if role == "base" else None
        endpoint = handshake(
            send,
            receive,
            role=role,
            timeout_s=timeout_s,
            on_data=lambda payload, t_ns: pending.append(Delivery(payload, t_ns, clock_ns())),
            leftovers=raw,
            estimator=estimator,
            **handshake_kw,
        )
        end = cls(endpoint, send, receive, on_security_event=on_security_event, estimator=estimator)
        end._pending, end._pending_raw = pending, raw
        return end

    def send(self, payload: bytes, t_ns: int) -> None:
        self._send(self.endpoint.seal(wrap(KIND_DATA, payload), t_ns))
        self.data_frames_sent += 1

    def receive(self, now_ns: int) -> list[Delivery]:
        out, self._pending = self._pending, []
        raw, self._pending_raw = self._pending_raw, []
        self._maybe_resync(now_ns)
        for message in raw + self._receive():
            if parse_pairing_message(message) is not None:
                continue  # a late pairing message: not a frame
            try:
                kind, payload = unwrap(self.endpoint.open(message, now_ns))
            except LinkRejected:
                continue
            if kind in clock_sync.TIME_KINDS:
                self._take_time(kind, payload, now_ns)
                continue
            if kind != KIND_DATA:
                self.confirmations_ignored += 1
                continue
            sent_t_ns = self.endpoint.to_local_ns(self.endpoint.last_t_ns)
            self.ages_ms.append((now_ns - sent_t_ns) / 1e6)
            out.append(Delivery(payload, sent_t_ns, now_ns))
        return out

    def to_local_ns(self, peer_t_ns: int) -> int:
        """A timestamp of the peer's clock (e.g. inside a command) on this side's clock."""
        return self.endpoint.to_local_ns(peer_t_ns)

    def _maybe_resync(self, now_ns: int) -> None:
        """The base repeats the clock round trip every resync_s, so drift is followed."""
        if self.estimator is None:
            return
        if self._last_ping_ns is None or now_ns - self._last_ping_ns >= self.resync_ns:
            self._last_ping_ns = now_ns
            frame = wrap(clock_sync.KIND_TIME_PING, clock_sync.ping(now_ns))
            self._send(self.endpoint.seal(frame, now_ns))

    def _take_time(self, kind: int, payload: bytes, now_ns: int) -> None:
        fields = clock_sync.parse(kind, payload)
        if fields is None:
            return
        if self.estimator is None:  # the implant answers
            answer = answer_time(self.endpoint, kind, fields, now_ns)
            if answer is not None:
                self._send(answer)
            return
        if kind == clock_sync.KIND_TIME_PONG and self.estimator.add(fields[0], fields[1], now_ns):
            estimate = self.estimator.estimate()
            assert estimate is not None
            if estimate.offset_ns != self.endpoint.peer_offset_ns:
                self.endpoint.peer_offset_ns = estimate.offset_ns
                self._sync_epoch += 1
                update = clock_sync.offset_set(
                    self._sync_epoch, estimate.offset_ns, estimate.rtt_ns
                )
                frame = wrap(clock_sync.KIND_TIME_SET, update)
                self._send(self.endpoint.seal(frame, now_ns))

    def clock_offset(self) -> dict[str, float | int | None]:
        """The measured clock offset (peer minus this side) and its uncertainty."""
        estimate = self.estimator.estimate() if self.estimator is not None else None
        return {
            "offset_ms": self.endpoint.peer_offset_ns / 1e6,
            "uncertainty_ms": estimate.rtt_ns / 2e6 if estimate is not None else None,
            "samples": estimate.n_samples if estimate is not None else None,
        }

    send_down = send_up = send
    receive_down = receive_up = receive

    def metrics(self) -> dict[str, float | int | str]:
        """What this side knows: what it sent, what it accepted and refused, and the gaps in
        the peer's sequence numbers (frames_lost: the only loss figure a real link has)."""
        s = self.endpoint.stats
        return {
            "role": self.endpoint.role,
            "frames_sent": self.data_frames_sent,
            "control_frames_sent": s.frames_sent - self.data_frames_sent,  # pairing, clock sync
            "frames_lost": s.frames_missing,
            "frames_accepted": s.frames_received,
            "rejected_forged": s.rejected_forged,
            "rejected_replayed": s.rejected_replayed,
            "rejected_stale": s.rejected_stale,
            "rejected_corrupt": s.rejected_corrupt,
            "rejected_malformed": s.rejected_malformed,
            "age_p50_ms": self.ages_ms.percentile(50),
            "age_p99_ms": self.ages_ms.percentile(99),
            "confirmation_code": self.endpoint.confirmation_code,
            "clock_offset_ms": self.endpoint.peer_offset_ns / 1e6,
        }
