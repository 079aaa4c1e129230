import numpy as np

from openbsi.patient.intent import IntentBlock, IntentScript
from openbsi.patient.session import alternating_hip_schedule, run_patient, train_source
from openbsi.patient.virtual import VirtualPatient
from openbsi.stimulation.electrodes import PADDLE_16, find_electrode


def test_train_source_emits_each_pulse_once_across_ticks() -> None:
    source = train_source([(0.05, 0.55, 2, 4.0)], frequency_hz=40.0)
    pulses = [p for k in range(10) for p in source(k * 0.1, (k + 1) * 0.1)]
    times = np.array([p.t_ns for p in pulses]) / 1e9
    assert len(pulses) == 20
    assert np.allclose(np.diff(times), 0.025)
    assert times[0] >= 0.05 and times[-1] < 0.55


def test_stimulation_artifacts_appear_on_the_ecog() -> None:
    script = IntentScript((IntentBlock(0, 4, "rest", 0.0),))
    left = find_electrode(PADDLE_16, "left", "L1").index
    quiet = run_patient(VirtualPatient(script, np.random.default_rng(0)), 4.0)
    stim = run_patient(
        VirtualPatient(script, np.random.default_rng(0)),
        4.0,
        pulse_source=train_source([(2.0, 4.0, left, 8.0)], frequency_hz=40.0),
    )
    assert quiet.ecog_uv is not None and stim.ecog_uv is not None
    fs = 586.0
    before = slice(int(0.5 * fs), int(1.9 * fs))
    after = slice(int(2.1 * fs), int(3.9 * fs))
    # Same noise draws before stimulation; the artifact appears only after it starts.
    assert np.allclose(quiet.ecog_uv[:, before], stim.ecog_uv[:, before])
    spectrum = np.abs(np.fft.rfft(stim.ecog_uv[:, after] - quiet.ecog_uv[:, after], axis=1))
    freqs = np.fft.rfftfreq(after.stop - after.start, 1 / fs)
    peak = freqs[np.argmax(spectrum.mean(axis=0)[1:]) + 1]
    assert abs(peak % 40.0) < 1.0 or abs(peak % 40.0 - 40.0) < 1.0


def test_alternating_schedule_steps() -> None:
    script = IntentScript((IntentBlock(0, 10, "rest", 0.0),))
    vp = VirtualPatient(script, np.random.default_rng(1), profile="complete-thoracic")
    sched = alternating_hip_schedule(
        10.0,
        find_electrode(PADDLE_16, "left", "L1").index,
        find_electrode(PADDLE_16, "right", "L1").index,
    )
    result = run_patient(vp, 10.0, pulse_source=train_source(sched), keep_ecog=False)
    assert result.ecog_uv is None and len(result.pulses) == 200
    assert vp.gait_summary().steps >= 6


def test_isolated_pulses_evoke_a_contralateral_cortical_response_at_90_170_ms() -> None:
    script = IntentScript((IntentBlock(0, 12, "rest", 0.0),))
    left_l3 = find_electrode(PADDLE_16, "left", "L3").index
    onsets = np.arange(1.0, 11.0, 0.5)  # 2 Hz: responses do not adapt
    schedule = [(t, t + 0.001, left_l3, 6.0) for t in onsets]
    quiet = run_patient(VirtualPatient(script, np.random.default_rng(3)), 12.0)
    stim_patient = VirtualPatient(script, np.random.default_rng(3))
    stim = run_patient(stim_patient, 12.0, pulse_source=train_source(schedule))
    assert quiet.ecog_uv is not None and stim.ecog_uv is not None
    diff = stim.ecog_uv - quiet.ecog_uv  # same noise: only what the pulses added
    fs = 586.0
    groups = np.array([m["group"] for m in stim_patient.info.channel_meta])
    lags = np.arange(int(0.3 * fs))
    epochs = np.array([diff[:, round(t * fs) + lags] for t in onsets])  # (n, ch, lag)
    right = epochs[:, groups == "right"].mean(axis=(0, 1))  # left leg -> right hemisphere
    left = epochs[:, groups == "left"].mean(axis=(0, 1))
    after_artifact = lags > int(0.05 * fs)
    trough = lags[after_artifact][np.argmin(right[after_artifact])] / fs
    assert 0.09 <= trough <= 0.17
    assert abs(right[after_artifact].min()) > 3 * abs(left[after_artifact].min())
