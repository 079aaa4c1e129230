"""The virtual lumbosacral cord: EES pulses -> dorsal-root recruitment -> motor pools -> drive.

Capogrosso et al. 2013 (J Neurosci): EES recruits large myelinated afferents in the dorsal
roots (Ia before group II); motoneurons are recruited trans-synaptically; direct motor-axon
recruitment needs much higher amplitudes. Recruitment is a sigmoid of the current reaching
each root, which falls off with the distance between contact and dorsal-root entry zone.
Formento et al. 2018: conduction delays ~16 ms in humans; afferent refractory period ~1.6 ms.
Root -> muscle innervation follows standard myotome charts (iliopsoas L1-L3, rectus femoris /
vasti L2-L4, hamstrings L5-S2, tibialis anterior L4-L5, gastrocnemius/soleus S1-S2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from openbsi.stimulation.types import Electrode, Pulse

ROOTS: tuple[str, ...] = ("L1", "L2", "L3", "L4", "L5", "S1", "S2")
SIDES: tuple[str, ...] = ("left", "right")
FIBRES: tuple[str, ...] = ("Ia", "II", "motor")
# Dorsal-root entry zones along the paddle (mm from its rostral tip), placed under the rows
# that openbsi.stimulation.electrodes assigns to each root (lateral row first).
ROOT_Y_MM: dict[str, float] = {
    "L1": 5.0,
    "L2": 12.5,
    "L3": 19.0,
    "L4": 30.5,
    "L5": 42.0,
    "S1": 53.0,
    "S2": 59.0,
}
ROOT_X_MM = 4.0  # entry zones lie laterally, under the lateral columns of the paddle
CSF_DEPTH_MM = 3.0  # contact-to-root distance through CSF (unconfirmed, typical)
SPREAD_MM = 4.0  # length constant of the current's fall-off along the cord (unconfirmed)
# Half-activation currents (mA) at the reference pulse width for a root right under the contact.
# Ordering Ia < II << motor from Capogrosso 2013; the numbers are modelling defaults.
I50_MA: dict[str, float] = {"Ia": 2.0, "II": 3.2, "motor": 9.0}
RELATIVE_SPREAD = 0.15  # sigmoid width as a fraction of I50 (same for every fibre type)
CHRONAXIE_US = 150.0  # strength-duration of large myelinated fibres (unconfirmed, typical)
REFERENCE_PW_US = 300.0

MUSCLES: tuple[str, ...] = (
    "iliopsoas",
    "rectus_femoris",
    "vasti",
    "hamstrings",
    "tibialis_anterior",
    "gastrocnemius",
    "soleus",
)
# Share of each muscle's motor pool innervated through each root (myotome charts).
INNERVATION: dict[str, dict[str, float]] = {
    "iliopsoas": {"L1": 0.4, "L2": 0.4, "L3": 0.2},
    "rectus_femoris": {"L2": 0.3, "L3": 0.4, "L4": 0.3},
    "vasti": {"L2": 0.25, "L3": 0.4, "L4": 0.35},
    "hamstrings": {"L5": 0.35, "S1": 0.4, "S2": 0.25},
    "tibialis_anterior": {"L4": 0.6, "L5": 0.4},
    "gastrocnemius": {"S1": 0.6, "S2": 0.4},
    "soleus": {"S1": 0.5, "S2": 0.5},
}
MAIN_SEGMENT: dict[str, str] = {
    "iliopsoas": "L2",
    "rectus_femoris": "L3",
    "vasti": "L3",
    "hamstrings": "S1",
    "tibialis_anterior": "L4",
    "gastrocnemius": "S1",
    "soleus": "S1",
}
# Latency of the EES-evoked reflex response per muscle (s): ~16 ms conduction (Formento 2018),
# shorter for proximal, longer for distal muscles (posterior-root reflex latencies, unconfirmed).
REFLEX_DELAY_S: dict[str, float] = {
    "iliopsoas": 0.010,
    "rectus_femoris": 0.012,
    "vasti": 0.012,
    "hamstrings": 0.015,
    "tibialis_anterior": 0.018,
    "gastrocnemius": 0.020,
    "soleus": 0.020,
}
DIRECT_MOTOR_ADVANCE_S = 0.003  # a direct motor response skips the afferent path and synapse
GROUP_II_EXTRA_S = 0.002  # group II acts through interneurons (one more synapse)
GROUP_II_WEIGHT = 0.5  # group II excitation relative to Ia (unconfirmed)
# Afferent volley (share of the pool's afferents, Ia + weighted II) -> fraction of the motor
# pool recruited: 1 - exp(-gain * max(volley - threshold, 0)). Motoneurons need converging
# input, so a volley from a minor root alone recruits little (values unconfirmed).
SYNAPTIC_GAIN = 3.0
SYNAPTIC_THRESHOLD = 0.2


def _sigmoid01(current_ma: np.ndarray, i50_ma: float) -> np.ndarray:
    """Sigmoid recruitment, shifted and scaled so that 0 mA -> 0 and large currents -> 1."""
    s = RELATIVE_SPREAD * i50_ma
    zero = 1.0 / (1.0 + np.exp(i50_ma / s))
    raw = 1.0 / (1.0 + np.exp(-(np.asarray(current_ma, dtype=float) - i50_ma) / s))
    return np.clip((raw - zero) / (1.0 - zero), 0.0, 1.0)


def strength_duration(pulse_width_us: np.ndarray | float) -> np.ndarray:
    """Threshold multiplier vs pulse width (Lapicque): (1 + c/pw) / (1 + c/pw_ref)."""
    pw = np.asarray(pulse_width_us, dtype=float)
    if np.any(pw <= 0):
        raise ValueError(f"pulse_width_us must be > 0, got {pw.min()}")
    return (1.0 + CHRONAXIE_US / pw) / (1.0 + CHRONAXIE_US / REFERENCE_PW_US)


@dataclass(frozen=True)
class RootSite:
    root: str
    side: str
    x_mm: float
    y_mm: float


ROOT_SITES: tuple[RootSite, ...] = tuple(
    RootSite(r, s, -ROOT_X_MM if s == "left" else ROOT_X_MM, ROOT_Y_MM[r])
    for s in SIDES
    for r in ROOTS
)


def coupling(electrodes: Sequence[Electrode]) -> np.ndarray:
    """(n_electrodes, n_sites) fraction of a contact's current that reaches each root site."""
    ex = np.array([e.x_mm for e in electrodes])[:, None]
    ey = np.array([e.y_mm for e in electrodes])[:, None]
    sx = np.array([s.x_mm for s in ROOT_SITES])[None, :]
    sy = np.array([s.y_mm for s in ROOT_SITES])[None, :]
    d = np.hypot(ex - sx, ey - sy)
    # Distance beyond the CSF layer attenuates exponentially (unconfirmed functional form).
    return np.exp(-(np.hypot(d, CSF_DEPTH_MM) - CSF_DEPTH_MM) / SPREAD_MM)


def recruitment(
    effective_ma: np.ndarray,
    threshold_scale: float = 1.0,
    fibre_gain: dict[str, float] | None = None,
) -> dict[str, np.ndarray]:
    """Fraction of each fibre type recruited by the current reaching a root (reference PW);
    fibre_gain scales the current each fibre type feels (a path's geometry, patient/paths.py)."""
    gain = fibre_gain or {}
    return {
        f: _sigmoid01(effective_ma * gain.get(f, 1.0), I50_MA[f] * threshold_scale) for f in FIBRES
    }


def recruitment_curves(
    amplitude_ma: np.ndarray, pulse_width_us: float = REFERENCE_PW_US, threshold_scale: float = 1.0
) -> dict[str, dict[str, np.ndarray]]:
    """Per root (contact right over it): fraction of Ia, II, motor fibres vs amplitude."""
    amp = np.asarray(amplitude_ma, dtype=float) / strength_duration(pulse_width_us)
    curves = recruitment(amp, threshold_scale)
    return {root: {f: curves[f].copy() for f in FIBRES} for root in ROOTS}


def innervation_matrix() -> np.ndarray:
    """(n_sites, n_pools) weights from each root site to each side's motor pools."""
    n_m = len(MUSCLES)
    w = np.zeros((len(ROOT_SITES), 2 * n_m))
    for i, site in enumerate(ROOT_SITES):
        side_offset = 0 if site.side == "left" else n_m
        for m, muscle in enumerate(MUSCLES):
            w[i, side_offset + m] = INNERVATION[muscle].get(site.root, 0.0)
    return w


POOLS: tuple[str, ...] = tuple(f"{s}_{m}" for s in SIDES for m in MUSCLES)


class SpinalCord:
    """Turns pulses into delayed motor-pool impulses (fraction of pool recruited per pulse)."""

    def __init__(
        self,
        electrodes: Sequence[Electrode],
        *,
        threshold_scale: float = 1.0,
        reflex_gain: float = 1.0,
        root_coupling: object | None = None,
    ) -> None:
        """root_coupling: a patient.paths.RootCoupling (None: a paddle over the CSF)."""
        if threshold_scale <= 0:
            raise ValueError(f"threshold_scale must be > 0, got {threshold_scale}")
        self.electrodes = tuple(electrodes)
        if root_coupling is None:
            self._coupling = coupling(self.electrodes)
            self._fibre_gain: dict[str, float] | None = None
            self._waveform_factor = 1.0
        else:
            self._coupling = np.asarray(root_coupling.coupling, dtype=float)
            if self._coupling.shape != (len(self.electrodes), len(ROOT_SITES)):
                raise ValueError(
                    f"root_coupling must be ({len(self.electrodes)}, {len(ROOT_SITES)}), "
                    f"got {self._coupling.shape}"
                )
            self._fibre_gain = dict(root_coupling.fibre_gain)
            self._waveform_factor = float(root_coupling.threshold_factor)
        self._w = innervation_matrix()
        self._threshold_scale = threshold_scale
        self._reflex_gain = reflex_gain
        delays = np.array([REFLEX_DELAY_S[m] for m in MUSCLES] * 2)
        self._reflex_delay_s = delays
        self._pend_t = np.zeros(0)
        self._pend_pool = np.zeros(0, dtype=int)
        self._pend_v = np.zeros(0)
        self.n_pulses = 0
        # Per electrode: pulses received and each pool's recruited fraction summed over them
        # (reflex + direct), for selectivity (target pool's share of all recruited pools).
        self.pulses_by_electrode = np.zeros(len(self.electrodes))
        self.recruited_by_electrode = np.zeros((len(self.electrodes), 2 * len(MUSCLES)))
        # Recent pulses: onset and the share of each pool's Ia afferents they recruited.
        self._recent_t = np.zeros(0)
        self._recent_ia = np.zeros((0, 2 * len(MUSCLES)))

    def evoked(
        self, pulses: Sequence[Pulse]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per pulse: (t_s, fraction of each pool recruited through its afferents, fraction
        recruited directly, share of each pool's Ia afferents recruited)."""
        n_e = len(self.electrodes)
        idx = np.array([p.electrode for p in pulses], dtype=int)
        if np.any((idx < 0) | (idx >= n_e)):
            raise ValueError(
                f"pulse electrode must be in [0, {n_e - 1}], got {idx.min()}..{idx.max()}"
            )
        amp = np.array([p.amplitude_ma for p in pulses])
        if np.any(amp < 0):
            raise ValueError(f"pulse amplitude_ma must be >= 0, got {amp.min()}")
        pw = np.array([p.pulse_width_us for p in pulses])
        t_s = np.array([p.t_ns for p in pulses], dtype=float) * 1e-9
        sd = strength_duration(pw) * self._waveform_factor
        eff = (amp / sd)[:, None] * self._coupling[idx]  # (n_p, n_sites)
        rec = recruitment(eff, self._threshold_scale, self._fibre_gain)
        afferent = (rec["Ia"] + GROUP_II_WEIGHT * rec["II"]) @ self._w
        drive = np.clip(self._reflex_gain * afferent - SYNAPTIC_THRESHOLD, 0.0, None)
        reflex = 1.0 - np.exp(-SYNAPTIC_GAIN * drive)
        direct = np.clip(rec["motor"] @ self._w, 0.0, 1.0)
        ia_share = (rec["Ia"] @ self._w) / np.maximum(self._w.sum(axis=0), 1e-9)
        return t_s, reflex, direct, np.clip(ia_share, 0.0, 1.0)

    def receive(self, pulses: Sequence[Pulse]) -> tuple[np.ndarray, np.ndarray]:
        """Queue the motor responses to these pulses; returns (onset t_s, Ia share per pool)
        for each pulse (what the cortex's evoked responses and collision models need)."""
        if len(pulses) == 0:
            return np.zeros(0), np.zeros((0, 2 * len(MUSCLES)))
        t_s, reflex, direct, ia_share = self.evoked(pulses)
        self.n_pulses += len(pulses)
        idx = np.array([p.electrode for p in pulses], dtype=int)
        np.add.at(self.pulses_by_electrode, idx, 1.0)
        np.add.at(self.recruited_by_electrode, idx, reflex * (1.0 - direct) + direct)
        keep_recent = self._recent_t >= t_s.min() - 1.0
        self._recent_t = np.concatenate([self._recent_t[keep_recent], t_s])
        self._recent_ia = np.concatenate([self._recent_ia[keep_recent], ia_share])
        n_pools = reflex.shape[1]
        pools = np.tile(np.arange(n_pools), len(t_s))
        # A pool recruited directly is refractory to the reflex volley of the same pulse.
        reflex_part = (reflex * (1.0 - direct)).ravel()
        t_reflex = (t_s[:, None] + self._reflex_delay_s[None, :]).ravel()
        t_direct = (t_s[:, None] + self._reflex_delay_s[None, :] - DIRECT_MOTOR_ADVANCE_S).ravel()
        keep_r = reflex_part > 1e-4
        keep_d = direct.ravel() > 1e-4
        self._pend_t = np.concatenate([self._pend_t, t_reflex[keep_r], t_direct[keep_d]])
        self._pend_pool = np.concatenate([self._pend_pool, pools[keep_r], pools[keep_d]])
        self._pend_v = np.concatenate([self._pend_v, reflex_part[keep_r], direct.ravel()[keep_d]])
        return t_s, ia_share

    def ia_drive(self, t0_s: float, t1_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Per pool over [t0, t1): (EES pulse rate that recruits its Ia fibres, Hz; mean share
        of its Ia fibres recruited per such pulse). Feeds the antidromic-collision model."""
        n = 2 * len(MUSCLES)
        span = max(t1_s - t0_s, 1e-9)
        inside = (self._recent_t >= t0_s) & (self._recent_t < t1_s)
        if not inside.any():
            return np.zeros(n), np.zeros(n)
        ia = self._recent_ia[inside]
        active = ia > 0.01
        count = active.sum(axis=0)
        mean = np.where(count > 0, (ia * active).sum(axis=0) / np.maximum(count, 1), 0.0)
        return count / span, np.clip(mean, 0.0, 1.0)

    def impulses(self, t0_s: float, dt_s: float, n_steps: int) -> np.ndarray:
        """(n_steps, n_pools) recruited fraction arriving in each step of [t0, t0 + n dt);
        late arrivals (before t0) land in the first step. Consumes them."""
        out = np.zeros((n_steps, len(POOLS)))
        t1 = t0_s + n_steps * dt_s
        due = self._pend_t < t1
        if due.any():
            k = np.clip(((self._pend_t[due] - t0_s) / dt_s).astype(int), 0, n_steps - 1)
            np.add.at(out, (k, self._pend_pool[due]), self._pend_v[due])
            self._pend_t = self._pend_t[~due]
            self._pend_pool = self._pend_pool[~due]
            self._pend_v = self._pend_v[~due]
        return out


def layout_recruitment_curves(
    amplitude_ma: np.ndarray,
    electrodes: Sequence[Electrode],
    *,
    side: str = "left",
    pulse_width_us: float = REFERENCE_PW_US,
    threshold_scale: float = 1.0,
) -> dict[str, dict[str, object]]:
    """Per root of `side`: recruitment vs amplitude through the contact that reaches it best.

    Returns {root: {"electrode": name, "coupling": c, "Ia": [...], "II": [...], "motor": [...]}}.
    """
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {side!r}")
    amp = np.asarray(amplitude_ma, dtype=float)
    c = coupling(electrodes)
    out: dict[str, dict[str, object]] = {}
    for j, site in enumerate(ROOT_SITES):
        if site.side != side:
            continue
        best = int(np.argmax(c[:, j]))
        eff = amp * c[best, j] / strength_duration(pulse_width_us)
        rec = recruitment(eff, threshold_scale)
        out[site.root] = {
            "electrode": electrodes[best].name,
            "coupling": float(c[best, j]),
            **{f: rec[f] for f in FIBRES},
        }
    return out


def selectivity_index(recruited: np.ndarray) -> dict[str, float | None]:
    """Per muscle: the best electrode's share of its recruited motor pools that goes to this
    muscle (mean of both sides), from (n_electrodes, n_pools) recruited fractions. None when
    no electrode recruits the muscle on either side (a share that cannot be computed)."""
    rec = np.asarray(recruited, dtype=float)
    totals = rec.sum(axis=1)
    out: dict[str, float | None] = {}
    n_m = len(MUSCLES)
    for m, muscle in enumerate(MUSCLES):
        sides = []
        for offset in (0, n_m):
            col = rec[:, offset + m]
            ok = (totals > 1e-9) & (col > 1e-3 * np.maximum(totals, 1e-9))
            if ok.any():
                sides.append(float(np.max(col[ok] / totals[ok])))
        out[muscle] = float(np.mean(sides)) if sides else None
    return out
