"""`openbsi bench patient`: whole-patient speed (cortex + spinal cord + body) while stepping."""

from __future__ import annotations

from typing import Any

import numpy as np


def pair_electrodes(layout, find) -> dict[str, tuple[int, int]]:
    """(left, right) contact indices per root: L1 hip flexion, S1 push-off, L3 stance."""
    return {
        root: (find(layout, "left", root).index, find(layout, "right", root).index)
        for root in ("L1", "S1", "L3")
    }


def stepping(seconds: float, pairs: dict[str, tuple[int, int]]) -> list:
    """S1 push-off + L1 swing train per step, L3 on the stance side (session.stepping_schedule)."""
    from openbsi.patient.session import stepping_schedule

    return stepping_schedule(seconds, pairs["L1"], pairs["S1"], stance_electrodes=pairs["L3"])


def bench_patient(
    seconds: float = 60.0,
    profile: str = "complete-thoracic",
    body: str = "reduced",
    seed: int = 0,
) -> dict[str, Any]:
    """Whole-patient speed (cortex + spinal cord + body) while stepping (S1 push-off, L1 swing,
    L3 stance)."""
    from openbsi.patient.intent import walking_script
    from openbsi.patient.session import run_patient, train_source
    from openbsi.patient.virtual import VirtualPatient
    from openbsi.stimulation.electrodes import PADDLE_16, find_electrode

    rng_script, rng_patient = np.random.default_rng(seed).spawn(2)
    script = walking_script(seconds, rng_script)
    patient = VirtualPatient(script, rng_patient, profile=profile, body=body)
    schedule = stepping(seconds, pair_electrodes(PADDLE_16, find_electrode))
    result = run_patient(patient, seconds, pulse_source=train_source(schedule), keep_ecog=False)
    wall = result.total_wall_s
    parts = [
        {
            "name": name,
            "wall_s": round(w, 4),
            "realtime_factor": round(result.duration_s / w, 1) if w > 0 else None,
        }
        for name, w in result.wall_s.items()
    ]
    payload = {
        "simulated_s": result.duration_s,
        "wall_s": round(wall, 4),
        "realtime_factor": round(result.duration_s / wall, 1),
        "parts": parts,
        "cpu_s": round(result.cpu_s, 4),
        "cpu_realtime_factor": round(result.duration_s / max(result.cpu_s, 1e-9), 1),
        "body": body,
        "profile": profile,
        "steps": patient.gait_summary().steps,
        "channels": patient.info.n_channels,
        "fs_hz": patient.info.sfreq_hz,
    }
    return payload
