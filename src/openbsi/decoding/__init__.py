"""decoding stage of the OpenBSI loop: tensor features -> state probabilities + amplitude."""

from openbsi.decoding.mslm import MarkovSwitchingDecoder
from openbsi.decoding.registry import DECODERS, make_decoder

__all__ = ["DECODERS", "MarkovSwitchingDecoder", "make_decoder"]
