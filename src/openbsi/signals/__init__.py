"""Streams: stream descriptions, chunks of samples, the ring buffer, and sources."""

from openbsi.signals.ring_buffer import RingBuffer
from openbsi.signals.types import Chunk, StreamInfo

__all__ = ["Chunk", "RingBuffer", "StreamInfo"]
