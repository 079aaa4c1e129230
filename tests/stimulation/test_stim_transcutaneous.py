"""Transcutaneous backend: carrier, session ramp and timer, LSL backend."""

from __future__ import annotations

import numpy as np
import pytest

from openbsi.safety import SafetyLimits, SafetySupervisor
from openbsi.safety.audit import count_out_of_limit
from openbsi.stimulation.backends.transcutaneous import TranscutaneousStimulator, carrier_waveform
from openbsi.stimulation.layouts import transcutaneous_layout
from openbsi.stimulation.profiles import TRANSCUTANEOUS_PROFILE
from openbsi.stimulation.types import ChannelCommand, Pulse, StimCommand

MS = 1_000_000


def _stim(**kw) -> tuple[TranscutaneousStimulator, SafetySupervisor]:
    layout = transcutaneous_layout("cervical")
    limits = SafetyLimits.from_profile(
        TRANSCUTANEOUS_PROFILE, max_ramp_up_ma_per_s=1e6, watchdog_age_ms=10_000.0
    )
    sup = SafetySupervisor(limits, layout)
    return TranscutaneousStimulator(sup, layout, **kw), sup


def test_layouts_name_the_published_sites() -> None:
    assert [e.root for e in transcutaneous_layout("cervical")] == ["C3-4", "C6-7"]
    lumbar = transcutaneous_layout("lumbar")
    assert [(e.side, e.root) for e in lumbar] == [
        ("left", "T10-T11"),
        ("right", "T10-T11"),
        ("left", "L1-L2"),
        ("right", "L1-L2"),
    ]
    assert all(e.x_mm < 0 for e in lumbar if e.side == "left")  # paravertebral, not midline
    with pytest.raises(ValueError, match="placement"):
        transcutaneous_layout("thoracic")


def test_carrier_fills_the_envelope() -> None:
    wave = carrier_waveform(Pulse(0, 0, 90.0, 1000.0, 0.0), 10_000.0, 200_000.0)
    assert len(wave) == 200  # 1 ms at 200 kHz
    assert set(np.unique(wave)) == {-90.0, 90.0}
    flips = np.count_nonzero(np.diff(np.sign(wave)))
    assert flips == 19  # 10 biphasic carrier cycles
    assert wave.sum() == pytest.approx(0.0)  # charge balanced
    with pytest.raises(ValueError, match="sfreq_hz"):
        carrier_waveform(Pulse(0, 0, 90.0, 1000.0, 0.0), 10_000.0, 5_000.0)


def test_30_hz_envelopes_ramp_in_and_stop_at_the_session_cap() -> None:
    stim, sup = _stim(session_max_s=2.0, session_ramp_s=0.5)
    channels = (ChannelCommand(0, 100.0, 1000.0, 30.0, 0.0),)
    pulses = []
    for k in range(30):
        now = k * 100 * MS
        stim.deliver(StimCommand(now, k + 1, "rest", channels), now)
        pulses += stim.run_until(now + 100 * MS)
    times = np.array([p.t_ns for p in pulses])
    amps = np.array([p.amplitude_ma for p in pulses])
    assert np.allclose(np.diff(times), 1e9 / 30, atol=1)
    assert amps[0] < 10.0 and amps.max() == pytest.approx(100.0)
    assert np.all(np.diff(amps[times < 400 * MS]) > 0)  # ramping in
    assert times.max() < 2_000 * MS  # session cap
    assert stim.session_elapsed_s(2_500 * MS) == pytest.approx(2.5)
    assert count_out_of_limit(pulses, sup.limits, stim.electrodes) == 0


def test_charge_is_judged_per_carrier_phase() -> None:
    limits = SafetyLimits.from_profile(TRANSCUTANEOUS_PROFILE)
    assert limits.phase_width_us(1000.0) == pytest.approx(50.0)
    # 120 mA x 50 us = 6 uC on 25 cm^2 passes; the whole 1 ms envelope (120 uC) would not.
    sup = SafetySupervisor(limits, transcutaneous_layout())
    assert sup.pulse_ok(Pulse(0, 0, 120.0, 1000.0, 0.0))
    assert limits.max_charge_uc(2500.0) < 120.0 * 1000.0 * 1e-3


def test_lsl_backend_publishes_pulses_a_recorder_receives() -> None:
    import time
    import uuid

    from mne_lsl.lsl import StreamInlet, resolve_streams

    from openbsi.stimulation.backends.lsl import CHANNELS, LslStimulator, make_outlet
    from openbsi.stimulation.electrodes import PADDLE_16

    name = f"openbsi-test-stim-{uuid.uuid4().hex[:8]}"
    sup = SafetySupervisor(SafetyLimits(max_ramp_up_ma_per_s=1e6), PADDLE_16)
    stim = LslStimulator(sup, PADDLE_16, outlet=make_outlet(name, name), clock_offset_s=100.0)
    (info,) = resolve_streams(timeout=5.0, name=name, minimum=1)
    assert info.stype == "Stim" and info.n_channels == len(CHANNELS)
    inlet = StreamInlet(info)
    inlet.open_stream(timeout=5.0)
    time.sleep(0.2)  # let the connection settle before pushing
    stim.deliver(StimCommand(0, 1, "rest", (ChannelCommand(3, 2.0, 200.0, 40.0),)), 0)
    pulses = stim.run_until(100 * MS)
    assert len(pulses) == 4 and stim.samples_pushed == 4
    received, stamps = [], []
    deadline = time.monotonic() + 5.0
    while len(received) < 4 and time.monotonic() < deadline:
        data, ts = inlet.pull_chunk(timeout=0.5)
        received += list(data)
        stamps += list(ts)
    assert len(received) == 4
    assert np.allclose(np.array(received)[:, :2], [[3, 2.0]] * 4)
    assert np.allclose(stamps, [100.0 + p.t_ns * 1e-9 for p in pulses])
    inlet.close_stream()
    stim.close()
