"""Read a session log back into SessionData, robust to a torn tail (a killed writer)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import numpy as np

from openbsi.signals.types import StreamInfo
from openbsi.store import hash_chain
from openbsi.store.digests import STATUS_PART, content_digests, seal
from openbsi.store.ecog_segments import segments_of
from openbsi.store.framing import RecordType, ScanResult, decode_payload, iter_records
from openbsi.store.sealed import json_digest, status_of
from openbsi.store.session_data import EcogChunks, Pulses, SessionData

ALTERED = "altered: "  # prefix of problems that mean the log was changed after it was written
LOG_FORMAT, LOG_VERSION = "openbsi-session-log", 1
EVENT_LISTS = {
    RecordType.INTENT: "intents",
    RecordType.PHASE: "phases",
    RecordType.DECODE: "decodes",
    RecordType.STIM_COMMAND: "stim_commands",
    RecordType.SAFETY_EVENT: "safety_events",
    RecordType.LATENCY: "latency",
    RecordType.GAIT_EVENT: "gait_events",
    RecordType.ANNOTATION: "annotations",
}


def _stream_info(d: dict) -> StreamInfo:
    return StreamInfo(
        name=d["name"],
        sfreq_hz=float(d["sfreq_hz"]),
        channel_names=tuple(d["channel_names"]),
        unit=d.get("unit", "uV"),
        channel_meta=tuple(d.get("channel_meta", ())),
    )


def read_log(path: Path, *, load_ecog: bool = True) -> SessionData:
    """Everything a log holds, up to its first torn or damaged record.

    The ECoG hash chain is recomputed while reading; a link that does not match the stored one
    is reported in `problems` (the data was altered after it was written). With
    load_ecog=False the samples stay on disk (memory stays flat for hour-long sessions):
    data.ecog is empty, data.ecog_source names the log and iter_ecog_blocks streams them.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "session.obsilog"
    scan: list[ScanResult] = []
    data: SessionData | None = None
    blocks: list[np.ndarray] = []
    chunk_rows: list[tuple[float, int, int, int, str]] = []
    pulse_parts: list[list[np.ndarray]] = []
    kin_parts: list[tuple[list[str], list[np.ndarray]]] = []
    consolidate_every = 512  # small arrays cost ~100 B each: merge batches as they come
    n_samples = 0
    head = b""
    closing: dict = {}
    lost_records = lost_samples = 0
    with path.open("rb") as stream:
        for record_type, payload in iter_records(stream, scan):
            if data is not None and record_type in EVENT_LISTS:
                (n_text,) = struct.unpack_from("<I", payload, 0)  # kept as JSON, not parsed
                events = getattr(data, EVENT_LISTS[RecordType(record_type)])
                events.append_json(bytes(payload[4 : 4 + n_text]))
                continue
            # ECoG samples not kept in memory are only hashed: views, no copy
            keep = load_ecog or record_type != RecordType.ECOG
            meta, arrays = decode_payload(payload, copy=keep)
            if record_type == RecordType.HEADER:
                data = SessionData(
                    info=_stream_info(meta["info"]),
                    session_id=meta["session_id"],
                    start_time=meta["start_time"],
                    description=meta.get("description", ""),
                    meta=meta.get("meta", {}),
                    software_version=str(meta.get("software_version", "")),
                    subject=dict(meta.get("subject", {})),
                    study=dict(meta.get("study", {})),
                    chain_genesis=meta["chain_genesis"],
                )
                head = bytes.fromhex(meta["chain_genesis"])
                if (meta.get("format"), meta.get("version")) != (LOG_FORMAT, LOG_VERSION):
                    data.problems.append(f"{ALTERED}header format or version is not {LOG_FORMAT} 1")
                if meta["chain_genesis"] != hash_chain.genesis(data.session_id).hex():
                    data.problems.append(f"{ALTERED}chain genesis does not match the session id")
                continue
            if data is None:
                raise ValueError(f"{path}: the first record is not a session header")
            if record_type == RecordType.ECOG:
                block = arrays[0]
                link = hash_chain.next_link(head, block, meta["t_s"], meta["t_ns"])
                if link.hex() != meta["sha256"]:
                    data.problems.append(f"{ALTERED}hash chain broken at chunk {len(chunk_rows)}")
                    link = bytes.fromhex(meta["sha256"])  # re-anchor: report each break once
                head = link
                chunk_rows.append(
                    (meta["t_s"], meta["t_ns"], n_samples, block.shape[1], meta["sha256"])
                )
                n_samples += block.shape[1]
                if load_ecog:
                    blocks.append(block.T)
            elif record_type == RecordType.PULSES:
                pulse_parts.append(arrays)
                if len(pulse_parts) >= consolidate_every:
                    pulse_parts = [_concat_columns(pulse_parts)]
            elif record_type == RecordType.KINEMATICS:
                kin_parts.append((meta["columns"], arrays))
                if len(kin_parts) >= consolidate_every:
                    kin_parts = _consolidate_kinematics(kin_parts)
            elif record_type == RecordType.STIM_ELECTRODES:
                data.stim_electrodes = meta["electrodes"]
            elif record_type == RecordType.SUMMARY:
                data.summaries[meta["name"]] = meta["values"]
            elif record_type == RecordType.DROPPED:  # counted; verify reports the total
                lost_records += int(meta["count"])
                lost_samples += int(meta.get("ecog_samples", 0))
            elif record_type == RecordType.CLOSE:
                data.closed = True
                closing = meta
            else:
                data.problems.append(f"unknown record type {record_type} skipped")
    if data is None:
        raise ValueError(f"{path}: the log holds no complete header record")
    tail = scan[-1]
    for offset, n_bytes in tail.skipped:
        data.problems.append(f"{n_bytes} damaged byte(s) skipped at byte {offset}")
    if tail.reason:
        data.problems.append(
            f"{tail.reason}; {tail.file_size - tail.end_offset} trailing byte(s) ignored"
        )
    n_channels = data.info.n_channels
    data.ecog = np.concatenate(blocks, axis=0) if blocks else np.zeros((0, n_channels), dtype="<f4")
    data.n_ecog_samples = n_samples
    data.ecog_source = None if load_ecog else path
    data.chain_head = head.hex()
    if chunk_rows:
        t_s, t_ns, first, count, digests = zip(*chunk_rows, strict=True)
        check_timing(data, np.array(t_s, dtype="f8"), np.array(count, dtype="i8"))
        data.ecog_chunks = EcogChunks(
            t_s=np.array(t_s, dtype="f8"),
            t_ns=np.array(t_ns, dtype="i8"),
            first_sample=np.array(first, dtype="i8"),
            n_samples=np.array(count, dtype="i8"),
            sha256=list(digests),
        )
    if pulse_parts:
        cols = _concat_columns(pulse_parts)
        data.pulses = Pulses(*cols)
    data.kinematics = _merge_kinematics(kin_parts)
    # what the writer counted at close; after a crash, what DROPPED records say (records lost
    # after the last DROPPED record cannot be known: the log is reported as unclosed)
    data.dropped_records = int(closing.get("dropped_records", lost_records))
    data.dropped_ecog_samples = int(closing.get("dropped_ecog_samples", lost_samples))
    data.end_time = str(closing.get("end_time", ""))
    _check_closing(data, closing)
    data.digests = content_digests(data)
    stored = closing.get("digests", {})
    for name, value in data.digests.items():
        if closing and stored.get(name) != value:
            data.problems.append(f"{ALTERED}digest of {name} differs from the close record")
    data.digests[STATUS_PART] = json_digest(STATUS_PART, status_of(data))
    data.seal = seal(data.chain_head, data.digests)
    return data


def _check_closing(data: SessionData, closing: dict) -> None:
    """The closing record against what was read (before the status is sealed)."""
    if not closing:
        return
    if closing.get("chain_head") != data.chain_head:
        data.problems.append(f"{ALTERED}hash chain head differs from the close record")
    if closing.get("chunks") != len(data.ecog_chunks):
        data.problems.append(
            f"{len(data.ecog_chunks)} ECoG chunk(s) read, {closing.get('chunks')} written"
        )
    status = json_digest(STATUS_PART, status_of(data))
    if closing.get("digests", {}).get(STATUS_PART) != status:
        data.problems.append(f"{ALTERED}the log's status differs from the close record")
    if closing.get("seal") != seal(data.chain_head, content_digests(data) | {STATUS_PART: status}):
        data.problems.append(f"{ALTERED}the seal differs from the close record")
    by_type = closing.get("dropped_by_type", {})
    if not isinstance(by_type, dict) or sum(by_type.values()) != data.dropped_records:
        data.problems.append(f"{ALTERED}dropped records by type do not add up")


def check_timing(data: SessionData, t_s: np.ndarray, n_samples: np.ndarray) -> None:
    """Flag breaks in the stream (lost samples, a reconnect, a start-up backlog): chunks off
    their segment's sample clock by more than a sample. Each segment is stored on its own
    (ecog_segments), never joined; the breaks are reported here."""
    segments = segments_of(t_s, n_samples, data.info.sfreq_hz)
    if len(segments) < 2:
        return
    steps = [f"{b.start_s - a.stop_s:+.4f} s at {b.start_s:.3f} s" for a, b in pairwise(segments)]
    shown = ", ".join(steps[:5]) + (f" and {len(steps) - 5} more" if len(steps) > 5 else "")
    data.warnings.append(
        f"ECoG timing: {len(steps)} break(s) in the stream ({shown}); stored as"
        f" {len(segments)} segments, never joined (processing/integrity/ecog_chunks)"
    )


def _concat_columns(parts: list[list[np.ndarray]]) -> list[np.ndarray]:
    return [np.concatenate(column) for column in zip(*parts, strict=True)]


def _consolidate_kinematics(
    parts: list[tuple[list[str], list[np.ndarray]]],
) -> list[tuple[list[str], list[np.ndarray]]]:
    """Merge runs of batches with the same columns into one batch each."""
    runs: list[tuple[list[str], list[list[np.ndarray]]]] = []
    for names, arrays in parts:
        if runs and runs[-1][0] == names:
            runs[-1][1].append(arrays)
        else:
            runs.append((names, [arrays]))
    return [(names, _concat_columns(batches)) for names, batches in runs]


def _merge_kinematics(parts: list[tuple[list[str], list[np.ndarray]]]) -> dict[str, np.ndarray]:
    """Concatenate kinematics batches; a column missing from a batch is filled with NaN."""
    if not parts:
        return {}
    names = sorted({n for cols, _ in parts for n in cols})
    out: dict[str, list[np.ndarray]] = {"t_s": [], **{n: [] for n in names}}
    for cols, arrays in parts:
        times, values = arrays[0], dict(zip(cols, arrays[1:], strict=True))
        out["t_s"].append(times)
        for n in names:
            out[n].append(values.get(n, np.full(times.size, np.nan)))
    return {k: np.concatenate(v) for k, v in out.items()}


def iter_ecog_blocks(
    path: Path, n_chunks: int | None = None, *, copy: bool = True, first_chunk: int = 0
) -> Iterator[tuple[int, np.ndarray]]:
    """(first_sample, samples x channels float32 uV) per ECoG chunk, read one at a time.

    n_chunks: stop after that many chunks (the count read_log found, so that both passes agree).
    first_chunk: start there (one segment); first_sample still counts from the log's start.
    copy=False yields views into the read buffer, valid until the next chunk is asked for.
    """
    scan: list[ScanResult] = []
    first, seen = 0, 0
    with Path(path).open("rb") as stream:
        for record_type, payload in iter_records(stream, scan):
            if record_type != RecordType.ECOG:
                continue
            if n_chunks is not None and seen >= first_chunk + n_chunks:
                return
            _, arrays = decode_payload(payload, copy=copy)
            block = arrays[0].T
            if seen >= first_chunk:
                yield first, block
            first += block.shape[0]
            seen += 1
