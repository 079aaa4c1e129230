"""Ending a session well: on a signal or on a recording that cannot be written.

SessionStop collects the reason to stop (SIGTERM, SIGINT, SIGHUP: the operator or the system;
a failed write: the recorder's `on_write_error`) and the session loop asks `check()` at every
tick. Once stopped, no further command is sent: the implant's watchdog ramps the output to zero
within watchdog_age_ms + ramp_down_ms (safety/limits.py), and `wind_down` runs the implant for
that long so the ramp is executed (and recorded while the disk allows). With
`continue_unrecorded` a failed write does not stop the session: the alarm repeats every
ALARM_EVERY_S and the loss is counted exactly by the recorder.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, name)
)
ALARM_EVERY_S = 10.0
RECORDING_FAILED_EXIT = 4


class StopRequested(Exception):  # noqa: N818 (control flow, not an error)
    """Raised inside the loop once a stop was asked for."""


class SessionStop:
    """Why and when the session stops (thread- and signal-safe: setting is one assignment)."""

    def __init__(self, clock: Any, *, continue_unrecorded: bool = False) -> None:
        self.clock = clock
        self.continue_unrecorded = continue_unrecorded
        self.reason: str | None = None
        self.signal_number: int | None = None
        self.requested_ns: int | None = None
        self.write_failed_ns: int | None = None  # monotonic/clock time of the first failed write
        self.write_error: str | None = None
        self.zero_output_ns: int | None = None  # session time the output reached zero
        self._last_alarm_ns: int | None = None
        self._previous: dict[int, Any] = {}

    # ------------------------------------------------------------------ causes
    def _request(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
            self.requested_ns = self.clock.now_ns()

    def _on_signal(self, signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if self.reason is None:
            self.signal_number = signum
            self._request(name)
            logger.warning("%s received: stopping (stimulation ramps to zero)", name)
        else:
            logger.warning("%s received again: finishing the run folder first", name)

    def recording_failed(self, error: OSError) -> None:
        """The recorder's first failed write (called in the loop's thread)."""
        self.write_failed_ns = self.clock.now_ns()
        self.write_error = f"{type(error).__name__}: {error}"
        if self.continue_unrecorded:
            logger.error(
                "ALARM: the recording cannot be written (%s); continuing UNRECORDED "
                "as asked (--continue-unrecorded)",
                self.write_error,
            )
            self._last_alarm_ns = self.write_failed_ns
            return
        logger.error(
            "ALARM: the recording cannot be written (%s): stopping the session, "
            "stimulation ramps to zero",
            self.write_error,
        )
        self._request("recording failed")

    def install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread may; a session run from a thread is stopped by it
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._on_signal)

    def restore_signal_handlers(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    # ------------------------------------------------------------------ loop side
    def check(self) -> None:
        """Raise StopRequested once a stop was asked for; repeat the unrecorded alarm."""
        if self.reason is not None:
            raise StopRequested(self.reason)
        if self._last_alarm_ns is not None:
            now = self.clock.now_ns()
            if now - self._last_alarm_ns >= ALARM_EVERY_S * 1e9:
                self._last_alarm_ns = now
                logger.error("ALARM: still UNRECORDED (%s)", self.write_error)

    def checked(self, progress: Callable | None) -> Callable:
        """A progress callback that also stops the session (calibration calls it every tick)."""

        def call(phase: str, done: float, total: float) -> None:
            self.check()
            if progress is not None:
                progress(phase, done, total)

        return call

    def exit_code(self) -> int:
        if self.signal_number is not None:
            return 128 + self.signal_number  # the shell's convention for "ended by a signal"
        if self.write_failed_ns is not None:
            return RECORDING_FAILED_EXIT  # also with --continue-unrecorded: data were lost
        return 0

    def lost(self, recorder: Any) -> dict:
        if not recorder.dropped_records:
            return {}
        return {
            "records": int(recorder.dropped_records),
            "ecog_samples": int(recorder.dropped_ecog_samples),
            "by_type": dict(recorder.dropped_by_type),
            "error": self.write_error,
        }

    def record(self, recorder: Any) -> None:
        """The stop in the recording itself (dropped and counted if the disk still refuses)."""
        if self.reason is None and self.write_failed_ns is None:
            return
        figures = {
            "reason": self.reason or "recording failed (continued unrecorded)",
            "write_error": self.write_error,
            "dropped_records": int(recorder.dropped_records),
            "dropped_ecog_samples": int(recorder.dropped_ecog_samples),
            "zero_output_s": None if self.zero_output_ns is None else self.zero_output_ns / 1e9,
        }
        try:
            recorder.summary("stop", figures)
        except ValueError:  # the recorder was already closed
            logger.warning("stop not recorded: %s", figures)


def wind_down(
    loop: Any,
    clock: Any,
    session_ns: Callable[[], int],
    tick_ns: int,
    delivered: list,
    stop: SessionStop,
) -> None:
    """No more commands: run the implant until its watchdog has ramped the output to zero."""
    implant = loop.implant
    if implant is None:  # a remote implant's own watchdog ramps it (its process records it)
        return
    limits = implant.limits
    horizon_ns = (limits.watchdog_age_ms + limits.ramp_down_ms) * 1e6 + tick_ns
    end_ns = session_ns() + horizon_ns
    recorder = loop.recorder
    n_events = len(implant.stimulator.supervisor.events)
    for _ in range(math.ceil(horizon_ns / tick_ns) + 1):
        now_ns = session_ns()
        span = implant.run_until(now_ns + tick_ns)
        delivered.clear()
        if span.pulses and recorder is not None:
            recorder.pulses(
                np.array([p.t_ns for p in span.pulses]) / 1e9,
                np.array([p.electrode for p in span.pulses]),
                np.array([p.amplitude_ma for p in span.pulses]),
                np.array([p.pulse_width_us for p in span.pulses]),
            )
        silent = implant.stimulator.supervisor.silent_from_ns()
        if (silent is not None and now_ns + tick_ns >= silent) or now_ns >= end_ns:
            stop.zero_output_ns = silent
            break
        clock.sleep(tick_ns / 1e9)
    events = implant.stimulator.supervisor.events[n_events:]
    if recorder is not None:
        for event in events:
            recorder.safety_event(
                event.t_ns / 1e9,
                event.rule,
                event.field,
                event.value,
                event.limit,
                event.action,
                -1 if event.electrode is None else event.electrode,
            )
