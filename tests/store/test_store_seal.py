"""One seal over everything a recording holds: each field edited in turn is caught by verify."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from openbsi.store.log_reader import read_log
from openbsi.store.nwb import log_to_nwb, read_nwb
from openbsi.store.session_log import SessionRecorder
from openbsi.store.synthetic import record_synthetic_session, synthetic_info
from openbsi.store.tamper import log_edits, tamper_log, tamper_nwb
from openbsi.store.verify import verify_recording

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    folder = tmp_path_factory.mktemp("sealed")
    rec = record_synthetic_session(folder, np.random.default_rng(3), seconds=2.0, n_channels=4)
    return rec.log_path, log_to_nwb(rec.log_path, folder / "recording.nwb"), rec.seal


def test_the_published_seal_pins_log_and_nwb(recorded: tuple[Path, Path, str]) -> None:
    log_path, nwb_path, published = recorded
    for path in (log_path, nwb_path):
        verdict = verify_recording(path, expected_seal=published)
        assert verdict["ok"] and verdict["seal"] == published, verdict["problems"]
    data = read_nwb(nwb_path, load_ecog=False)
    assert data.subject["sex"] == "F" and data.study["experimenter"] == ["Doe, Jane"]
    assert {"header", "kinematics", "stim_electrodes", "status", "annotations"} <= set(data.digests)


@pytest.mark.parametrize(
    ("dataset", "attribute"),
    [
        ("acquisition/ECoG/starting_time", "rate"),  # 586 -> 586.5 Hz
        ("acquisition/ECoG/starting_time", None),
        ("general/extracellular_ephys/electrodes/label", None),
        ("general/subject/sex", None),
        ("session_start_time", None),
        ("processing/integrity/log_status/closed", None),
        ("processing/kinematics/left_knee_rad/data", None),
        ("processing/stimulation/electrodes/x_mm", None),
    ],
)
def test_edits_named_in_the_issue_are_caught(
    recorded: tuple[Path, Path, str], tmp_path: Path, dataset: str, attribute: str | None
) -> None:
    import shutil

    from openbsi.store.tamper import _edit_nwb

    copy = tmp_path / "edited.nwb"
    shutil.copyfile(recorded[1], copy)
    _edit_nwb(copy, dataset, attribute)
    verdict = verify_recording(copy)
    assert not verdict["ok"] and not verdict["integrity_ok"], verdict


def test_every_log_field_edited_with_a_valid_crc_is_caught(
    recorded: tuple[Path, Path, str], tmp_path: Path
) -> None:
    outcomes = list(tamper_log(recorded[0], tmp_path, verify_recording))
    assert len(outcomes) > 100  # every leaf of the header, each event kind, close record
    missed = [o.target for o in outcomes if not o.caught]
    assert missed == []


@pytest.mark.slow
def test_every_nwb_field_edited_is_caught(recorded: tuple[Path, Path, str], tmp_path: Path) -> None:
    outcomes = list(tamper_nwb(recorded[1], tmp_path, verify_recording))
    assert len(outcomes) > 100
    missed = [o.target for o in outcomes if not o.caught]
    assert missed == []


def test_a_recovered_recording_is_reported_as_recovered(tmp_path: Path) -> None:
    rec = record_synthetic_session(tmp_path, np.random.default_rng(4), seconds=1.0, close=False)
    nwb = log_to_nwb(rec.log_path, tmp_path / "recovered.nwb")
    for path in (rec.log_path, nwb):
        verdict = verify_recording(path)
        assert verdict["recovered"] and verdict["integrity_ok"] and not verdict["ok"]
        assert any(p.startswith("recovered") for p in verdict["problems"])


def test_a_gap_in_the_ecog_is_a_problem(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    with SessionRecorder(tmp_path, synthetic_info(2)) as rec:
        for k, t_s in enumerate([0.0, 0.1, 0.2, 4.8, 4.9]):  # 4.6 s missing
            rec.ecog(rng.normal(size=(2, 59)), t_s * 590 / 586, k)
    nwb = log_to_nwb(rec.log_path, tmp_path / "gap.nwb")
    for path in (rec.log_path, nwb):
        verdict = verify_recording(path)
        assert not verdict["ok"] and verdict["integrity_ok"]
        assert any(p.startswith("gap:") for p in verdict["problems"])


def test_log_edits_cover_every_record_type(recorded: tuple[Path, Path, str]) -> None:
    names = {what.split(".")[0] for what, _ in log_edits(recorded[0].read_bytes())}
    assert {"header", "ecog", "decode", "pulses", "kinematics", "close", "annotation"} <= names
    assert read_log(recorded[0]).closed
