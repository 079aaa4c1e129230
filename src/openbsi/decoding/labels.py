"""Labels for a recording: which state (and amplitude) each sample belongs to.

Specs (the `--labels` option):
- `channel:NAME[:THRESHOLD]`: a continuous behavioural channel (grip force, movement). State
  "move" where it exceeds THRESHOLD (default: halfway between its 10th and 90th percentile,
  an assumption), "rest" elsewhere; amplitude = the value scaled to [0, 1] between its 5th and
  95th percentile.
- `events:FILE.tsv[:MAPPING]`: a BIDS events.tsv (onset, duration, trial_type), or
  `events:annotations[:MAPPING]` for the file's own annotations (a BIDS recording's
  events.tsv arrives as these). MAPPING is `VALUE=STATE,VALUE=STATE`; without it each value
  is its own state. Outside every event the state is rest; inside, amplitude 1.
- `intervals:NAME`: an NWB intervals table (trials, epochs, ...): each row's label column, or
  "move" when it has none, mapped like events.
The state set is rest first, then the other states in sorted order.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from openbsi.inputs import InputError, read_limited

REST = "rest"
MOVE = "move"
MAX_EVENTS_BYTES = 50_000_000  # assumption: an events.tsv of ~1 M rows
MAX_STATES = 64


@dataclass(frozen=True)
class SampleLabels:
    """Per-sample state index (into state_names) and amplitude, plus what produced them."""

    state: np.ndarray  # (n_samples,) int
    amplitude: np.ndarray  # (n_samples,) float in [0, 1]
    state_names: tuple[str, ...]
    spec: str

    def at(self, sample_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Labels of the windows ending just before these (exclusive) sample indices."""
        index = np.clip(np.asarray(sample_index) - 1, 0, self.state.size - 1)
        return self.state[index], self.amplitude[index]


def _mapping(text: str, source: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(source, "mapping", "must be VALUE=STATE,VALUE=STATE", value=part)
        out[key.strip()] = value.strip()
    return out


def _from_channel(recording, rest: str, spec: str) -> SampleLabels:
    name, _, threshold_text = rest.partition(":")
    values = np.asarray(recording.channel(name), dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise InputError(spec, "channel", "has no finite sample", value=name)
    p5, p10, p90, p95 = np.percentile(finite, [5, 10, 90, 95])
    if threshold_text:
        try:
            threshold = float(threshold_text)
        except ValueError:
            raise InputError(spec, "threshold", "must be a number", value=threshold_text) from None
        if not np.isfinite(threshold):
            raise InputError(spec, "threshold", "must be finite", value=threshold_text)
    else:
        threshold = 0.5 * (p10 + p90)
    state = (np.nan_to_num(values, nan=-np.inf) > threshold).astype(int)
    if state.min() == state.max():
        raise InputError(
            spec,
            "threshold",
            "leaves a single state",
            limit=f"between {finite.min():g} and {finite.max():g}",
            value=threshold,
        )
    span = p95 - p5
    amplitude = (
        np.clip((np.nan_to_num(values, nan=p5) - p5) / span, 0, 1)
        if span > 0
        else (state.astype(float))
    )
    return SampleLabels(state, amplitude, (REST, MOVE), spec)


def read_events_tsv(path: Path) -> list[tuple[float, float, str]]:
    """(onset_s, duration_s, trial_type) rows of a BIDS events.tsv."""
    raw = read_limited(path, max_bytes=MAX_EVENTS_BYTES)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(str(path), "file", "must be UTF-8 text") from None
    rows = list(csv.reader(io.StringIO(text), delimiter="\t"))
    if not rows or "onset" not in rows[0] or "duration" not in rows[0]:
        raise InputError(
            str(path),
            "header",
            "must have onset and duration columns",
            value=rows[0][:6] if rows else None,
        )
    header = rows[0]
    i_on, i_dur = header.index("onset"), header.index("duration")
    i_type = next(
        (header.index(c) for c in ("trial_type", "value", "stim_type") if c in header), None
    )
    out = []
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise InputError(
                str(path),
                f"line {line}",
                "wrong number of columns",
                limit=len(header),
                value=len(row),
            )
        try:
            onset = float(row[i_on])
            duration = 0.0 if row[i_dur] in ("n/a", "") else float(row[i_dur])
        except ValueError:
            raise InputError(
                str(path), f"line {line}", "onset/duration must be numbers", value=row[:3]
            ) from None
        if not (np.isfinite(onset) and np.isfinite(duration) and duration >= 0):
            raise InputError(
                str(path),
                f"line {line}",
                "onset/duration must be finite, duration >= 0",
                value=row[:3],
            )
        label = row[i_type].strip() if i_type is not None else "event"
        out.append((onset, duration, label or "event"))
    return out


def _from_spans(recording, spans, mapping: dict[str, str] | None, spec: str) -> SampleLabels:
    sfreq, n = recording.info.sfreq_hz, recording.data.shape[1]
    named = [(a, d, (mapping.get(lab) if mapping else lab)) for a, d, lab in spans]
    named = [(a, d, s) for a, d, s in named if s is not None and d > 0]
    if not named:
        raise InputError(spec, "labels", "no event of positive duration maps to a state")
    states = sorted({s for _, _, s in named} - {REST})
    names = (REST, *states)
    if len(names) > MAX_STATES:
        raise InputError(spec, "labels", "too many states", limit=MAX_STATES, value=len(names))
    index = {s: i for i, s in enumerate(names)}
    state = np.zeros(n, dtype=int)
    amplitude = np.zeros(n)
    for onset, duration, name in named:
        a = max(0, round(onset * sfreq))
        b = min(n, round((onset + duration) * sfreq))
        state[a:b] = index[name]
        amplitude[a:b] = 0.0 if name == REST else 1.0
    if state.min() == state.max():
        raise InputError(spec, "labels", "cover a single state over the recording")
    return SampleLabels(state, amplitude, names, spec)


def labels_for(recording, spec: str) -> SampleLabels:
    """Parse a `--labels` spec against a recording (a RawRecording)."""
    kind, _, rest = spec.partition(":")
    if kind == "channel" and rest:
        return _from_channel(recording, rest, spec)
    if kind == "events" and rest:
        target, _, mapping_text = rest.partition(":")
        mapping = _mapping(mapping_text, spec) if mapping_text else None
        if target == "annotations":
            spans = [(a.onset_s, a.duration_s, a.description) for a in recording.annotations]
        else:
            spans = read_events_tsv(Path(target))
        return _from_spans(recording, spans, mapping, spec)
    if kind == "intervals" and rest:
        name, _, mapping_text = rest.partition(":")
        tables = recording.meta.intervals
        if name not in tables:
            raise InputError(
                str(recording.path),
                "intervals",
                "unknown table",
                limit=f"one of {sorted(tables)}",
                value=name,
            )
        spans = [(a.onset_s, a.duration_s, a.description) for a in tables[name]]
        mapping = _mapping(mapping_text, spec) if mapping_text else None
        if mapping is None and all(lab == name for *_, lab in spans):
            mapping = {name: MOVE}
        return _from_spans(recording, spans, mapping, spec)
    raise InputError(
        "--labels",
        "spec",
        "unknown form",
        limit="channel:NAME[:THRESHOLD] | events:FILE.tsv[:MAPPING] | intervals:NAME",
        value=spec,
    )
