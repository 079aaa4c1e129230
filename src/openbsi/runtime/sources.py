"""Where a session's ECoG comes from: the virtual patient, an LSL stream or a replayed file.

Every source offers `info`, `pull() -> Chunk` (everything new since the last pull, possibly
nothing) and `close()`. Sources are named on the command line as `virtual`, `lsl:NAME` or
`replay:FILE`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from openbsi.inputs import InputError
from openbsi.patient.virtual import VirtualPatient
from openbsi.runtime.clock import Clock
from openbsi.signals import Chunk, StreamInfo

SOURCE_KINDS = ("virtual", "lsl:NAME", "replay:FILE")
logger = logging.getLogger(__name__)
# How long a session looks for its LSL stream (an assumption: a publisher started at the same
# time needs several seconds to import and open its outlet on a busy machine).
LSL_RESOLVE_TIMEOUT_S = 15.0


class Source(Protocol):
    info: StreamInfo

    def pull(self) -> Chunk: ...

    def close(self) -> None: ...


class VirtualSource:
    """The virtual patient's ECoG on a sample clock.

    `read_until(t_s)` reads as fast as asked (calibration, simulated runs); `pull()` hands out
    the samples due on `clock` since `start()` (live), continuing the same sample clock.
    """

    def __init__(self, patient: VirtualPatient, clock: Clock | None = None) -> None:
        self.patient = patient
        self.info = patient.info
        self.sfreq_hz = patient.info.sfreq_hz
        self.clock = clock
        self.n_read = 0
        self._start_ns: int | None = None
        self._start_s = 0.0

    @property
    def t_s(self) -> float:
        return self.n_read / self.sfreq_hz

    def read_until(self, t_s: float) -> Chunk:
        n_due = math.floor(t_s * self.sfreq_hz + 1e-9)
        data = self.patient.read_ecog(max(0, n_due - self.n_read))
        chunk = Chunk(data=data, first_sample=self.n_read, t_ns=time.monotonic_ns())
        self.n_read = max(self.n_read, n_due)
        return chunk

    def start(self) -> None:
        """Start live pulling: from now on the samples follow `clock`."""
        if self.clock is None:
            raise ValueError("clock must be given to pull live from the virtual patient")
        self._start_ns = self.clock.now_ns()
        self._start_s = self.t_s

    def pull(self) -> Chunk:
        if self._start_ns is None:
            self.start()
        assert self.clock is not None and self._start_ns is not None
        elapsed_s = max(0.0, (self.clock.now_ns() - self._start_ns) / 1e9)
        return self.read_until(self._start_s + elapsed_s)

    def close(self) -> None:
        pass


def open_source(
    spec: str,
    *,
    clock: Clock,
    patient: VirtualPatient | None,
    channels: tuple[str, ...] | None = None,
) -> Source:
    """Open `virtual`, `lsl:NAME` or `replay:FILE` (a clear error for anything else).

    channels: the model's channel names in order. A replay reads just these, in this order
    (a file's LFP or force channels stay out), and refuses a file that lacks one, naming it.
    Live sources are checked against the model by the session instead."""
    kind, _, arg = spec.partition(":")
    if kind == "virtual" and not arg:
        if patient is None:
            raise ValueError("--source virtual needs the virtual patient")
        return VirtualSource(patient, clock)
    if kind == "lsl" and arg:
        from openbsi.signals.lsl import LslSource

        return LslSource(arg, timeout_s=LSL_RESOLVE_TIMEOUT_S)
    if kind == "replay" and arg:
        from openbsi.signals.replay import ReplaySource

        path = Path(arg)
        if not path.exists():
            raise ValueError(f"--source replay: file {path} does not exist")
        try:
            return ReplaySource(path, clock_ns=clock.now_ns, channels=channels)
        except InputError:  # an unreadable file says so itself
            raise
        except ValueError as error:
            if channels is None:
                raise
            raise ValueError(f"--source {spec}: the model's channels: {error}") from None
    raise ValueError(f"--source must be one of {SOURCE_KINDS}, got {spec!r}")


# A source that delivered nothing for this long is lost. At 10 Hz ticks a live source brings
# samples every tick; 0.3 s is three silent ticks, so the loss is reported within 0.4 s
# (issue #10 bar: 0.5 s). An assumption for foreign outlets that push in bigger chunks.
LOST_AFTER_S = 0.3
DEFAULT_GRACE_S = 2.0  # assumption: long enough for a network hiccup, short for a patient


@dataclass(frozen=True)
class SourceEvent:
    """Something that happened to the session's signal: lost, resumed, ended, backlog."""

    t_s: float  # session time
    kind: str  # "lost" | "resumed" | "ended" | "gave_up" | "backlog_discarded" | "gap"
    message: str
    silent_s: float | None = None

    def as_dict(self) -> dict[str, float | str | None]:
        return {
            "t_s": round(self.t_s, 6),
            "kind": self.kind,
            "message": self.message,
            "silent_s": None if self.silent_s is None else round(self.silent_s, 6),
        }


class SessionEnd(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised from a tick to end the session early; `reason` says why."""

    def __init__(self, reason: str, exit_code: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.exit_code = exit_code


@dataclass
class SourceWatch:
    """Turns a source's silence into events: lost after LOST_AFTER_S without samples, the
    session ends grace_s later (non-zero) unless wait_reconnect; a replay that is exhausted
    ends the session (exit 0) with a message.

    `notify(message)` is called at once for every event (the console); every event also goes
    to `on_event` (the session log) and to the Python log.
    """

    spec: str
    grace_s: float = DEFAULT_GRACE_S
    wait_reconnect: bool = False
    lost_after_s: float = LOST_AFTER_S
    notify: Callable[[str], None] | None = None
    on_event: Callable[[SourceEvent], None] | None = None
    events: list[SourceEvent] = field(default_factory=list)
    last_samples_s: float | None = None  # session time when samples last arrived
    lost_since_s: float | None = None  # session time of the last sample before the loss

    def __post_init__(self) -> None:
        if not (math.isfinite(self.grace_s) and 0.0 <= self.grace_s <= 3600.0):
            raise ValueError(f"--grace-s must be within [0, 3600] s, got {self.grace_s}")

    def emit(self, event: SourceEvent) -> None:
        self.events.append(event)
        logger.warning("source %s: %s", self.spec, event.message)
        if self.notify is not None:
            self.notify(event.message)
        if self.on_event is not None:
            self.on_event(event)

    def start(self, now_s: float) -> None:
        self.last_samples_s = now_s  # the session's start counts as the last sign of life

    def observe(self, now_s: float, n_new_samples: int, exhausted: bool = False) -> None:
        """After each tick; raises SessionEnd when the session must stop."""
        if self.last_samples_s is None:
            self.start(now_s)
        assert self.last_samples_s is not None
        if n_new_samples:
            if self.lost_since_s is not None:
                silent_s = now_s - self.lost_since_s
                self.emit(
                    SourceEvent(
                        now_s,
                        "resumed",
                        f"signal from {self.spec} resumed at {now_s:.3f} s after {silent_s:.3f} s "
                        "without samples (a new segment; the gap is recorded, never joined)",
                        silent_s,
                    )
                )
                self.lost_since_s = None
            self.last_samples_s = now_s
            return
        if exhausted:
            self.emit(
                SourceEvent(
                    now_s, "ended", f"end of replay {self.spec} at {now_s:.3f} s: the session ends"
                )
            )
            raise SessionEnd("end of replay file", 0)
        silent_s = now_s - self.last_samples_s
        if self.lost_since_s is None and silent_s >= self.lost_after_s:
            self.lost_since_s = self.last_samples_s
            self.emit(
                SourceEvent(
                    now_s,
                    "lost",
                    f"signal LOST from {self.spec}: no samples for {silent_s:.3f} s "
                    f"at {now_s:.3f} s;"
                    " no commands (stimulation ramps to its safe state)"
                    + (
                        "; waiting for a reconnect"
                        if self.wait_reconnect
                        else f"; the session ends in {self.grace_s:g} s unless it returns"
                    ),
                    silent_s,
                )
            )
        if (
            self.lost_since_s is not None
            and not self.wait_reconnect
            and now_s - self.lost_since_s >= self.lost_after_s + self.grace_s
        ):
            self.emit(
                SourceEvent(
                    now_s,
                    "gave_up",
                    f"signal from {self.spec} still lost after the grace time "
                    f"({self.grace_s:g} s): the session ends (exit 3)",
                    silent_s,
                )
            )
            raise SessionEnd("signal lost", 3)

    @property
    def lost(self) -> bool:
        return self.lost_since_s is not None
