"""What every session leaves behind: recording.nwb, metrics.json and report.html.

Each part is written on its own: a part that cannot be written (a full disk, a report figure
that fails) is named in `SessionResult.failures` and the parts after it are still attempted
where they can be (metrics and report need the NWB).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SessionResult:
    out_dir: Path
    nwb_path: Path
    metrics_path: Path
    report_path: Path
    metrics: dict
    failures: dict[str, str] = field(default_factory=dict)  # part -> why it was not written
    # Why the session ended before its --seconds (None: it ran its course): a signal
    # ("SIGTERM"...), "recording failed", "signal lost" or "end of replay file".
    stop_reason: str | None = None
    exit_code: int = 0  # what the CLI exits with (0: complete and as asked)
    lost: dict = field(default_factory=dict)  # what the recorder could not store (exact counts)


def finish_run_folder(
    out_dir: Path,
    log_path: Path,
    *,
    stop_reason: str | None = None,
    exit_code: int = 0,
    lost: dict | None = None,
) -> SessionResult:
    """Convert the session log to NWB, compute metrics from the NWB, write metrics and report;
    a part that fails is reported, never raised."""
    from openbsi.report.html import write_report
    from openbsi.report.metrics import compute_metrics
    from openbsi.store.nwb import log_to_nwb

    out_dir = Path(out_dir)
    nwb_path = out_dir / "recording.nwb"
    metrics_path = out_dir / "metrics.json"
    report_path = out_dir / "report.html"
    failures: dict[str, str] = {}
    metrics: dict = {}
    try:
        nwb_path = log_to_nwb(log_path, nwb_path)
    except Exception as error:  # e.g. ENOSPC: the log stays, `recording recover` can retry
        failures["recording.nwb"] = f"{type(error).__name__}: {error}"
    if "recording.nwb" not in failures:
        try:
            metrics = compute_metrics(nwb_path)  # strict JSON: NaN already became null
            metrics_path.write_text(json.dumps(metrics, indent=2, allow_nan=False))
        except Exception as error:
            failures["metrics.json"] = f"{type(error).__name__}: {error}"
    if metrics and "metrics.json" not in failures:
        try:
            report_path = write_report(nwb_path, metrics, out_dir)
        except Exception as error:
            failures["report.html"] = f"{type(error).__name__}: {error}"
    else:
        failures.setdefault("report.html", "needs recording.nwb and metrics.json")
    for part, why in failures.items():
        logger.error("run folder %s: %s not written: %s", out_dir, part, why)
    code = exit_code or (5 if failures else 0)
    return SessionResult(
        out_dir,
        nwb_path,
        metrics_path,
        report_path,
        metrics,
        failures,
        stop_reason,
        code,
        dict(lost or {}),
    )
