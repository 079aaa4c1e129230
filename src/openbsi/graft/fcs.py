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


def _unsupported_width(data: bytes) -> str | None:
    """A reason when the TEXT declares integer widths FlowIO cannot decode (e.g. 24 bit)."""
    import flowio

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            text = flowio.FlowData(_Unclosable(data), only_text=True, use_header_offsets=True).text
    except Exception:
        return None
    if str(text.get("datatype", "")).upper() != "I":
        return None
    widths = {
        str(v)
        for k, v in text.items()
        if k.startswith("p") and k.endswith("b") and k[1:-1].isdigit()
    }
    odd = sorted(widths - {"8", "16", "32", "64"})
    return f"integer data of {odd[0]} bits per value is not supported" if odd else None


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
    reason = _unsupported_width(data)
    if reason:
        raise InputError(source, "$PnB", reason)
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
