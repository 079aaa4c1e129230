"""The release certificate (HTML): verdict, criteria, evidence hashes and the reviewer's signature.

The signature follows the manifestation of an electronic signature in 21 CFR 11.50: the
signer's printed name, the date and time of signing, and its meaning. The certificate lists the
SHA-256 of every input, and its own SHA-256 goes into `potency.json`. A PDF is not produced:
the well-kept HTML-to-PDF libraries (WeasyPrint) need system libraries (Pango) this project does
not ship; print the HTML from a browser if paper is needed.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
from pathlib import Path

from openbsi.graft.release import potency_record, sha256_of


def _cell(value: object) -> str:
    if isinstance(value, float):
        return html.escape(f"{value:.6g}")
    return html.escape(json.dumps(value) if not isinstance(value, str) else value)


def _hash(digest: str | None) -> str:
    return html.escape(digest or "unreadable")


def render_certificate(result: dict, *, reviewer: str, meaning: str, signed_at: str) -> str:
    verdict = result["verdict"]
    colour = "#1a7f37" if verdict == "release" else "#b42318"
    rows = []
    for row in result["criteria"]:
        evidence = "<br>".join(
            f"{html.escape(Path(e['file']).name)} <code>{_hash(e['sha256'])}</code>"
            for e in row["evidence"]
        )
        figure = (
            f'<br><img src="{html.escape(os.path.basename(row["figure"]))}" width="240">'
            if row.get("figure")
            else ""
        )
        status = "PASS" if row["pass"] else "FAIL"
        rows.append(
            f"<tr class='{status.lower()}'><td>{html.escape(row['name'])}</td>"
            f"<td>{_cell(row['value'])}</td>"
            f"<td>{html.escape(row['op'])} {_cell(row['limit'])}</td><td><b>{status}</b>"
            f"{'<br>' + html.escape(row['problem']) if row['problem'] else ''}</td>"
            f"<td>{evidence}{figure}</td><td>{html.escape(row['source'])}</td></tr>"
        )
    inputs = "".join(
        f"<tr><td>{html.escape(i['file'])}</td><td><code>{_hash(i['sha256'])}</code></td></tr>"
        for i in result["inputs"]
    )
    failed = (
        "Failed: " + html.escape(", ".join(result["failed"]))
        if result["failed"]
        else "All criteria met."
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Release certificate: lot {html.escape(result["lot"])}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; font-size: 0.9em; }}
tr.fail td {{ background: #fdecea; }}
.verdict {{ color: {colour}; font-size: 1.6em; font-weight: bold; }}
code {{ font-size: 0.8em; }}
</style></head><body>
<h1>Release certificate — lot {html.escape(result["lot"])}</h1>
<p class="verdict">{"RELEASED" if verdict == "release" else "REJECTED"}</p>
<p>Specification <b>{html.escape(result["spec"])}</b>
version <b>{html.escape(result["spec_version"])}</b>; harvest day {_cell(result["harvest_day"])}.
{failed}</p>
<h2>Criteria</h2>
<table><tr><th>criterion</th><th>value</th><th>limit</th><th>result</th><th>evidence (SHA-256)</th>
<th>source of the limit</th></tr>
{"".join(rows)}
</table>
<h2>Inputs</h2>
<table><tr><th>file</th><th>SHA-256</th></tr>{inputs}</table>
<h2>Signature</h2>
<table>
<tr><th>signed by</th><td>{html.escape(reviewer)}</td></tr>
<tr><th>date and time (UTC)</th><td>{html.escape(signed_at)}</td></tr>
<tr><th>meaning</th><td>{html.escape(meaning)}</td></tr>
</table>
<p><small>OpenBSI graft QC — research use, not a medical device.</small></p>
</body></html>
"""


def write_release(
    result: dict,
    out_dir: str | os.PathLike[str],
    *,
    reviewer: str,
    meaning: str | None = None,
    signed_at: dt.datetime | None = None,
) -> dict:
    """Write certificate.html, release.json and (released lots only) potency.json into `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not reviewer.strip():
        raise ValueError("--reviewer must name the person signing, got an empty name")
    if meaning is None:
        meaning = (
            "approved: the lot meets its release specification"
            if result["verdict"] == "release"
            else "rejected: the lot does not meet its release specification"
        )
    when = (signed_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).isoformat(timespec="seconds")
    certificate = out / "certificate.html"
    certificate.write_text(
        render_certificate(result, reviewer=reviewer, meaning=meaning, signed_at=when),
        encoding="utf-8",
    )
    digest = sha256_of(certificate)
    signed = {
        **result,
        "signature": {"reviewer": reviewer, "signed_at": when, "meaning": meaning},
        "certificate": str(certificate),
        "certificate_sha256": digest,
    }
    potency_path = None
    if result["verdict"] == "release":
        potency_path = out / "potency.json"
        potency_path.write_text(
            json.dumps(potency_record(result, certificate_sha256=digest), indent=2)
        )
    signed["potency"] = str(potency_path) if potency_path else None
    (out / "release.json").write_text(json.dumps(signed, indent=2, default=str))
    return signed
