"""Session metrics computed from recording.nwb alone (documented in README "metrics.json").

Keys (nested dicts; "a.b" below means metrics["a"]["b"]):
- decoder.state_accuracy: fraction of decodes in the closed_loop phase(s) (start < t <= stop)
  whose state equals the intended state at the decode time (intent intervals are
  start <= t < stop; no interval covering that time counts as "rest");
  decoder.scope says "closed_loop", or "all" when the recording has no closed_loop phase.
- decoder.intention_accuracy: the same decodes scored against the intention, i.e. the intended
  state at (t - intention_delay_s), when the recording's metadata gives intention_delay_s (the
  virtual patient's mean reaction time to a cue); otherwise None.
- decoder.confusion: {"labels": STATES, "matrix": rows = intended, columns = decoded}.
- decoder.n_decodes: decodes counted in the accuracy.
- latency_ms.<hop>.{p50,p99,max,n} for acquire->features, features->decoder, decoder->safety,
  safety->stimulator and end_to_end (acquired -> stimulated), from the monotonic stamps.
- stimulation.{pulses_delivered, commands, commands_vetoed, commands_clamped, safety_events}.
- gait.{steps, failed_steps, step_length_m (mean over successful steps), speed_m_s (successful
  step length summed over the closed-loop time, or over the recording when there is none)}.
- recording.{duration_s, chunks, closed, dropped_records, problems, warnings, chain_head,
  seal} (seal: pass it to `openbsi recording verify FILE --seal`).
- any summary the loop recorded with SessionRecorder.summary(name, values), e.g. link.{frames_sent,
  frames_lost, rejected_*} and safety.{executed_*, watchdog_trips, overruns} (issue 6).
Values that cannot be computed (nothing recorded) are None, never NaN, so the JSON stays valid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from openbsi.states import REST, STATE_INDEX, STATES
from openbsi.store.nwb import read_nwb
from openbsi.store.session_data import SessionData
from openbsi.store.session_log import LATENCY_HOPS

HOPS = LATENCY_HOPS


def _number(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _intervals(events: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    starts = np.array([e["start_s"] for e in events], dtype=float)
    stops = np.array([e["stop_s"] for e in events], dtype=float)
    return starts, stops


def _inside(times: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Boolean mask of times in any (start, stop]: a decode at t uses data up to t, so the
    tick at a phase's stop time belongs to it, the tick at its start time does not."""
    if starts.size == 0:
        return np.zeros(times.size, dtype=bool)
    return ((times[:, None] > starts[None, :]) & (times[:, None] <= stops[None, :])).any(axis=1)


def intended_states(data: SessionData, times_s: np.ndarray) -> list[str]:
    """Intended state at each time (the latest interval that covers it; REST when none)."""
    states = [REST] * times_s.size
    for event in data.intents:  # later intervals win where they overlap
        covered = (times_s >= event["start_s"]) & (times_s < event["stop_s"])
        for i in np.flatnonzero(covered):
            states[i] = event["state"]
    return states


def decoder_metrics(data: SessionData) -> dict:
    closed = [p for p in data.phases if p["name"] == "closed_loop"]
    times = np.array([d["t_s"] for d in data.decodes], dtype=float)
    keep = _inside(times, *_intervals(closed)) if closed else np.ones(times.size, dtype=bool)
    idx = np.flatnonzero(keep)
    truth = intended_states(data, times[idx])
    decoded = [data.decodes[i]["state"] for i in idx]
    matrix = np.zeros((len(STATES), len(STATES)), dtype=int)
    for t, d in zip(truth, decoded, strict=True):
        if t in STATE_INDEX and d in STATE_INDEX:
            matrix[STATE_INDEX[t], STATE_INDEX[d]] += 1
    n = int(idx.size)
    correct = sum(t == d for t, d in zip(truth, decoded, strict=True))
    delay_s = data.meta.get("intention_delay_s")
    intention_accuracy = None
    has_intent = len(data.intents) > 0  # without one, an accuracy would be scored vs "rest"
    if delay_s is not None and n and has_intent:
        intended = intended_states(data, times[idx] - float(delay_s))
        intention_accuracy = sum(t == d for t, d in zip(intended, decoded, strict=True)) / n
    return {
        "state_accuracy": correct / n if n and has_intent else None,
        "intention_accuracy": intention_accuracy,
        "confusion": {"labels": list(STATES), "matrix": matrix.tolist()},
        "n_decodes": n,
        "scope": "closed_loop" if closed else "all",
    }


def hop_latencies_ms(data: SessionData) -> dict[str, np.ndarray]:
    """Per-hop latency samples in ms; ticks missing a stamp (negative) are left out."""
    out = {}
    for hop, (a, b) in HOPS.items():
        out[hop] = np.array(
            [
                (row["stamps_ns"][b] - row["stamps_ns"][a]) / 1e6
                for row in data.latency
                if row["stamps_ns"].get(a, -1) >= 0 and row["stamps_ns"].get(b, -1) >= 0
            ],
            dtype=float,
        )
    return out


def latency_metrics(data: SessionData) -> dict:
    out: dict[str, dict] = {}
    for hop, deltas in hop_latencies_ms(data).items():
        if deltas.size:
            p50, p99 = np.percentile(deltas, [50, 99])
            out[hop] = {
                "p50": float(p50),
                "p99": float(p99),
                "max": float(deltas.max()),
                "n": int(deltas.size),
            }
        else:
            out[hop] = {"p50": None, "p99": None, "max": None, "n": 0}
    return out


def stimulation_metrics(data: SessionData) -> dict:
    cmds = data.stim_commands
    return {
        "pulses_delivered": len(data.pulses),
        "commands": len(cmds),
        "commands_vetoed": sum(bool(c["vetoed"]) for c in cmds),
        "commands_clamped": sum(bool(c["clamped"]) for c in cmds),
        "safety_events": len(data.safety_events),
    }


def _session_span_s(data: SessionData) -> float:
    if len(data.ecog_chunks):
        return data.duration_s
    times = [d["t_s"] for d in data.decodes]
    return float(max(times) - min(times)) if len(times) > 1 else 0.0


def gait_metrics(data: SessionData) -> dict:
    events = data.gait_events
    ok = [e for e in events if not e["failed"]]
    closed = [p for p in data.phases if p["name"] == "closed_loop"]
    walk_s = sum(p["stop_s"] - p["start_s"] for p in closed) if closed else _session_span_s(data)
    lengths = np.array([e["length_m"] for e in ok], dtype=float)
    return {
        "steps": len(events),
        "failed_steps": len(events) - len(ok),
        "step_length_m": _number(lengths.mean()) if lengths.size else None,
        "speed_m_s": _number(lengths.sum() / walk_s) if walk_s > 0 and events else None,
    }


def json_safe(value: object) -> object:
    """NaN/inf -> None, recursively, so a JSON output stays strict JSON."""
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def compute_metrics_from_data(data: SessionData) -> dict:
    """All metrics of an already-loaded session, plus the summaries the loop recorded."""
    metrics = {
        "decoder": decoder_metrics(data),
        "latency_ms": latency_metrics(data),
        "stimulation": stimulation_metrics(data),
        "gait": gait_metrics(data),
        "recording": {
            "duration_s": _session_span_s(data),
            "chunks": len(data.ecog_chunks),
            "closed": data.closed,
            "dropped_records": data.dropped_records,
            "problems": list(data.problems),
            "warnings": list(data.warnings),
            "chain_head": data.chain_head,
            "seal": data.seal,
        },
    }
    for name, raw in data.summaries.items():  # e.g. "link", "safety" (issue 6)
        values = json_safe(raw)
        computed = metrics.get(name)
        if isinstance(computed, dict):
            metrics[name] = {**values, **computed}  # figures computed here take precedence
        else:
            metrics[name] = values
    return metrics


def compute_metrics(nwb_path: Path) -> dict:
    """Metrics from the NWB file alone (see the module docstring for the keys)."""
    return compute_metrics_from_data(read_nwb(Path(nwb_path), load_ecog=False))
