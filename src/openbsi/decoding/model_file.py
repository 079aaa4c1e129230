"""Decoder model files (.obsi), sealed whole.

Layout (format 2): b"OBSI-MODEL\\n", one JSON header line, an .npz payload holding the
arrays, then b"\\nSHA256:" and the hex SHA-256 of every byte before it, and b"\\n". The
header carries the format version, the decoder class and parameters, its learned state
(arrays referenced by name), the feature configuration, the state set, the stream's sampling
rate and channel names in order, the signal-quality statistics, and the payload's length.
One digest covers header and arrays, so any changed byte is refused. Loading never unpickles:
only whitelisted classes are rebuilt, so a model file cannot run code; sizes and header
fields are bounded. The digest detects corruption and careless edits, not a forger who
recomputes it (that needs a signature key, which OpenBSI does not manage yet).
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
from openbsi.decoding.quality import QualityGate
from openbsi.decoding.rew_npls import REWNPLSRegressor
from openbsi.features.extractor import FeatureConfig
from openbsi.inputs import InputError, read_limited
from openbsi.states import STATES

MAGIC = b"OBSI-MODEL\n"
FORMAT_VERSION = 2
TRAILER = b"\nSHA256:"
DIGEST_HEX = 64
# Assumptions (no published figure): the largest model file and header read. A 1024-channel
# MSLM is ~30 MB; the header (JSON, mostly parameters) is a few kB.
MAX_MODEL_BYTES = 512_000_000
MAX_HEADER_BYTES = 4_000_000
MAX_DEPTH = 32
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


class ModelFileError(InputError):
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


def _decode(obj, arrays, depth: int = 0):
    if depth > MAX_DEPTH:
        raise ValueError(f"nesting deeper than {MAX_DEPTH}")
    if isinstance(obj, dict):
        if "__array__" in obj:
            return arrays[obj["__array__"]]
        if "__seq__" in obj:
            items = [_decode(v, arrays, depth + 1) for v in obj["__seq__"]]
            return tuple(items) if obj["tuple"] else items
        if "__dict__" in obj:
            return {k: _decode(v, arrays, depth + 1) for k, v in obj["__dict__"].items()}
        if "__object__" in obj:
            cls = _CLASSES.get(obj["__object__"])
            if cls is None:
                raise ValueError(f"unknown class {obj['__object__']!r}")
            instance = cls.__new__(cls)
            state = {k: _decode(v, arrays, depth + 1) for k, v in obj["state"].items()}
            instance.__dict__.update(state)
            return instance
        raise ValueError("unknown encoded object")
    if isinstance(obj, list):
        raise ValueError("bare list in encoded state")
    return obj


@dataclass
class Model:
    """A decoder with the stream, state set and feature configuration it was calibrated for."""

    decoder: object
    feature_config: FeatureConfig
    sfreq_hz: float
    n_channels: int
    metadata: dict
    state_names: tuple[str, ...] = STATES
    channel_names: tuple[str, ...] | None = None
    quality: QualityGate | None = None
    source: str = "model"

    def __getattr__(self, name: str):
        """A Model can be used as its decoder (step, reset_filter, predict_proba, ...)."""
        if name.startswith("__") or name == "decoder":
            raise AttributeError(name)
        return getattr(self.decoder, name)

    def check_stream(
        self,
        feature_config: FeatureConfig,
        sfreq_hz: float,
        n_channels: int,
        channel_names: tuple[str, ...] | None = None,
        state_names: tuple[str, ...] | None = None,
    ):
        """ModelFileError naming every mismatch between this model and a stream/session."""
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
        if channel_names is not None and self.channel_names is not None:
            problems.extend(channel_differences(self.channel_names, tuple(channel_names)))
        if state_names is not None and tuple(state_names) != self.state_names:
            problems.append(
                f"state set: model decodes {list(self.state_names)}, session expects "
                f"{list(state_names)}"
            )
        if problems:
            raise ModelFileError(
                self.source, "stream", "model does not match: " + "; ".join(problems)
            )


def channel_differences(model: tuple[str, ...], stream: tuple[str, ...]) -> list[str]:
    """Human-readable differences of two channel lists (names, then order)."""
    missing = [c for c in model if c not in stream]
    extra = [c for c in stream if c not in model]
    out = []
    if missing:
        out.append(f"channels missing from the stream: {missing[:10]}")
    if extra:
        out.append(f"channels the model does not know: {extra[:10]}")
    if not missing and not extra and model != stream:
        i = next(k for k, (a, b) in enumerate(zip(model, stream, strict=True)) if a != b)
        out.append(
            f"channel order differs: first at position {i} (model {model[i]!r}, "
            f"stream {stream[i]!r})"
        )
    return out


def save_model(
    path: str | os.PathLike,
    decoder,
    feature_config: FeatureConfig,
    sfreq_hz: float,
    n_channels: int,
    metadata: dict | None = None,
    *,
    channel_names: tuple[str, ...] | None = None,
    state_names: tuple[str, ...] | None = None,
    quality: QualityGate | None = None,
) -> Path:
    """Write a model file atomically (temporary file in the same folder + rename)."""
    if type(decoder).__name__ not in _CLASSES:
        raise TypeError(f"decoder must be one of {sorted(_CLASSES)}, got {type(decoder)}")
    n_states = int(getattr(decoder, "n_states", len(STATES)))
    names = (
        tuple(state_names)
        if state_names is not None
        else (STATES if n_states == len(STATES) else None)
    )
    if names is None or len(names) != n_states or len(set(names)) != n_states:
        raise ValueError(f"state_names must name the decoder's {n_states} states, got {names}")
    if channel_names is not None and (
        len(channel_names) != n_channels or len(set(channel_names)) != n_channels
    ):
        raise ValueError(
            f"channel_names must be {n_channels} distinct names, got {len(channel_names)}"
        )
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
        "channel_names": None if channel_names is None else [str(c) for c in channel_names],
        "state_names": list(names),
        "quality": None if quality is None else _encode(quality.to_dict(), arrays),
        "metadata": metadata or {},
    }
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    payload = buffer.getvalue()
    body["payload_bytes"] = len(payload)
    header = json.dumps(body, separators=(",", ":")).encode() + b"\n"
    sealed = MAGIC + header + payload
    content = sealed + TRAILER + hashlib.sha256(sealed).hexdigest().encode() + b"\n"
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(content)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def _unseal(raw: bytes, name: str) -> tuple[dict, bytes]:
    """Header and payload of a sealed file, or a ModelFileError saying what is wrong."""
    if not raw.startswith(MAGIC):
        raise ModelFileError(name, "file", "is not an OpenBSI model file (bad magic bytes)")
    end_len = len(TRAILER) + DIGEST_HEX + 1
    trailer = raw[-end_len:]
    if len(raw) < len(MAGIC) + end_len or not (
        trailer.startswith(TRAILER) and trailer.endswith(b"\n")
    ):
        if b'"format_version":1,' in raw[:200]:
            raise ModelFileError(
                name,
                "format_version",
                "format 1 is not sealed whole; recalibrate",
                limit=FORMAT_VERSION,
                value=1,
            )
        raise ModelFileError(name, "seal", "missing or damaged (file truncated or modified)")
    sealed = raw[:-end_len]
    digest = trailer[len(TRAILER) : len(TRAILER) + DIGEST_HEX]
    if hashlib.sha256(sealed).hexdigest().encode() != digest:
        raise ModelFileError(name, "seal", "checksum mismatch (file corrupted or modified)")
    end = sealed.find(b"\n", len(MAGIC), len(MAGIC) + MAX_HEADER_BYTES + 1)
    if end < 0:
        raise ModelFileError(
            name, "header", "too long or unterminated", limit=f"{MAX_HEADER_BYTES} bytes"
        )
    try:
        body = json.loads(sealed[len(MAGIC) : end])
    except (ValueError, RecursionError) as error:
        raise ModelFileError(name, "header", f"is not valid JSON ({error})"[:120]) from None
    if not isinstance(body, dict):
        raise ModelFileError(name, "header", "must be a JSON object")
    version = body.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            name, "format_version", "unsupported", limit=FORMAT_VERSION, value=version
        )
    payload = sealed[end + 1 :]
    if body.get("payload_bytes") != len(payload):
        raise ModelFileError(
            name,
            "payload_bytes",
            "does not match the payload",
            limit=len(payload),
            value=body.get("payload_bytes"),
        )
    return body, payload


def _names(value, name: str, field: str, low: int, high: int) -> tuple[str, ...]:
    ok = (
        isinstance(value, list)
        and low <= len(value) <= high
        and all(isinstance(v, str) and 0 < len(v) <= 256 for v in value)
    )
    if not ok or len(set(value)) != len(value):
        raise ModelFileError(
            name,
            field,
            "must be distinct non-empty names",
            limit=f"[{low}, {high}] names",
            value=value,
        )
    return tuple(value)


def _build(body: dict, payload: bytes, name: str) -> Model:
    from openbsi.inputs import number

    cls = _CLASSES.get(body.get("decoder_class"))
    if cls is None or cls not in (
        MarkovSwitchingDecoder,
        REWNPLSRegressor,
        BandPowerLDA,
        KalmanDecoder,
    ):
        raise ModelFileError(name, "decoder_class", "unknown", value=body.get("decoder_class"))
    sfreq = number(body.get("sfreq_hz"), source=name, field="sfreq_hz", low=1.0, high=100_000.0)
    n_channels = number(
        body.get("n_channels"), source=name, field="n_channels", low=1, high=4096, integer=True
    )
    states = _names(body.get("state_names"), name, "state_names", 2, 64)
    channels = body.get("channel_names")
    if channels is not None:
        channels = _names(channels, name, "channel_names", n_channels, n_channels)
    metadata = body.get("metadata")
    if not isinstance(metadata, dict):
        raise ModelFileError(name, "metadata", "must be a mapping", value=type(metadata).__name__)
    with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    decoder = cls(**_decode(body["params"], arrays))
    decoder.__dict__.update(_decode(body["state"], arrays))
    if int(getattr(decoder, "n_states", len(STATES))) != len(states):
        raise ModelFileError(
            name,
            "state_names",
            "count differs from the decoder's states",
            limit=getattr(decoder, "n_states", None),
            value=len(states),
        )
    config = FeatureConfig.from_dict(_decode(body["feature_config"], arrays))
    quality = body.get("quality")
    gate = None if quality is None else QualityGate.from_dict(_decode(quality, arrays))
    return Model(decoder, config, sfreq, n_channels, metadata, states, channels, gate, name)


def load_model(
    path: str | os.PathLike,
    *,
    feature_config: FeatureConfig | None = None,
    sfreq_hz: float | None = None,
    n_channels: int | None = None,
    channel_names: tuple[str, ...] | None = None,
    state_names: tuple[str, ...] | None = None,
) -> Model:
    """Read and verify a model file (magic, seal, version, bounded fields); if the stream or
    session is described (any keyword), also check that it matches, naming every difference."""
    name = str(path)
    try:
        raw = read_limited(path, max_bytes=MAX_MODEL_BYTES)
    except InputError as error:
        raise ModelFileError(
            error.source, error.field, error.problem, limit=error.limit, value=error.value
        ) from None
    model = model_from_bytes(raw, name)
    described = (feature_config, sfreq_hz, n_channels, channel_names, state_names)
    if any(v is not None for v in described):
        model.check_stream(
            feature_config if feature_config is not None else model.feature_config,
            sfreq_hz if sfreq_hz is not None else model.sfreq_hz,
            n_channels if n_channels is not None else model.n_channels,
            channel_names,
            state_names,
        )
    return model


def model_from_bytes(raw: bytes, name: str = "model") -> Model:
    """A model from a sealed file's bytes (a ModelFileError naming `name` otherwise)."""
    body, payload = _unseal(raw, name)
    try:
        return _build(body, payload, name)
    except ModelFileError:
        raise
    except InputError as error:
        raise ModelFileError(
            name, error.field, error.problem, limit=error.limit, value=error.value
        ) from None
    except Exception as error:  # a sealed but malformed body (written by another tool)
        text = " ".join(str(error).split())[:120] or type(error).__name__
        raise ModelFileError(
            name, "header", f"malformed ({type(error).__name__}: {text})"
        ) from None
