"""NWB best practice: nwbinspector finds no CRITICAL issue and few best-practice violations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from openbsi.store.nwb import log_to_nwb
from openbsi.store.synthetic import record_synthetic_session

nwbinspector = pytest.importorskip("nwbinspector")
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _by_importance(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for message in nwbinspector.inspect_nwbfile(nwbfile_path=str(path)):
        out.setdefault(message.importance.name, []).append(
            f"{message.check_function_name}: {message.message}"
        )
    return out


def test_a_recording_meets_nwb_best_practice(tmp_path: Path) -> None:
    rec = record_synthetic_session(tmp_path, np.random.default_rng(8), seconds=3.0, n_channels=8)
    found = _by_importance(log_to_nwb(rec.log_path, tmp_path / "recording.nwb"))
    assert "CRITICAL" not in found, found
    assert "ERROR" not in found, found  # an inspector check that cannot even run
    assert "BEST_PRACTICE_VIOLATION" not in found, found


def test_a_summary_holding_a_list_of_dicts_is_unpacked_not_stored_as_json(tmp_path: Path) -> None:
    from openbsi.store.nwb import read_nwb
    from openbsi.store.session_log import SessionRecorder
    from openbsi.store.synthetic import synthetic_info

    figures = {"segments": [{"start_s": 0.0, "n_samples": 59}, {"start_s": 2.5, "n_samples": 0}]}
    with SessionRecorder(tmp_path, synthetic_info(2)) as rec:
        rec.ecog(np.zeros((2, 59)), 0.0, 0)
        rec.summary("ecog_segments", figures)
    path = log_to_nwb(rec.log_path, tmp_path / "r.nwb")
    found = _by_importance(path)
    assert "BEST_PRACTICE_VIOLATION" not in found, found
    assert read_nwb(path).summaries["ecog_segments"] == figures


def test_default_subject_still_passes_the_critical_checks(tmp_path: Path) -> None:
    """No subject given: sex U and an adult of unknown age (P18Y/), both NWB vocabulary."""
    from openbsi.store.session_log import SessionRecorder
    from openbsi.store.synthetic import synthetic_info

    with SessionRecorder(tmp_path, synthetic_info(2)) as rec:
        rec.ecog(np.zeros((2, 59)), 0.0, 0)
    found = _by_importance(log_to_nwb(rec.log_path, tmp_path / "r.nwb"))
    assert "CRITICAL" not in found, found
