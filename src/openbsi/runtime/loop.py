"""One decode tick of the closed loop: freshest window -> features -> decoder -> mapper ->
safety supervisor -> stimulator, each hop stamped with time.monotonic_ns()."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from openbsi.features.extractor import FeatureExtractor
from openbsi.runtime.latency import TickStamps
from openbsi.safety.supervisor import SafetyDecision
from openbsi.signals import Chunk, RingBuffer
from openbsi.states import STATES
from openbsi.stimulation.mapper import Mapper
from openbsi.stimulation.types import Pulse, StimCommand


class OnlineDecoder(Protocol):
    def step(self, x: np.ndarray) -> tuple[np.ndarray, float]: ...

    def reset_filter(self) -> None: ...


class PulseEmitter(Protocol):
    def deliver(self, command: StimCommand, now_ns: int) -> SafetyDecision: ...

    def run_until(self, t_ns: int) -> list[Pulse]: ...


@dataclass(frozen=True)
class TickResult:
    """What one tick decided and emitted."""

    state: str
    command: StimCommand
    probs: np.ndarray
    amplitude: float
    decision: SafetyDecision
    pulses: list[Pulse]
    stamps: TickStamps


class ClosedLoop:
    """The compute path of the interface, independent of where samples come from."""

    def __init__(
        self,
        extractor: FeatureExtractor,
        decoder: OnlineDecoder,
        mapper: Mapper,
        stimulator: PulseEmitter,
        buffer: RingBuffer,
    ) -> None:
        self.extractor = extractor
        self.decoder = decoder
        self.mapper = mapper
        self.stimulator = stimulator
        self.buffer = buffer

    def features(self) -> np.ndarray:
        """The feature tensor of the freshest full window in the buffer."""
        return self.extractor.transform(self.buffer.latest(self.extractor.window_samples))

    def tick(self, chunk: Chunk, now_ns: int, tick_ns: int) -> TickResult:
        """Push the newest chunk and run one decode; emits the pulses due until now + tick."""
        stamps = TickStamps()
        stamps.stamps_ns["acquired"] = chunk.t_ns
        self.buffer.push(chunk)
        x = self.features()
        stamps.stamp("features")
        probs, amplitude = self.decoder.step(x)
        state = STATES[int(np.argmax(probs))]
        stamps.stamp("decoded")
        command = self.mapper.map(state, amplitude, now_ns)
        decision = self.stimulator.deliver(command, now_ns)
        stamps.stamp("safety")
        pulses = self.stimulator.run_until(now_ns + tick_ns)
        stamps.stamp("stimulated")
        return TickResult(state, command, probs, float(amplitude), decision, pulses, stamps)
