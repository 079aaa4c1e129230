"""Authenticated, encrypted, replay-protected frames between an implant and a base station.

Modelled on what the FDA's 2023 premarket cybersecurity guidance asks of a device link
(facts.md "Security and data integrity"): cryptographic authentication of every command,
anti-replay, no hard-coded or serial-derived keys, logged security events, fuzzed parsers.
Each direction has its own ChaCha20-Poly1305 key from `pair()`; the sequence number is the
nonce, so a key never sees the same nonce twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from openbsi.link.errors import LinkRejected
from openbsi.link.frame import (
    FRAME_VERSION,
    MAX_PAYLOAD_BYTES,
    MAX_SEQUENCE,
    FrameHeader,
    assemble,
    split,
)
from openbsi.link.pairing import PairingParty, derive_session_keys
from openbsi.link.replay_window import ReplayWindow

KEY_BYTES = 32
DEFAULT_MAX_AGE_MS = 150.0


@dataclass
class LinkStats:
    """Counters of one endpoint (what it sealed, what it accepted, what it refused and why)."""

    frames_sent: int = 0
    frames_received: int = 0  # accepted (authentic, fresh, in time)
    rejected_forged: int = 0
    rejected_replayed: int = 0
    rejected_stale: int = 0
    rejected_corrupt: int = 0
    rejected_malformed: int = 0
    highest_sequence: int = -1  # highest sequence number accepted

    @property
    def rejected(self) -> int:
        return (
            self.rejected_forged
            + self.rejected_replayed
            + self.rejected_stale
            + self.rejected_corrupt
            + self.rejected_malformed
        )

    @property
    def frames_missing(self) -> int:
        """Sequence numbers up to the highest accepted that never arrived intact."""
        return max(0, self.highest_sequence + 1 - self.frames_received)

    def as_dict(self) -> dict[str, int]:
        out = asdict(self)
        out["rejected"] = self.rejected
        out["frames_missing"] = self.frames_missing
        return out


def _nonce(sequence: int) -> bytes:
    return sequence.to_bytes(12, "big")


class LinkEndpoint:
    """One end of a paired link: `seal` what you send, `open` what you receive.

    send_key / receive_key: 32-byte ChaCha20-Poly1305 keys (from `pair()`, never hard-coded).
    max_age_ms: frames whose timestamp is older than this (or as far in the future) are stale.
    window_size: width of the anti-replay window, in sequence numbers.
    confirmation_code: the pairing's short code (compare it on both sides out of band).
    on_reject: optional callback(reason, detail) for security event logging.
    """

    def __init__(
        self,
        send_key: bytes,
        receive_key: bytes,
        *,
        max_age_ms: float = DEFAULT_MAX_AGE_MS,
        window_size: int = 64,
        role: str = "",
        confirmation_code: str = "",
        on_reject: Callable[[str, str], None] | None = None,
    ) -> None:
        for name, key in (("send_key", send_key), ("receive_key", receive_key)):
            if len(key) != KEY_BYTES:
                raise ValueError(f"{name} must be {KEY_BYTES} bytes, got {len(key)}")
        if send_key == receive_key:
            raise ValueError("send_key and receive_key must differ (one key per direction)")
        if not 0 < max_age_ms < 3_600_000:
            raise ValueError(f"max_age_ms must be in (0, 3600000) ms, got {max_age_ms}")
        self._send = ChaCha20Poly1305(send_key)
        self._receive = ChaCha20Poly1305(receive_key)
        self._next_sequence = 0
        self._window = ReplayWindow(window_size)
        self.max_age_ns = int(max_age_ms * 1e6)
        self.role = role
        self.confirmation_code = confirmation_code
        self.on_reject = on_reject
        self.stats = LinkStats()
        self.last_t_ns = 0  # sender's timestamp of the last accepted frame (sender's clock)
        # The peer's clock minus ours, measured by round trips (openbsi.link.clock_sync); the
        # age check runs on our clock. It is off only while pairing, before the first estimate.
        self.peer_offset_ns = 0
        self.check_age = True

    def to_local_ns(self, peer_t_ns: int) -> int:
        """A timestamp of the peer's clock on ours."""
        return int(peer_t_ns) - self.peer_offset_ns

    def seal(self, payload: bytes, t_ns: int) -> bytes:
        """Encrypt and authenticate `payload`, stamped with `t_ns`, as the next frame."""
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise ValueError(
                f"payload must be <= {MAX_PAYLOAD_BYTES} bytes, got {len(payload)} bytes"
            )
        if not -(2**63) <= t_ns < 2**63:
            raise ValueError(f"t_ns must fit a signed 64-bit integer, got {t_ns}")
        if self._next_sequence > MAX_SEQUENCE:
            raise RuntimeError("sequence numbers exhausted: pair again for a new session key")
        header = FrameHeader(FRAME_VERSION, self._next_sequence, int(t_ns), len(payload))
        header_bytes = header.pack()
        ciphertext = self._send.encrypt(_nonce(header.sequence), bytes(payload), header_bytes)
        self._next_sequence += 1
        self.stats.frames_sent += 1
        return assemble(header, ciphertext)

    def open(self, frame: bytes, now_ns: int) -> bytes:
        """The payload of an authentic, fresh, timely frame; else LinkRejected(reason).

        Order of checks: size/CRC/header (malformed, corrupt) -> replay window (cheap, before
        any crypto, as IPsec) -> AEAD tag (forged) -> age (stale). The window only moves after
        the tag verified, so forged frames cannot burn sequence numbers.
        """
        try:
            header, header_bytes, ciphertext = split(frame)
            if not self._window.is_fresh(header.sequence):
                raise LinkRejected("replayed", f"sequence {header.sequence} seen or too old")
            try:
                payload = self._receive.decrypt(_nonce(header.sequence), ciphertext, header_bytes)
            except InvalidTag:
                raise LinkRejected("forged", "authentication tag does not verify") from None
            age_ns = int(now_ns) - self.to_local_ns(header.t_ns)
            if self.check_age and abs(age_ns) > self.max_age_ns:
                raise LinkRejected(
                    "stale",
                    f"frame age must be within +/-{self.max_age_ns / 1e6:g} ms, "
                    f"got {age_ns / 1e6:.1f} ms",
                )
        except LinkRejected as rejected:
            self._count_rejection(rejected)
            raise
        self._window.update(header.sequence)
        self.last_t_ns = header.t_ns
        self.stats.frames_received += 1
        self.stats.highest_sequence = self._window.highest
        return payload

    def _count_rejection(self, rejected: LinkRejected) -> None:
        name = f"rejected_{rejected.reason}"
        setattr(self.stats, name, getattr(self.stats, name) + 1)
        if self.on_reject is not None:
            self.on_reject(rejected.reason, rejected.detail)


def pair(
    rng_bytes: Callable[[int], bytes] = os.urandom,
    *,
    max_age_ms: float = DEFAULT_MAX_AGE_MS,
    window_size: int = 64,
) -> tuple[LinkEndpoint, LinkEndpoint]:
    """Pair a base station and an implant: (base, implant) endpoints with fresh session keys.

    See openbsi.link.pairing for the key agreement; both endpoints get the same
    `confirmation_code` that an operator can compare out of band.
    """
    base = PairingParty.create(rng_bytes)
    implant = PairingParty.create(rng_bytes)
    base_keys = derive_session_keys(base, implant.hello(), initiator=True)
    implant_keys = derive_session_keys(implant, base.hello(), initiator=False)
    endpoints = []
    for role, keys in (("base", base_keys), ("implant", implant_keys)):
        endpoint = LinkEndpoint(
            keys.send_key,
            keys.receive_key,
            max_age_ms=max_age_ms,
            window_size=window_size,
            role=role,
            confirmation_code=keys.confirmation_code,
        )
        endpoints.append(endpoint)
    return endpoints[0], endpoints[1]
