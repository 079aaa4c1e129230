"""`openbsi bench latency`: compute latency per hop of the real loop, and what LSL adds.

In process, the benchmark runs the session's own Loop (features, decoder, mapper, link,
implant, supervisor, paddle stimulator) on synthetic ECoG of N channels; the decoder is fitted
on synthetic windows first (its accuracy is irrelevant here, its cost is not). Over LSL, chunks
cross loopback from a publisher in its own process; a plain thread hand-off at the same pace
is measured in the same run as the machine's own scheduling baseline.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import numpy as np
from threadpoolctl import threadpool_limits

from openbsi.bench.common import summary
from openbsi.decoding import make_decoder
from openbsi.features.artifacts import ArtifactRemover
from openbsi.features.extractor import FeatureConfig, FeatureExtractor
from openbsi.link.faults import FaultConfig
from openbsi.link.radio import SimulatedRadio
from openbsi.runtime.implant import Implant
from openbsi.runtime.latency import HOPS, STAMPS
from openbsi.runtime.loop import Loop
from openbsi.safety.limits import SafetyLimits
from openbsi.safety.supervisor import SafetySupervisor
from openbsi.signals import Chunk, RingBuffer, StreamInfo
from openbsi.states import N_STATES
from openbsi.stimulation.backends.registry import create_stimulator
from openbsi.stimulation.electrodes import PADDLE_16
from openbsi.stimulation.mapper import Mapper
from openbsi.stimulation.program import default_paddle_program

SFREQ_HZ = 586.0  # WIMAGINE sampling rate (facts.md, Lorach 2023)
TICK_NS = 100_000_000
TRANSPORTS = ("inproc", "lsl")


class SyntheticSource:
    """Noise chunks of one tick each, from a pre-generated pool (no RNG cost in the loop)."""

    def __init__(self, n_channels: int, rng: np.random.Generator, pool_s: float = 4.0) -> None:
        self.info = StreamInfo("bench", SFREQ_HZ, tuple(f"ch{i:04d}" for i in range(n_channels)))
        self._pool = 20.0 * rng.standard_normal((n_channels, int(pool_s * SFREQ_HZ)))
        self._n = 0
        self._chunk = round(SFREQ_HZ * TICK_NS / 1e9)

    def pull(self) -> Chunk:
        start = self._n % (self._pool.shape[1] - self._chunk)
        data = self._pool[:, start : start + self._chunk].copy()
        chunk = Chunk(data, self._n, time.monotonic_ns())
        self._n += self._chunk
        return chunk

    def close(self) -> None:
        pass


def _fitted_decoder(extractor: FeatureExtractor, source: SyntheticSource, n_windows: int):
    """An MSLM decoder fitted on synthetic windows (labels cycle through every state)."""
    buffer = RingBuffer(source.info.n_channels, extractor.window_samples)
    X = []
    for _ in range(n_windows):
        buffer.push(source.pull())
        if buffer.n_available >= extractor.window_samples:
            X.append(extractor.transform(buffer.latest(extractor.window_samples)))
    states = (np.arange(len(X)) // 5) % N_STATES
    decoder = make_decoder("mslm", n_components=3, max_components=3)
    decoder.fit(np.asarray(X), states, (states > 0).astype(float))
    decoder.reset_filter()
    return decoder


def _bench_loop(n_channels: int, rng: np.random.Generator) -> Loop:
    """The session's Loop on synthetic ECoG of n_channels (decoder fitted; one BLAS thread
    must be in force around its use)."""
    source = SyntheticSource(n_channels, rng)
    extractor = FeatureExtractor(FeatureConfig(), SFREQ_HZ, n_channels)
    limits = SafetyLimits()
    supervisor = SafetySupervisor(limits, PADDLE_16)
    stimulator = create_stimulator("paddle", supervisor=supervisor, electrodes=PADDLE_16)
    radio = SimulatedRadio(FaultConfig(), rng)
    decoder = _fitted_decoder(extractor, source, n_windows=150)
    return Loop(
        source,
        RingBuffer(n_channels, 2 * extractor.window_samples, np.float32),  # as a session's
        extractor,
        decoder,
        Mapper(default_paddle_program(), PADDLE_16),
        radio,
        Implant(radio, stimulator, limits),
        artifacts=ArtifactRemover(n_channels),  # as in a session: artifacts subtracted
    )


def _run_ticks(
    loop: Loop,
    ticks: range,
    hops: dict[str, list[float]],
    *,
    pace_s: float = 0.0,
    between: Callable[[], None] | None = None,
) -> None:
    """Run ticks on the simulated tick grid; hop latencies are appended to `hops`. pace_s:
    a sleep between ticks, so that the loop wakes up as a periodic one does."""
    for k in ticks:
        stamps = loop.tick(k, k * TICK_NS, TICK_NS)
        if len(stamps.stamps_ns) == len(STAMPS):  # warm-up ticks lack a full window
            for hop in HOPS:
                hops[hop].append(stamps.hop_ms(hop))
        if between is not None:
            between()
        if pace_s:
            time.sleep(pace_s)


def _check_counts(n_channels: int, n_ticks: int) -> None:
    if not 1 <= n_channels <= 4096:
        raise ValueError(f"channels must each be in [1, 4096], got {n_channels}")
    if not 10 <= n_ticks <= 1_000_000:
        raise ValueError(f"ticks must be in [10, 1000000], got {n_ticks}")


def inproc_latency(n_channels: int, n_ticks: int, rng: np.random.Generator) -> dict:
    """p50/p99/max ms per hop of the session's Loop at n_channels."""
    _check_counts(n_channels, n_ticks)
    with threadpool_limits(limits=1):
        loop = _bench_loop(n_channels, rng)
        hops: dict[str, list[float]] = {hop: [] for hop in HOPS}
        _run_ticks(loop, range(n_ticks), hops)
    return {hop: summary(v, unit="_ms", digits=4) for hop, v in hops.items()}


def realtime_comparison(
    n_channels: int,
    n_ticks: int,
    rng: np.random.Generator,
    *,
    load_processes: int = 2,
    block_ticks: int = 50,
    pace_ms: float = 5.0,
) -> dict:
    """Default against --realtime settings, in the same run, under a bounded competing CPU
    load (`load_processes` busy processes, one per core by default, ended with the run).

    Blocks of `block_ticks` ticks alternate between the two modes, so that both see the same
    load over time; each tick is followed by a `pace_ms` sleep (a periodic loop wakes up).
    """
    from openbsi.runtime.realtime import RealtimeSettings

    _check_counts(n_channels, n_ticks)
    if not 0 <= load_processes <= 64:
        raise ValueError(f"load_processes must be in [0, 64], got {load_processes}")
    if not 0.0 <= pace_ms <= 1000.0:
        raise ValueError(f"pace_ms must be in [0, 1000] ms, got {pace_ms}")
    modes: dict[str, dict[str, list[float]]] = {
        mode: {hop: [] for hop in HOPS} for mode in ("default", "realtime")
    }
    settings = RealtimeSettings()
    report = None
    budget_s = 60.0 + 2 * n_ticks * (pace_ms / 1e3 + 0.05)  # the load never outlives the run
    with threadpool_limits(limits=1):
        loop = _bench_loop(n_channels, rng)
        _run_ticks(loop, range(20), {hop: [] for hop in HOPS})  # fill the window, warm caches
        with competing_load(load_processes, budget_s) as load:
            k = 20
            for block in range(2 * -(-n_ticks // block_ticks)):
                ticks = range(k, k + block_ticks)
                k += block_ticks
                if block % 2 == 0:
                    _run_ticks(loop, ticks, modes["default"], pace_s=pace_ms / 1e3)
                    continue
                report = settings.enter()
                try:
                    _run_ticks(
                        loop,
                        ticks,
                        modes["realtime"],
                        pace_s=pace_ms / 1e3,
                        between=settings.between_ticks,
                    )
                finally:
                    settings.exit()
    out = {
        mode: {hop: summary(v[:n_ticks], unit="_ms", digits=4) for hop, v in hops.items()}
        for mode, hops in modes.items()
    }
    out["settings"] = None if report is None else report.as_dict()
    out["load"] = {**load, "pace_ms": pace_ms}
    return out


@contextlib.contextmanager
def competing_load(n_processes: int, max_s: float) -> Iterator[dict[str, int]]:
    """`n_processes` busy-looping Python processes, each ending by itself after max_s (and
    killed when the block ends). Yields a dict whose "alive_at_end" says how many were still
    running when the block ended (all of them, or the load was not there throughout)."""
    code = (
        "import time\n"
        f"end = time.monotonic() + {float(max_s)!r}\n"
        "x = 0\n"
        "while time.monotonic() < end:\n"
        "    for _ in range(10000): x += 1\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n_processes)]
    state = {"processes": n_processes, "alive_at_end": 0}
    try:
        time.sleep(0.2 if procs else 0.0)  # let them get going
        yield state
    finally:
        state["alive_at_end"] = sum(p.poll() is None for p in procs)
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def lsl_latency(n_channels: int, n_chunks: int) -> dict:
    """What LSL transport adds on loopback, beside a thread hand-off baseline."""
    from openbsi.signals.lsl import lsl_transport_latency, wakeup_latency

    transport = lsl_transport_latency(
        n_channels, n_chunks=n_chunks, sfreq_hz=SFREQ_HZ, chunk_samples=6
    )
    baseline = wakeup_latency(n_chunks=n_chunks, period_s=6 / SFREQ_HZ)
    return {
        "transport": {k: round(v, 4) for k, v in transport.items()},
        "thread_handoff_baseline": {k: round(v, 4) for k, v in baseline.items()},
    }


def bench_latency(
    channels: list[int],
    transports: list[str],
    *,
    n_ticks: int = 600,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    realtime: bool = False,
    load_processes: int = 2,
) -> dict:
    """{"inproc": {"64": {hop: {p50_ms, p99_ms, max_ms}}}, "lsl": {"64": {...}}}; with
    realtime also "realtime": {"64": {"default": hops, "realtime": hops, "settings", "load"}}
    (both modes under the same competing load, in the same run)."""
    unknown = [t for t in transports if t not in TRANSPORTS]
    if unknown:
        raise ValueError(f"transport must be one of {TRANSPORTS}, got {unknown}")
    rng = np.random.default_rng(seed)
    out: dict[str, dict] = {t: {} for t in transports}
    for n in channels:
        if "inproc" in transports:
            if progress:
                progress(f"inproc {n} channels")
            out["inproc"][str(n)] = inproc_latency(n, n_ticks, rng)
        if "lsl" in transports:
            if progress:
                progress(f"lsl {n} channels")
            out["lsl"][str(n)] = lsl_latency(n, n_chunks=max(100, n_ticks // 2))
        if realtime:
            if progress:
                progress(f"default vs realtime under load, {n} channels")
            out.setdefault("realtime", {})[str(n)] = realtime_comparison(
                n, n_ticks, rng, load_processes=load_processes
            )
    return out
