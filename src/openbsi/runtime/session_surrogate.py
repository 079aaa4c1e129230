"""Fit the recovery session surrogate on real closed-loop sessions of the virtual patient.

For each point of a grid (lesion state as LEMS x decoder error x program) one closed-loop
session runs (runtime loop + patient/, simulated clock, one decoder calibrated once and
degraded by a wrapper to sweep accuracy). Its dose is measured from the recording:
- intent_paired_fraction: stimulation pulses commanded by a decoded movement that is the
  movement the patient intends then (or up to 0.5 s before: reaction time) / all pulses in the
  closed loop;
- successful_steps_per_min: (steps - failed steps) per minute of closed loop;
- time_on_task_fraction: share of 0.5 s bins of the closed loop with both intent and pulses.
A least-squares linear model of each on (decoder_accuracy, lems_fraction) is written as
recovery/data/session_surrogate.json with its provenance; recovery/ reads it as data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from openbsi.recovery.surrogate import session_profile
from openbsi.runtime.clock import SimulatedClock
from openbsi.runtime.live_session import LiveSessionConfig, run_live_session
from openbsi.store.nwb import read_nwb

REACTION_MARGIN_S = 0.5  # pulses up to 0.5 s after an intent block still pair with it
BIN_S = 0.5
OUTPUTS = ("intent_paired_fraction", "successful_steps_per_min", "time_on_task_fraction")
BOUNDS = {
    "intent_paired_fraction": (0.0, 1.0),
    "successful_steps_per_min": (0.0, 60.0),
    "time_on_task_fraction": (0.0, 1.0),
}


class DegradedDecoder:
    """Wraps a decoder: with probability `error_rate` a tick's state probabilities are
    shifted to another state (a wrong decode), so accuracy can be swept on a real loop."""

    def __init__(self, inner: Any, error_rate: float, rng: np.random.Generator) -> None:
        self._inner = inner
        self.error_rate = error_rate
        self._rng = rng

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def step(self, x: np.ndarray) -> tuple[np.ndarray, float]:
        probs, amplitude = self._inner.step(x)
        if self._rng.random() < self.error_rate:
            probs = np.roll(probs, int(self._rng.integers(1, len(probs))))
        return probs, amplitude


def calibrate_model(out_dir: Path, *, seed: int, calibration_s: float = 120.0) -> Path:
    """One cued calibration on the default virtual patient; returns the model file."""
    config = LiveSessionConfig(out_dir=out_dir, seconds=1.0, seed=seed, calibration_s=calibration_s)
    run_live_session(config, clock=SimulatedClock())
    return out_dir / "model.obsi"


def _state_at(times: np.ndarray, starts: np.ndarray, stops: np.ndarray, states: list[str]):
    """The intended state at each time ("" outside every block)."""
    out = np.full(times.size, "", dtype=object)
    for start, stop, state in zip(starts, stops, states, strict=True):
        out[(times >= start) & (times < stop)] = state
    return out


def _paired_with_intent(pulses: np.ndarray, decodes, intents) -> np.ndarray:
    """A pulse is intent-paired when the decode that commanded it names a movement and that
    movement is what the patient intends then (or intended up to the reaction margin before)."""
    if pulses.size == 0 or len(decodes) == 0:
        return np.zeros(pulses.size, dtype=bool)
    d_t = np.array([float(d["t_s"]) for d in decodes])
    d_state = np.array([str(d["state"]) for d in decodes], dtype=object)
    idx = np.searchsorted(d_t, pulses, side="right") - 1
    commanded = np.where(idx >= 0, d_state[np.maximum(idx, 0)], "rest")
    starts = np.array([float(b["start_s"]) for b in intents])
    stops = np.array([float(b["stop_s"]) for b in intents])
    states = [str(b["state"]) for b in intents]
    now = _state_at(pulses, starts, stops, states)
    before = _state_at(pulses - REACTION_MARGIN_S, starts, stops, states)
    moving = commanded != "rest"
    return moving & ((commanded == now) | (commanded == before))


def measured_dose(nwb_path: Path, metrics: dict) -> dict[str, float | None]:
    """The session's dose, measured from its recording (None where it cannot be computed)."""
    data = read_nwb(nwb_path, load_ecog=False)
    loops = [p for p in data.phases if p.get("name", p.get("phase")) == "closed_loop"]
    if loops:
        t0, t1 = float(loops[0]["start_s"]), float(loops[0]["stop_s"])
    else:
        t0, t1 = 0.0, float(metrics["recording"]["duration_s"])
    pulses = np.asarray(data.pulses.t_s, dtype=float)
    pulses = pulses[(pulses >= t0) & (pulses < t1)]
    blocks = [
        (float(b["start_s"]), float(b["stop_s"]))
        for b in data.intents
        if b["state"] != "rest" and float(b["stop_s"]) > t0 and float(b["start_s"]) < t1
    ]
    paired_mask = _paired_with_intent(pulses, data.decodes, data.intents)
    paired = float(paired_mask.mean()) if pulses.size else None
    edges = np.arange(t0, t1 + 1e-9, BIN_S)
    centres = edges[:-1] + BIN_S / 2
    intent_bins = np.zeros(centres.size, dtype=bool)
    for start, stop in blocks:
        intent_bins |= (centres >= start) & (centres < stop)
    pulse_bins = np.histogram(pulses, bins=edges)[0] > 0 if centres.size else np.zeros(0, bool)
    on_task = float(np.mean(intent_bins & pulse_bins)) if centres.size else None
    gait = metrics.get("gait", {})
    minutes = (t1 - t0) / 60.0
    steps = gait.get("steps")
    failed = gait.get("failed_steps") or 0
    per_min = (steps - failed) / minutes if steps is not None and minutes > 0 else None
    return {
        "intent_paired_fraction": paired,
        "successful_steps_per_min": per_min,
        "time_on_task_fraction": on_task,
        "decoder_accuracy": metrics.get("decoder", {}).get("state_accuracy"),
        "pulses": int(pulses.size),
        "closed_loop_s": t1 - t0,
    }


def dose_from_folder(folder: Path) -> dict[str, float | None]:
    """Re-measure a finished session's dose from its run folder."""
    metrics = json.loads((folder / "metrics.json").read_text())
    return measured_dose(folder / "recording.nwb", metrics)


def run_dose_session(
    out_dir: Path, *, nli: str, ais: str, lems: float, muscle_condition: float,
    days_since_injury: float, model: Path, decoder_error: float = 0.0, seconds: float = 30.0,
    seed: int = 0, program: Path | None = None, reuse: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """One real closed-loop session of the patient in this recovery state; its measured dose.
    With `reuse`, a finished session already in `out_dir` is re-measured instead of re-run."""
    meta = {"lems": lems, "ais": ais, "nli": nli, "decoder_error": decoder_error,
            "program": Path(program).name if program else "default", "seed": seed}  # fmt: skip
    if reuse and (out_dir / "metrics.json").exists() and (out_dir / "recording.nwb").exists():
        return dose_from_folder(out_dir) | meta
    profile = session_profile(nli, ais, lems, muscle_condition, days_since_injury)
    config = LiveSessionConfig(out_dir=out_dir, seconds=seconds, seed=seed, model=model,
                               program=program, patient=profile)  # fmt: skip
    rng = np.random.default_rng([seed, round(decoder_error * 1000)])
    result = run_live_session(
        config,
        clock=SimulatedClock(),
        wrap_decoder=lambda d: DegradedDecoder(d, decoder_error, rng),
    )
    return measured_dose(result.nwb_path, result.metrics) | meta


def fit(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Least squares of each output on (1, decoder_accuracy, lems/50); residual SD as tolerance."""
    outputs: dict[str, Any] = {}
    tolerance: dict[str, float] = {}
    for name in OUTPUTS:
        ok = [r for r in rows if r.get(name) is not None and r.get("decoder_accuracy") is not None]
        if len(ok) < 4:
            raise ValueError(f"too few sessions with {name} to fit ({len(ok)})")
        X = np.array([[1.0, r["decoder_accuracy"], r["lems"] / 50.0] for r in ok])
        y = np.array([r[name] for r in ok], dtype=float)
        coef, *_ = np.linalg.lstsq(X, y, rcond=None)
        resid = y - X @ coef
        sd = float(np.sqrt(np.sum(resid**2) / max(len(y) - 3, 1)))
        low, high = BOUNDS[name]
        outputs[name] = {"intercept": float(coef[0]), "decoder_accuracy": float(coef[1]),
                         "lems_fraction": float(coef[2]), "low": low, "high": high,
                         "residual_sd": sd, "n": len(y)}  # fmt: skip
        # tolerance: 2 residual SDs, at least the measurement's own resolution
        tolerance[name] = max(2.0 * sd, 0.05 if high <= 1.0 else 1.0)
    return {"outputs": outputs, "tolerance": tolerance}


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def fit_and_write(rows: Sequence[dict[str, Any]], path: Path, *, command: str) -> dict[str, Any]:
    model = fit(rows)
    doc = {
        "kind": "openbsi.recovery.session_surrogate",
        "version": 1,
        "provenance": (
            f"fitted {datetime.now(UTC).strftime('%Y-%m-%dT%H:%MZ')} on {len(rows)} real "
            f"closed-loop sessions of the virtual patient ({command})"
        ),
        "inputs": ["decoder_accuracy", "lems_fraction"],
        "outputs": model["outputs"],
        "tolerance": model["tolerance"],
        "sessions": [
            {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in r.items()
            }
            for r in rows
        ],
    }
    path.write_text(json.dumps(doc, indent=1))
    return doc
