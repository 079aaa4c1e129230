"""A fast reduced body: two legs (hip, knee, ankle) under a body-weight-support harness on a
treadmill. Steps are not scripted: a foot leaves the ground only when muscle torques flex the
leg enough to shorten it, and a step is counted when that foot lands ahead of where it left.

Anthropometry from Winter (Biomechanics and Motor Control of Human Movement): thigh 0.245 H,
shank 0.246 H, foot 0.152 H, ankle height 0.039 H; segment masses 10 %, 4.65 %, 1.45 % of M.
Maximal joint torques are reduced from healthy values for disuse atrophy (unconfirmed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from openbsi.patient.spinal import MUSCLES

G = 9.81
# Torque (N m) per unit activation on (hip, knee, ankle); + = hip flexion, knee flexion,
# ankle dorsiflexion, at REFERENCE_STRENGTH: healthy peak torques ~halved for chronic SCI
# atrophy (unconfirmed). A body of another strength scales them by strength / reference.
REFERENCE_STRENGTH = 0.5
MOMENT: dict[str, tuple[float, float, float]] = {
    "iliopsoas": (50.0, 0.0, 0.0),
    "rectus_femoris": (15.0, -20.0, 0.0),
    "vasti": (0.0, -70.0, 0.0),
    "hamstrings": (-50.0, 30.0, 0.0),
    "tibialis_anterior": (0.0, 0.0, 25.0),
    "gastrocnemius": (0.0, 10.0, -35.0),
    "soleus": (0.0, 0.0, -40.0),
}
HIP_EXTENSION_LIMIT_RAD = -0.35  # the belt drags a stance foot back to here, then it slides
JOINT_RANGE_RAD = ((-0.4, 1.6), (0.0, 2.2), (-0.6, 0.5))  # hip, knee, ankle
STANCE_RELEASE_NM = 12.0  # net hip-flexion torque that unloads a stance leg (unconfirmed)
# Push-off in double support (pre-swing): a plantarflexor moment rolls the leg over the
# forefoot, shifts its load to the other leg and lets the knee flex (healthy toe-off knee
# flexion ~0.6 rad, Winter). PUSH_OFF_FULL_NM of plantarflexion unloads the leg fully; the
# knee then takes PUSH_OFF_KNEE_RATIO of that moment as flexion (unconfirmed constants).
PUSH_OFF_FULL_NM = 20.0
PUSH_OFF_KNEE_RATIO = 0.5
CONTACT_TOL_M = 0.002
HARNESS_STIFFNESS_N_M = 5000.0
STANCE_KNEE_STIFFNESS_NM_RAD = 150.0  # closed-chain knee under partial load (unconfirmed)
HIP_DAMPING = 8.0  # N m s/rad, passive hip damping incl. the harness (unconfirmed)
# N m s/rad; the light foot under the 20-40 ms stretch-reflex loop oscillates (clonus-like)
# with less (unconfirmed).
ANKLE_DAMPING = 3.0
MIN_STEP_ADVANCE_M = 0.05  # a swing must move the foot forward at least this much to count
# Passive joint moments near the end of range rise exponentially (form of Riener & Edrich
# 1999, J Biomech 32:539; constants unconfirmed): (onset rad, scale N m, rate 1/rad). They
# keep swing within its normal span (Winter: peak swing knee flexion ~1.1 rad, hip ~0.5 rad)
# and leave JOINT_RANGE_RAD as a backstop only.
HIP_FLEXION_STOP = (0.6, 3.0, 8.0)
KNEE_FLEXION_STOP = (1.0, 2.0, 8.0)
# Stops toward the other end (onset, scale, rate; the moment opposes extension/plantarflexion):
# the knee's soft end at full extension (no hyperextension; knee passive moment rises steeply
# in the last few degrees, Riener & Edrich 1999), ankle dorsi- and plantarflexion ends.
# Ankle range with the stance foot flat on the belt (heel-off at ~0.2 rad dorsiflexion; Winter
# gait data, unconfirmed).
STANCE_ANKLE_RAD = (-0.3, 0.2)
KNEE_EXTENSION_STOP = (0.08, 2.0, 20.0)
ANKLE_DORSIFLEXION_STOP = (0.2, 2.0, 10.0)
ANKLE_PLANTARFLEXION_STOP = (-0.35, 2.0, 10.0)
# A swinging foot pinned on the belt flexes the knee no faster than this (peak knee velocity
# in normal gait ~5-7 rad/s, Winter, unconfirmed); past it the foot catches.
KNEE_GIVE_RAD_S = 7.0
# The light foot would otherwise flick between its limits; gait ankle velocities stay within
# ~5 rad/s (Winter), so a cap of this order bounds the unmodelled force-velocity (unconfirmed;
# the stance ankle's snap to a flat foot at touchdown also moves at most this fast).
ANKLE_V_MAX_RAD_S = 8.0


@dataclass
class LegState:
    q: list[float]  # hip, knee, ankle (rad)
    qd: list[float]
    stance: bool = True
    scuffed: bool = False
    lift_x_m: float = 0.0
    max_height_m: float = 0.0
    lift_t_s: float = 0.0


class ReducedBody:
    """Two legs, semi-implicit Euler at dt_s. step(act) advances one step with activations
    act[side][muscle] in [0, 1]; touchdown events are returned as dicts."""

    def __init__(
        self,
        *,
        mass_kg: float = 75.0,
        height_m: float = 1.78,
        body_weight_support: float = 0.4,
        belt_speed_m_s: float = 0.3,
        dt_s: float = 0.002,
        strength: float = REFERENCE_STRENGTH,
    ) -> None:
        if not 0.0 < strength <= 1.0:
            raise ValueError(f"strength must be in (0, 1], got {strength}")
        self._moment = {
            m: tuple(v * strength / REFERENCE_STRENGTH for v in arm) for m, arm in MOMENT.items()
        }
        if not 0.0 <= body_weight_support <= 1.0:
            raise ValueError(f"body_weight_support must be in [0, 1], got {body_weight_support}")
        if belt_speed_m_s < 0:
            raise ValueError(f"belt_speed_m_s must be >= 0, got {belt_speed_m_s}")
        self.dt_s = dt_s
        self.l_thigh = 0.245 * height_m
        self.l_shank = 0.246 * height_m
        self.l_foot = 0.152 * height_m
        self.h_ankle = 0.039 * height_m
        m_thigh, m_shank, m_foot = 0.1 * mass_kg, 0.0465 * mass_kg, 0.0145 * mass_kg
        # Inertia of the whole leg about the hip, of shank+foot about the knee, foot about ankle.
        self.i_hip = (
            m_thigh * (0.433 * self.l_thigh) ** 2
            + (m_shank + m_foot) * (self.l_thigh + 0.4 * self.l_shank) ** 2
            + 0.1
        )
        self.i_knee = m_shank * (0.433 * self.l_shank) ** 2 + m_foot * self.l_shank**2 + 0.05
        self.i_ankle = m_foot * (0.5 * self.l_foot) ** 2 + 0.005
        self.g_hip = G * (m_thigh * 0.433 * self.l_thigh + (m_shank + m_foot) * self.l_thigh)
        self.g_knee = G * (m_shank * 0.433 * self.l_shank + m_foot * self.l_shank)
        self.g_ankle = G * m_foot * 0.3 * self.l_foot
        self.coupling = (m_shank + m_foot) * self.l_thigh * 0.5 * self.l_shank
        self.belt = belt_speed_m_s
        self.bws = body_weight_support
        self.legs = {
            "left": LegState([0.0, 0.05, 0.0], [0.0, 0.0, 0.0]),
            "right": LegState([0.0, 0.05, 0.0], [0.0, 0.0, 0.0]),
        }
        self.t_s = 0.0
        self.pelvis_height_m = self._extent(self.legs["left"].q)
        # Spring harness: with no leg support the pelvis sinks until the spring carries the
        # unsupported weight (stiffness unconfirmed; a few kN/m is typical of such rigs).
        sag_m = (1.0 - body_weight_support) * mass_kg * G / HARNESS_STIFFNESS_N_M
        self.hang_height_m = self.pelvis_height_m - sag_m
        self.foot_height_m = {"left": 0.0, "right": 0.0}

    def _points(self, q: list[float]) -> tuple[float, float, float]:
        """(ankle x, sole depth under the ankle below the hip, lowest toe/heel depth)."""
        hip, knee, ankle = q
        shank = hip - knee
        ax = self.l_thigh * math.sin(hip) + self.l_shank * math.sin(shank)
        sole = self.l_thigh * math.cos(hip) + self.l_shank * math.cos(shank) + self.h_ankle
        foot = shank + ankle  # foot angle above horizontal (toe up when positive)
        toe = sole - self.h_ankle - 0.75 * self.l_foot * math.sin(foot)
        heel = sole - self.h_ankle + 0.25 * self.l_foot * math.sin(foot)
        return ax, sole, max(toe, heel, sole)

    def _extent(self, q: list[float]) -> float:
        """Depth of the sole under the ankle below the hip: what the leg supports."""
        return self._points(q)[1]

    def _knee_for_depth(self, q: list[float], depth_m: float) -> float:
        """Smallest knee flexion (>= the current one) that keeps the foot at `depth_m` below
        the hip: a foot pinned on the belt makes a flexing hip bend the knee (pre-swing)."""
        hip, knee, ankle = q
        lo = max(knee, hip)  # beyond the shank-vertical posture depth falls with knee flexion
        hi = JOINT_RANGE_RAD[1][1]
        if self._extent([hip, lo, ankle]) <= depth_m:
            return lo if self._extent([hip, knee, ankle]) > depth_m else knee
        for _ in range(14):
            mid = 0.5 * (lo + hi)
            if self._extent([hip, mid, ankle]) > depth_m:
                lo = mid
            else:
                hi = mid
        return hi

    @staticmethod
    def _stop_nm(q_rad: float, stop: tuple[float, float, float]) -> float:
        """Passive moment (N m, opposing flexion) of an exponential end-of-range stop."""
        onset_rad, scale_nm, rate = stop
        return scale_nm * math.expm1(rate * (q_rad - onset_rad)) if q_rad > onset_rad else 0.0

    @staticmethod
    def _low_stop_nm(q_rad: float, stop: tuple[float, float, float]) -> float:
        """Passive moment (N m, opposing extension) of a stop at the low end of the range."""
        onset_rad, scale_nm, rate = stop
        return scale_nm * math.expm1(rate * (onset_rad - q_rad)) if q_rad < onset_rad else 0.0

    def _torques(self, a: dict[str, float]) -> list[float]:
        tau = [0.0, 0.0, 0.0]
        for muscle in MUSCLES:
            level = a[muscle]
            if level > 0.0:
                arm = self._moment[muscle]
                tau[0] += arm[0] * level
                tau[1] += arm[1] * level
                tau[2] += arm[2] * level
        return tau

    def step(self, act: dict[str, dict[str, float]]) -> list[dict]:
        """One time step. Each leg is in stance (foot on the belt) or swing; a stance leg
        lifts off only in double support, when its net hip-flexion torque exceeds the release
        torque; a swing leg lands when its sole reaches the ground on the way down."""
        dt = self.dt_s
        events: list[dict] = []
        n_stance = sum(leg.stance for leg in self.legs.values())
        knee_start = {side: leg.q[1] for side, leg in self.legs.items()}
        for side, leg in self.legs.items():
            tau = self._torques(act[side])
            hip, knee, ankle = leg.q
            hd, kd, ad = leg.qd
            # A knee-extensor moment keeps a loaded leg straight and pushing: it must be
            # overcome too (so stance-phase quadriceps stimulation cannot lift the leg).
            release_nm = STANCE_RELEASE_NM + max(-tau[1], 0.0)
            if leg.stance and n_stance == 2 and tau[0] > release_nm:
                leg.stance = False
                n_stance -= 1
                leg.lift_x_m, leg.max_height_m, leg.lift_t_s = self._points(leg.q)[0], 0.0, self.t_s
                leg.scuffed = False
            if leg.stance:
                # The belt carries the foot back; the hip follows kinematically, then the foot
                # slides once the hip reaches its extension limit.
                leg_len = max(
                    self.l_thigh * math.cos(hip) + self.l_shank * math.cos(hip - knee), 0.3
                )
                hd = -self.belt / leg_len if hip > HIP_EXTENSION_LIMIT_RAD else 0.0
                hdd = 0.0
                # Closed chain: the loaded knee resists flexion (body weight on the foot),
                # less so when a push-off in double support has shifted the load away.
                push_nm = max(-tau[2], 0.0) if n_stance == 2 else 0.0
                loaded = 1.0 - min(push_nm / PUSH_OFF_FULL_NM, 1.0)
                g_knee = (
                    -loaded * STANCE_KNEE_STIFFNESS_NM_RAD * (knee - 0.05)
                    - 10.0 * kd
                    + PUSH_OFF_KNEE_RATIO * push_nm
                )
            else:
                passive = HIP_DAMPING * hd + 20.0 * hip + self.g_hip * math.sin(hip)
                passive += self._stop_nm(hip, HIP_FLEXION_STOP)
                hdd = (tau[0] - passive) / self.i_hip
                hd += hdd * dt
                # Gravity pulls the shank to vertical: the knee flexes when it points forward.
                g_knee = self.g_knee * math.sin(hip - knee)
            kdd = (
                tau[1]
                - 1.5 * kd
                - 8.0 * (knee - 0.05)
                - self._stop_nm(knee, KNEE_FLEXION_STOP)
                + self._low_stop_nm(knee, KNEE_EXTENSION_STOP)
                + g_knee
                + self.coupling * hdd
            ) / self.i_knee
            kd += kdd * dt
            add = (
                tau[2]
                - ANKLE_DAMPING * ad
                - 15.0 * (ankle + 0.1)
                - self._stop_nm(ankle, ANKLE_DORSIFLEXION_STOP)
                + self._low_stop_nm(ankle, ANKLE_PLANTARFLEXION_STOP)
            ) / self.i_ankle
            ad = max(min(ad + add * dt, ANKLE_V_MAX_RAD_S), -ANKLE_V_MAX_RAD_S)
            if leg.stance:
                # Closed chain: the loaded foot lies flat on the belt, so the ankle follows the
                # shank, until heel-off (or a plantarflexed landing) bounds it.
                shank = (hip + hd * dt) - (knee + kd * dt)
                flat = min(max(-shank, STANCE_ANKLE_RAD[0]), STANCE_ANKLE_RAD[1])
                ad = min(max((flat - ankle) / dt, -ANKLE_V_MAX_RAD_S), ANKLE_V_MAX_RAD_S)
            q = [hip + hd * dt, knee + kd * dt, ankle + ad * dt]
            for j, (lo, hi) in enumerate(JOINT_RANGE_RAD):
                if q[j] < lo:
                    q[j], vel = lo, 0.0
                elif q[j] > hi:
                    q[j], vel = hi, 0.0
                else:
                    vel = (hd, kd, ad)[j]
                leg.qd[j] = vel
            leg.q = q
        # The pelvis rests on the longest stance leg, or hangs in the harness.
        sole = {s: self._points(leg.q)[1] for s, leg in self.legs.items()}
        support = [sole[s] for s, leg in self.legs.items() if leg.stance]
        self.pelvis_height_m = max([self.hang_height_m, *support])
        self.t_s += dt
        for side, leg in self.legs.items():
            if leg.stance:
                self.foot_height_m[side] = max(self.pelvis_height_m - sole[side], 0.0)
                continue
            if sole[side] > self.pelvis_height_m:
                # The swinging foot meets the belt: it drags, and the knee gives way, at a
                # bounded rate; a foot that needs more is caught and the hip stops swinging.
                need = self._knee_for_depth(leg.q, self.pelvis_height_m)
                knee = max(min(need, knee_start[side] + KNEE_GIVE_RAD_S * dt), leg.q[1])
                leg.qd[1] = (knee - knee_start[side]) / dt
                leg.q = [leg.q[0], knee, leg.q[2]]
                if need > knee:
                    leg.qd[0] = min(leg.qd[0], 0.0)
                sole[side] = self._points(leg.q)[1]
                leg.scuffed = True
            x, sole_depth, lowest = self._points(leg.q)
            height = self.pelvis_height_m - sole_depth
            # Clearance counts the lowest of toe and heel: a dropped foot scuffs (clipped at 0).
            clearance = max(self.pelvis_height_m - lowest, 0.0)
            self.foot_height_m[side] = clearance
            leg.max_height_m = max(leg.max_height_m, clearance)
            descending = leg.qd[0] < 0.0 or self.t_s - leg.lift_t_s > 0.8
            if height <= CONTACT_TOL_M and descending and self.t_s - leg.lift_t_s > 0.1:
                leg.stance = True
                other = self.legs["right" if side == "left" else "left"]
                other_x = self._points(other.q)[0]
                if x - leg.lift_x_m >= MIN_STEP_ADVANCE_M:
                    events.append(
                        {
                            "t_s": self.t_s,
                            "side": side,
                            "length_m": x - other_x,
                            "clearance_m": leg.max_height_m,
                        }
                    )
        return events

    def step_block(self, activation: np.ndarray) -> list[dict]:
        """One step per column of the (14, n) pool activations (left muscles, then right)."""
        events: list[dict] = []
        for i in range(activation.shape[1]):
            events += self.step(as_activation(activation[:, i]))
        return events

    def snapshot(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for side, leg in self.legs.items():
            out[f"{side}_hip_rad"], out[f"{side}_knee_rad"], out[f"{side}_ankle_rad"] = leg.q
            out[f"{side}_foot_height_m"] = self.foot_height_m[side]
            out[f"{side}_foot_x_m"] = self._points(leg.q)[0]
        return out


def empty_activation() -> dict[str, dict[str, float]]:
    return {s: dict.fromkeys(MUSCLES, 0.0) for s in ("left", "right")}


def as_activation(vector: np.ndarray) -> dict[str, dict[str, float]]:
    """(14,) pool vector (left muscles then right) -> nested dict for ReducedBody.step."""
    n = len(MUSCLES)
    return {
        "left": {m: float(vector[i]) for i, m in enumerate(MUSCLES)},
        "right": {m: float(vector[n + i]) for i, m in enumerate(MUSCLES)},
    }
