"""decoding stage of the OpenBSI loop: tensor features -> state probabilities + amplitude."""

from openbsi.decoding.mslm import MarkovSwitchingDecoder
from openbsi.decoding.registry import DECODERS, make_decoder
from openbsi.decoding.rew_npls import REWNPLSRegressor

__all__ = ["DECODERS", "MarkovSwitchingDecoder", "REWNPLSRegressor", "make_decoder"]
