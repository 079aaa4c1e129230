"""Lab Streaming Layer (mne-lsl): publish a stream, and read one always at its freshest.

An LSL inlet hands out the oldest buffered samples first, so a loop that pulls a fixed amount
per tick lags further behind every time it is late (facts.md "LSL pitfall"). `LslSource.pull`
therefore drains the inlet completely at every call and returns everything new; the ring
buffer downstream keeps only the newest window. Remote timestamps are mapped to this process's
clock with the inlet's `time_correction()` (refreshed periodically), so the lag of the newest
sample can be measured and logged.

LSL's `local_clock()` and `time.monotonic_ns()` are both the OS monotonic clock on Linux; the
offset between them is measured anyway so that stamps stay comparable on any platform.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from mne_lsl.lsl import StreamInfo as LslInfo
from mne_lsl.lsl import StreamInlet, StreamOutlet, local_clock, resolve_streams

from openbsi.signals.types import Chunk, StreamInfo

_UNIT_TO_LSL = {"uV": "microvolts", "mV": "millivolts", "V": "volts"}
_LSL_TO_UNIT = {v: k for k, v in _UNIT_TO_LSL.items()}
DRAIN_BLOCK_SAMPLES = 4096  # samples per pull while draining


def lsl_clock_offset_ns(n_probes: int = 5) -> int:
    """time.monotonic_ns() - local_clock() in ns (median of a few bracketed probes)."""
    offsets = []
    for _ in range(n_probes):
        before = time.monotonic_ns()
        lsl_s = local_clock()
        after = time.monotonic_ns()
        offsets.append((before + after) // 2 - round(lsl_s * 1e9))
    return int(np.median(offsets))


def to_lsl_info(info: StreamInfo, *, stype: str = "ECoG", source_id: str = "") -> LslInfo:
    """An LSL stream description (float32 samples) with our channel names, types and units."""
    lsl_info = LslInfo(
        info.name, stype, info.n_channels, float(info.sfreq_hz), "float32", source_id or info.name
    )
    lsl_info.set_channel_names(list(info.channel_names))
    known = stype.lower() in ("ecog", "eeg", "seeg")
    lsl_info.set_channel_types(stype.lower() if known else "misc")
    lsl_info.set_channel_units(_UNIT_TO_LSL.get(info.unit, info.unit))
    return lsl_info


def from_lsl_info(lsl_info: LslInfo) -> StreamInfo:
    """Our StreamInfo from an LSL description (names default to ch000, ch001, ...)."""
    n = lsl_info.n_channels
    names = lsl_info.get_channel_names()
    if not names or len(names) != n or any(not name for name in names):
        names = [f"ch{i:03d}" for i in range(n)]
    units = lsl_info.get_channel_units() or []
    unit = _LSL_TO_UNIT.get(str(units[0]), str(units[0])) if units and units[0] else "uV"
    if lsl_info.sfreq <= 0:
        raise ValueError(
            f"stream {lsl_info.name!r} must have a regular sampling rate (> 0 Hz), "
            f"got {lsl_info.sfreq}"
        )
    return StreamInfo(
        name=lsl_info.name, sfreq_hz=float(lsl_info.sfreq), channel_names=tuple(names), unit=unit
    )


class LslPublisher:
    """Publishes a stream as an LSL outlet; `push(chunk)` sends channels x samples blocks.

    Each chunk is stamped with its acquisition time (chunk.t_ns, mapped to the LSL clock) as
    the time of its last sample, so an inlet can measure what the transport adds.
    """

    def __init__(
        self,
        info: StreamInfo,
        *,
        stype: str = "ECoG",
        source_id: str = "",
        max_buffered_s: int = 10,
    ) -> None:
        if not 1 <= max_buffered_s <= 3600:
            raise ValueError(f"max_buffered_s must be in [1, 3600] s, got {max_buffered_s}")
        self.info = info
        self._offset_ns = lsl_clock_offset_ns()
        # chunk_size=1: every push goes out at once (no batching in liblsl).
        self._outlet: StreamOutlet | None = StreamOutlet(
            to_lsl_info(info, stype=stype, source_id=source_id),
            chunk_size=1,
            max_buffered=int(max_buffered_s),
        )
        self.samples_pushed = 0

    def _outlet_or_raise(self) -> StreamOutlet:
        if self._outlet is None:
            raise RuntimeError(f"LSL publisher {self.info.name!r} is closed")
        return self._outlet

    def push(self, chunk: Chunk) -> None:
        """Send a chunk; its last sample carries chunk.t_ns as LSL timestamp."""
        if chunk.n_channels != self.info.n_channels:
            raise ValueError(
                f"chunk must have {self.info.n_channels} channels (the stream's), "
                f"got {chunk.n_channels}"
            )
        if chunk.n_samples == 0:
            return
        samples = np.ascontiguousarray(chunk.data.T, dtype=np.float32)  # samples x channels
        timestamp_s = (chunk.t_ns - self._offset_ns) / 1e9
        self._outlet_or_raise().push_chunk(samples, timestamp=timestamp_s)
        self.samples_pushed += chunk.n_samples

    def has_consumers(self) -> bool:
        return self._outlet_or_raise().has_consumers

    def wait_for_consumers(self, timeout_s: float) -> bool:
        return bool(self._outlet_or_raise().wait_for_consumers(timeout_s))

    def close(self) -> None:
        if self._outlet is not None:
            self._outlet = None  # liblsl destroys the outlet with the object

    def __enter__(self) -> LslPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def publish_realtime(
    publisher: LslPublisher,
    read_block: Callable[[int], np.ndarray],
    seconds: float | None,
    *,
    block_s: float = 0.01,
    should_stop: Callable[[], bool] | None = None,
    on_block: Callable[[int], None] | None = None,
) -> int:
    """Push `read_block(n)` (channels x n) at the stream's real rate for `seconds` (None =
    until should_stop()); paced on the sample clock so it never drifts. Returns samples sent.
    on_block(elapsed_ns) runs after every block (e.g. to let the patient take in pulses).
    """
    if seconds is not None and not 0 < seconds <= 7 * 24 * 3600:
        raise ValueError(f"seconds must be in (0, 604800] or None, got {seconds}")
    if not 0.001 <= block_s <= 1.0:
        raise ValueError(f"block_s must be in [0.001, 1] s, got {block_s}")
    sfreq = publisher.info.sfreq_hz
    total = None if seconds is None else round(seconds * sfreq)
    start_ns = time.monotonic_ns()
    sent = 0
    while total is None or sent < total:
        if should_stop is not None and should_stop():
            break
        now_ns = time.monotonic_ns()
        due = int((now_ns - start_ns) * sfreq // 1_000_000_000)
        if total is not None:
            due = min(due, total)
        if due > sent:
            publisher.push(Chunk(read_block(due - sent), sent, now_ns))
            sent = due
        if on_block is not None:
            on_block(now_ns - start_ns)
        next_ns = start_ns + int((sent + max(1.0, block_s * sfreq)) * 1e9 / sfreq)
        time.sleep(max(0.0, (next_ns - time.monotonic_ns()) / 1e9))
    return sent


@dataclass(frozen=True)
class TimedChunk:
    """A chunk placed on this process's clock: first_sample_t_ns is the monotonic time of its
    first sample (the LSL stamp, corrected); starts_segment marks a break before it."""

    chunk: Chunk
    first_sample_t_ns: int
    starts_segment: bool


@dataclass
class LslSourceStats:
    pulls: int = 0
    samples_received: int = 0
    samples_skipped: int = 0  # drained but older than max_chunk_samples: never decoded
    last_lag_ms: float = float("nan")  # local now - (corrected) stamp of the newest sample
    max_lag_ms: float = 0.0
    time_correction_ms: float = float("nan")
    clock_resets: int = 0
    gaps: int = 0  # breaks in the sample timestamps longer than gap_s
    samples_missing: int = 0  # estimated from the gaps (the sample clock skips them)
    backlog_discarded: int = 0  # buffered before start(): never handed out
    segments: int = 0  # runs of samples without a break (pull_timed)
    max_drift_ms: float = 0.0  # stamps vs the segment's sample clock (pull_timed)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def resolve_one(name: str, *, stype: str | None = None, timeout_s: float = 5.0) -> LslInfo:
    """The LSL stream called `name` (ValueError naming the streams seen if there is none)."""
    if not 0 < timeout_s <= 600:
        raise ValueError(f"timeout_s must be in (0, 600] s, got {timeout_s}")
    found = resolve_streams(timeout=timeout_s, name=name, stype=stype, minimum=1)
    if not found:
        others = sorted({s.name for s in resolve_streams(timeout=0.5)})
        raise ValueError(f"LSL stream name must be one of {others} (found), got {name!r}")
    return max(found, key=lambda s: s.created_at)  # several with one name: the newest


class LslSource:
    """Reads an LSL stream; every `pull()` drains the inlet and returns all new samples.

    max_chunk_samples: at most this many of the newest samples are returned per pull (older
        ones were already superseded; counted in stats.samples_skipped). None = all.
    clock_refresh_s: how often the time correction is re-read (it is updated by liblsl in the
        background; the first estimate blocks for a moment).
    gap_s: a jump of more than this between consecutive sample stamps counts as a gap
        (publisher restart, network drop); first_sample then skips the missing samples.
    """

    def __init__(
        self,
        name: str,
        *,
        stype: str | None = None,
        timeout_s: float = 5.0,
        max_buffered_s: int = 5,
        max_chunk_samples: int | None = None,
        clock_refresh_s: float = 5.0,
        gap_s: float = 0.1,
    ) -> None:
        if not 0 < gap_s <= 60:
            raise ValueError(f"gap_s must be in (0, 60] s, got {gap_s}")
        if max_chunk_samples is not None and max_chunk_samples < 1:
            raise ValueError(f"max_chunk_samples must be >= 1 or None, got {max_chunk_samples}")
        if not 1 <= max_buffered_s <= 3600:
            raise ValueError(f"max_buffered_s must be in [1, 3600] s, got {max_buffered_s}")
        lsl_info = resolve_one(name, stype=stype, timeout_s=timeout_s)
        self._inlet: StreamInlet | None = StreamInlet(lsl_info, max_buffered=int(max_buffered_s))
        self._inlet.open_stream(timeout=timeout_s)
        self.info = from_lsl_info(self._inlet.get_sinfo(timeout=timeout_s))
        self.max_chunk_samples = max_chunk_samples
        self.clock_refresh_s = clock_refresh_s
        self.gap_s = gap_s
        self._last_stamp_s: float | None = None
        self.stats = LslSourceStats()
        self._offset_ns = lsl_clock_offset_ns()
        self._correction_s = 0.0
        self._correction_at_ns = 0
        self._n_samples = 0  # sample clock: samples handed out + skipped
        self.last_source_t_ns = 0  # newest sample's stamp, in time.monotonic_ns() terms
        self.last_arrival_ns = time.monotonic_ns()  # when samples last came in (or connect)
        self._segment_t0_ns: int | None = None  # monotonic ns of the current segment's start
        self._segment_n = 0  # samples in the current segment
        self._last_stamp_ns = 0
        self._refresh_correction(timeout_s)

    @property
    def inlet(self) -> StreamInlet:
        if self._inlet is None:
            raise RuntimeError(f"LSL source {self.info.name!r} is closed")
        return self._inlet

    def _refresh_correction(self, timeout_s: float) -> None:
        """Only the first call (at connect) may block; later ones read liblsl's background
        estimate with timeout 0, so the decode loop never waits on the clock."""
        self._correction_at_ns = time.monotonic_ns()  # time of the attempt
        try:
            self._correction_s = float(self.inlet.time_correction(timeout=timeout_s))
        except (TimeoutError, RuntimeError):  # timeout, or mne_lsl's LostError (a RuntimeError)
            return  # keep the previous estimate; a lost stream shows in silent_s()
        self.stats.time_correction_ms = self._correction_s * 1e3

    def _drain(self) -> tuple[list[np.ndarray], np.ndarray]:
        blocks, stamps = [], []
        while True:
            data, ts = self.inlet.pull_chunk(timeout=0.0, max_samples=DRAIN_BLOCK_SAMPLES)
            if len(ts) == 0:
                break
            blocks.append(np.array(data, dtype=np.float64, copy=True))
            stamps.append(np.array(ts, copy=True))
            if len(ts) < DRAIN_BLOCK_SAMPLES:
                break
        return blocks, (np.concatenate(stamps) if stamps else np.empty(0))

    def pull(self) -> Chunk:
        """Everything that arrived since the last pull (channels x samples, maybe 0 samples).

        first_sample follows the stream's sample clock, gaps included; it is exact for the
        newest sample (the one a decoder cares about) even when a gap falls inside the chunk.
        """
        now_ns = time.monotonic_ns()
        if (now_ns - self._correction_at_ns) / 1e9 >= self.clock_refresh_s:
            self._refresh_correction(0.0)
        if self.inlet.was_clock_reset:
            self.stats.clock_resets += 1
            self._refresh_correction(0.0)
        blocks, stamps = self._drain()
        self.stats.pulls += 1
        if not blocks:
            return Chunk(np.zeros((self.info.n_channels, 0)), self._n_samples, time.monotonic_ns())
        data = np.concatenate(blocks, axis=0).T  # channels x samples
        self._count_gaps(stamps)
        n_new = data.shape[1]
        keep = n_new if self.max_chunk_samples is None else min(n_new, self.max_chunk_samples)
        self.stats.samples_received += n_new
        self.stats.samples_skipped += n_new - keep
        acquired_ns = time.monotonic_ns()
        self.last_arrival_ns = acquired_ns
        self.last_source_t_ns = round((stamps[-1] + self._correction_s) * 1e9) + (self._offset_ns)
        lag_ms = (acquired_ns - self.last_source_t_ns) / 1e6
        self.stats.last_lag_ms = lag_ms
        self.stats.max_lag_ms = max(self.stats.max_lag_ms, lag_ms)
        chunk = Chunk(
            np.ascontiguousarray(data[:, n_new - keep :]),
            first_sample=self._n_samples + n_new - keep,
            t_ns=acquired_ns,
        )
        self._n_samples += n_new
        return chunk

    def start(self) -> None:
        """Discard the backlog buffered since connect (samples from before the session's clock
        started): counted in stats.backlog_discarded, never recorded as if they were new."""
        _, stamps = self._drain()
        self.stats.backlog_discarded += int(stamps.size)
        if stamps.size:
            self._last_stamp_s = float(stamps[-1])
            self._n_samples += int(stamps.size)
        self._segment_t0_ns = None  # the next sample opens the first segment

    def pull_timed(self) -> list[TimedChunk]:
        """Everything new, placed sample by sample on this process's monotonic clock.

        Each sample's LSL stamp is mapped with the inlet's time correction. Within a segment a
        sample's time is the segment's first stamp + index / rate; a step between stamps of
        more than gap_s (a network drop, a publisher restart, a reconnect), a step backwards,
        or a drift of the stamps from the sample clock beyond gap_s starts a new segment: the
        chunks either side of a break are returned separately and never joined.
        """
        now_ns = time.monotonic_ns()
        if (now_ns - self._correction_at_ns) / 1e9 >= self.clock_refresh_s:
            self._refresh_correction(0.0)
        if self.inlet.was_clock_reset:
            self.stats.clock_resets += 1
            self._refresh_correction(0.0)
        blocks, stamps = self._drain()
        self.stats.pulls += 1
        if not blocks:
            return []
        acquired_ns = time.monotonic_ns()
        data = np.concatenate(blocks, axis=0).T  # channels x samples
        stamps_ns = np.round((stamps + self._correction_s) * 1e9).astype(np.int64) + self._offset_ns
        period_ns = 1e9 / self.info.sfreq_hz
        gap_ns = self.gap_s * 1e9
        out: list[TimedChunk] = []
        start = 0
        n_new = stamps_ns.size
        while start < n_new:
            breaks_here = self._segment_t0_ns is None
            if not breaks_here:
                previous = self._last_stamp_ns
                step = stamps_ns[start] - previous
                drift = stamps_ns[start] - self._expected_ns(0)
                breaks_here = step > gap_ns or step < 0 or abs(drift) > gap_ns
                if breaks_here:
                    missing = max(0, round(step / period_ns) - 1)
                    self.stats.gaps += 1
                    self.stats.samples_missing += missing
                    self._n_samples += missing
            if breaks_here:
                self._segment_t0_ns = int(stamps_ns[start])
                self._segment_n = 0
                self.stats.segments += 1
            # the run of samples up to the next break
            steps = np.diff(stamps_ns[start:])
            expected = self._expected_ns(np.arange(n_new - start))
            drift = np.abs(stamps_ns[start:] - expected)
            bad = np.flatnonzero((steps > gap_ns) | (steps < 0) | (drift[1:] > gap_ns))
            stop = n_new if bad.size == 0 else start + int(bad[0]) + 1
            # Sending jitter only ever delays a stamp: the segment's start is the earliest one
            # its samples imply (one stamp alone would carry its own lateness into all).
            implied = (
                stamps_ns[start:stop] - (self._segment_n + np.arange(stop - start)) * period_ns
            )
            self._segment_t0_ns = min(self._segment_t0_ns, int(np.floor(implied.min())))
            t0_ns = self._segment_t0_ns + round(self._segment_n * period_ns)
            self.stats.max_drift_ms = max(
                self.stats.max_drift_ms, float(drift[: stop - start].max()) / 1e6
            )
            out.append(
                TimedChunk(
                    Chunk(np.ascontiguousarray(data[:, start:stop]), self._n_samples, acquired_ns),
                    first_sample_t_ns=int(t0_ns),
                    starts_segment=breaks_here,
                )
            )
            self._n_samples += stop - start
            self._segment_n += stop - start
            self._last_stamp_ns = int(stamps_ns[stop - 1])
            start = stop
        self.stats.samples_received += n_new
        self._last_stamp_s = float(stamps[-1])
        self.last_arrival_ns = acquired_ns
        self.last_source_t_ns = int(stamps_ns[-1])
        lag_ms = (acquired_ns - self.last_source_t_ns) / 1e6
        self.stats.last_lag_ms = lag_ms
        self.stats.max_lag_ms = max(self.stats.max_lag_ms, lag_ms)
        return out

    def _expected_ns(self, offset: np.ndarray | int) -> np.ndarray:
        """Where the segment's sample clock puts its next samples (+ offset)."""
        assert self._segment_t0_ns is not None
        period_ns = 1e9 / self.info.sfreq_hz
        return self._segment_t0_ns + (self._segment_n + np.asarray(offset)) * period_ns

    def _count_gaps(self, stamps: np.ndarray) -> None:
        """Gaps before and inside this block; the sample clock skips the missing samples
        (all but the newest block of a gap are dropped anyway: only the last chunk is new)."""
        steps = np.diff(stamps if self._last_stamp_s is None else np.r_[self._last_stamp_s, stamps])
        breaks = steps[steps > self.gap_s]
        if breaks.size:
            missing = int(np.sum(np.round(breaks * self.info.sfreq_hz) - 1))
            self.stats.gaps += int(breaks.size)
            self.stats.samples_missing += max(0, missing)
            self._n_samples += max(0, missing)
        self._last_stamp_s = float(stamps[-1])

    def silent_s(self, now_ns: int | None = None) -> float:
        """Seconds since samples last arrived (a stalled or lost stream grows this)."""
        now_ns = time.monotonic_ns() if now_ns is None else now_ns
        return (now_ns - self.last_arrival_ns) / 1e9

    def close(self) -> None:
        if self._inlet is not None:
            self._inlet.close_stream()
            self._inlet = None

    def __enter__(self) -> LslSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LslEventSource:
    """Reads an irregular LSL stream (e.g. delivered pulses, commands): every `pull()` drains
    the inlet and returns (samples x channels, stamps in time.monotonic_ns() terms)."""

    def __init__(self, name: str, *, stype: str | None = None, timeout_s: float = 5.0) -> None:
        lsl_info = resolve_one(name, stype=stype, timeout_s=timeout_s)
        self.name = lsl_info.name
        self.n_channels = lsl_info.n_channels
        self.channel_names = tuple(lsl_info.get_channel_names() or ())
        self._inlet: StreamInlet | None = StreamInlet(lsl_info, max_buffered=60)
        self._inlet.open_stream(timeout=timeout_s)
        self._offset_ns = lsl_clock_offset_ns()
        self._correction_s = float(self._inlet.time_correction(timeout=timeout_s))
        self.events_received = 0

    def pull(self) -> tuple[np.ndarray, np.ndarray]:
        if self._inlet is None:
            raise RuntimeError(f"LSL event source {self.name!r} is closed")
        blocks, stamps = [], []
        while True:
            data, ts = self._inlet.pull_chunk(timeout=0.0, max_samples=DRAIN_BLOCK_SAMPLES)
            if len(ts) == 0:
                break
            blocks.append(np.array(data, dtype=np.float64, copy=True))
            stamps.append(np.array(ts, copy=True))
            if len(ts) < DRAIN_BLOCK_SAMPLES:
                break
        if not blocks:
            return np.zeros((0, self.n_channels)), np.zeros(0, dtype=np.int64)
        t_s = np.concatenate(stamps) + self._correction_s
        t_ns = np.round(t_s * 1e9).astype(np.int64) + self._offset_ns
        self.events_received += int(t_ns.size)
        return np.concatenate(blocks, axis=0), t_ns

    def close(self) -> None:
        if self._inlet is not None:
            self._inlet.close_stream()
            self._inlet = None


class LslByteLink:
    """A bidirectional byte transport over two irregular LSL string streams (base64 text):
    `{name}-down` (base -> implant) and `{name}-up` (implant -> base). Carries sealed link
    frames between processes; LSL only moves bytes, authenticity comes from openbsi.link.

    Each side publishes its outlet at once, then waits up to timeout_s for the peer's.
    """

    def __init__(self, name: str, role: str, *, timeout_s: float = 30.0) -> None:
        if role not in ("base", "implant"):
            raise ValueError(f"role must be one of ('base', 'implant'), got {role!r}")
        out_name, in_name = (f"{name}-down", f"{name}-up")
        if role == "implant":
            out_name, in_name = in_name, out_name
        info = LslInfo(out_name, "OpenBSI-Link", 1, 0.0, "string", out_name)
        self._outlet: StreamOutlet | None = StreamOutlet(info, chunk_size=1, max_buffered=5)
        self._inlet: StreamInlet | None = StreamInlet(
            resolve_one(in_name, timeout_s=timeout_s), max_buffered=5
        )
        self._inlet.open_stream(timeout=timeout_s)
        self.role = role
        self.messages_sent = 0
        self.messages_received = 0

    def send(self, message: bytes) -> None:
        if self._outlet is None:
            raise RuntimeError("LSL byte link is closed")
        self._outlet.push_sample([base64.b64encode(message).decode("ascii")])
        self.messages_sent += 1

    def receive(self) -> list[bytes]:
        """Every message that arrived since the last call (undecodable text is dropped:
        the link layer would refuse it anyway)."""
        if self._inlet is None:
            raise RuntimeError("LSL byte link is closed")
        out = []
        while True:
            samples, ts = self._inlet.pull_chunk(timeout=0.0, max_samples=256)
            for sample in samples:
                try:
                    out.append(base64.b64decode(sample[0], validate=True))
                except (ValueError, IndexError, TypeError):
                    continue
            if len(ts) < 256:
                break
        self.messages_received += len(out)
        return out

    def close(self) -> None:
        if self._inlet is not None:
            self._inlet.close_stream()
        self._inlet = None
        self._outlet = None


def bench_publish(
    name: str, n_channels: int, sfreq_hz: float, chunk_samples: int, n_chunks: int
) -> None:
    """The benchmark's publisher: waits for a consumer, then pushes `n_chunks` chunks at the
    stream's real rate, each stamped with local_clock() at the push."""
    info = StreamInfo(name, sfreq_hz, tuple(f"ch{i:04d}" for i in range(n_channels)))
    outlet = StreamOutlet(to_lsl_info(info), chunk_size=1, max_buffered=10)
    if not outlet.wait_for_consumers(timeout=10.0):
        return
    block = np.zeros((chunk_samples, n_channels), np.float32)
    period_s = chunk_samples / sfreq_hz
    next_s = local_clock() + 1.5  # let the consumer settle (its first time correction)
    for _ in range(n_chunks):
        while (left_s := next_s - local_clock()) > 0:
            time.sleep(min(max(left_s - 0.0005, 0.0), 0.01))
        outlet.push_chunk(block, timestamp=local_clock())
        next_s += period_s
    time.sleep(0.2)  # let the last chunk leave before the outlet goes away


def lsl_transport_latency(
    n_channels: int = 64,
    *,
    n_chunks: int = 200,
    sfreq_hz: float = 2000.0,
    chunk_samples: int = 20,
    publisher: str = "process",
    name: str | None = None,
) -> dict[str, float]:
    """What LSL adds on loopback: push -> pull latency of each chunk, p50/p99/max in ms.

    For scale: BRAND moves 1024 ch at 30 kHz in 1 ms chunks between processes in < 600 us
    (facts.md "Real-time systems"); the issue's bar for LSL is <= 2 ms p99 on loopback.

    A publisher ("process": its own Python process, as `openbsi stream` runs; or "thread")
    pushes chunks at the stream's real rate, each stamped with local_clock() at the push; this
    thread blocks in pull_chunk and stamps each chunk on arrival. Both stamps are on the same
    machine clock, mapped with time_correction().
    """
    import subprocess
    import sys
    import threading

    if not 1 <= n_channels <= 4096:
        raise ValueError(f"n_channels must be in [1, 4096], got {n_channels}")
    if not 10 <= n_chunks <= 100_000:
        raise ValueError(f"n_chunks must be in [10, 100000], got {n_chunks}")
    if publisher not in ("process", "thread"):
        raise ValueError(f"publisher must be one of ('process', 'thread'), got {publisher!r}")
    name = name or f"openbsi-bench-{n_channels}-{time.monotonic_ns()}"
    args = (name, n_channels, sfreq_hz, chunk_samples, n_chunks)
    if publisher == "process":
        code = f"from openbsi.signals.lsl import bench_publish; bench_publish(*{args!r})"
        runner: subprocess.Popen | threading.Thread = subprocess.Popen(
            [sys.executable, "-c", code], stderr=subprocess.DEVNULL
        )
    else:
        runner = threading.Thread(target=bench_publish, args=args, daemon=True)
        runner.start()
    latencies_ms: list[float] = []
    try:
        inlet = StreamInlet(resolve_one(name, timeout_s=20.0), max_buffered=10)
        inlet.open_stream(timeout=10.0)
        correction_s = inlet.time_correction(timeout=10.0)
        inlet.flush()
        ready_s = local_clock()  # chunks pushed before this waited for us, not for LSL
        deadline_s = local_clock() + 10.0 + n_chunks * chunk_samples / sfreq_hz * 2
        while len(latencies_ms) < n_chunks and local_clock() < deadline_s:
            _, ts = inlet.pull_chunk(timeout=0.5, max_samples=chunk_samples)
            arrived_s = local_clock()
            if len(ts) and ts[-1] >= ready_s:
                latencies_ms.append((arrived_s - (ts[-1] + correction_s)) * 1e3)
        inlet.close_stream()
    finally:
        if isinstance(runner, subprocess.Popen):
            try:
                runner.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                runner.kill()
                runner.wait()
        else:
            runner.join(timeout=5.0)
    values = np.asarray(latencies_ms)
    if values.size == 0:
        raise RuntimeError(f"no chunk of LSL stream {name!r} arrived on loopback")
    return {
        "p50_ms": float(np.percentile(values, 50)),
        "p99_ms": float(np.percentile(values, 99)),
        "max_ms": float(values.max()),
        "n_chunks": int(values.size),
    }


def wakeup_latency(n_chunks: int = 200, period_s: float = 0.01) -> dict[str, float]:
    """Context for lsl_transport_latency: a plain thread-to-thread hand-off (queue.Queue) at
    the same pace, p50/p99/max in ms. Whatever the machine's scheduler adds under its current
    load shows here too; the difference is what LSL itself adds."""
    import queue
    import threading

    if not 10 <= n_chunks <= 100_000:
        raise ValueError(f"n_chunks must be in [10, 100000], got {n_chunks}")
    handoff: queue.Queue[int] = queue.Queue()

    def produce() -> None:
        next_ns = time.monotonic_ns() + 10_000_000
        for _ in range(n_chunks):
            while (left_ns := next_ns - time.monotonic_ns()) > 0:
                time.sleep(min(max(left_ns / 1e9 - 0.0005, 0.0), 0.01))
            handoff.put(time.monotonic_ns())
            next_ns += int(period_s * 1e9)

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    values = np.empty(n_chunks)
    for k in range(n_chunks):
        sent_ns = handoff.get(timeout=10.0)
        values[k] = (time.monotonic_ns() - sent_ns) / 1e6
    producer.join(timeout=5.0)
    return {
        "p50_ms": float(np.percentile(values, 50)),
        "p99_ms": float(np.percentile(values, 99)),
        "max_ms": float(values.max()),
        "n_chunks": n_chunks,
    }
