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


def test_export_carries_decodes_commands_pulses_and_subject(tmp_path: Path) -> None:
    from openbsi.store.bids import export_bids

    record_synthetic_session(tmp_path, np.random.default_rng(51), seconds=2.0, n_channels=4)
    nwb_path = log_to_nwb(tmp_path / LOG_NAME, tmp_path / "recording.nwb")
    root = tmp_path / "bids"
    export_bids(nwb_path, root, subject="P2")
    original = read_nwb(nwb_path, load_ecog=False)
    folder = root / "derivatives" / "openbsi" / "sub-P2" / "ieeg"
    counts = {}
    for kind in ("decodes", "commands", "pulses"):
        with (folder / f"sub-P2_task-bsi_desc-{kind}_events.tsv").open() as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        counts[kind] = len(rows)
        assert float(rows[0]["onset"]) >= 0.0 and rows[0]["trial_type"] == kind[:-1]
    assert counts == {
        "decodes": len(original.decodes),
        "commands": len(original.stim_commands),
        "pulses": len(original.pulses),
    }
    sidecar = json.loads((root / "sub-P2" / "ieeg" / "sub-P2_task-bsi_ieeg.json").read_text())
    assert sidecar["ElectricalStimulation"] is True
    assert sidecar["InstitutionName"] == "OpenBSI test lab"
    with (root / "participants.tsv").open() as f:
        participant = next(csv.DictReader(f, delimiter="\t"))
    assert (participant["age"], participant["sex"]) == ("38", "F")
    assert not list(root.glob(".openbsi-staging-*"))  # the staging copy is gone
