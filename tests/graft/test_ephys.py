"""Patch-clamp analysis on the real pyABF sample files and on synthetic cells."""

from __future__ import annotations

import numpy as np
import pytest

from openbsi.graft.action_potentials import detect_spikes
from openbsi.graft.ephys import analyse_file, analyse_recording, plot_recording
from openbsi.graft.ephys_io import read_nwb_icephys, read_recording, write_nwb_icephys
from openbsi.graft.protocol import detect_protocol
from openbsi.graft.synthetic import sim_current_clamp_steps, sim_voltage_clamp_steps

from .conftest import abf_path

PROTOCOLS = {
    "17o05028_ic_steps.abf": "current_clamp_steps",
    "18711001.abf": "current_clamp_steps",
    "17o05024_vc_steps.abf": "voltage_clamp_steps",
    "model_vc_step.abf": "membrane_test",
    "2018_11_16_sh_0006.abf": "membrane_test",
}


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_protocol_detected_from_command(name: str) -> None:
    recording = read_recording(abf_path(name))
    assert detect_protocol(recording).kind == PROTOCOLS[name]


def test_model_cell_membrane_test() -> None:
    # Patch-1U model cell: Rm 500 MOhm (1 %), Cm 33 pF (10 %), 2 kHz Bessel (shared/data/README)
    _, result = analyse_file(abf_path("model_vc_step.abf"))
    assert result["membrane_resistance_mohm"] == pytest.approx(500.0, rel=0.05)
    assert result["capacitance_pf"] == pytest.approx(33.0, rel=0.30)
    assert 1.0 < result["access_resistance_mohm"] < 50.0
    per_sweep = result["per_sweep"]
    assert len(per_sweep) == 20
    assert all(abs(p["membrane_resistance_mohm"] - 500.0) < 25.0 for p in per_sweep)
    assert per_sweep[-1]["t_s"] > per_sweep[0]["t_s"]


def test_spontaneous_firing_is_flagged() -> None:
    _, result = analyse_file(abf_path("17o05028_ic_steps.abf"))
    assert result["spontaneous_spikes"] > 0 and "fires at rest" in result["rheobase_note"]


def test_18711001_current_clamp_features() -> None:
    _, result = analyse_file(abf_path("18711001.abf"), day=10)
    # sweeps step 0..290 pA by 10; the first to fire during its step is 70 pA (checked vs eFEL)
    assert result["rheobase_pa"] == 70.0
    assert -75.0 < result["resting_potential_mv"] < -60.0
    assert 50.0 < result["input_resistance_mohm"] < 1000.0
    assert result["tau_ms"] is not None and 2.0 < result["tau_ms"] < 100.0
    counts = [s["spikes"] for s in result["sweeps"]]
    assert counts[0] == 0 and counts[-1] > counts[7]  # f-I rises
    assert result["maturity"]["benchmark"] == "Pre2014_day31-38"
    assert result["maturity"]["extrapolated"] is True


def _efel_first_ap(recording, step, sweep):
    import warnings

    efel = pytest.importorskip("efel")
    # the step window only (spontaneous spikes elsewhere in 17o05028 upset eFEL's rise indices)
    stop = min(step.stop + int(0.01 * recording.sample_rate_hz), recording.response.shape[1])
    v = recording.response[sweep, step.start : stop]
    t_ms = np.arange(v.size) * 1e3 / recording.sample_rate_hz
    trace = {
        "T": t_ms,
        "V": v,
        "stim_start": [0.0],
        "stim_end": [(step.stop - step.start) * 1e3 / recording.sample_rate_hz],
    }
    names = [
        "Spikecount_stimint",
        "AP_begin_voltage",
        "peak_voltage",
        "AP_amplitude",
        "AP_duration_half_width",
        "peak_time",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return efel.get_feature_values([trace], names)[0]


# Tolerances: eFEL resamples to 0.1 ms and takes sample-level crossings, we interpolate at the
# native 0.05 ms; the measured worst cases over every firing sweep were 0.84 mV (threshold),
# 0.24 mV (peak), 0.92 mV (amplitude), 0.10 ms (half-width).
TOLERANCE = {"threshold_mv": 1.5, "peak_mv": 0.5, "amplitude_mv": 1.5, "half_width_ms": 0.15}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["17o05028_ic_steps.abf", "18711001.abf"])
def test_first_ap_agrees_with_efel(name: str) -> None:
    recording = read_recording(abf_path(name))
    protocol = detect_protocol(recording)
    step = protocol.step_epoch
    result = analyse_recording(recording)
    efel_rheobase = None
    compared = 0
    for sweep in range(recording.n_sweeps):
        ours = detect_spikes(
            recording.response[sweep], recording.sample_rate_hz, start=step.start, stop=step.stop
        )
        theirs = _efel_first_ap(recording, step, sweep)
        n_theirs = int(theirs["Spikecount_stimint"][0])
        assert len(ours) == n_theirs, f"sweep {sweep}"
        if not ours:
            continue
        step_pa = step.levels[sweep] - protocol.holding
        if efel_rheobase is None and step_pa >= 0:
            efel_rheobase = step_pa
        t_peak_ms = (ours[0].peak_index - step.start) * 1e3 / recording.sample_rate_hz
        k = int(np.argmin(np.abs(theirs["peak_time"] - t_peak_ms)))
        pairs = {
            "threshold_mv": theirs["AP_begin_voltage"][k],
            "peak_mv": theirs["peak_voltage"][k],
            "amplitude_mv": theirs["AP_amplitude"][k],
            "half_width_ms": theirs["AP_duration_half_width"][k],
        }
        for field, value in pairs.items():
            assert getattr(ours[0], field) == pytest.approx(value, abs=TOLERANCE[field]), (
                sweep,
                field,
            )
        compared += 1
    assert compared >= 10
    assert result["rheobase_pa"] == efel_rheobase
    first = result["first_ap"]
    assert first["threshold_mv"] < first["peak_mv"] and first["half_width_ms"] > 0.2


def test_synthetic_cell_recovers_ground_truth() -> None:
    recording = sim_current_clamp_steps(
        rng=np.random.default_rng(1),
        input_resistance_mohm=800.0,
        capacitance_pf=25.0,
        resting_mv=-55.0,
    )
    result = analyse_recording(recording, day=55)
    assert result["input_resistance_mohm"] == pytest.approx(800.0, rel=0.05)
    assert result["tau_ms"] == pytest.approx(20.0, rel=0.10)
    assert result["capacitance_pf"] == pytest.approx(25.0, rel=0.12)
    assert result["resting_potential_mv"] == pytest.approx(-55.0, abs=0.5)
    # fires when R * I reaches threshold - rest = 15 mV: I >= 18.75 pA -> the 20 pA step... but the
    # charging within the 0.5 s step needs a margin; the first step above 15/0.8 is the rheobase
    assert result["rheobase_pa"] in (20.0, 30.0)
    assert result["first_ap"]["peak_mv"] == pytest.approx(20.0, abs=1.5)
    assert result["maturity"]["benchmark"] == "Pre2014_day55"
    assert result["maturity"]["extrapolated"] is False


def test_voltage_clamp_na_k_presence() -> None:
    with_currents = analyse_recording(sim_voltage_clamp_steps(rng=np.random.default_rng(2)))
    assert with_currents["protocol"] == "voltage_clamp_steps"
    assert with_currents["na_present"] is True and with_currents["k_present"] is True
    assert with_currents["activation_range_tested"] is True
    passive = analyse_recording(
        sim_voltage_clamp_steps(rng=np.random.default_rng(2), na_peak_pa=0.0, k_steady_pa=0.0)
    )
    assert passive["na_present"] is False and passive["k_present"] is False
    # leak subtraction leaves the passive cell's outward steady current near zero
    subtracted = [row for row in passive["iv"] if row["leak_subtracted"]]
    assert len(subtracted) == len(passive["iv"]) - 1
    assert max(abs(row["outward_steady_pa"]) for row in subtracted) < 5.0


def test_real_iv_steps_do_not_reach_activation() -> None:
    _, result = analyse_file(abf_path("17o05024_vc_steps.abf"))
    assert [row["step_mv"] for row in result["iv"]] == [-110, -100, -90, -80, -70, -60, -50]
    assert result["activation_range_tested"] is False  # steps stop at -50 mV


def test_nwb_icephys_round_trip(tmp_path) -> None:
    recording = sim_current_clamp_steps(rng=np.random.default_rng(3), steps_pa=[-20.0, 0.0, 40.0])
    path = write_nwb_icephys(recording, tmp_path / "cell.nwb")
    back = read_nwb_icephys(path)
    assert back.clamp_mode == "current_clamp" and back.n_sweeps == 3
    np.testing.assert_allclose(back.response, recording.response, atol=1e-9)
    np.testing.assert_allclose(back.command, recording.command, atol=1e-9)
    assert analyse_recording(back)["rheobase_pa"] == analyse_recording(recording)["rheobase_pa"]


def test_figure_written(tmp_path) -> None:
    recording = sim_current_clamp_steps(rng=np.random.default_rng(4), steps_pa=[-20.0, 40.0])
    path = plot_recording(recording, analyse_recording(recording), tmp_path / "cell.png")
    assert path.stat().st_size > 10_000


def test_gap_free_detected() -> None:
    from openbsi.graft.ephys_io import Recording

    rng = np.random.default_rng(5)
    recording = Recording(
        source="flat",
        clamp_mode="current_clamp",
        sample_rate_hz=10_000.0,
        response=-60 + rng.normal(0, 0.2, (1, 20_000)),
        command=np.zeros((1, 20_000)),
        sweep_start_s=np.zeros(1),
    )
    result = analyse_recording(recording)
    assert result["protocol"] == "gap_free" and result["spikes"] == 0
    assert result["mean_potential_mv"] == pytest.approx(-60.0, abs=0.1)


def test_noisy_command_is_refused() -> None:
    from openbsi.graft.ephys_io import Recording
    from openbsi.inputs import InputError

    rng = np.random.default_rng(6)
    recording = Recording(
        source="noisy",
        clamp_mode="voltage_clamp",
        sample_rate_hz=10_000.0,
        response=rng.normal(0, 1, (2, 5_000)),
        command=rng.normal(-70, 5, (2, 5_000)),
        sweep_start_s=np.zeros(2),
    )
    with pytest.raises(InputError, match="noisy: command: too many command changes"):
        detect_protocol(recording)


def test_small_spikes_need_a_lower_peak_threshold() -> None:
    # an immature cell whose spikes peak at -25 mV: missed at the -20 mV default, found at -35
    recording = sim_current_clamp_steps(
        rng=np.random.default_rng(8), peak_mv=-25.0, threshold_mv=-45.0, steps_pa=[0.0, 40.0, 80.0]
    )
    assert analyse_recording(recording)["fires_action_potentials"] is False
    found = analyse_recording(recording, peak_threshold_mv=-35.0)
    assert found["fires_action_potentials"] is True
    assert found["first_ap"]["peak_mv"] == pytest.approx(-25.0, abs=1.5)
