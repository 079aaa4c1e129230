"""Pairing: a commitment-based X25519 exchange, HKDF-SHA256 keys, a short authentication string.

Numeric-comparison pairing (the shape of Bluetooth LE Secure Connections):
    base    -> COMMIT  H(base public key, base nonce)
    implant -> REPLY   the commitment it answers, implant public key, implant nonce
    base    -> REVEAL  base public key, base nonce (the implant checks them against COMMIT)
Both derive one key per direction and a 6-digit code from the shared secret, both keys and both
nonces. The base commits before it sees the implant's nonce, so a man in the middle cannot pick
keys that make the two codes agree (one chance in a million per attempt): the operator
compares the codes shown on both ends. A pairing secret delivered out of band, when given, is
mixed into the keys: a party without it never produces a valid key proof, so a man in the
middle fails without anyone comparing anything.

Each party draws a fresh private key and nonce from `rng_bytes` at every pairing (nothing
hard-coded or serial-derived; facts.md "Security and data integrity"). Public keys whose shared
secret is all zero (low-order points) are refused by `derive_session_keys` with ValueError;
the handshake ignores such messages instead of aborting.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

NONCE_BYTES = 16
KEY_BYTES = 32
DIGEST_BYTES = 32
INFO_PREFIX = b"openbsi-link-v2"
ROLES = ("base", "implant")

COMMIT_MAGIC = b"OBSI-COMMIT2"
REPLY_MAGIC = b"OBSI-REPLY02"
REVEAL_MAGIC = b"OBSI-REVEAL2"
COMMIT_BYTES = len(COMMIT_MAGIC) + DIGEST_BYTES
REPLY_BYTES = len(REPLY_MAGIC) + DIGEST_BYTES + KEY_BYTES + NONCE_BYTES
REVEAL_BYTES = len(REVEAL_MAGIC) + KEY_BYTES + NONCE_BYTES


@dataclass(frozen=True)
class Hello:
    """What a party shows in the clear: its ephemeral public key and a nonce."""

    public_key: bytes
    nonce: bytes

    def commitment(self) -> bytes:
        return hashlib.sha256(b"openbsi-commit" + self.public_key + self.nonce).digest()


@dataclass(frozen=True)
class Commit:
    commitment: bytes

    def to_bytes(self) -> bytes:
        return COMMIT_MAGIC + self.commitment


@dataclass(frozen=True)
class Reply:
    commitment: bytes  # the base commitment this reply answers
    hello: Hello

    def to_bytes(self) -> bytes:
        return REPLY_MAGIC + self.commitment + self.hello.public_key + self.hello.nonce


@dataclass(frozen=True)
class Reveal:
    hello: Hello

    def to_bytes(self) -> bytes:
        return REVEAL_MAGIC + self.hello.public_key + self.hello.nonce


PairingMessage = Commit | Reply | Reveal


def parse_pairing_message(message: bytes) -> PairingMessage | None:
    """The pairing message `message` is, or None (a frame, or noise)."""
    if len(message) == COMMIT_BYTES and message.startswith(COMMIT_MAGIC):
        return Commit(message[len(COMMIT_MAGIC) :])
    if len(message) == REPLY_BYTES and message.startswith(REPLY_MAGIC):
        body = message[len(REPLY_MAGIC) :]
        key = body[DIGEST_BYTES : DIGEST_BYTES + KEY_BYTES]
        return Reply(body[:DIGEST_BYTES], Hello(key, body[DIGEST_BYTES + KEY_BYTES :]))
    if len(message) == REVEAL_BYTES and message.startswith(REVEAL_MAGIC):
        body = message[len(REVEAL_MAGIC) :]
        return Reveal(Hello(body[:KEY_BYTES], body[KEY_BYTES:]))
    return None


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


def derive_session_keys(
    me: PairingParty, peer: Hello, *, initiator: bool, pairing_secret: bytes = b""
) -> SessionKeys:
    """Keys for `me` after learning the peer's key and nonce; the initiator is the base.

    Raises ValueError for a low-order peer key (all-zero shared secret) or a malformed one.
    """
    mine = me.hello()
    if peer.public_key == mine.public_key:
        raise ValueError("the peer's public key is our own (a reflected message)")
    first, second = (mine, peer) if initiator else (peer, mine)  # base first on both sides
    shared = me.private_key.exchange(X25519PublicKey.from_public_bytes(peer.public_key))
    secret_digest = hashlib.sha256(b"openbsi-pairing-secret" + pairing_secret).digest()
    material = HKDF(
        algorithm=hashes.SHA256(),
        length=96,
        salt=first.nonce + second.nonce,
        info=INFO_PREFIX + first.public_key + second.public_key,
    ).derive(shared + (secret_digest if pairing_secret else b""))
    base_to_implant, implant_to_base, confirm = material[:32], material[32:64], material[64:]
    code = f"{int.from_bytes(confirm[:4], 'big') % 1_000_000:06d}"
    if initiator:
        return SessionKeys(base_to_implant, implant_to_base, code)
    return SessionKeys(implant_to_base, base_to_implant, code)


MIN_PAIRING_SECRET_BYTES = 16
MAX_PAIRING_SECRET_FILE_BYTES = 4096


def read_pairing_secret(path: str | os.PathLike[str]) -> bytes:
    """A pairing secret delivered out of band, from a file (at least 16 bytes, at most 4 KiB).

    Raises openbsi.inputs.InputError naming the file.
    """
    from openbsi.inputs import InputError, read_limited

    secret = read_limited(path, max_bytes=MAX_PAIRING_SECRET_FILE_BYTES).strip()
    if len(secret) < MIN_PAIRING_SECRET_BYTES:
        raise InputError(
            str(path),
            "pairing secret",
            "too short",
            limit=f">= {MIN_PAIRING_SECRET_BYTES} bytes",
            value=len(secret),
        )
    return secret
