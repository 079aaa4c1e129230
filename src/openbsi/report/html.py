"""A self-contained HTML report (PNG figures embedded and saved beside it).

It leads with what a reader looks for first: a summary of decoding, gait, safety ("0 unsafe
commands executed", watchdog trips, vetoes), latency and recording integrity; then the figures
(decoded vs intended states with the stimulation raster, gait, latency per hop, confusion
matrix); and only then the full metrics table, grouped by section and collapsible.
"""

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
text-align:right}th{background:#f3f3f3;text-align:left}img{max-width:100%}.note{color:#666}
.cards{display:flex;flex-wrap:wrap;gap:1em}.card{border:1px solid #ccc;border-radius:6px;
padding:.6em 1em;min-width:14em}.card h3{margin:.2em 0 .4em}.card p{margin:.2em 0}
.bad{color:#b00020;font-weight:600}.good{color:#116611;font-weight:600}
details{margin:.3em 0}summary{cursor:pointer;font-weight:600}"""

# must-be-zero counters audited on the implant side (safety summary of the session)
EXECUTED_KEYS = (
    "executed_stale_commands",
    "executed_replayed_commands",
    "executed_forged_commands",
    "executed_out_of_limit_pulses",
)
FIGURE_ORDER = (  # file name, title, maker
    ("stimulation.png", "Decoded vs intended state, and the stimulation raster"),
    ("gait.png", "Gait"),
    ("latency.png", "Latency per hop"),
    ("confusion.png", "Decoder confusion matrix"),
)


def _fmt(value: object, digits: int = 3, unit: str = "") -> str:
    if value is None:
        return "n/a (not computable)"
    if isinstance(value, float):
        return f"{value:.{digits}g}{unit}"
    return f"{value}{unit}"


def _card(title: str, lines: list[str]) -> str:
    body = "".join(f"<p>{line}</p>" for line in lines)
    return f"<div class='card'><h3>{html.escape(title)}</h3>{body}</div>"


def _safety_lines(metrics: dict) -> list[str]:
    safety = metrics.get("safety") or {}
    stim = metrics.get("stimulation") or {}
    lines = []
    if all(key in safety for key in EXECUTED_KEYS):
        unsafe = sum(int(safety[key]) for key in EXECUTED_KEYS)
        css = "good" if unsafe == 0 else "bad"
        lines.append(
            f"<span class='{css}'>{unsafe} unsafe commands executed</span> "
            "(stale, replayed, forged or out of limit)"
        )
        lines.append(f"watchdog trips: {_fmt(safety.get('watchdog_trips'))}")
    elif safety:
        lines.append("implant in another process: its executed_* counters are reported there")
    lines.append(
        f"commands vetoed: {_fmt(stim.get('commands_vetoed'))}, "
        f"clamped: {_fmt(stim.get('commands_clamped'))}"
    )
    if "overruns" in safety:
        lines.append(f"tick overruns: {_fmt(safety.get('overruns'))}")
    return [line if "<span" in line else html.escape(line) for line in lines]


def _summary(metrics: dict) -> str:
    decoder = metrics.get("decoder") or {}
    gait = metrics.get("gait") or {}
    latency = metrics.get("latency_ms") or {}
    recording = metrics.get("recording") or {}
    end_to_end = latency.get("end_to_end") or {}
    slowest = max(
        ((hop, s.get("p99")) for hop, s in latency.items() if hop != "end_to_end"),
        key=lambda item: -1 if item[1] is None else item[1],
        default=(None, None),
    )
    problems = (recording.get("problems") or []) + (recording.get("warnings") or [])
    integrity = [
        f"closed cleanly: {_fmt(recording.get('closed'))}",
        f"{_fmt(recording.get('chunks'))} ECoG chunks, {_fmt(recording.get('duration_s'), 4)} s",
        f"dropped records: {_fmt(recording.get('dropped_records'))}",
        "problems: " + ("; ".join(problems) if problems else "none"),
    ]
    cards = [
        _card(
            "Decoding",
            [
                html.escape(x)
                for x in (
                    f"accuracy vs intention: {_fmt(decoder.get('intention_accuracy'))}",
                    f"accuracy vs cue: {_fmt(decoder.get('state_accuracy'))}",
                    f"decodes: {_fmt(decoder.get('n_decodes'))}",
                )
            ],
        ),
        _card(
            "Gait",
            [
                html.escape(x)
                for x in (
                    f"steps: {_fmt(gait.get('steps'))} (failed {_fmt(gait.get('failed_steps'))})",
                    f"step length: {_fmt(gait.get('step_length_m'), 3, ' m')}",
                    f"speed: {_fmt(gait.get('speed_m_s'), 3, ' m/s')}",
                )
            ],
        ),
        _card("Safety", _safety_lines(metrics)),
        _card(
            "Latency",
            [
                html.escape(x)
                for x in (
                    f"end to end p50 / p99: {_fmt(end_to_end.get('p50'))} / "
                    f"{_fmt(end_to_end.get('p99'))} ms",
                    f"slowest hop at p99: {slowest[0] or 'n/a'} ({_fmt(slowest[1])} ms)",
                )
            ],
        ),
        _card("Recording integrity", [html.escape(x) for x in integrity]),
    ]
    return f"<h2>Summary</h2><div class='cards' id='summary'>{''.join(cards)}</div>"


def _flatten(prefix: str, value: object, rows: list[tuple[str, str]]) -> None:
    if isinstance(value, dict) and "matrix" not in value:
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, rows)
    elif not isinstance(value, dict):
        text = f"{value:.4g}" if isinstance(value, float) else json.dumps(value)
        rows.append((prefix, text))


def _metrics_tables(metrics: dict) -> str:
    """One collapsible table per top-level group (decoder, latency_ms, link, ...)."""
    groups = []
    for group, value in metrics.items():
        rows: list[tuple[str, str]] = []
        _flatten(group, value, rows)
        body = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows
        )
        groups.append(
            f"<details><summary>{html.escape(group)} ({len(rows)})</summary>"
            f"<table>{body}</table></details>"
        )
    return "<h2>All metrics</h2>" + "".join(groups)


def write_report(nwb_path: Path, metrics: dict, out_dir: Path) -> Path:
    """Write out_dir/report.html and the figures as PNGs next to it; returns the HTML path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = read_nwb(Path(nwb_path), load_ecog=False)
    made = {
        "stimulation.png": figures.stimulation_figure(data),
        "gait.png": figures.gait_figure(data),
        "latency.png": figures.latency_figure(data),
        "confusion.png": figures.confusion_figure(metrics),
    }
    sections = []
    for name, title in FIGURE_ORDER:
        fig = made[name]
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        plt.close(fig)
        png = buffer.getvalue()
        (out_dir / name).write_bytes(png)
        encoded = base64.b64encode(png).decode()
        sections.append(
            f"<h3>{html.escape(title)}</h3>"
            f"<img alt='{html.escape(title)}' src='data:image/png;base64,{encoded}'>"
        )
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>OpenBSI session {html.escape(data.session_id)}</title><style>{_STYLE}</style>"
        "</head><body>"
        f"<h1>OpenBSI session report</h1><p class='note'>{html.escape(data.description)} — "
        f"session {html.escape(data.session_id)}, started {html.escape(data.start_time)}; "
        f"source file {html.escape(Path(nwb_path).name)}. Research use only.</p>"
        f"{_summary(metrics)}"
        f"<p class='note'>Integrity: <code>openbsi recording verify "
        f"{html.escape(Path(nwb_path).name)} --seal {html.escape(data.seal)}</code></p>"
        f"<h2>Figures</h2>{''.join(sections)}{_metrics_tables(metrics)}</body></html>"
    )
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
