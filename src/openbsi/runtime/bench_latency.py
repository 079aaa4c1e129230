"""`openbsi bench latency`: compute latency per hop of the real loop, and what LSL adds.

In process, the benchmark runs the session's own Loop (features, decoder, mapper, link,
implant, supervisor, paddle stimulator) on synthetic ECoG of N channels; the decoder is fitted
on synthetic windows first (its accuracy is irrelevant here, its cost is not). Over LSL, chunks
cross loopback from a publisher in its own process; a plain thread hand-off at the same pace
is measured in the same run as the machine's own scheduling baseline.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from openbsi.decoding import make_decoder
from openbsi.features.extractor import FeatureConfig, FeatureExtractor
from openbsi.link.faults import FaultConfig
from openbsi.link.radio import SimulatedRadio
from openbsi.runtime.implant import Implant
from openbsi.runtime.latency import HOPS, STAMPS, summarize_ms
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


def inproc_latency(n_channels: int, n_ticks: int, rng: np.random.Generator) -> dict:
    """p50/p99/max ms per hop of the session's Loop at n_channels."""
    if not 1 <= n_channels <= 4096:
        raise ValueError(f"channels must each be in [1, 4096], got {n_channels}")
    if not 10 <= n_ticks <= 1_000_000:
        raise ValueError(f"ticks must be in [10, 1000000], got {n_ticks}")
    source = SyntheticSource(n_channels, rng)
    extractor = FeatureExtractor(FeatureConfig(), SFREQ_HZ, n_channels)
    limits = SafetyLimits()
    supervisor = SafetySupervisor(limits, PADDLE_16)
    stimulator = create_stimulator("paddle", supervisor=supervisor, electrodes=PADDLE_16)
    radio = SimulatedRadio(FaultConfig(), rng)
    with threadpool_limits(limits=1):
        decoder = _fitted_decoder(extractor, source, n_windows=150)
        loop = Loop(
            source,
            RingBuffer(n_channels, 2 * extractor.window_samples),
            extractor,
            decoder,
            Mapper(default_paddle_program(), PADDLE_16),
            radio,
            Implant(radio, stimulator, limits),
        )
        hops: dict[str, list[float]] = {hop: [] for hop in HOPS}
        for k in range(n_ticks):
            stamps = loop.tick(k, k * TICK_NS, TICK_NS)
            if len(stamps.stamps_ns) == len(STAMPS):  # warm-up ticks lack a full window
                for hop in HOPS:
                    hops[hop].append(stamps.hop_ms(hop))
    return {hop: _ms(summarize_ms(np.asarray(v))) for hop, v in hops.items()}


def _ms(summary: dict[str, float]) -> dict[str, float]:
    return {f"{k}_ms": round(v, 4) for k, v in summary.items()}


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
) -> dict:
    """{"inproc": {"64": {hop: {p50_ms, p99_ms, max_ms}}}, "lsl": {"64": {...}}}"""
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
    return out
