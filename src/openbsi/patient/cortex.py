"""The virtual cortex: 64-channel epidural ECoG generated, chunk by chunk, from an intent script.

Signal = aperiodic background x broadband gain  (Miller 2009: movement raises broadband power
         without changing its shape; the gain is somatotopic -> high-gamma on tuned contacts)
       + beta rhythm x (1 - drop)               (Miller 2012: diffuse, stronger contralateral)
       + line noise + amplifier noise.
Modulation starts a reaction time (0.2-0.4 s) after the cue and ramps with a time constant;
each block draws its own effort and tuning jitter (trial-to-trial variability), and slow
non-task fluctuations of broadband power keep the decoding problem honest.
"""

from __future__ import annotations

import numpy as np

from openbsi.patient.cortex_evoked import (
    SEP_LATENCY_RANGE_S,
    FutureWaveform,
    adapted,
    sep_kernel,
)
from openbsi.patient.cortex_grid import (
    GridLayout,
    bilateral_grid,
    drift,
    spatial_mixing,
    tuned_to,
    tuning_maps,
)
from openbsi.patient.cortex_sim import (
    FilteredNoiseStream,
    SlowGainStream,
    aperiodic_sos,
    beta_sos,
    knee_fir,
    line_noise,
)
from openbsi.patient.intent import MOVEMENTS, IntentScript
from openbsi.patient.profiles import DEFAULT_PROFILE, PatientProfile, get_profile
from openbsi.signals.types import StreamInfo
from openbsi.states import REST
from openbsi.stimulation.types import Pulse

DEFAULT_FS_HZ = 586.0  # Lorach 2023
VOLUME_CONDUCTION_SIGMA_MM = 3.0  # spatial smoothing of the background (unconfirmed)
BETA_SIGMA_MM = 10.0  # beta is spatially broad (Miller 2012)
SLOW_TAU_S = 1.0
# Shape of one EES artifact as sampled by the amplifier: the biphasic pulse (shorter than a
# sample) leaves a sharp deflection, an opposite overshoot and an exponential recovery.
ARTIFACT_RECOVERY_SAMPLES = 3.0
ARTIFACT_KERNEL = np.concatenate(
    [[1.0, -0.6], -0.25 * np.exp(-np.arange(10) / ARTIFACT_RECOVERY_SAMPLES)]
)


class VirtualCortex:
    """Streaming ECoG source for an intent script. read(n) -> (64, n) microvolts."""

    def __init__(
        self,
        script: IntentScript,
        rng: np.random.Generator,
        *,
        fs_hz: float = DEFAULT_FS_HZ,
        profile: PatientProfile | None = None,
        day: int = 0,
        layout: GridLayout | None = None,
        bad_channels: tuple[str, ...] | None = None,
    ) -> None:
        if not np.isfinite(fs_hz) or not 200.0 <= fs_hz <= 10000.0:
            raise ValueError(f"fs_hz must be in [200, 10000] Hz, got {fs_hz}")
        if day < 0:
            raise ValueError(f"day must be >= 0, got {day}")
        self.script = script
        self.profile = profile if profile is not None else get_profile(DEFAULT_PROFILE)
        self.fs_hz = float(fs_hz)
        self.day = int(day)
        self.layout = layout if layout is not None else bilateral_grid()
        self._rng = rng
        p = self.profile.cortex
        n = self.layout.n_channels
        # The patient's anatomy is fixed by the profile; sessions only change the noise.
        anatomy = np.random.default_rng(self.profile.anatomy_seed)
        shift, self._impedance_gain, tuning_gain = drift(
            self.profile.anatomy_seed,
            self.day,
            n,
            tau_days=p.drift_tau_days,
            tuning_sd=p.tuning_drift_sd,
            hotspot_sd_mm=p.hotspot_drift_sd_mm,
            impedance_sd=p.impedance_drift_sd,
        )
        w_hg, self._w_beta = tuning_maps(self.layout, anatomy, p.ipsi_fraction, shift)
        self._w_hg = w_hg * tuning_gain
        self.tuned_to = tuned_to(self._w_hg)
        self._line_amp = p.line_uv * anatomy.uniform(0.7, 1.3, n)
        self._line_phase = anatomy.uniform(0, 2 * np.pi, n)
        self.bad_channels = self._pick_bad(bad_channels, anatomy, p.n_bad_channels)
        self._bad = np.isin(np.array(self.layout.names), self.bad_channels)
        self._background = FilteredNoiseStream(
            aperiodic_sos(self.fs_hz, p.knee_hz),
            n,
            spatial_mixing(self.layout, VOLUME_CONDUCTION_SIGMA_MM),
            fir=knee_fir(self.fs_hz, p.knee_hz),
        )
        self._beta = FilteredNoiseStream(
            beta_sos(self.fs_hz), n, spatial_mixing(self.layout, BETA_SIGMA_MM, shared=0.2)
        )
        self._slow = SlowGainStream(
            n, self.fs_hz, SLOW_TAU_S, p.slow_fluctuation, spatial_mixing(self.layout, 8.0)
        )
        self._draw_blocks(rng)
        self._sample = 0
        # Per-channel artifact gain: mostly common polarity, varying with contact position.
        self._artifact_gain = anatomy.uniform(0.5, 1.5, n)
        self._artifact = FutureWaveform()  # common far-field artifact
        # Evoked responses per hemisphere, weighted toward the medial (leg) contacts.
        self._evoked = {"left": FutureWaveform(), "right": FutureWaveform()}
        self._sep_latency_s = float(anatomy.uniform(*SEP_LATENCY_RANGE_S))
        self._sep_kernel = sep_kernel(self.fs_hz, self._sep_latency_s)
        dist = np.abs(self.layout.x_mm)
        medial = np.exp(-dist / 20.0)
        groups = np.array(self.layout.group)
        self._evoked_weight = {h: np.where(groups == h, medial, 0.0) for h in ("left", "right")}
        self._last_volley_s = {"left": -np.inf, "right": -np.inf}
        self.late_pulses = 0  # pulses whose artifact fell on samples already read
        self.info = StreamInfo(
            name=f"virtual-ecog-{self.profile.name}",
            sfreq_hz=self.fs_hz,
            channel_names=self.layout.names,
            unit="uV",
            channel_meta=tuple(
                {
                    "group": self.layout.group[i],
                    "x_mm": float(self.layout.x_mm[i]),
                    "y_mm": float(self.layout.y_mm[i]),
                    "location": f"{self.layout.group[i]} leg motor cortex (epidural)",
                    "tuned_to": self.tuned_to[i],
                }
                for i in range(n)
            ),
        )

    # -- construction helpers -------------------------------------------------------------
    def _pick_bad(
        self, names: tuple[str, ...] | None, anatomy: np.random.Generator, n_bad: int
    ) -> tuple[str, ...]:
        if names is not None:
            unknown = [c for c in names if c not in self.layout.names]
            if unknown:
                raise ValueError(f"bad_channels must name channels of the grid, got {unknown}")
            return tuple(names)
        if n_bad == 0:
            return ()
        idx = anatomy.choice(self.layout.n_channels, size=n_bad, replace=False)
        return tuple(self.layout.names[int(i)] for i in sorted(idx))

    def _draw_blocks(self, rng: np.random.Generator) -> None:
        """Per block: reaction time, effort variability, per-contact tuning jitter."""
        p = self.profile.cortex
        blocks = [b for b in self.script.blocks if b.state != REST]
        n = self.layout.n_channels
        self._on_s = np.array([b.start_s for b in blocks])
        self._off_s = np.array([b.stop_s for b in blocks])
        rt = rng.uniform(*p.reaction_time_s, size=len(blocks))
        self._on_s = self._on_s + rt
        self._off_s = self._off_s + rt
        effort = np.array([b.amplitude for b in blocks])
        effort = effort * np.exp(p.block_jitter * rng.standard_normal(len(blocks)))
        self._effort = np.clip(effort, 0.0, 1.5)
        self._k = np.array([MOVEMENTS.index(b.state) for b in blocks], dtype=int)
        self._jitter = np.exp(p.block_jitter * rng.standard_normal((len(blocks), n)))

    # -- streaming -------------------------------------------------------------------------
    @property
    def t_s(self) -> float:
        """Seconds generated so far."""
        return self._sample / self.fs_hz

    @property
    def n_channels(self) -> int:
        return self.layout.n_channels

    def envelopes(self, t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Broadband amplitude gain (n_ch, n_t) and beta amplitude gain (n_ch, n_t)."""
        p = self.profile.cortex
        tau = p.ramp_tau_s
        t = np.asarray(t_s, dtype=float)
        hg = np.zeros((self.n_channels, t.size))
        beta_drop = np.zeros_like(hg)
        if t.size == 0:
            return hg + 1.0, beta_drop + 1.0
        active = np.flatnonzero((self._on_s < t[-1]) & (self._off_s + 8 * tau > t[0]))
        for b in active:
            rise = 1.0 - np.exp(-np.clip(t - self._on_s[b], 0.0, None) / tau)
            fall = 1.0 - np.exp(-np.clip(t - self._off_s[b], 0.0, None) / tau)
            env = self._effort[b] * (rise - fall)
            k = self._k[b]
            hg += (p.hg_gain * self._w_hg[:, k] * self._jitter[b])[:, None] * env[None, :]
            beta_drop += (p.beta_drop * self._w_beta[:, k])[:, None] * env[None, :]
        return 1.0 + hg, np.clip(1.0 - beta_drop, 0.05, 1.0)

    def add_pulses(self, pulses: list[Pulse] | tuple[Pulse, ...]) -> None:
        """Stimulation artifacts of these pulses (session-clock t_ns) on the coming samples."""
        if not pulses:
            return
        p = self.profile.cortex
        k = np.array([round(pl.t_ns * 1e-9 * self.fs_hz) for pl in pulses]) - self._sample
        scale = np.array([pl.amplitude_ma * pl.pulse_width_us / 300.0 for pl in pulses])
        late = k < 0
        self.late_pulses += int(late.sum())
        self._artifact.add(k[~late], scale[~late] * p.stim_artifact_uv_per_ma, ARTIFACT_KERNEL)

    def add_evoked(self, t_s: np.ndarray, volley: dict[str, np.ndarray]) -> None:
        """Cortical responses to afferent volleys: volley[side] = share of that leg's Ia
        afferents each pulse recruited; the response appears on the opposite hemisphere."""
        t = np.asarray(t_s, dtype=float)
        k = np.round(t * self.fs_hz).astype(int) - self._sample
        for leg, hemisphere in (("left", "right"), ("right", "left")):
            amp, self._last_volley_s[leg] = adapted(
                t, np.asarray(volley[leg], dtype=float), self._last_volley_s[leg]
            )
            keep = (k >= 0) & (amp > 1e-4)
            self._evoked[hemisphere].add(k[keep], amp[keep], self._sep_kernel)

    def read(self, n_samples: int) -> np.ndarray:
        """Next n_samples of ECoG, (64, n_samples) float64 in microvolts."""
        if n_samples < 0:
            raise ValueError(f"n_samples must be >= 0, got {n_samples}")
        n = self.n_channels
        if n_samples == 0:
            return np.zeros((n, 0))
        p = self.profile.cortex
        rng = self._rng
        t = (self._sample + np.arange(n_samples)) / self.fs_hz
        hg_gain, beta_gain = self.envelopes(t)
        slow = np.exp(self._slow(n_samples, rng))
        x = p.background_uv * self._background(n_samples, rng) * hg_gain * slow
        x += p.beta_uv * self._beta(n_samples, rng) * beta_gain
        if self.day:
            x *= self._impedance_gain[:, None]  # contact impedance drift scales the brain signal
        x += line_noise(
            self._sample, n_samples, self.fs_hz, self._line_amp, self._line_phase, p.line_hz
        )
        x += p.noise_uv * rng.standard_normal((n, n_samples))
        artifact = self._artifact.take(n_samples)
        if artifact is not None:
            x += self._artifact_gain[:, None] * artifact[None, :]
        for hemisphere, wave in self._evoked.items():
            evoked = wave.take(n_samples)
            if evoked is not None:
                x += self._evoked_weight[hemisphere][:, None] * evoked[None, :]
        if self._bad.any():
            x[self._bad] = self._bad_signal(int(self._bad.sum()), n_samples, rng)
        self._sample += n_samples
        return x

    def _bad_signal(self, n_bad: int, n_samples: int, rng: np.random.Generator) -> np.ndarray:
        """A broken contact: large broadband noise and strong mains pickup (open circuit)."""
        p = self.profile.cortex
        t = (self._sample + np.arange(n_samples)) / self.fs_hz
        mains = 20 * p.line_uv * np.sin(2 * np.pi * p.line_hz * t)
        return 8 * p.background_uv * rng.standard_normal((n_bad, n_samples)) + mains[None, :]


def sim_ecog(
    n_seconds: float,
    fs: float,
    rng: np.random.Generator,
    *,
    state: str = REST,
    effort: float = 1.0,
    profile: PatientProfile | None = None,
    day: int = 0,
) -> np.ndarray:
    """neurodsp-style: (64, n) µV of ECoG while intending `state` throughout (from t = 0)."""
    from openbsi.patient.intent import IntentBlock

    if not np.isfinite(n_seconds) or n_seconds <= 0:
        raise ValueError(f"n_seconds must be a positive finite number, got {n_seconds}")
    amplitude = 0.0 if state == REST else effort
    script = IntentScript((IntentBlock(0.0, float(n_seconds), state, amplitude),))
    cortex = VirtualCortex(script, rng, fs_hz=fs, profile=profile, day=day)
    return cortex.read(round(n_seconds * fs))
