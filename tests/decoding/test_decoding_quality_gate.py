"""Signal-quality gate (#10.5): a calibrated model on white noise, on a disconnected grid and
on its own recording scaled by 1e6 delivers 0 pulses and logs why; on its own recording it
decodes and stimulates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from openbsi.decoding.model_file import load_model
from openbsi.runtime.clock import SimulatedClock
from openbsi.runtime.live_session import LiveSessionConfig, run_live_session
from openbsi.signals.readers import read_recording

pytestmark = pytest.mark.slow


def _write_nwb(path: Path, data_uv: np.ndarray, names: tuple[str, ...], sfreq: float) -> Path:
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.ecephys import ElectricalSeries

    nwb = NWBFile("quality gate test", "quality-test", datetime(2020, 1, 1, tzinfo=UTC))
    device = nwb.create_device(name="implant")
    group = nwb.create_electrode_group("grid", "grid", "cortex", device)
    nwb.add_electrode_column(name="label", description="channel name")
    for name in names:
        nwb.add_electrode(group=group, location="cortex", label=name)
    region = nwb.create_electrode_table_region(list(range(len(names))), "all")
    nwb.add_acquisition(
        ElectricalSeries(
            name="ECoG",
            data=np.ascontiguousarray(data_uv.T, dtype="<f8"),
            electrodes=region,
            rate=float(sfreq),
            conversion=1e-6,
        )
    )
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    out = tmp_path_factory.mktemp("gate-calibration")
    run_live_session(
        LiveSessionConfig(out_dir=out, seconds=6.0, calibration_s=40.0, seed=3, body="reduced"),
        clock=SimulatedClock(),
    )
    return out


def _replay(tmp_path: Path, model: Path, recording: Path):
    config = LiveSessionConfig(
        out_dir=tmp_path, seconds=4.0, source=f"replay:{recording}", model=model, body="reduced"
    )
    return run_live_session(config, clock=SimulatedClock())


def test_model_carries_quality_statistics(calibrated):
    model = load_model(calibrated / "model.obsi")
    assert model.quality is not None and model.channel_names is not None


@pytest.mark.parametrize("case", ["white_noise", "disconnected", "scaled_1e6"])
def test_implausible_input_gives_no_pulse_and_a_reason(tmp_path, calibrated, case):
    own = read_recording(calibrated / "recording.nwb")
    data = own.data[:, : int(6 * own.info.sfreq_hz)]
    rng = np.random.default_rng(0)
    if case == "white_noise":
        data = rng.normal(0.0, float(np.std(data)), data.shape)
    elif case == "disconnected":
        data = np.zeros_like(data)
    else:
        data = data * 1e6
    path = _write_nwb(tmp_path / f"{case}.nwb", data, own.info.channel_names, own.info.sfreq_hz)
    result = _replay(tmp_path / "run", calibrated / "model.obsi", path)
    metrics = result.metrics
    assert metrics["stimulation"]["pulses_delivered"] == 0
    assert metrics["safety"]["quality_refusals"] >= 20  # ~30 ticks with a full window
    from openbsi.store.nwb_read import read_nwb

    events = [
        e
        for e in read_nwb(result.nwb_path, load_ecog=False).safety_events
        if e["rule"] == "signal_quality"
    ]
    assert len(events) == metrics["safety"]["quality_refusals"]
    assert all(e["field"].startswith("quality: ") for e in events)
    print(case, events[0]["field"])


def test_own_recording_passes_the_gate(tmp_path, calibrated):
    result = _replay(tmp_path, calibrated / "model.obsi", calibrated / "recording.nwb")
    assert result.metrics["safety"]["quality_refusals"] <= 3  # the first windows may differ
    assert result.metrics["decoder"]["n_decodes"] >= 25
