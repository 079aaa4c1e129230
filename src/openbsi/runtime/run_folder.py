"""What every session leaves behind: recording.nwb, metrics.json and report.html."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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


def check_range(name: str, value: float, low: float, high: float) -> None:
    """A named error unless low <= value <= high (and finite)."""
    if not (isinstance(value, int | float) and math.isfinite(value) and low <= value <= high):
        raise ValueError(f"{name} must be within [{low:g}, {high:g}], got {value}")


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to metrics.json")


def _finite(value: object) -> object:
    """NaN / inf become null, so metrics.json stays strict JSON."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float | np.floating) and not math.isfinite(value):
        return None
    return value


def finish_run_folder(out_dir: Path, log_path: Path, extra: dict | None = None) -> SessionResult:
    """Convert the session log to NWB, compute metrics from the NWB, write metrics and report."""
    nwb_path = log_to_nwb(log_path, out_dir / "recording.nwb")
    metrics = compute_metrics(nwb_path) | (extra or {})
    metrics_path = out_dir / "metrics.json"
    metrics_path.write_text(
        json.dumps(_finite(metrics), indent=2, allow_nan=False, default=_json_default)
    )
    report_path = write_report(nwb_path, metrics, out_dir)
    return SessionResult(out_dir, nwb_path, metrics_path, report_path, metrics)
