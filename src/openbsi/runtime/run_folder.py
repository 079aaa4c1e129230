"""What every session leaves behind: recording.nwb, metrics.json and report.html."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from openbsi.report.html import write_report
from openbsi.report.metrics import compute_metrics
from openbsi.store.nwb import log_to_nwb


@dataclass(frozen=True)
class SessionResult:
    out_dir: Path
    nwb_path: Path
    metrics_path: Path
    report_path: Path
    metrics: dict
    end_reason: str | None = None  # why the session stopped early (None: it ran its course)
    exit_code: int = 0  # non-zero when the session ended because its signal was lost


def finish_run_folder(out_dir: Path, log_path: Path) -> SessionResult:
    """Convert the session log to NWB, compute metrics from the NWB, write metrics and report."""
    nwb_path = log_to_nwb(log_path, out_dir / "recording.nwb")
    metrics = compute_metrics(nwb_path)  # strict JSON: NaN already became null
    metrics_path = out_dir / "metrics.json"
    metrics_path.write_text(json.dumps(metrics, indent=2, allow_nan=False))
    report_path = write_report(nwb_path, metrics, out_dir)
    return SessionResult(out_dir, nwb_path, metrics_path, report_path, metrics)
