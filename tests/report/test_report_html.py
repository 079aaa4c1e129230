"""The HTML report and the `openbsi report` command."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import openbsi.cli.recording  # noqa: F401  (registers the commands)
from openbsi.cli.apps import app
from openbsi.report.html import write_report
from openbsi.report.metrics import compute_metrics
from openbsi.store.nwb import log_to_nwb
from openbsi.store.session_log import LOG_NAME
from openbsi.store.synthetic import record_synthetic_session

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def nwb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    record_synthetic_session(folder, np.random.default_rng(20), seconds=3.0, n_channels=4)
    return log_to_nwb(folder / LOG_NAME, folder / "recording.nwb")


def test_report_is_self_contained_with_all_figures(nwb_path: Path, tmp_path: Path) -> None:
    page = write_report(nwb_path, compute_metrics(nwb_path), tmp_path)
    text = page.read_text()
    images = re.findall(r"src='data:image/png;base64,([^']+)'", text)
    assert len(images) == 4
    assert all(base64.b64decode(i).startswith(PNG_MAGIC) for i in images)
    for name in ("confusion.png", "latency.png", "stimulation.png", "gait.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG_MAGIC)
    assert "decoder.state_accuracy" in text and "http" not in text


def test_report_command_writes_metrics_and_html(nwb_path: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(nwb_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(compute_metrics(nwb_path)))
    assert (tmp_path / "o" / "report.html").stat().st_size > 10_000


def test_report_leads_with_the_summary_then_figures_then_grouped_metrics(
    nwb_path: Path, tmp_path: Path
) -> None:
    metrics = compute_metrics(nwb_path)
    text = write_report(nwb_path, metrics, tmp_path).read_text()
    summary, figures_at, table = (
        text.index("id='summary'"),
        text.index("<h2>Figures</h2>"),
        text.index("All metrics"),
    )
    assert summary < figures_at < table
    head = text[summary:figures_at]
    for card in ("Decoding", "Gait", "Safety", "Latency", "Recording integrity"):
        assert f"<h3>{card}</h3>" in head
    if all(k in metrics.get("safety", {}) for k in ("executed_stale_commands",)):
        assert "unsafe commands executed" in head
    # the raster comes first among the figures; every metrics group is collapsible
    assert text.index("Decoded vs intended state") < text.index("Decoder confusion matrix")
    assert text.count("<details>") == len(metrics)
    assert "decoder.state_accuracy" not in head  # the flat keys live only in the table
