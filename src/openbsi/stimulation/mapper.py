"""The mapper: decoded state + amplitude -> a StimCommand from the program.

It tracks when the decoded state began, so that steps with an onset or a duration (e.g. a
500 ms hip-flexion train) fire at the right time. It does not enforce safety: the supervisor
checks every command it produces.
"""

from __future__ import annotations

import math

from openbsi.stimulation.program import Program
from openbsi.stimulation.types import ChannelCommand, Electrode, StimCommand


class Mapper:
    """Turns (state, amplitude, t_ns) into StimCommands following a Program."""

    def __init__(self, program: Program, electrodes: tuple[Electrode, ...]) -> None:
        known = {electrode.index for electrode in electrodes}
        for state, steps in program.states.items():
            for i, step in enumerate(steps):
                for e in step.electrodes:
                    if e not in known:
                        raise ValueError(
                            f"program {program.name!r} states.{state}[{i}].electrodes names "
                            f"electrode {e}, not in the layout (allowed: {sorted(known)})"
                        )
        self.program = program
        self.electrodes = electrodes
        self._seq = 0
        self._state: str | None = None
        self._state_onset_ns = 0

    @property
    def state_onset_ns(self) -> int:
        """Session-clock time at which the current decoded state began."""
        return self._state_onset_ns

    def reset(self) -> None:
        """Forget the current state (the next call starts a new one); seq keeps counting."""
        self._state = None

    def map(self, state: str, amplitude: float, t_ns: int) -> StimCommand:
        """The command for this decode tick; seq increases by one per call.

        NaN or out-of-range amplitudes are clipped to [0, 1] (NaN -> 0) for mapping only;
        an unknown state maps to no channels and is passed on for the supervisor to veto.
        """
        self._seq += 1
        if state != self._state:
            self._state = state
            self._state_onset_ns = int(t_ns)
        elapsed_ms = (int(t_ns) - self._state_onset_ns) / 1e6
        channels: dict[int, ChannelCommand] = {}
        if state in self.program.state_set:  # states map by name (openbsi.states by default)
            scale = self.program.amplitude_scale(_as_float(amplitude))
            for step in self.program.steps(state):
                if not step.active(elapsed_ms):
                    continue
                for e in step.electrodes:
                    command = ChannelCommand(
                        electrode=e,
                        amplitude_ma=step.amplitude_ma * (scale if step.scaled else 1.0),
                        pulse_width_us=step.pulse_width_us,
                        frequency_hz=step.frequency_hz,
                        interphase_gap_us=step.interphase_gap_us,
                    )
                    # Two steps on one electrode at once: the stronger one wins.
                    previous = channels.get(e)
                    if previous is None or command.amplitude_ma > previous.amplitude_ma:
                        channels[e] = command
        ordered = tuple(channels[e] for e in sorted(channels))
        return StimCommand(t_ns=int(t_ns), seq=self._seq, state=state, channels=ordered)


def _as_float(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return number if math.isfinite(number) else (1.0 if number > 0 else 0.0)
