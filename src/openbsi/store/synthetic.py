"""A synthetic session written through SessionRecorder, for tests, benchmarks and demos.

It exercises every record type with plausible values; it is not a physiological simulation
(the virtual patient lives in openbsi.patient).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from openbsi.signals.types import StreamInfo
from openbsi.states import STATES
from openbsi.store.session_log import SessionRecorder

SFREQ_HZ = 586.0  # WIMAGINE sampling rate (facts.md "Recording", Lorach et al. 2023)
TICK_S = 0.1  # one decode every 100 ms


def synthetic_info(n_channels: int = 64) -> StreamInfo:
    """Two implants (left/right), channels on a 4 mm x 4.5 mm pitch (facts.md "Recording")."""
    names, metas = [], []
    per_side = max(1, n_channels // 2)
    for i in range(n_channels):
        side = "left" if i < per_side else "right"
        k = i % per_side
        names.append(f"{side[0].upper()}{k:02d}")
        metas.append({"group": side, "x_mm": 4.0 * (k % 8), "y_mm": 4.5 * (k // 8)})
    return StreamInfo("synthetic", SFREQ_HZ, tuple(names), channel_meta=tuple(metas))


def record_synthetic_session(
    folder: Path,
    rng: np.random.Generator,
    *,
    seconds: float = 10.0,
    n_channels: int = 64,
    calibration_s: float = 2.0,
    close: bool = True,
) -> SessionRecorder:
    """Record `seconds` of session (calibration first, then closed loop); returns the recorder."""
    rec = SessionRecorder(
        folder,
        synthetic_info(n_channels),
        description="synthetic session",
        meta={"source": "synthetic", "seed": 0},
        subject={"subject_id": "S01", "sex": "F", "age": "P38Y"},
        study={"experimenter": ["Doe, Jane"], "institution": "OpenBSI test lab"},
    )
    rec.stimulation_electrodes(
        [
            {
                "index": i,
                "name": f"E{i:02d}",
                "root": "L1",
                "side": "left",
                "x_mm": -4.0,
                "y_mm": 6.0 * i,
                "area_mm2": 12.0,
                "material": "platinum-iridium",
            }
            for i in range(16)
        ]
    )
    n_ticks = round(seconds / TICK_S)
    per_tick = round(SFREQ_HZ * TICK_S)
    intent_state, intent_start = "rest", 0.0
    t_ns0 = 1_000_000_000
    for k in range(n_ticks):
        t_s = k * TICK_S
        # chunks of per_tick samples, stamped on the sample clock (58.6 samples per tick)
        first_s = k * per_tick / SFREQ_HZ
        rec.ecog(rng.normal(0.0, 20.0, (n_channels, per_tick)), first_s, t_ns0 + int(t_s * 1e9))
        if k % 10 == 0 and k:
            rec.intent(intent_start, t_s, intent_state, 0.0 if intent_state == "rest" else 1.0)
            intent_state, intent_start = STATES[int(rng.integers(len(STATES)))], t_s
        truth = intent_state if rng.random() < 0.8 else STATES[int(rng.integers(len(STATES)))]
        probs = rng.dirichlet(np.ones(len(STATES)))
        rec.decode(t_s, truth, probs, float(rng.random()))
        base = t_ns0 + int(t_s * 1e9)
        steps = np.cumsum(rng.integers(50_000, 400_000, 5))
        rec.latency(
            k,
            dict(
                zip(
                    ("acquired", "features", "decoded", "safety", "stimulated"),
                    (base + int(s) for s in steps),
                    strict=True,
                )
            ),
        )
        vetoed = bool(rng.random() < 0.05)
        rec.stim_command(
            t_s,
            k,
            truth,
            vetoed,
            bool(rng.random() < 0.1),
            [{"electrode": 3, "amplitude_ma": 2.0, "pulse_width_us": 300.0, "frequency_hz": 40.0}],
        )
        if vetoed:
            rec.safety_event(t_s, "max_amplitude", "amplitude_ma", 9.0, 8.0, "veto", 3)
        else:
            onsets = t_s + np.arange(4) / 40.0
            rec.pulses(onsets, np.full(4, 3), np.full(4, 2.0), np.full(4, 300.0))
        times = t_s + np.arange(10) / 100.0
        rec.kinematics(
            times,
            {"left_knee_rad": np.sin(times), "left_foot_height_m": 0.05 * np.abs(np.sin(times))},
        )
        if k % 7 == 6:
            rec.gait_event(
                t_s,
                "left" if k % 2 else "right",
                0.3 + 0.1 * rng.random(),
                0.05,
                bool(rng.random() < 0.1),
            )
    rec.intent(intent_start, n_ticks * TICK_S, intent_state, 1.0)
    rec.phase(0.0, calibration_s, "calibration")
    rec.phase(calibration_s, n_ticks * TICK_S, "closed_loop")
    rec.annotation(0.5, 1.0, "operator note")
    rec.summary("link", {"frames_sent": n_ticks, "frames_lost": 0, "faults": {}})
    rec.summary("run", {"seed": 0, "source": "synthetic", "nested": {"a": 1.5, "b": [1, 2]}})
    if close:
        rec.close()
    return rec
