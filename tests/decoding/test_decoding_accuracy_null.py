"""Accuracy is null without an intent (#10.7): a replayed or LSL session has nothing to score
against, so its metrics say null and the console says n/a, never a figure against "rest"."""

from __future__ import annotations

import numpy as np
import pytest

from openbsi.cli.session import _summary_table
from openbsi.report.metrics import compute_metrics
from openbsi.store.nwb import log_to_nwb
from openbsi.store.session_log import LOG_NAME, SessionRecorder
from openbsi.store.synthetic import synthetic_info

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _session(folder, with_intent: bool) -> dict:
    rec = SessionRecorder(folder, synthetic_info(2), meta={"intention_delay_s": 0.2})
    rec.ecog(np.zeros((2, 586)), 0.0, 0)
    rec.phase(0.0, 2.0, "closed_loop")
    if with_intent:
        rec.intent(0.0, 2.0, "rest", 0.0)
    for k in range(10):
        rec.decode(0.05 + 0.1 * k, "rest", np.full(7, 1 / 7), 0.0)
    rec.close()
    return compute_metrics(log_to_nwb(folder / LOG_NAME, folder / "recording.nwb"))


def test_no_intent_gives_null_accuracy_and_n_a(tmp_path):
    metrics = _session(tmp_path, with_intent=False)
    assert metrics["decoder"]["state_accuracy"] is None
    assert metrics["decoder"]["intention_accuracy"] is None
    assert metrics["decoder"]["n_decodes"] == 10
    from rich.console import Console

    console = Console(record=True, width=120)
    console.print(_summary_table(metrics, "t"))
    assert "n/a (no intent recorded)" in console.export_text()


def test_with_an_intent_accuracy_is_a_number(tmp_path):
    metrics = _session(tmp_path, with_intent=True)
    assert metrics["decoder"]["state_accuracy"] == pytest.approx(1.0)
