"""IPsec-style anti-replay window (RFC 4303 section 3.4.3) over 64-bit sequence numbers.

The window remembers the highest sequence number accepted and a bitmap of which of the
`size` numbers below it were seen. A number is fresh if it is above the highest, or inside the
window and not yet seen; anything older than the window is refused (it cannot be told apart
from a replay). `check` is read-only so the caller can authenticate before `update`.
"""

from __future__ import annotations


class ReplayWindow:
    """Sliding window of `size` sequence numbers (bit i set = highest - i was accepted)."""

    def __init__(self, size: int = 64) -> None:
        if not 1 <= size <= 65_536:
            raise ValueError(f"size must be in [1, 65536] sequence numbers, got {size}")
        self.size = size
        self.highest = -1  # nothing accepted yet
        self._bitmap = 0
        self._mask = (1 << size) - 1

    def is_fresh(self, sequence: int) -> bool:
        """True if `sequence` was never accepted and is not older than the window."""
        if sequence > self.highest:
            return True
        offset = self.highest - sequence
        if offset >= self.size:
            return False
        return not (self._bitmap >> offset) & 1

    def update(self, sequence: int) -> None:
        """Mark `sequence` as accepted (call only after the frame authenticated)."""
        if sequence > self.highest:
            shift = sequence - self.highest
            self._bitmap = ((self._bitmap << shift) | 1) & self._mask if shift < self.size else 1
            self.highest = sequence
        else:
            offset = self.highest - sequence
            if offset < self.size:
                self._bitmap |= 1 << offset
