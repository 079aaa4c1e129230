"""Pairing: ephemeral X25519 key agreement + HKDF-SHA256 -> one session key per direction.

Each party draws a fresh private key and a 16-byte nonce from `rng_bytes` at every pairing
(nothing hard-coded or derived from a serial number; facts.md "Security and data integrity").
The HKDF salt is both nonces, the info binds both public keys, so both sides derive the same
(base->implant, implant->base) keys and a short confirmation code. Unauthenticated
Diffie-Hellman alone does not stop a man in the middle: a real pairing compares the
confirmation code out of band (e.g. on the programmer screen, or over a near-field channel).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

NONCE_BYTES = 16
INFO_PREFIX = b"openbsi-link-v1"


HELLO_MAGIC = b"OBSI-HELLO1"
HELLO_BYTES = len(HELLO_MAGIC) + 1 + 32 + NONCE_BYTES
ROLES = ("base", "implant")


@dataclass(frozen=True)
class Hello:
    """What a party sends in the clear: its ephemeral public key and a nonce."""

    public_key: bytes
    nonce: bytes

    def to_bytes(self, role: str) -> bytes:
        """MAGIC + role byte (0 base, 1 implant) + public key + nonce."""
        return HELLO_MAGIC + bytes([ROLES.index(role)]) + self.public_key + self.nonce

    @staticmethod
    def from_bytes(message: bytes) -> tuple[str, Hello] | None:
        """(role, hello) if `message` is a well-formed hello, else None."""
        if len(message) != HELLO_BYTES or not message.startswith(HELLO_MAGIC):
            return None
        role_index = message[len(HELLO_MAGIC)]
        if role_index >= len(ROLES):
            return None
        key_start = len(HELLO_MAGIC) + 1
        return ROLES[role_index], Hello(
            message[key_start : key_start + 32], message[key_start + 32 :]
        )


@dataclass(frozen=True)
class SessionKeys:
    send_key: bytes
    receive_key: bytes
    confirmation_code: str  # 6 digits, equal on both sides iff no one sat in the middle


@dataclass(frozen=True)
class PairingParty:
    private_key: X25519PrivateKey
    nonce: bytes

    @classmethod
    def create(cls, rng_bytes: Callable[[int], bytes]) -> PairingParty:
        secret = rng_bytes(32)
        nonce = rng_bytes(NONCE_BYTES)
        if len(secret) != 32 or len(nonce) != NONCE_BYTES:
            raise ValueError(
                f"rng_bytes(n) must return n bytes, got {len(secret)} for 32, "
                f"{len(nonce)} for {NONCE_BYTES}"
            )
        return cls(X25519PrivateKey.from_private_bytes(secret), nonce)

    def hello(self) -> Hello:
        public = self.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return Hello(public, self.nonce)


def derive_session_keys(me: PairingParty, peer: Hello, *, initiator: bool) -> SessionKeys:
    """Keys for `me` after receiving the peer's hello; the initiator is the base station."""
    mine = me.hello()
    first, second = (mine, peer) if initiator else (peer, mine)  # base first on both sides
    # X25519 exchange raises ValueError on an all-zero shared secret (low-order peer key).
    shared = me.private_key.exchange(X25519PublicKey.from_public_bytes(peer.public_key))
    material = HKDF(
        algorithm=hashes.SHA256(),
        length=96,
        salt=first.nonce + second.nonce,
        info=INFO_PREFIX + first.public_key + second.public_key,
    ).derive(shared)
    base_to_implant, implant_to_base, confirm = material[:32], material[32:64], material[64:]
    code = f"{int.from_bytes(confirm[:4], 'big') % 1_000_000:06d}"
    if initiator:
        return SessionKeys(base_to_implant, implant_to_base, code)
    return SessionKeys(implant_to_base, base_to_implant, code)
