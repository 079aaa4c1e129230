"""report stage of the OpenBSI loop: metrics.json and the HTML report, from recording.nwb."""

from openbsi.report.html import write_report
from openbsi.report.metrics import compute_metrics

__all__ = ["compute_metrics", "write_report"]
