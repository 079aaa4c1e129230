"""Why the link refused a frame."""

from __future__ import annotations

from typing import Final

# Every refusal carries exactly one of these reasons (also the LinkStats counter suffixes).
REJECT_REASONS: Final[tuple[str, ...]] = ("corrupt", "forged", "replayed", "stale", "malformed")


class LinkRejected(Exception):  # noqa: N818  (name fixed by the phase 1 API)
    """A received frame was refused; `reason` is one of REJECT_REASONS."""

    def __init__(self, reason: str, detail: str = "") -> None:
        if reason not in REJECT_REASONS:
            raise ValueError(f"reason must be one of {REJECT_REASONS}, got {reason!r}")
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)
