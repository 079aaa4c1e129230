"""The whole virtual patient: a signal source (ECoG) and a stimulated body.

It receives pulses exactly as hardware emits them; gait events come only from the body's
response to those pulses (plus the residual voluntary drive an incomplete lesion spares).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import signal

from openbsi.patient.body_reduced import ReducedBody
from openbsi.patient.cortex import DEFAULT_FS_HZ, VirtualCortex
from openbsi.patient.gait import FAILED_CLEARANCE_M, GaitSummary, StepEvent, summarize
from openbsi.patient.intent import IntentScript
from openbsi.patient.paths import root_coupling
from openbsi.patient.profiles import DEFAULT_PROFILE, PatientProfile, get_profile
from openbsi.patient.proprioception import (
    IA_MAX_HZ,
    IA_REST_HZ,
    erased_fraction,
    natural_ia_hz,
)
from openbsi.patient.spinal import (
    MAIN_SEGMENT,
    MUSCLES,
    POOLS,
    REFLEX_DELAY_S,
    SpinalCord,
    selectivity_index,
)
from openbsi.patient.trace import TraceBuffer
from openbsi.signals.types import StreamInfo
from openbsi.states import REST, STATE_INDEX, STATES
from openbsi.stimulation.electrodes import PADDLE_16
from openbsi.stimulation.layouts import NodePlacement
from openbsi.stimulation.types import Electrode, Pulse

__all__ = ["GaitSummary", "StepEvent", "VirtualPatient"]

BODIES = ("reduced", "mujoco")
JOINT_KEYS = tuple(f"{s}_{j}_rad" for s in ("left", "right") for j in ("hip", "knee", "ankle"))
# Segmental stretch reflex below the lesion: excitation added to a pool by its own natural Ia
# input at the maximal rate. A stretch at 1 rad/s (+40 Hz Ia) then adds 0.2 x gain. Modelling
# default (unconfirmed): enough to resist fast stretch, well below what EES drives.
STRETCH_REFLEX_GAIN = 0.3
# Stretch-reflex loop delay: spindle -> cord -> muscle, about twice the one-way conduction
# (~16 ms in humans, Formento 2018), i.e. twice the EES reflex delay of each pool (20-40 ms;
# tendon-jerk latencies of ~20 ms at the quadriceps to ~35 ms at the soleus, unconfirmed).
STRETCH_REFLEX_DELAY_S = {m: 2.0 * d for m, d in REFLEX_DELAY_S.items()}
BODY_DT_S = 0.002
TRACE_EVERY = 5  # body steps per trace sample -> 100 Hz
ACTIVATION_TAU_S = 0.04  # excitation-contraction dynamics (Zajac 1989 order of magnitude)
EMG_TAU_S = 0.015  # smoothing of the rectified EMG envelope
TWITCH_AREA_S = 1.0 / 30.0  # one full-pool volley adds this much drive-seconds (unconfirmed)
VOLUNTARY_DELAY_S = 0.3  # voluntary drive follows the cue after a reaction time
VOLUNTARY_TAU_S = 0.2
# Muscles each intended movement recruits (agonist 1.0, synergists less); unconfirmed.
VOLUNTARY_PATTERN: dict[str, dict[str, float]] = {
    "hip": {"iliopsoas": 1.0, "rectus_femoris": 0.5, "tibialis_anterior": 0.3},
    "knee": {"vasti": 1.0, "rectus_femoris": 0.6},
    "ankle": {"tibialis_anterior": 1.0},
}


def _voluntary_matrix() -> np.ndarray:
    """(n_states, n_pools) intended drive pattern per state."""
    out = np.zeros((len(STATES), len(POOLS)))
    for k, state in enumerate(STATES):
        if state == REST:
            continue
        side, joint = state.split("_", 1)
        for muscle, w in VOLUNTARY_PATTERN[joint].items():
            out[k, POOLS.index(f"{side}_{muscle}")] = w
    return out


class VirtualPatient:
    def __init__(
        self,
        script: IntentScript,
        rng: np.random.Generator,
        *,
        profile: str | PatientProfile = DEFAULT_PROFILE,
        electrodes: tuple[Electrode, ...] = PADDLE_16,
        fs_hz: float = DEFAULT_FS_HZ,
        body: str = "reduced",
        day: int = 0,
        stretch_reflex_gain: float = STRETCH_REFLEX_GAIN,
        stimulator: str = "paddle",
        placements: Sequence[NodePlacement] | None = None,
    ) -> None:
        """stimulator: the path whose current reaches the roots ("paddle", "nodes",
        "transcutaneous"; patient/paths.py); placements: the nodes' (depth, tilt, gap)."""
        self.profile = get_profile(profile) if isinstance(profile, str) else profile
        if body not in BODIES:
            raise ValueError(f"body must be one of {BODIES}, got {body!r}")
        if not 0.0 <= stretch_reflex_gain <= 1.0:
            raise ValueError(f"stretch_reflex_gain must be in [0, 1], got {stretch_reflex_gain}")
        self.stretch_reflex_gain = stretch_reflex_gain
        self.script = script
        self.electrodes = tuple(electrodes)
        self.cortex = VirtualCortex(script, rng, fs_hz=fs_hz, profile=self.profile, day=day)
        self.info: StreamInfo = self.cortex.info
        sp = self.profile.spinal
        self.root_coupling = root_coupling(stimulator, self.electrodes, placements)
        self.spinal = SpinalCord(
            self.electrodes,
            threshold_scale=sp.threshold_scale,
            reflex_gain=sp.reflex_gain,
            root_coupling=self.root_coupling,
        )
        bp = self.profile.body
        if body == "mujoco":
            from openbsi.patient.body_mujoco import MujocoBody

            self.body: ReducedBody | MujocoBody = MujocoBody(
                mass_kg=bp.mass_kg,
                body_weight_support=bp.body_weight_support,
                belt_speed_m_s=bp.belt_speed_m_s,
                dt_s=BODY_DT_S,
                strength=bp.muscle_strength,
            )
        else:
            self.body = ReducedBody(
                mass_kg=bp.mass_kg,
                height_m=bp.height_m,
                body_weight_support=bp.body_weight_support,
                belt_speed_m_s=bp.belt_speed_m_s,
                dt_s=BODY_DT_S,
                strength=bp.muscle_strength,
            )
        lesion = self.profile.lesion
        gain = np.array([lesion.voluntary_gain(MAIN_SEGMENT[m]) for m in MUSCLES] * 2)
        self._voluntary = _voluntary_matrix() * gain[None, :]
        self._a_act = float(np.exp(-BODY_DT_S / ACTIVATION_TAU_S))
        self._a_emg = float(np.exp(-BODY_DT_S / EMG_TAU_S))
        self._a_vol = float(np.exp(-BODY_DT_S / VOLUNTARY_TAU_S))
        n = len(POOLS)
        self._zi_act = np.zeros((n, 1))
        self._zi_emg = np.zeros((n, 1))
        self._zi_vol = np.zeros((n, 1))
        self._n_steps = 0
        self._events: list[StepEvent] = []
        self._trace = TraceBuffer()
        self._trace_keys: tuple[str, ...] = ()
        self._snapshot: dict[str, float] = {}
        self._peaks: dict[str, float] = {}  # running maxima of the traced kinematics
        self.n_pulses_received = 0
        self._q_prev: np.ndarray | None = None
        self._natural_ia_hz = np.full(len(POOLS), IA_REST_HZ)
        self._ia_hz = self._natural_ia_hz.copy()
        # Recent Ia surplus per 10 ms trace block, newest first, for the delayed reflex.
        block_s = TRACE_EVERY * BODY_DT_S
        self._reflex_lag = np.array(
            [round(STRETCH_REFLEX_DELAY_S[m] / block_s) for m in MUSCLES] * 2, dtype=int
        )
        self._ia_surplus = np.zeros((int(self._reflex_lag.max()) + 1, len(POOLS)))
        self._pool_index = np.arange(len(POOLS))

    # -- signal source ---------------------------------------------------------------------
    def read_ecog(self, n_samples: int) -> np.ndarray:
        return self.cortex.read(n_samples)

    # -- stimulated body -------------------------------------------------------------------
    @property
    def t_s(self) -> float:
        """Body clock (s)."""
        return self._n_steps * BODY_DT_S

    def receive_pulses(self, pulses: Sequence[Pulse]) -> None:
        t_s, ia_share = self.spinal.receive(pulses)
        self.cortex.add_pulses(list(pulses))
        n = len(MUSCLES)
        self.cortex.add_evoked(
            t_s, {"left": ia_share[:, :n].mean(axis=1), "right": ia_share[:, n:].mean(axis=1)}
        )
        self.n_pulses_received += len(pulses)

    def _filter(self, x: np.ndarray, a: float, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return signal.lfilter([1.0 - a], [1.0, -a], x, axis=1, zi=zi)

    def advance(self, until_s: float) -> None:
        """Integrate spinal cord and body up to until_s with the pulses received so far."""
        n = round(until_s / BODY_DT_S) - self._n_steps
        if n <= 0:
            return
        t0 = self.t_s
        volleys = self.spinal.impulses(t0, BODY_DT_S, n).T  # (pools, n)
        drive, self._zi_act = self._filter(
            volleys * (TWITCH_AREA_S / BODY_DT_S), self._a_act, self._zi_act
        )
        emg, self._zi_emg = self._filter(
            volleys * (TWITCH_AREA_S / BODY_DT_S), self._a_emg, self._zi_emg
        )
        # Voluntary drive follows the intent after a reaction time (spared fraction only).
        t_intent = t0 + BODY_DT_S * np.arange(n) - VOLUNTARY_DELAY_S
        k = np.array([STATE_INDEX[s] for s in self.script.states_at(t_intent)])
        amp = self.script.amplitudes_at(t_intent)
        vol_target = (self._voluntary[k] * amp[:, None]).T
        vol, self._zi_vol = self._filter(vol_target, self._a_vol, self._zi_vol)
        # Antidromic collision: EES pulses of this window erase natural Ia spikes.
        rate_hz, share = self.spinal.ia_drive(t0, t0 + n * BODY_DT_S)
        erased = erased_fraction(rate_hz, share)
        excitation = drive + vol
        emg_env = 1.0 - np.exp(-(emg + vol))
        activation = np.zeros_like(excitation)
        i = 0
        while i < n:
            # Blocks end on the global trace grid, so the trace stays at a fixed rate.
            size = min(TRACE_EVERY - self._n_steps % TRACE_EVERY, n - i)
            # Stretch reflex: the Ia spikes that survive collision excite their own pool, one
            # loop delay later (the history advances once per 10 ms trace block).
            self._ia_hz = self._natural_ia_hz * (1.0 - erased)
            if self._n_steps % TRACE_EVERY == 0:
                self._ia_surplus = np.roll(self._ia_surplus, 1, axis=0)
                self._ia_surplus[0] = np.clip(self._ia_hz - IA_REST_HZ, 0.0, None) / IA_MAX_HZ
            surplus = self._ia_surplus[self._reflex_lag, self._pool_index]
            reflex = self.stretch_reflex_gain * surplus
            activation[:, i : i + size] = 1.0 - np.exp(
                -(excitation[:, i : i + size] + reflex[:, None])
            )
            for ev in self.body.step_block(activation[:, i : i + size]):
                self._events.append(
                    StepEvent(
                        t_s=ev["t_s"],
                        side=ev["side"],
                        length_m=ev["length_m"],
                        clearance_m=ev["clearance_m"],
                        failed=ev["clearance_m"] < FAILED_CLEARANCE_M,
                    )
                )
            self._n_steps += size
            i += size
            self._update_proprioception(size * BODY_DT_S)
            if self._n_steps % TRACE_EVERY == 0:
                self._record(activation[:, i - 1], emg_env[:, i - 1])

    def _update_proprioception(self, dt_s: float) -> None:
        snap = self._snapshot = self.body.snapshot()
        q = np.array([snap[k] for k in JOINT_KEYS])
        if self._q_prev is not None:
            self._natural_ia_hz = natural_ia_hz((q - self._q_prev) / dt_s)
        self._q_prev = q

    def _record(self, activation: np.ndarray, emg: np.ndarray) -> None:
        snap = self._snapshot
        if not self._trace_keys:
            self._trace_keys = (
                "t_s",
                *snap,
                *(f"emg_{p}" for p in POOLS),
                *(f"act_{p}" for p in POOLS),
                *(f"ia_{p}_hz" for p in POOLS),
            )
        row = np.concatenate([[self.t_s], list(snap.values()), emg, activation, self._ia_hz])
        for key, value in (
            ("knee_rad", max(snap["left_knee_rad"], snap["right_knee_rad"])),
            ("hip_flexion_rad", max(snap["left_hip_rad"], snap["right_hip_rad"])),
            ("foot_height_m", max(snap["left_foot_height_m"], snap["right_foot_height_m"])),
        ):
            self._peaks[key] = max(self._peaks.get(key, -np.inf), float(value))
        self._trace.append(row, self._trace_keys)

    def kinematic_peaks(self) -> dict[str, float | None]:
        """Largest knee flexion, hip flexion (rad) and foot height (m) of either leg so far."""
        keys = ("knee_rad", "hip_flexion_rad", "foot_height_m")
        return {f"peak_{k}": self._peaks.get(k) for k in keys}

    def selectivity(self) -> dict[str, float | None]:
        """Per muscle, the share of the motor pools recruited by the delivered pulses that
        went to it, on the electrode most selective for it (spinal.selectivity_index)."""
        spinal = self.spinal
        per_pulse = (
            spinal.recruited_by_electrode / np.maximum(spinal.pulses_by_electrode, 1)[:, None]
        )
        return selectivity_index(per_pulse)

    def step_events(self) -> list[StepEvent]:
        return list(self._events)

    def gait_summary(self) -> GaitSummary:
        return summarize(self._events, self.t_s)

    def trace(self) -> dict[str, np.ndarray]:
        """Body and muscle signals at 100 Hz: t_s, joint angles (rad), foot heights (m),
        emg_<side>_<muscle> (EMG envelope 0..1), act_<side>_<muscle> (activation 0..1)."""
        return self._trace.as_dict()

    def drain_trace(self) -> dict[str, np.ndarray]:
        """Like trace(), but hands the rows over and forgets them (flat memory for long runs)."""
        return self._trace.drain()
