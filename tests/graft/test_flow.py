"""Flow panels on synthetic FCS files written with FlowIO: compensation, gates, thresholds, CIs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.stats import binomtest

from openbsi.graft.fcs import read_fcs, write_fcs
from openbsi.graft.flow import analyse_flow, load_panel, marker_result, proportion_ci
from openbsi.graft.synthetic import VIABILITY_CHANNEL, sim_flow_events
from openbsi.inputs import InputError

TRUE = {
    "SOX1": 0.92,
    "PSA-NCAM": 0.90,
    "OCT4": 0.0,
    "TRA-1-60": 0.0,
    "DBX1": 0.20,
    "EVX1": 0.10,
    "FOXN4": 0.15,
    "VSX2": 0.05,
    "HOXC6": 0.70,
}


def _write_panel(folder: Path, *, compensation: str = "file", extra: dict | None = None) -> Path:
    panel = {
        "panel": "test",
        "version": "1",
        "compensation": compensation,
        "scatter": {"fsc_area": "FSC-A", "ssc_area": "SSC-A", "fsc_height": "FSC-H"},
        "viability": {"channel": VIABILITY_CHANNEL, "control": "unstained", "percentile": 99.0},
        "controls": {"fmo": "fmo.fcs", "unstained": "unstained.fcs"},
        "markers": [{"name": m, "channel": m, "control": "fmo"} for m in TRUE],
        "combinations": {"V0_V2": {"any_of": ["DBX1", "EVX1", "FOXN4", "VSX2"]}},
        **(extra or {}),
    }
    path = folder / "panel.yaml"
    path.write_text(yaml.safe_dump(panel, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def flow_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("flow")
    rng = np.random.default_rng(7)
    spill = np.eye(len(TRUE))
    spill[0, 1] = 0.30  # heavy SOX1 -> PSA-NCAM spill: uncompensated PSA-NCAM reads too high
    events, channels = sim_flow_events(
        rng=rng, n_events=30_000, marker_fractions=TRUE, spillover=spill, dead_fraction=0.10
    )
    names = list(TRUE)
    write_fcs(folder / "sample.fcs", events, channels, spillover=(names, spill))
    control, _ = sim_flow_events(
        rng=rng, n_events=30_000, marker_fractions=dict.fromkeys(names, 0.0), spillover=spill
    )
    write_fcs(folder / "fmo.fcs", control, channels, spillover=(names, spill))
    unstained, _ = sim_flow_events(
        rng=rng, n_events=10_000, marker_fractions=dict.fromkeys(names, 0.0), dead_fraction=0.0
    )
    write_fcs(folder / "unstained.fcs", unstained, channels)
    return folder


def test_write_read_round_trip(flow_files: Path) -> None:
    sample = read_fcs(flow_files / "sample.fcs")
    assert sample.version == "3.1" and sample.n_events == 30_000
    assert sample.spillover is not None and sample.spillover_channels[0] == "SOX1"
    assert sample.spillover[0, 1] == pytest.approx(0.30)


def test_panel_fractions_match_truth(flow_files: Path) -> None:
    result = analyse_flow(flow_files / "sample.fcs", load_panel(_write_panel(flow_files)))
    gates = result["gates"]
    assert (
        gates["total"] == 30_000
        and gates["not_debris"] < 30_000
        and gates["singlets"] < gates["not_debris"]
    )
    assert gates["viability_fraction"] == pytest.approx(0.89, abs=0.02)  # 10 % dead + gate losses
    for marker, fraction in TRUE.items():
        row = marker_result(result, marker)
        # truth + the FMO's 0.5 % false-positive allowance on the negatives
        expected = fraction + (1 - fraction) * 0.005
        assert row["ci_low"] - 0.01 <= expected <= row["ci_high"] + 0.01, (marker, row["fraction"])
        assert row["positive"] <= row["events"] == gates["gated"]
    v0v2 = marker_result(result, "V0_V2")
    assert v0v2["fraction"] == pytest.approx(
        1 - 0.8 * 0.9 * 0.85 * 0.95, abs=0.02
    )  # independent draws


def test_compensation_removes_spillover(flow_files: Path) -> None:
    compensated = analyse_flow(flow_files / "sample.fcs", load_panel(_write_panel(flow_files)))
    raw = analyse_flow(
        flow_files / "sample.fcs", load_panel(_write_panel(flow_files, compensation="none"))
    )
    assert compensated["compensated"] is True and raw["compensated"] is False
    psa_comp = marker_result(compensated, "PSA-NCAM")["fraction"]
    psa_raw = marker_result(raw, "PSA-NCAM")["fraction"]
    assert psa_comp == pytest.approx(0.90, abs=0.015)
    assert psa_raw > psa_comp + 0.03  # SOX1-bright cells spill over the PSA-NCAM threshold


def test_clopper_pearson_matches_scipy() -> None:
    for k, n in ((0, 100), (3, 10_000), (50, 60), (100, 100)):
        low, high = proportion_ci(k, n)
        reference = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
        assert low == pytest.approx(reference.low, abs=1e-9)
        assert high == pytest.approx(reference.high, abs=1e-9)
    assert proportion_ci(0, 0) == (None, None)


def test_panel_errors_name_the_field(tmp_path: Path) -> None:
    path = _write_panel(
        tmp_path, extra={"markers": [{"name": "SOX1", "channel": "SOX1", "control": "nope"}]}
    )
    with pytest.raises(InputError, match=r"markers\[0\]\.control"):
        load_panel(path)
    path.write_text(
        "panel: x\nversion: '1'\nscatter: {fsc_area: A, ssc_area: B}\nmarkers: []\nbogus: 1\n"
    )
    with pytest.raises(InputError, match="bogus"):
        load_panel(path)


def test_unknown_channel_is_one_line(flow_files: Path, tmp_path: Path) -> None:
    panel = _write_panel(flow_files, extra={"scatter": {"fsc_area": "FSC-X", "ssc_area": "SSC-A"}})
    with pytest.raises(InputError, match="FSC-X"):
        analyse_flow(flow_files / "sample.fcs", load_panel(panel))
    _write_panel(flow_files)  # restore for other tests in the module


def test_flow_figure(flow_files: Path, tmp_path: Path) -> None:
    from openbsi.graft.flow_figure import plot_flow

    panel = load_panel(_write_panel(flow_files))
    result = analyse_flow(flow_files / "sample.fcs", panel)
    assert (
        plot_flow(flow_files / "sample.fcs", panel, result, tmp_path / "f.png").stat().st_size
        > 20_000
    )
