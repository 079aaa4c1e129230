"""SHA-256 hash chain over recorded ECoG chunks.

link_0 = SHA-256("openbsi-ecog-chain-v1:" + session_id); link_k = SHA-256(link_{k-1} + chunk_k)
where chunk_k is `<d q I I>` (t_s, t_ns, n_channels, n_samples) followed by the samples as
little-endian float32 in microvolts, channels x samples. Changing, removing, adding or reordering
any chunk changes every later link, so publishing the final link (the head) lets an outsider
confirm a recording was not altered.
"""

from __future__ import annotations

import hashlib
import struct

import numpy as np

_CHUNK_HEADER = struct.Struct("<dqII")


def genesis(session_id: str) -> bytes:
    """The first link, bound to one session."""
    return hashlib.sha256(b"openbsi-ecog-chain-v1:" + session_id.encode()).digest()


def next_link(previous: bytes, data_uv: np.ndarray, t_s: float, t_ns: int) -> bytes:
    """The link that follows `previous` once this chunk is appended (no copy of the samples
    when they already are C-ordered little-endian float32)."""
    block = np.ascontiguousarray(data_uv, dtype="<f4")
    n_channels, n_samples = block.shape
    digest = hashlib.sha256(previous)
    digest.update(_CHUNK_HEADER.pack(float(t_s), int(t_ns), n_channels, n_samples))
    digest.update(memoryview(block).cast("B"))
    return digest.digest()
