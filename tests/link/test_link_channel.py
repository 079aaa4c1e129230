"""FaultyChannel: the faults happen at the configured rates (fixed rng, stated tolerances)."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

from openbsi.link import FaultConfig, FaultyChannel, LinkRejected, pair

PERIOD_NS = 100_000_000  # one frame per 100 ms decode tick


def _run(config: FaultConfig, n: int, seed: int = 0) -> tuple[FaultyChannel, list[bytes]]:
    """Send n numbered frames, one per tick, and collect everything received."""
    channel = FaultyChannel(config, np.random.default_rng(seed))
    received: list[bytes] = []
    for i in range(n):
        channel.send(i.to_bytes(4, "big"), i * PERIOD_NS)
        received += channel.receive(i * PERIOD_NS)
    received += channel.receive(10**18)
    return channel, received


def _loss_runs(config: FaultConfig, n: int) -> tuple[float, float]:
    _, received = _run(config, n)
    got = np.zeros(n, bool)
    got[[int.from_bytes(f, "big") for f in received]] = True
    lost = ~got
    edges = np.diff(np.concatenate(([0], lost.astype(int), [0])))
    runs = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    return float(lost.mean()), float(runs.mean())


def test_clean_channel_delivers_everything_on_time_in_order() -> None:
    channel, received = _run(FaultConfig(), 200)
    assert [int.from_bytes(f, "big") for f in received] == list(range(200))
    assert channel.stats.lost == channel.stats.corrupted == 0 and channel.in_flight == 0


def test_independent_loss_rate_and_run_length() -> None:
    # 20 000 Bernoulli(0.3) draws: std of the rate 0.0032; tolerance ~5 std.
    rate, mean_run = _loss_runs(FaultConfig(loss=0.3), 20_000)
    assert rate == pytest.approx(0.3, abs=0.016)
    assert mean_run == pytest.approx(1 / (1 - 0.3), rel=0.05)  # geometric runs


def test_bursty_loss_rate_and_mean_burst_length() -> None:
    # Gilbert chain, bursts of mean 5: correlated draws, so a wider tolerance (~4x iid).
    rate, mean_run = _loss_runs(FaultConfig(loss=0.2, burst_len=5.0), 40_000)
    assert rate == pytest.approx(0.2, abs=0.03)
    assert mean_run == pytest.approx(5.0, rel=0.1)


def test_jitter_delays_within_bounds() -> None:
    channel = FaultyChannel(FaultConfig(jitter_ms=50, latency_ms=5), np.random.default_rng(1))
    delays_ms = []
    for i in range(2000):
        t = i * PERIOD_NS
        channel.send(b"x", t)
        assert channel.receive(t + 5_000_000 - 1) == []  # never before the fixed latency
        for step_ms in range(5, 56):
            if channel.receive(t + step_ms * 1_000_000):
                delays_ms.append(step_ms)
                break
    delays = np.array(delays_ms) - 5
    assert len(delays) == 2000 and delays.min() >= 0 and delays.max() <= 50
    assert delays.mean() == pytest.approx(25.5, abs=2.0)  # uniform [0, 50], ceil to 1 ms


@pytest.mark.parametrize(("field", "rate"), [("duplicate", 0.1), ("corrupt", 0.05)])
def test_duplicate_and_corrupt_rates(field: str, rate: float) -> None:
    channel, received = _run(FaultConfig(**{field: rate}), 20_000)
    count = channel.stats.duplicated if field == "duplicate" else channel.stats.corrupted
    tolerance = 5 * np.sqrt(rate * (1 - rate) / 20_000)
    assert count / 20_000 == pytest.approx(rate, abs=tolerance)
    if field == "duplicate":
        assert len(received) == 20_000 + count
    else:
        bad = sum(int.from_bytes(f, "big") >= 20_000 for f in received)
        assert bad <= count and len(received) == 20_000  # flips land in 4-byte payloads


def test_reordered_frames_arrive_after_the_next_one() -> None:
    channel, received = _run(FaultConfig(reorder=0.05), 20_000)
    order = [int.from_bytes(f, "big") for f in received]
    assert sorted(order) == list(range(20_000))
    running_max = np.maximum.accumulate(order)
    overtaken = int(np.sum(np.array(order[1:]) < running_max[:-1]))  # a later one came first
    assert overtaken == channel.stats.reordered
    assert overtaken / 20_000 == pytest.approx(0.05, abs=5 * np.sqrt(0.05 * 0.95 / 20_000))


def test_a_held_frame_is_released_if_nothing_overtakes_it() -> None:
    channel = FaultyChannel(FaultConfig(reorder=1.0), np.random.default_rng(0))
    channel.send(b"only", 0)
    assert channel.receive(0) == []
    assert channel.receive(10**9) == [b"only"]


def test_link_drop_and_recovery() -> None:
    config = FaultConfig(drop_after_s=10.0, drop_for_s=5.0)
    channel, received = _run(config, 300)  # 30 s of frames
    got = {int.from_bytes(f, "big") for f in received}
    assert got == set(range(100)) | set(range(150, 300))
    assert channel.stats.dropped_link_down == 50 == channel.stats.lost


def test_permanent_link_drop() -> None:
    channel, received = _run(FaultConfig(drop_after_s=1.0), 50)
    assert len(received) == 10 and channel.stats.lost == 40


def test_the_issue_fault_mix_never_lets_a_bad_frame_through() -> None:
    """Sealed frames over loss=0.3, jitter 50 ms, reorder 5 %, corrupt 1 %, duplicates 5 %."""
    config = FaultConfig.parse("loss=0.3,jitter_ms=50,reorder=0.05,corrupt=0.01,duplicate=0.05")
    base, implant = pair()
    channel = FaultyChannel(config, np.random.default_rng(7))
    accepted: list[int] = []
    now = 0
    for i in range(3000):
        now = i * PERIOD_NS
        channel.send(base.seal(i.to_bytes(4, "big"), now), now)
        for frame in channel.receive(now):
            with contextlib.suppress(LinkRejected):
                accepted.append(int.from_bytes(implant.open(frame, now), "big"))
    s = implant.stats
    assert len(accepted) == len(set(accepted))  # no duplicate executed
    assert s.rejected_replayed >= channel.stats.duplicated * 0.9  # copies refused
    assert s.rejected_corrupt == channel.stats.corrupted
    assert s.rejected_forged == 0
    assert s.frames_received + s.rejected == channel.stats.delivered
    assert 0.25 < 1 - len(accepted) / 3000 < 0.35


def test_next_arrival_tells_when_to_look_again() -> None:
    channel = FaultyChannel(FaultConfig(latency_ms=3.0, jitter_ms=4.0), np.random.default_rng(4))
    assert channel.next_arrival_ns() is None
    channel.send(b"a", 0)
    channel.send(b"b", 1_000_000)
    first = channel.next_arrival_ns()
    assert first is not None and 3_000_000 <= first <= 8_000_000
    assert channel.receive(first - 1) == []
    assert len(channel.receive(first)) >= 1
    while (t := channel.next_arrival_ns()) is not None:
        channel.receive(t)
    assert channel.stats.delivered == 2 and channel.in_flight == 0
