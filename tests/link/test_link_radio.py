"""SimulatedRadio: the issue's fault mix plus an attacker on the air; nothing bad gets through."""

from __future__ import annotations

import numpy as np
import pytest

from openbsi.link import FaultConfig, SimulatedRadio

TICK_NS = 100_000_000
MIX = "loss=0.3,jitter_ms=50,reorder=0.05,corrupt=0.01,forge=0.05,tamper=0.05,replay=0.05"


def _session(config: FaultConfig, n: int, seed: int = 0) -> tuple[SimulatedRadio, list[int]]:
    radio = SimulatedRadio(config, np.random.default_rng(seed))
    executed: list[int] = []
    for i in range(n):
        now = i * TICK_NS
        radio.send_down(i.to_bytes(4, "big"), now)
        radio.send_up(b"telemetry", now)
        executed += [int.from_bytes(d.payload, "big") for d in radio.receive_down(now)]
        radio.receive_up(now)
    return radio, executed


def test_faults_and_attacks_never_execute_a_bad_command() -> None:
    radio, executed = _session(FaultConfig.parse(MIX), 3000)
    m = radio.metrics()
    assert m["accepted_injected"] == 0 and m["uplink"]["accepted_injected"] == 0
    assert len(executed) == len(set(executed))  # each command at most once
    assert executed == sorted(executed)  # never an older command after a newer one
    injected = m["injected_forged"] + m["injected_tampered"] + m["injected_replayed"]
    assert injected > 300  # the attacker really tried
    rejected = sum(m[k] for k in m if k.startswith("rejected_"))
    delivered = radio.downlink.stats.delivered
    assert m["frames_accepted"] + rejected == delivered
    assert rejected >= injected
    assert m["frames_sent"] == 3000 and m["frames_lost"] == radio.downlink.stats.lost
    assert m["faults"] == FaultConfig.parse(MIX).as_text()


def test_every_command_sealed_on_a_clean_link_arrives_once_and_on_time() -> None:
    radio, executed = _session(FaultConfig(latency_ms=5.0), 200)
    assert executed == list(range(199))  # the last one is still in the air at the end
    m = radio.metrics()
    assert m["rejected_stale"] == 0 and m["delivery_ratio"] == pytest.approx(199 / 200)


def test_downlink_and_uplink_use_different_keys() -> None:
    radio = SimulatedRadio(FaultConfig(), np.random.default_rng(0))
    radio.send_down(b"cmd", 0)
    frame = radio.downlink.receive(0)[0]
    radio.uplink._push(0, frame)  # a downlink frame pushed onto the uplink
    assert radio.receive_up(0) == []
    assert radio.base.stats.rejected_forged == 1


def test_every_refusal_reaches_the_security_log() -> None:
    events: list[tuple[str, str, str]] = []
    config = FaultConfig(corrupt=0.2, replay=0.2, forge=0.2)
    radio = SimulatedRadio(
        config, np.random.default_rng(2), on_security_event=lambda *e: events.append(e)
    )
    for i in range(300):
        radio.send_down(b"cmd", i * TICK_NS)
        radio.send_up(b"tm", i * TICK_NS)
        radio.receive_down(i * TICK_NS)
        radio.receive_up(i * TICK_NS)
    m = radio.metrics()
    down = sum(m[k] for k in m if k.startswith("rejected_"))
    up = sum(m["uplink"][k] for k in m["uplink"] if k.startswith("rejected_"))
    assert down > 0 and up > 0
    assert sum(e[0] == "down" for e in events) == down
    assert sum(e[0] == "up" for e in events) == up
    assert {e[1] for e in events} <= {"corrupt", "forged", "replayed", "stale", "malformed"}


def test_seal_open_benchmark_reports_percentiles() -> None:
    from openbsi.bench.link import seal_open_latency

    result = seal_open_latency(50)
    assert result["n_frames"] == 50
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    with pytest.raises(ValueError, match="payload_bytes must be in"):
        seal_open_latency(50, payload_bytes=70_000)


@pytest.mark.parametrize(("early", "late"), [(1_200, 7_200)])  # 2 vs 12 min
def test_memory_stays_flat_over_long_sessions(early: int, late: int) -> None:
    """Traced memory after `early` vs `late` 100 ms commands over the issue's fault mix plus
    attacks (every buffer of the radio is bounded: in-flight frames, captures, ages)."""
    import tracemalloc

    radio = SimulatedRadio(FaultConfig.parse(MIX + ",duplicate=0.05"), np.random.default_rng(3))
    payload = bytes(290)
    tracemalloc.start()
    try:
        sizes = {}
        for i in range(late):
            now = i * TICK_NS
            radio.send_down(payload, now)
            radio.receive_down(now)
            if i + 1 in (early, late):
                sizes[i + 1] = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert sizes[late] - sizes[early] < 64 * 1024
    assert radio.metrics()["frames_sent"] == late
