"""Decoder model files (.obsi): format version, feature configuration, stream, checksum.

Layout: b"OBSI-MODEL\\n", one JSON header line, then an .npz payload holding the arrays.
The header carries the format version, the decoder class and parameters, its learned state
(arrays referenced by name), the feature configuration, the stream's sampling rate and
channel count, and the SHA-256 of the payload. Loading never unpickles: only whitelisted
classes are rebuilt, so a model file cannot run code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from openbsi.decoding.baselines import BandPowerLDA, KalmanDecoder
from openbsi.decoding.latent import ClassStats
from openbsi.decoding.mslm import MarkovSwitchingDecoder
from openbsi.decoding.npls import Moments, NPLSFit
from openbsi.decoding.rew_npls import REWNPLSRegressor
from openbsi.features.extractor import FeatureConfig

MAGIC = b"OBSI-MODEL\n"
FORMAT_VERSION = 1
_CLASSES = {
    cls.__name__: cls
    for cls in (
        MarkovSwitchingDecoder,
        REWNPLSRegressor,
        BandPowerLDA,
        KalmanDecoder,
        LinearDiscriminantAnalysis,
        Moments,
        ClassStats,
        NPLSFit,
    )
}


class ModelFileError(ValueError):
    """A model file that cannot be used (corrupt, wrong version, or wrong stream)."""


def _encode(obj, arrays: dict[str, np.ndarray]):
    if isinstance(obj, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if isinstance(obj, list | tuple):
        return {"__seq__": [_encode(v, arrays) for v in obj], "tuple": isinstance(obj, tuple)}
    if isinstance(obj, dict):
        return {"__dict__": {str(k): _encode(v, arrays) for k, v in obj.items()}}
    name = type(obj).__name__
    if _CLASSES.get(name) is type(obj):
        state = vars(obj) if not dataclasses.is_dataclass(obj) else obj.__dict__
        return {"__object__": name, "state": {k: _encode(v, arrays) for k, v in state.items()}}
    raise TypeError(f"cannot store an object of type {type(obj).__name__} in a model file")


def _decode(obj, arrays):
    if isinstance(obj, dict):
        if "__array__" in obj:
            return arrays[obj["__array__"]]
        if "__seq__" in obj:
            items = [_decode(v, arrays) for v in obj["__seq__"]]
            return tuple(items) if obj["tuple"] else items
        if "__dict__" in obj:
            return {k: _decode(v, arrays) for k, v in obj["__dict__"].items()}
        if "__object__" in obj:
            cls = _CLASSES.get(obj["__object__"])
            if cls is None:
                raise ModelFileError(f"model file names an unknown class {obj['__object__']!r}")
            instance = cls.__new__(cls)
            instance.__dict__.update({k: _decode(v, arrays) for k, v in obj["state"].items()})
            return instance
    return obj


@dataclass
class Model:
    """A decoder with the stream and feature configuration it was calibrated for."""

    decoder: object
    feature_config: FeatureConfig
    sfreq_hz: float
    n_channels: int
    metadata: dict

    def __getattr__(self, name: str):
        """A Model can be used as its decoder (step, reset_filter, predict_proba, ...)."""
        if name.startswith("__") or name == "decoder":
            raise AttributeError(name)
        return getattr(self.decoder, name)

    def check_stream(self, feature_config: FeatureConfig, sfreq_hz: float, n_channels: int):
        """ModelFileError naming every mismatch between this model and a stream."""
        problems = []
        if feature_config != self.feature_config:
            mine, theirs = self.feature_config.to_dict(), feature_config.to_dict()
            diff = [k for k in mine if mine[k] != theirs.get(k)]
            problems.append(
                "feature configuration differs in "
                + ", ".join(f"{k} (model {mine[k]!r}, stream {theirs.get(k)!r})" for k in diff)
            )
        if abs(float(sfreq_hz) - self.sfreq_hz) > 1e-9:
            problems.append(
                f"sampling rate: model calibrated at {self.sfreq_hz} Hz, stream at {sfreq_hz} Hz"
            )
        if int(n_channels) != self.n_channels:
            problems.append(
                f"channel count: model calibrated on {self.n_channels}, stream has {n_channels}"
            )
        if problems:
            raise ModelFileError("model does not match the stream: " + "; ".join(problems))


def save_model(
    path: str | os.PathLike,
    decoder,
    feature_config: FeatureConfig,
    sfreq_hz: float,
    n_channels: int,
    metadata: dict | None = None,
) -> Path:
    """Write a model file atomically (temporary file + rename)."""
    arrays: dict[str, np.ndarray] = {}
    state = {k: v for k, v in vars(decoder).items() if k not in decoder.get_params()}
    body = {
        "format_version": FORMAT_VERSION,
        "decoder_class": type(decoder).__name__,
        "params": _encode(decoder.get_params(), arrays),
        "state": _encode(state, arrays),
        "feature_config": _encode(feature_config.to_dict(), arrays),
        "sfreq_hz": float(sfreq_hz),
        "n_channels": int(n_channels),
        "metadata": metadata or {},
    }
    if type(decoder).__name__ not in _CLASSES:
        raise TypeError(f"decoder must be one of {sorted(_CLASSES)}, got {type(decoder)}")
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    payload = buffer.getvalue()
    body["payload_sha256"] = hashlib.sha256(payload).hexdigest()
    header = json.dumps(body, separators=(",", ":")).encode() + b"\n"
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(MAGIC + header + payload)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def load_model(
    path: str | os.PathLike,
    *,
    feature_config: FeatureConfig | None = None,
    sfreq_hz: float | None = None,
    n_channels: int | None = None,
) -> Model:
    """Read and verify a model file (magic, version, checksum); if the stream is described
    (any of feature_config, sfreq_hz, n_channels), also check that it matches."""
    raw = Path(path).read_bytes()
    if not raw.startswith(MAGIC):
        raise ModelFileError(f"{path} is not an OpenBSI model file (bad magic bytes)")
    end = raw.index(b"\n", len(MAGIC))
    try:
        body = json.loads(raw[len(MAGIC) : end])
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{path}: header is not valid JSON ({error})") from None
    version = body.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(f"{path}: format_version must be {FORMAT_VERSION}, got {version!r}")
    payload = raw[end + 1 :]
    digest = hashlib.sha256(payload).hexdigest()
    if digest != body.get("payload_sha256"):
        raise ModelFileError(f"{path}: checksum mismatch (file corrupted or modified)")
    with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    cls = _CLASSES.get(body["decoder_class"])
    if cls is None:
        raise ModelFileError(f"{path}: unknown decoder class {body['decoder_class']!r}")
    decoder = cls(**_decode(body["params"], arrays))
    decoder.__dict__.update(_decode(body["state"], arrays))
    config = FeatureConfig.from_dict(_decode(body["feature_config"], arrays))
    model = Model(decoder, config, body["sfreq_hz"], body["n_channels"], body["metadata"])
    if feature_config is not None or sfreq_hz is not None or n_channels is not None:
        model.check_stream(
            feature_config if feature_config is not None else model.feature_config,
            sfreq_hz if sfreq_hz is not None else model.sfreq_hz,
            n_channels if n_channels is not None else model.n_channels,
        )
    return model
