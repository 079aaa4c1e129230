"""The session's local control channel: HMAC-signed commands the session process reads each tick.

The clinic app (web/) never runs a loop; it appends signed lines to `control.jsonl` in the run
folder, and the session process, at the start of every tick, reads what was appended since the
last tick. Each line is JSON {"seq", "action", "t_s"?, "text"?, "user", "mac"}; mac is
HMAC-SHA256 over the canonical JSON of every other field with a per-session key that only the
app and the session process hold (passed in the environment, never on the command line). A line
with a bad mac, a seq not above the last one accepted (replay) or an unknown action is refused
and counted (facts.md "Security and data integrity": authenticated, anti-replay commands).

Actions: "estop" -> the supervisor's emergency stop (zero output at once, latched);
"annotate" -> an annotation record at the session time the user referred to.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)
CONTROL_NAME = "control.jsonl"
KEY_ENV = "OPENBSI_CONTROL_KEY"
ACTIONS = ("estop", "annotate")
MAX_LINE_BYTES = 4096  # an annotation is short; a longer line is refused
MAX_READ_BYTES = 65536  # per tick: the loop never reads more than this at once


def _canonical(fields: dict) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def sign_command(key: bytes, fields: dict) -> str:
    """One control line (with its newline) for `fields` (seq, action, user, ...)."""
    body = {k: v for k, v in fields.items() if k != "mac"}
    mac = hmac.new(key, _canonical(body), hashlib.sha256).hexdigest()
    return json.dumps({**body, "mac": mac}, sort_keys=True, separators=(",", ":")) + "\n"


def append_command(path: Path, key: bytes, fields: dict) -> None:
    """Append one signed line with a single write (O_APPEND), as the app does."""
    line = sign_command(key, fields).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


@dataclass
class ControlChannel:
    """The session process's end: poll() once per tick, before the tick's work."""

    path: Path
    key: bytes
    on_estop: Callable[[int, dict], None]
    on_annotate: Callable[[dict], None]
    last_seq: int = 0
    refused: int = 0
    accepted: int = 0
    _offset: int = 0
    _partial: bytes = field(default=b"", repr=False)

    def poll(self, now_ns: int) -> None:
        """Apply every complete, authentic, fresh line appended since the last poll."""
        try:
            with open(self.path, "rb") as stream:
                stream.seek(self._offset)
                data = stream.read(MAX_READ_BYTES)
        except FileNotFoundError:
            return
        except OSError:
            logger.exception("control channel unreadable")
            return
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()  # an incomplete last line waits for the next poll
        if len(self._partial) > MAX_LINE_BYTES:
            self._partial, self.refused = b"", self.refused + 1
        for line in lines:
            if line.strip():
                self._apply(line, now_ns)

    def _apply(self, line: bytes, now_ns: int) -> None:
        command = self._authentic(line)
        if command is None:
            self.refused += 1
            return
        self.last_seq = command["seq"]
        self.accepted += 1
        if command["action"] == "estop":
            self.on_estop(now_ns, command)
        else:
            self.on_annotate(command)

    def _authentic(self, line: bytes) -> dict | None:
        if len(line) > MAX_LINE_BYTES:
            return None
        try:
            command = json.loads(line)
        except ValueError:
            return None
        if not isinstance(command, dict) or not isinstance(command.get("mac"), str):
            return None
        body = {k: v for k, v in command.items() if k != "mac"}
        expected = hmac.new(self.key, _canonical(body), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, command["mac"]):
            logger.warning("control channel: a line with a bad signature was refused")
            return None
        seq = body.get("seq")
        if not isinstance(seq, int) or isinstance(seq, bool) or seq <= self.last_seq:
            logger.warning("control channel: a replayed or unordered line was refused")
            return None
        if body.get("action") not in ACTIONS:
            return None
        return body


def channel_from_env(
    run_dir: Path, on_estop: Callable[[int, dict], None], on_annotate: Callable[[dict], None]
) -> ControlChannel | None:
    """The channel of a session started by the app (its key in OPENBSI_CONTROL_KEY), or None."""
    key_hex = os.environ.get(KEY_ENV, "")
    if not key_hex:
        return None
    try:
        key = bytes.fromhex(key_hex)
    except ValueError:
        raise ValueError(f"{KEY_ENV} must be hex, got {len(key_hex)} characters") from None
    if len(key) < 16:
        raise ValueError(f"{KEY_ENV} must hold at least 16 bytes (limit 16, got {len(key)})")
    return ControlChannel(Path(run_dir) / CONTROL_NAME, key, on_estop, on_annotate)
