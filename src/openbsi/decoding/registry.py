"""Decoders by name: `make_decoder("mslm")`."""

from __future__ import annotations

from collections.abc import Callable

from sklearn.base import BaseEstimator

from openbsi.decoding.baselines import BandPowerLDA, KalmanDecoder
from openbsi.decoding.mslm import MarkovSwitchingDecoder


def _mslm(**params) -> BaseEstimator:
    return MarkovSwitchingDecoder(**params)


def _mslm_nohmm(**params) -> BaseEstimator:
    params.setdefault("hmm", False)
    return MarkovSwitchingDecoder(**params)


DECODERS: dict[str, Callable[..., BaseEstimator]] = {
    "mslm": _mslm,
    "mslm_nohmm": _mslm_nohmm,
    "bandpower_lda": BandPowerLDA,
    "kalman": KalmanDecoder,
}


def make_decoder(name: str = "mslm", **params) -> BaseEstimator:
    """A fresh, unfitted decoder; ValueError lists the known names."""
    try:
        factory = DECODERS[name]
    except KeyError:
        raise ValueError(f"decoder name must be one of {sorted(DECODERS)}, got {name!r}") from None
    return factory(**params)
