"""The wireless link between base station and implant: pure transport, bytes in, bytes out.

Frames (sequence number, timestamp, CRC32) sealed with a per-session ChaCha20-Poly1305 key
from an X25519 pairing, an anti-replay window, stale-frame refusal, and a fault-injecting
channel (loss, bursts, jitter, reordering, duplication, corruption, link drop).
"""

from openbsi.link.channel import ChannelStats, FaultyChannel
from openbsi.link.endpoint import LinkEndpoint, LinkStats, pair
from openbsi.link.errors import REJECT_REASONS, LinkRejected
from openbsi.link.faults import FaultConfig
from openbsi.link.handshake import PairingError, handshake
from openbsi.link.radio import Delivery, RadioEnd, SimulatedRadio
from openbsi.link.replay_window import ReplayWindow

__all__ = [
    "REJECT_REASONS",
    "ChannelStats",
    "Delivery",
    "FaultConfig",
    "FaultyChannel",
    "LinkEndpoint",
    "LinkRejected",
    "LinkStats",
    "PairingError",
    "RadioEnd",
    "ReplayWindow",
    "SimulatedRadio",
    "handshake",
    "pair",
]
