"""BIDS-iEEG export round trip through mne-bids."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import openbsi.cli.recording  # noqa: F401  (registers the commands)
from openbsi.cli.apps import app
from openbsi.store.nwb import log_to_nwb, read_nwb
from openbsi.store.session_log import LOG_NAME
from openbsi.store.synthetic import record_synthetic_session

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")


def test_export_bids_reads_back_with_mne_bids(tmp_path: Path) -> None:
    mne_bids = pytest.importorskip("mne_bids")
    record_synthetic_session(tmp_path, np.random.default_rng(50), seconds=2.0, n_channels=4)
    nwb_path = log_to_nwb(tmp_path / LOG_NAME, tmp_path / "recording.nwb")
    root = tmp_path / "bids"
    result = CliRunner().invoke(
        app,
        [
            "recording",
            "export-bids",
            str(nwb_path),
            "--root",
            str(root),
            "--subject",
            "P1",
            "--session",
            "day3",
        ],
    )
    assert result.exit_code == 0, result.output
    vhdr = root / "sub-P1" / "ses-day3" / "ieeg" / "sub-P1_ses-day3_task-bsi_ieeg.vhdr"
    raw = mne_bids.read_raw_bids(mne_bids.get_bids_path_from_fname(vhdr), verbose="error")
    original = read_nwb(nwb_path)
    assert raw.ch_names == list(original.info.channel_names)
    assert raw.info["sfreq"] == 586.0
    np.testing.assert_allclose(raw.get_data().T * 1e6, original.ecog, atol=0.05)  # uV
    descriptions = set(raw.annotations.description)
    assert {"phase/calibration", "phase/closed_loop"} <= descriptions
    assert any(d.startswith("intent/") for d in descriptions)
    with (vhdr.parent / "sub-P1_ses-day3_electrodes.tsv").open() as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert [r["group"] for r in rows] == ["left", "left", "right", "right"]
    assert float(rows[1]["x"]) == original.info.channel_meta[1]["x_mm"]
    coords = json.loads((vhdr.parent / "sub-P1_ses-day3_coordsystem.json").read_text())
    assert coords["iEEGCoordinateUnits"] == "mm"


def test_export_bids_refuses_a_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["recording", "export-bids", str(tmp_path / "no.nwb"), "--root", str(tmp_path)]
    )
    assert result.exit_code != 0
