"""FCS 2.0-3.1 reading (FlowIO) behind a size limit, with $SPILLOVER parsed; one-line refusals.

FlowIO is strict about offsets; real instruments get them wrong by one byte (Miltenyi FCS 3.1)
or disagree between HEADER and TEXT (Cytek xP5). The reader retries with the HEADER's offsets,
then tolerating an off-by-one, and records which leniency it needed in `notes`. A file holding
several data sets yields its first, with a note.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from openbsi.inputs import InputError, read_limited

MAX_FCS_BYTES = 1_000_000_000  # assumption: 1 GB covers ~25 M events x 10 channels of float32
MAX_EVENTS = 50_000_000
SUPPORTED_VERSIONS = ("2.0", "3.0", "3.1")


@dataclass
class FcsSample:
    source: str
    version: str
    channels: list[str]  # $PnN
    markers: list[str]  # $PnS ("" when absent)
    events: np.ndarray  # (n_events, n_channels), float64, gain/log decoded
    spillover: np.ndarray | None = None  # (k, k) rows = emitting fluorochrome
    spillover_channels: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def n_events(self) -> int:
        return int(self.events.shape[0])

    def index(self, name: str) -> int:
        """Column of a channel by $PnN or $PnS name (a panel may use either)."""
        for names in (self.channels, self.markers):
            if name in names:
                return names.index(name)
        raise InputError(self.source, "channel", "not in the file", limit=self.channels, value=name)


def parse_spillover(text: str, source: str) -> tuple[list[str], np.ndarray]:
    """'$SPILLOVER' = n, n channel names, n*n values (row = emitting fluorochrome)."""
    parts = [p.strip() for p in text.split(",")]
    try:
        n = int(parts[0])
    except (ValueError, IndexError):
        raise InputError(
            source, "$SPILLOVER", "must start with the channel count", value=text
        ) from None
    if not (1 <= n <= 100) or len(parts) != 1 + n + n * n:
        raise InputError(
            source,
            "$SPILLOVER",
            "needs n names and n*n values",
            limit="n <= 100",
            value=len(parts),
        )
    names = parts[1 : 1 + n]
    try:
        matrix = np.array([float(v) for v in parts[1 + n :]]).reshape(n, n)
    except ValueError:
        raise InputError(source, "$SPILLOVER", "values must be numbers") from None
    if not np.all(np.isfinite(matrix)):
        raise InputError(source, "$SPILLOVER", "values must be finite")
    return names, matrix


class _Unclosable(io.BytesIO):
    """FlowIO's multi-data-set reader closes its handle before reading the next set."""

    def close(self) -> None:
        pass


@dataclass
class _Decoded:
    """What read_fcs needs of a FlowData, for files decoded here (FlowIO cannot)."""

    text: dict
    pnn_labels: list[str]
    pns_labels: list[str]
    events: np.ndarray

    @property
    def event_count(self) -> int:
        return int(self.events.shape[0])

    def as_array(self, preprocess: bool = True) -> np.ndarray:
        return self.events


def _packed_integers(data: bytes, source: str, notes: list[str]) -> _Decoded | None:
    """Integer data of a width FlowIO cannot decode (24 bit: Cytek xP5), decoded here.

    Only list mode with one width for every parameter; values are masked to $PnR's bits, then
    decoded as FlowIO does ($PnE log amplification, else division by $PnG).
    """
    import flowio

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            text = flowio.FlowData(_Unclosable(data), only_text=True, use_header_offsets=True).text
        if str(text.get("datatype", "")).upper() != "I" or str(text.get("mode", "L")) != "L":
            return None
        n_par, n_tot = int(text["par"]), int(text["tot"])
        widths = {int(text[f"p{k}b"]) for k in range(1, n_par + 1)}
    except (KeyError, ValueError, TypeError):
        return None
    except Exception:  # FlowIO on a damaged TEXT
        return None
    if len(widths) != 1:
        return None
    bits = widths.pop()
    if bits in (8, 16, 32, 64) or bits % 8 or not 8 <= bits <= 64:
        return None
    if not (0 < n_par <= 1000 and 0 < n_tot <= MAX_EVENTS):
        raise InputError(source, "$TOT/$PAR", "out of range", value=f"{n_tot} x {n_par}")
    width = bits // 8
    try:
        begin, end = int(text["begindata"]), int(text["enddata"])
    except (KeyError, ValueError):
        raise InputError(source, "$BEGINDATA", "missing or not a number") from None
    if begin <= 0 or end - begin + 1 != n_tot * n_par * width or end >= len(data):
        raise InputError(
            source,
            "data",
            "segment does not hold $TOT x $PAR values",
            limit=n_tot * n_par * width,
            value=end - begin + 1,
        )
    raw = np.frombuffer(data, dtype=np.uint8, count=n_tot * n_par * width, offset=begin)
    raw = raw.reshape(n_tot * n_par, width).astype(np.uint64)
    little = str(text.get("byteord", "1")).split(",")[0].strip() == "1"
    order = range(width) if little else range(width - 1, -1, -1)
    values = np.zeros(n_tot * n_par, dtype=np.uint64)
    for shift, column in enumerate(order):
        values |= raw[:, column] << np.uint64(8 * shift)
    events = values.reshape(n_tot, n_par).astype(float)
    for k in range(n_par):
        name = f"p{k + 1}"
        value_range = float(text.get(f"{name}r", 2**bits))
        mask = (1 << max(1, int(np.ceil(np.log2(max(value_range, 2)))))) - 1
        events[:, k] = (events[:, k].astype(np.uint64) & np.uint64(mask)).astype(float)
        decades, offset = (float(x) for x in str(text.get(f"{name}e", "0,0")).split(",")[:2])
        if decades > 0:
            events[:, k] = (offset or 1.0) * 10 ** (decades * events[:, k] / value_range)
        elif float(text.get(f"{name}g", 1.0) or 1.0) not in (0.0, 1.0):
            events[:, k] /= float(text[f"{name}g"])
    notes.append(f"{bits}-bit integer data decoded by OpenBSI (FlowIO does not decode it)")
    labels = [str(text.get(f"p{k}n", f"P{k}")) for k in range(1, n_par + 1)]
    markers = [str(text.get(f"p{k}s", "")) for k in range(1, n_par + 1)]
    return _Decoded(text=dict(text), pnn_labels=labels, pns_labels=markers, events=events)


def _flowdata(data: bytes, source: str, notes: list[str]):
    import flowio
    from flowio.exceptions import MultipleDataSetsError

    attempts = (
        ({}, None),
        ({"use_header_offsets": True}, "used HEADER offsets (TEXT offsets disagree)"),
        ({"ignore_offset_error": True}, "tolerated an off-by-one data offset"),
    )
    last: Exception | None = None
    for options, note in attempts:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                flow = flowio.FlowData(_Unclosable(data), **options)
                flow.as_array(preprocess=True)  # the events must decode, not only the TEXT
        except MultipleDataSetsError:
            with warnings.catch_warnings():  # (a failure here is the caller's one-line error)
                warnings.simplefilter("ignore")
                sets = flowio.read_multiple_data_sets(_Unclosable(data), **options)
                sets[0].as_array(preprocess=True)
            notes.append(f"file holds {len(sets)} data sets; the first is analysed")
            return sets[0]
        except Exception as error:  # FlowIO raises many kinds on bad bytes
            last = error
            continue
        if note:
            notes.append(note)
        return flow
    packed = _packed_integers(data, source, notes)
    if packed is not None:
        return packed
    message = str(last).splitlines()[0][:120] if last is not None and str(last) else ""
    raise InputError(source, "fcs", f"not a readable FCS file ({type(last).__name__}: {message})")


def read_fcs(path: str | os.PathLike[str], *, max_bytes: int = MAX_FCS_BYTES) -> FcsSample:
    """Read an FCS 2.0 / 3.0 / 3.1 file; anything else, corrupt or truncated, is an InputError."""
    source = str(path)
    data = read_limited(path, max_bytes=max_bytes, source=source)
    if len(data) < 58:
        raise InputError(
            source, "header", "too short for an FCS header", limit="58 bytes", value=len(data)
        )
    version = data[3:6].decode("ascii", "replace")
    if data[:3] != b"FCS" or version not in SUPPORTED_VERSIONS:
        raise InputError(
            source, "header", "not FCS 2.0-3.1", limit=list(SUPPORTED_VERSIONS), value=data[:6]
        )
    notes: list[str] = []
    try:
        flow = _flowdata(data, source, notes)
        if not (0 < int(flow.event_count) <= MAX_EVENTS):
            raise InputError(
                source, "$TOT", "out of range", limit=f"[1, {MAX_EVENTS}]", value=flow.event_count
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            events = np.asarray(flow.as_array(preprocess=True), dtype=float)
        channels = [str(c) for c in flow.pnn_labels]
        markers = [str(c or "") for c in flow.pns_labels]
        text = dict(flow.text)
    except InputError:
        raise
    except Exception as error:  # any other decoding failure of a damaged file
        raise InputError(
            source, "fcs", f"not a readable FCS file ({type(error).__name__})"
        ) from None
    if events.ndim != 2 or events.shape[1] != len(channels) or events.shape[0] == 0:
        raise InputError(source, "data", "event matrix does not match $PAR", value=events.shape)
    if not np.all(np.isfinite(events)):
        bad = int(np.sum(~np.isfinite(events).all(axis=1)))
        raise InputError(source, "data", "holds non-finite values", value=f"{bad} events")
    sample = FcsSample(source, version, channels, markers, events, notes=notes)
    spill = text.get("spillover") or text.get("spill")
    if spill:
        try:
            names, matrix = parse_spillover(str(spill), source)
        except InputError as error:  # the events are sound; say the matrix is unusable
            notes.append(f"$SPILLOVER unusable, not applied: {error.problem}")
        else:
            sample.spillover, sample.spillover_channels = matrix, names
    return sample


def write_fcs(
    path: str | os.PathLike[str],
    events: np.ndarray,
    channels: list[str],
    *,
    markers: list[str] | None = None,
    spillover: tuple[list[str], np.ndarray] | None = None,
) -> Path:
    """Write float events as FCS 3.1 with FlowIO (synthetic files for tests and benchmarks)."""
    import flowio

    metadata: dict[str, str] = {}
    if spillover is not None:
        names, matrix = spillover
        values = ",".join(f"{v:.6g}" for v in np.asarray(matrix, float).ravel())
        metadata["spill"] = f"{len(names)},{','.join(names)},{values}"
    path = Path(path)
    with open(path, "wb") as handle:
        flowio.create_fcs(
            handle,
            np.asarray(events, dtype=np.float32).ravel(),
            channel_names=list(channels),
            opt_channel_names=markers,
            metadata_dict=metadata,
        )
    return path
