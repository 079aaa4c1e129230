"""The MuJoCo body: myo-sim's MyoLeg (80 muscles, Rajagopal et al. 2016) under a spring-damper
body-weight-support harness, walking overground on a plane.

A small wrapper model includes MyoLeg's own asset, chain, tendon and muscle files (nothing is
copied) and hangs the pelvis from a harness trolley: a free forward slide, a vertical spring
that carries `body_weight_support` of the weight at standing height, and a pitch spring
(the harness keeps the trunk upright). The trunk, arms and head ride on the trolley as one mass.

The 14 spinal motor pools drive the model's muscles (pool -> muscles below); muscles without a
pool get no drive. Gait events come from foot-floor contacts only.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from openbsi.patient.spinal import MUSCLES

G = 9.81
STANDING_PELVIS_Z_M = 0.93  # MyoLeg pelvis height with straight legs, feet on the floor
TRUNK_MASS_FRACTION = 0.48  # trunk + arms + head share of body mass (Winter: ~0.5)
HARNESS_STIFFNESS_N_M = 5000.0  # vertical spring (unconfirmed, typical of BWS rigs)
HARNESS_DAMPING_N_S_M = 400.0
# Fore-aft: the harness and the patient's hands on the treadmill rails hold the trunk in place.
HARNESS_X_STIFFNESS_N_M = 3000.0  # unconfirmed
HARNESS_X_DAMPING_N_S_M = 300.0
BODY_STEP_S = 0.002  # the spinal model's grid; MuJoCo runs at its own, coarser step
TIMESTEP_S = 0.005  # MuJoCo step (implicitfast stays stable here; 2 steps per 10 ms block)
# Peak muscle force relative to MyoLeg's healthy adult; profiles set their own (atrophy after
# chronic SCI, profiles.BodyParams.muscle_strength). At this strength L1 trains alone cannot
# unload a weight-bearing leg; an S1 push-off before the hip train can (Wagner 2018 hotspots).
MUSCLE_STRENGTH = 0.5
# Passive joint moments near the end of range, exponential in the angle past an onset (form of
# Riener & Edrich 1999, J Biomech 32:539; onsets and constants unconfirmed, set from healthy
# gait spans, Winter: swing hip flexion ~0.5 rad, swing knee flexion ~1.1 rad, ankle
# -0.35..0.2 rad). (onset rad, scale N m, rate 1/rad, direction +1 = the stop resists motion
# toward larger angles). The knee's extension stop is the soft end at full extension (no
# hyperextension). MyoLeg's hard limits stay as backstops.
PASSIVE_STOPS: dict[str, tuple[tuple[float, float, float, float], ...]] = {
    "hip_flexion": ((0.6, 3.0, 8.0, 1.0), (-0.3, 3.0, 8.0, -1.0)),
    # knee flexion stop from 1.0 rad (4 N m, 12/rad): caps swing knee flexion near the healthy
    # ~1.1 rad (Winter) where 2 N m / 8 per rad from 1.1 let it reach ~1.45 (unconfirmed).
    "knee_angle": ((1.0, 4.0, 12.0, 1.0), (0.08, 2.0, 20.0, -1.0)),
    "ankle_angle": ((0.2, 2.0, 10.0, 1.0), (-0.35, 2.0, 10.0, -1.0)),
}
PASSIVE_MAX_NM = 200.0
# Passive ankle viscosity (N m s/rad), in place of MyoLeg's 0.5: with the stretch reflex on
# (gain 0.3) MyoLeg's light feet otherwise keep a ~9 Hz ankle clonus at rest (std 0.048 rad);
# at 4 the ankle std at rest falls to ~0.007 rad (20 s, bsi-walker). Same order as the reduced
# body's 3 N m s/rad; unconfirmed (modelling assumption).
ANKLE_DAMPING_NMS_RAD = 4.0  # cap, so a numerical overshoot cannot produce a huge kick
CONTACT_MIN_SWING_S = 0.1
CONTACT_HEIGHT_M = 0.005  # lowest foot point this close to the belt counts as contact
MIN_STEP_ADVANCE_M = 0.05
# A foot that leaves the belt again this soon after touching down is bouncing or sliding on
# landing, not starting a new step (stance lasts >= 0.5 s even in fast gait; Winter).
LANDING_SETTLE_S = 0.3
# Pool -> MyoLeg muscles (weights). Extra muscles sharing the pool's roots are driven with it:
# extensor digitorum/hallucis longus with tibialis anterior (deep peroneal, L4-L5), gluteus
# maximus with the hamstrings (L5-S2): a simplification, marked as such.
POOL_MUSCLES: dict[str, dict[str, float]] = {
    "iliopsoas": {"iliacus": 1.0, "psoas": 1.0},
    "rectus_femoris": {"recfem": 1.0},
    "vasti": {"vasint": 1.0, "vaslat": 1.0, "vasmed": 1.0},
    "hamstrings": {
        "bflh": 1.0,
        "bfsh": 1.0,
        "semimem": 1.0,
        "semiten": 1.0,
        "glmax1": 0.6,
        "glmax2": 0.6,
        "glmax3": 0.6,
    },
    "tibialis_anterior": {"tibant": 1.0, "edl": 0.5, "ehl": 0.5},
    "gastrocnemius": {"gasmed": 1.0, "gaslat": 1.0},
    "soleus": {"soleus": 1.0},
}
SIDE_SUFFIX = {"left": "_l", "right": "_r"}


def _wrapper_xml(body_weight_support: float, mass_kg: float) -> str:
    import myo_sim

    root = myo_sim.MODELS_DIR
    trunk_kg = TRUNK_MASS_FRACTION * mass_kg
    legs_kg = 40.0  # MyoLeg's own pelvis + legs (approximately; ~80 kg with its torso)
    # Spring preload: at standing height it carries body_weight_support of the total weight.
    springref = body_weight_support * (trunk_kg + legs_kg) * G / HARNESS_STIFFNESS_N_M
    leg = root / "leg" / "assets"
    return f"""
<mujoco model="openbsi-myolegs-harness">
  <compiler angle="radian" meshdir="{root}" autolimits="true"/>
  <include file="{leg / "myolegs_assets.xml"}"/>
  <option timestep="{TIMESTEP_S}" integrator="implicitfast"/>
  <worldbody>
    <body name="belt" pos="0 0 -0.05">
      <joint name="belt_x" type="slide" axis="1 0 0" damping="0"/>
      <geom name="floor" type="box" size="2000 1 0.05" contype="1" conaffinity="1" mass="500"
            friction="1 0.005 0.0001"/>
    </body>
    <body name="trolley" pos="0 0 {STANDING_PELVIS_Z_M}">
      <joint name="harness_x" type="slide" axis="1 0 0" stiffness="{HARNESS_X_STIFFNESS_N_M}"
             damping="{HARNESS_X_DAMPING_N_S_M}"/>
      <joint name="harness_z" type="slide" axis="0 0 1" stiffness="{HARNESS_STIFFNESS_N_M}"
             springref="{springref:.5f}" damping="{HARNESS_DAMPING_N_S_M}"/>
      <joint name="harness_pitch" type="hinge" axis="0 1 0" stiffness="300" damping="60"/>
      <inertial pos="0 0 0.3" mass="{trunk_kg:.3f}" diaginertia="1.5 1.5 0.3"/>
      <body name="legs_frame" euler="0 0 1.5707963">
        <include file="{leg / "myolegs_chain.xml"}"/>
      </body>
    </body>
  </worldbody>
  <include file="{leg / "myolegs_tendon.xml"}"/>
  <include file="{leg / "myolegs_muscle.xml"}"/>
  <actuator>
    <velocity name="belt_motor" joint="belt_x" kv="20000"/>
  </actuator>
</mujoco>
"""


@cache
def _compiled(body_weight_support: float, mass_kg: float, strength: float):
    import mujoco

    model = mujoco.MjModel.from_xml_string(_wrapper_xml(body_weight_support, mass_kg))
    # Disuse atrophy after chronic SCI: scale every muscle's peak isometric force.
    model.actuator_gainprm[:, 2] *= strength
    model.actuator_biasprm[:, 2] *= strength
    for suffix in SIDE_SUFFIX.values():
        model.dof_damping[model.joint(f"ankle_angle{suffix}").dofadr[0]] = ANKLE_DAMPING_NMS_RAD
    return model


class MujocoBody:
    """MyoLeg under a harness. step_vector(act) advances one 2 ms step with the 14 pool
    activations (left muscles then right, order of spinal.POOLS)."""

    def __init__(
        self,
        *,
        mass_kg: float = 75.0,
        body_weight_support: float = 0.4,
        belt_speed_m_s: float = 0.3,
        dt_s: float = BODY_STEP_S,
        strength: float = MUSCLE_STRENGTH,
    ) -> None:
        import mujoco

        if abs(dt_s - BODY_STEP_S) > 1e-12:
            raise ValueError(f"dt_s must be {BODY_STEP_S} for the MuJoCo body, got {dt_s}")
        if not 0.0 <= body_weight_support <= 1.0:
            raise ValueError(f"body_weight_support must be in [0, 1], got {body_weight_support}")
        if not 0.0 < strength <= 1.0:
            raise ValueError(f"strength must be in (0, 1], got {strength}")
        self._mj = mujoco
        if belt_speed_m_s < 0:
            raise ValueError(f"belt_speed_m_s must be >= 0, got {belt_speed_m_s}")
        self.model = _compiled(round(body_weight_support, 4), round(mass_kg, 2), round(strength, 3))
        self.data = mujoco.MjData(self.model)
        self.dt_s = BODY_STEP_S
        self.t_s = 0.0
        self._mj_t_s = 0.0
        m = self.model
        self._drive = np.zeros((m.nu, 2 * len(MUSCLES)))
        for s, suffix in enumerate(SIDE_SUFFIX.values()):
            for k, pool in enumerate(MUSCLES):
                for muscle, w in POOL_MUSCLES[pool].items():
                    self._drive[m.actuator(muscle + suffix).id, s * len(MUSCLES) + k] = w
        self._qadr = {
            f"{side}_{joint}_rad": int(m.joint(f"{name}{suffix}").qposadr[0])
            for side, suffix in SIDE_SUFFIX.items()
            for joint, name in (
                ("hip", "hip_flexion"),
                ("knee", "knee_angle"),
                ("ankle", "ankle_angle"),
            )
        }
        # Passive end-of-range stops: one row per (joint, stop), applied as generalized forces.
        rows = []
        for suffix in SIDE_SUFFIX.values():
            for joint, stops in PASSIVE_STOPS.items():
                j = m.joint(f"{joint}{suffix}")
                rows += [(int(j.qposadr[0]), int(j.dofadr[0]), *stop) for stop in stops]
        table = np.array(rows)
        self._stop_q = table[:, 0].astype(int)
        self._stop_dof = table[:, 1].astype(int)
        self._stop_onset, self._stop_scale, self._stop_rate, self._stop_dir = table[:, 2:].T
        self._floor = m.geom("floor").id
        mujoco.mj_forward(self.model, self.data)
        self._floor_top = float(self.data.geom_xpos[self._floor, 2] + m.geom_size[self._floor, 2])
        self._belt = m.actuator("belt_motor").id
        self._belt_speed = float(belt_speed_m_s)
        self._foot_geoms = {
            side: np.array(
                [
                    i
                    for i in range(m.ngeom)
                    if m.geom_contype[i]
                    and m.body(int(m.geom_bodyid[i])).name in (f"calcn{sfx}", f"toes{sfx}")
                ]
            )
            for side, sfx in SIDE_SUFFIX.items()
        }
        self._all_foot = np.concatenate([self._foot_geoms["left"], self._foot_geoms["right"]])
        self._n_left = len(self._foot_geoms["left"])
        self._is_box = m.geom_type[self._all_foot] == mujoco.mjtGeom.mjGEOM_BOX
        self._half = m.geom_size[self._all_foot, 1].copy()
        self._radius = m.geom_size[self._all_foot, 0].copy()
        self._box_half_z = m.geom_size[self._all_foot, 2].copy()
        self._calcn = {side: m.body(f"calcn{sfx}").id for side, sfx in SIDE_SUFFIX.items()}
        self._pelvis = m.body("pelvis").id
        self._swing = {
            side: {
                "airborne": False,
                "since": 0.0,
                "lift_x": 0.0,
                "max_h": 0.0,
                "landed": -1.0,
                "bounce": False,
            }
            for side in SIDE_SUFFIX
        }
        self.foot_height_m = {side: 0.0 for side in SIDE_SUFFIX}
        mujoco.mj_forward(self.model, self.data)
        self._n = 0

    def passive_moments_nm(self) -> np.ndarray:
        """Moment of each end-of-range stop (N m, signed along the joint's angle)."""
        past = self._stop_dir * (self.data.qpos[self._stop_q] - self._stop_onset)
        size = self._stop_scale * np.expm1(self._stop_rate * np.clip(past, 0.0, None))
        return self._stop_dir * np.minimum(size, PASSIVE_MAX_NM)

    def _feet_lowest(self) -> tuple[float, float]:
        """Lowest point of each foot's collision capsules/boxes above the floor top (m)."""
        ids = self._all_foot
        z = self.data.geom_xpos[ids, 2]
        axis_z = np.abs(self.data.geom_xmat[ids, 8])  # z component of each geom's local z axis
        low = np.where(self._is_box, z - self._box_half_z, z - axis_z * self._half - self._radius)
        low -= self._floor_top
        n_left = self._n_left
        return max(float(low[:n_left].min()), 0.0), max(float(low[n_left:].min()), 0.0)

    def step_block(self, activation: np.ndarray) -> list[dict]:
        """Advance one step per column of the (14, n) pool activations. The neural drive is
        held over the block (n <= 5, i.e. 10 ms; MyoLeg's muscles add their own 10-40 ms
        activation dynamics), then gait events are checked."""
        n = activation.shape[1]
        self.t_s += n * self.dt_s
        n_mj = int((self.t_s - self._mj_t_s) / TIMESTEP_S + 1e-9)
        if n_mj == 0:
            return []
        self.data.ctrl[:] = np.clip(self._drive @ activation.mean(axis=1), 0.0, 1.0)
        self.data.ctrl[self._belt] = -self._belt_speed  # the belt carries the feet backward
        self.data.qfrc_applied[:] = 0.0
        np.add.at(self.data.qfrc_applied, self._stop_dof, -self.passive_moments_nm())
        self._mj.mj_step(self.model, self.data, nstep=n_mj)
        self._mj_t_s += n_mj * TIMESTEP_S
        return self._gait_events()

    def _gait_events(self) -> list[dict]:
        events = []
        lowest = dict(zip(SIDE_SUFFIX, self._feet_lowest(), strict=True))
        # A foot touches the belt when its lowest point is within the contact margin.
        touching = {side: h <= CONTACT_HEIGHT_M for side, h in lowest.items()}
        for side, state in self._swing.items():
            height = lowest[side]
            self.foot_height_m[side] = height
            x = float(self.data.xpos[self._calcn[side], 0])
            if not state["airborne"]:
                if not touching[side]:
                    bounce = self.t_s - state["landed"] < LANDING_SETTLE_S
                    state.update(
                        airborne=True, since=self.t_s, lift_x=x, max_h=height, bounce=bounce
                    )
                continue
            state["max_h"] = max(state["max_h"], height)
            if touching[side] and self.t_s - state["since"] >= CONTACT_MIN_SWING_S:
                state["airborne"] = False
                other = "right" if side == "left" else "left"
                if state["bounce"]:
                    continue
                state["landed"] = self.t_s
                if x - state["lift_x"] >= MIN_STEP_ADVANCE_M:
                    other_x = float(self.data.xpos[self._calcn[other], 0])
                    events.append(
                        {
                            "t_s": self.t_s,
                            "side": side,
                            "length_m": x - other_x,
                            "clearance_m": state["max_h"],
                        }
                    )
            elif touching[side]:
                state["airborne"] = False  # a brief flicker, not a step
        return events

    def snapshot(self) -> dict[str, float]:
        q = self.data.qpos
        out = {name: float(q[adr]) for name, adr in self._qadr.items()}
        for side in SIDE_SUFFIX:
            out[f"{side}_foot_height_m"] = self.foot_height_m[side]
            out[f"{side}_foot_x_m"] = float(self.data.xpos[self._calcn[side], 0])
        out["pelvis_x_m"] = float(self.data.xpos[self._pelvis, 0])
        out["pelvis_z_m"] = float(self.data.xpos[self._pelvis, 2])
        return out
