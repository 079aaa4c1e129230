"""A self-contained HTML report: metrics tables and figures (PNG, embedded and saved beside)."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import matplotlib.pyplot as plt

from openbsi.report import figures
from openbsi.store.nwb import read_nwb

_STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;
text-align:right}th{background:#f3f3f3}img{max-width:100%}.note{color:#666}"""


def _flatten(prefix: str, value: object, rows: list[tuple[str, str]]) -> None:
    if isinstance(value, dict) and "matrix" not in value:
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, rows)
    elif not isinstance(value, dict):
        text = f"{value:.4g}" if isinstance(value, float) else json.dumps(value)
        rows.append((prefix, text))


def _metrics_table(metrics: dict) -> str:
    rows: list[tuple[str, str]] = []
    _flatten("", metrics, rows)
    body = "".join(
        f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in rows
    )
    return f"<table>{body}</table>"


def write_report(nwb_path: Path, metrics: dict, out_dir: Path) -> Path:
    """Write out_dir/report.html and the figures as PNGs next to it; returns the HTML path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = read_nwb(Path(nwb_path), load_ecog=False)
    made = {
        "confusion.png": ("Decoder confusion matrix", figures.confusion_figure(metrics)),
        "latency.png": ("Latency per hop", figures.latency_figure(data)),
        "stimulation.png": ("Stimulation raster", figures.stimulation_figure(data)),
        "gait.png": ("Gait", figures.gait_figure(data)),
    }
    sections = []
    for name, (title, fig) in made.items():
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        plt.close(fig)
        png = buffer.getvalue()
        (out_dir / name).write_bytes(png)
        encoded = base64.b64encode(png).decode()
        sections.append(
            f"<h2>{html.escape(title)}</h2>"
            f"<img alt='{html.escape(title)}' src='data:image/png;base64,{encoded}'>"
        )
    recording = metrics.get("recording", {})
    problems = (recording.get("problems") or []) + (recording.get("warnings") or [])
    warning = (
        "<p class='note'>Recording problems: " + html.escape("; ".join(problems)) + "</p>"
        if problems
        else ""
    )
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>OpenBSI session {html.escape(data.session_id)}</title><style>{_STYLE}</style>"
        "</head><body>"
        f"<h1>OpenBSI session report</h1><p class='note'>{html.escape(data.description)} — "
        f"session {html.escape(data.session_id)}, started {html.escape(data.start_time)}; "
        f"source file {html.escape(Path(nwb_path).name)}. Research use only.</p>{warning}"
        f"<p class='note'>Integrity: <code>openbsi recording verify "
        f"{html.escape(Path(nwb_path).name)} --seal {html.escape(data.seal)}</code></p>"
        f"<h2>Metrics</h2>{_metrics_table(metrics)}{''.join(sections)}</body></html>"
    )
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
