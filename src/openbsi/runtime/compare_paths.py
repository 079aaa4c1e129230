"""`openbsi compare paths`: the same patient, intent script and decoder through each path.

The paddle session calibrates the decoder (cued calibration, then closed-loop walking); the
nodes and transcutaneous sessions load that model file, so all three decode the same way and
walk the same walking script (same seed) on the same virtual patient, each through its own
layout, limits, walking program, backend and coupling to the roots. Every command of every
path goes through the link and the safety supervisor (runtime/live_session.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openbsi.runtime.clock import SimulatedClock
from openbsi.runtime.live_session import LiveSessionConfig, run_live_session
from openbsi.runtime.pseudo_online import Progress

PATH_ORDER: tuple[str, ...] = ("paddle", "nodes", "transcutaneous")
SAFETY_KEYS = (
    "executed_stale_commands",
    "executed_replayed_commands",
    "executed_forged_commands",
    "executed_out_of_limit_pulses",
    "watchdog_trips",
    "stimulator_failures",
)
_S_PER_H = 3600.0


@dataclass(frozen=True)
class CompareConfig:
    out_dir: Path
    profile: str = "bsi-walker"
    seconds: float = 60.0
    seed: int = 0
    calibration_s: float = 240.0
    body: str = "mujoco"
    paths: tuple[str, ...] = PATH_ORDER

    def __post_init__(self) -> None:
        unknown = [p for p in self.paths if p not in PATH_ORDER]
        if unknown or not self.paths:
            raise ValueError(f"paths must be a non-empty subset of {PATH_ORDER}, got {self.paths}")


def path_figures(metrics: dict[str, Any], seconds: float) -> dict[str, Any]:
    """One path's row of the comparison, from its session's metrics.json."""
    gait, stim = metrics["gait"], metrics.get("stimulator", {})
    safety_all = metrics.get("safety", {})
    stim_metrics = metrics.get("stimulation", {})
    charge = stim.get("charge_uc")
    row = {
        "steps": gait["steps"],
        "failed_steps": gait["failed_steps"],
        "speed_m_s": gait.get("speed_m_s"),
        "step_length_m": gait.get("step_length_m"),
        "selectivity": metrics.get("selectivity", {}),
        "charge_uc_per_h": None if charge is None else charge * _S_PER_H / seconds,
        "energy_j": stim.get("energy_j"),
        "pulses_requested": stim.get("pulses_requested"),
        "pulses_delivered": stim.get("pulses_delivered"),
        "refused": stim.get("refused", {}),
        "safety": {key: safety_all.get(key) for key in SAFETY_KEYS}
        | {
            "commands_vetoed": stim_metrics.get("commands_vetoed"),
            "commands_clamped": stim_metrics.get("commands_clamped"),
            "safety_events": stim_metrics.get("safety_events"),
        },
    }
    row["kinematics"] = metrics.get("kinematic_peaks", {})  # knee, hip flexion, foot height
    for extra in ("transmitter_duty", "nodes", "peak_skin_density_ma_cm2"):
        if extra in stim:
            row[extra] = stim[extra]
    return row


def compare_paths(config: CompareConfig, progress: Progress | None = None) -> dict[str, Any]:
    """Run one session per path; {"paths": {path: figures}} (shape in docs/virtual-patient.md)."""
    out = Path(config.out_dir)
    model: Path | None = None
    rows: dict[str, Any] = {}
    for path in config.paths:
        session = LiveSessionConfig(
            out_dir=out / path,
            seconds=config.seconds,
            stimulator=path,
            model=model,
            seed=config.seed,
            calibration_s=config.calibration_s,
            body=config.body,
            profile=config.profile,
        )
        result = run_live_session(session, progress, clock=SimulatedClock())
        if model is None:
            model = out / path / "model.obsi"
        metrics = json.loads(result.metrics_path.read_text())
        rows[path] = path_figures(metrics, config.seconds)
    return {"paths": rows}
