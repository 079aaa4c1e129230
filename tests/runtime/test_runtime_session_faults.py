"""Fault injection on the whole session: link faults and attacks, a decoder that raises, a
stimulator that disconnects, NaN / flat channels, a clock jump. Each run is short and on a
simulated clock; the loop computes exactly as it would live."""

import numpy as np
import pytest

from openbsi.runtime.clock import SimulatedClock
from openbsi.runtime.live_session import LiveSessionConfig, run_live_session
from openbsi.store.nwb import read_nwb
from openbsi.store.verify import verify_recording

pytestmark = pytest.mark.slow
SEED = 5
EXECUTED = (
    "executed_stale_commands",
    "executed_replayed_commands",
    "executed_forged_commands",
    "executed_out_of_limit_pulses",
)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """One cued calibration, saved with its session; every test below reuses the model."""
    out = tmp_path_factory.mktemp("calibration")
    config = LiveSessionConfig(out_dir=out, seconds=1.0, seed=SEED, calibration_s=60.0)
    run_live_session(config, clock=SimulatedClock())
    return out / "model.obsi"


@pytest.fixture
def run(tmp_path, model_path):
    def _run(seconds=8.0, faults="", clock=None, grace_s=2.0, wait_reconnect=False, **wraps):
        config = LiveSessionConfig(
            out_dir=tmp_path,
            seconds=seconds,
            faults=faults,
            seed=SEED,
            model=model_path,
            grace_s=grace_s,
            wait_reconnect=wait_reconnect,
        )
        return run_live_session(config, clock=clock or SimulatedClock(), **wraps)

    return _run


class _Delegate:
    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)


def test_faulty_and_attacked_link_executes_nothing_it_should_not(run):
    faults = (
        "loss=0.3,burst_len=3,jitter_ms=50,reorder=0.05,corrupt=0.01,"
        "forge=0.1,tamper=0.1,replay=0.1"
    )
    result = run(seconds=10.0, faults=faults)
    safety, link = result.metrics["safety"], result.metrics["link"]
    assert all(safety[key] == 0 for key in EXECUTED), safety
    assert link["frames_lost"] > 0 and link["injected_forged"] > 0 and link["injected_replayed"] > 0
    assert link["accepted_injected"] == 0
    assert link["rejected_forged"] + link["rejected_corrupt"] >= link["injected_forged"]
    assert result.metrics["stimulation"]["pulses_delivered"] > 0
    verdict = verify_recording(result.nwb_path)
    assert verdict["ok"] and verdict["hash_chain_ok"], verdict["problems"]


class _FailingDecoder(_Delegate):
    def __init__(self, inner, fail_from_step):
        super().__init__(inner)
        self.steps = 0
        self.fail_from_step = fail_from_step

    def step(self, x):
        self.steps += 1
        if self.steps > self.fail_from_step:
            raise RuntimeError("decoder crashed")
        return self._inner.step(x)


def test_decoder_that_raises_ramps_stimulation_to_zero_and_recording_goes_on(run):
    failing = {}

    def wrap(decoder):
        failing["decoder"] = _FailingDecoder(decoder, fail_from_step=40)
        return failing["decoder"]

    result = run(seconds=8.0, wrap_decoder=wrap)
    steps = failing["decoder"].steps
    assert steps >= 60  # the decoder was asked every tick once the window was full
    assert result.metrics["safety"]["decoder_failures"] == steps - 40
    data = read_nwb(result.nwb_path, load_ecog=False)
    assert len(data.decodes) == 40
    last_command_s = max(d["t_s"] for d in data.decodes)
    pulses_after = data.pulses.t_s[data.pulses.t_s > last_command_s + 0.1]
    # watchdog 250 ms after the newest command, then a ramp to zero within 200 ms
    assert pulses_after.size > 0  # stimulation did not stop abruptly mid-train...
    assert pulses_after.max() <= last_command_s + 0.25 + 0.2  # ...but was zero in time
    assert result.metrics["safety"]["watchdog_trips"] >= 1
    # the recording covers the whole session, failure or not
    assert data.n_ecog_samples >= (8.0 - 0.2) * 586


class _DisconnectingStimulator(_Delegate):
    """Works until the session clock passes `after_ns`, then every call raises."""

    def __init__(self, inner, after_ns):
        super().__init__(inner)
        self.after_ns = after_ns

    def deliver(self, command, now_ns):
        if now_ns > self.after_ns:
            raise ConnectionError("stimulator disconnected")
        return self._inner.deliver(command, now_ns)

    def run_until(self, t_ns):
        if t_ns > self.after_ns:
            raise ConnectionError("stimulator disconnected")
        return self._inner.run_until(t_ns)


def test_stimulator_that_disconnects_is_counted_and_the_session_finishes(run):
    after_ns = round(3.0 * 1e9)
    result = run(seconds=6.0, wrap_stimulator=lambda s: _DisconnectingStimulator(s, after_ns))
    assert result.metrics["safety"]["stimulator_failures"] > 20
    data = read_nwb(result.nwb_path, load_ecog=False)
    assert data.pulses.t_s.max() <= after_ns / 1e9
    assert len(data.decodes) >= 45  # decoding and recording went on


class _BadChannels(_Delegate):
    """Channel 3 NaN, channel 7 flat, channel 11 inf, from the start of the closed loop."""

    def pull(self):
        chunk = self._inner.pull()
        chunk.data[3] = np.nan
        chunk.data[7] = 0.0
        chunk.data[11] = np.inf
        return chunk


def test_nan_inf_and_flat_channels_do_not_crash_the_loop(run):
    result = run(seconds=6.0, wrap_source=_BadChannels)
    assert result.metrics["safety"]["decoder_failures"] == 0
    assert result.metrics["decoder"]["n_decodes"] >= 45
    assert all(result.metrics["safety"][key] == 0 for key in EXECUTED)


class _SilentAfter(_Delegate):
    """The stream stops (an ECoG radio drop) after `n` pulls: pulls return no samples."""

    def __init__(self, inner, n=40):
        super().__init__(inner)
        self.pulls, self.n = 0, n

    def pull(self):
        chunk = self._inner.pull()
        self.pulls += 1
        if self.pulls <= self.n:
            return chunk
        return type(chunk)(chunk.data[:, :0], chunk.first_sample, chunk.t_ns)


def test_silent_source_stops_commands_and_stimulation_ramps_to_zero(run):
    result = run(seconds=8.0, wrap_source=_SilentAfter, wait_reconnect=True)
    data = read_nwb(result.nwb_path, load_ecog=False)
    last_command_s = max(d["t_s"] for d in data.decodes)
    assert last_command_s <= 4.0  # no decoding on a window that stopped getting fresher
    assert result.metrics["safety"]["starved_ticks"] >= 40
    assert data.pulses.t_s.max() <= last_command_s + 0.25 + 0.2
    assert result.exit_code == 0  # told to wait: the session ran its course
    kinds = [e["kind"] for e in result.metrics["source_events"]["events"]]
    assert kinds == ["lost"]


def test_lost_signal_is_reported_at_once_and_ends_the_session_after_its_grace(run):
    heard: list[str] = []
    result = run(seconds=8.0, wrap_source=_SilentAfter, grace_s=1.0, notify=heard.append)
    events = result.metrics["source_events"]["events"]
    lost = next(e for e in events if e["kind"] == "lost")
    data = read_nwb(result.nwb_path, load_ecog=False)
    last_sample_s = data.ecog_chunks.t_s[-1] + data.ecog_chunks.n_samples[-1] / 586.0
    assert 0.0 < lost["t_s"] - last_sample_s <= 0.5  # reported within 0.5 s of the loss
    assert any("LOST" in message for message in heard)
    assert [e["kind"] for e in events] == ["lost", "gave_up"]
    assert result.exit_code == 3 and result.stop_reason == "signal lost"
    closed_loop = next(p for p in data.phases if p["name"] == "closed_loop")
    assert closed_loop["stop_s"] == pytest.approx(lost["t_s"] + 1.0, abs=0.25)
    assert verify_recording(result.nwb_path)["ok"]
    assert verify_recording(result.out_dir)["ok"]


class _JumpingClock(SimulatedClock):
    """Jumps 2 s ahead once, as a suspended laptop or an NTP step would."""

    def __init__(self, jump_at_sleep: int):
        super().__init__()
        self.sleeps = 0
        self.jump_at_sleep = jump_at_sleep

    def sleep(self, seconds):
        super().sleep(seconds)
        self.sleeps += 1
        if self.sleeps == self.jump_at_sleep:
            self.jump(2.0)


def test_clock_jump_is_an_overrun_not_a_burst_of_stale_commands(run):
    result = run(seconds=8.0, clock=_JumpingClock(jump_at_sleep=30))
    safety = result.metrics["safety"]
    assert safety["overruns"] >= 1 and safety["skipped_ticks"] >= 15
    assert all(safety[key] == 0 for key in EXECUTED)


def test_a_signal_during_calibration_is_the_one_stop_reason(tmp_path):
    """SIGTERM while calibrating: no closed loop, the result says why (one field), exit 143."""
    import os
    import signal

    sent: list[str] = []

    def progress(phase: str, done_s: float, total_s: float) -> None:
        if phase != "closed loop" and done_s > 5.0 and not sent:
            sent.append(phase)
            os.kill(os.getpid(), signal.SIGTERM)

    config = LiveSessionConfig(out_dir=tmp_path, seconds=2.0, seed=SEED, calibration_s=30.0)
    result = run_live_session(config, progress, clock=SimulatedClock())
    assert sent == ["calibration"]
    assert result.stop_reason == "SIGTERM" and result.exit_code == 128 + signal.SIGTERM
    assert not hasattr(result, "end_reason")
    assert verify_recording(result.nwb_path)["ok"]
