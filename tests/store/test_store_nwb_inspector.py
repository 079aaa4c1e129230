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
    assert len(found.get("BEST_PRACTICE_VIOLATION", [])) <= 5, found


def test_default_subject_still_passes_the_critical_checks(tmp_path: Path) -> None:
    """No subject given: sex U and an adult of unknown age (P18Y/), both NWB vocabulary."""
    from openbsi.store.session_log import SessionRecorder
    from openbsi.store.synthetic import synthetic_info

    with SessionRecorder(tmp_path, synthetic_info(2)) as rec:
        rec.ecog(np.zeros((2, 59)), 0.0, 0)
    found = _by_importance(log_to_nwb(rec.log_path, tmp_path / "r.nwb"))
    assert "CRITICAL" not in found, found
