"""Minimal writers of EDF, BrainVision and XDF files, written from the format specs so replay
can be tested on files made here (no sample data downloaded)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np


def write_edf(path: Path, data_uv: np.ndarray, sfreq_hz: int, names: list[str]) -> None:
    """EDF (Kemp et al. 1992): ASCII header, then 1-s records of int16 per signal."""
    n_ch, n = data_uv.shape
    n_records = n // sfreq_hz
    phys_min, phys_max, dig_min, dig_max = -3276.8, 3276.7, -32768, 32767
    gain = (phys_max - phys_min) / (dig_max - dig_min)  # 0.1 uV per bit

    def field(value: object, width: int) -> bytes:
        return str(value).ljust(width)[:width].encode("ascii")

    header = b"".join(
        [
            field(0, 8),
            field("X X X X", 80),
            field("Startdate 01-JAN-2020 X X X", 80),
            field("01.01.20", 8),
            field("00.00.00", 8),
            field(256 * (n_ch + 1), 8),
            field("", 44),
            field(n_records, 8),
            field(1, 8),
            field(n_ch, 4),
        ]
    )
    per_signal = [
        (names, 16),
        (["ECoG electrode"] * n_ch, 80),
        (["uV"] * n_ch, 8),
        ([phys_min] * n_ch, 8),
        ([phys_max] * n_ch, 8),
        ([dig_min] * n_ch, 8),
        ([dig_max] * n_ch, 8),
        ([""] * n_ch, 80),
        ([sfreq_hz] * n_ch, 8),
        ([""] * n_ch, 32),
    ]
    for values, width in per_signal:
        header += b"".join(field(v, width) for v in values)
    digital = np.round((data_uv[:, : n_records * sfreq_hz] - phys_min) / gain + dig_min)
    digital = np.clip(digital, dig_min, dig_max).astype("<i2")
    records = digital.reshape(n_ch, n_records, sfreq_hz).transpose(1, 0, 2)
    path.write_bytes(header + records.tobytes())


def write_brainvision(path: Path, data_uv: np.ndarray, sfreq_hz: float, names: list[str]) -> None:
    """BrainVision Core Data Format 1.0: .vhdr (INI text), .vmrk, multiplexed float32 .eeg."""
    stem = path.with_suffix("")
    eeg, vmrk = stem.with_suffix(".eeg"), stem.with_suffix(".vmrk")
    channels = "\n".join(f"Ch{i + 1}={name},,1,µV" for i, name in enumerate(names))
    path.write_text(
        "Brain Vision Data Exchange Header File Version 1.0\n\n[Common Infos]\n"
        f"Codepage=UTF-8\nDataFile={eeg.name}\nMarkerFile={vmrk.name}\n"
        "DataFormat=BINARY\nDataOrientation=MULTIPLEXED\n"
        f"NumberOfChannels={len(names)}\nSamplingInterval={1e6 / sfreq_hz:g}\n\n"
        "[Binary Infos]\nBinaryFormat=IEEE_FLOAT_32\n\n"
        f"[Channel Infos]\n{channels}\n",
        encoding="utf-8",
    )
    vmrk.write_text(
        "Brain Vision Data Exchange Marker File, Version 1.0\n\n[Common Infos]\n"
        f"Codepage=UTF-8\nDataFile={eeg.name}\n\n[Marker Infos]\n",
        encoding="utf-8",
    )
    eeg.write_bytes(np.ascontiguousarray(data_uv.T, dtype="<f4").tobytes())


def _chunk(tag: int, content: bytes) -> bytes:
    length = len(content) + 2
    return bytes([8]) + struct.pack("<QH", length, tag) + content


def write_xdf(path: Path, streams: list[dict]) -> None:
    """XDF 1.0: each stream dict has name, type, sfreq_hz, labels, data (channels x samples)."""
    out = b"XDF:" + _chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>')
    for sid, s in enumerate(streams, start=1):
        channels = "".join(
            f"<channel><label>{label}</label><unit>microvolts</unit></channel>"
            for label in s["labels"]
        )
        xml = (
            f'<?xml version="1.0"?><info><name>{s["name"]}</name><type>{s["type"]}</type>'
            f"<channel_count>{len(s['labels'])}</channel_count>"
            f"<nominal_srate>{s['sfreq_hz']}</nominal_srate>"
            "<channel_format>float32</channel_format>"
            f"<desc><channels>{channels}</channels></desc></info>"
        )
        out += _chunk(2, struct.pack("<I", sid) + xml.encode())
        data = np.asarray(s["data"], dtype="<f4")
        n = data.shape[1]
        body = struct.pack("<I", sid) + bytes([4]) + struct.pack("<I", n)
        for k in range(n):
            body += bytes([8]) + struct.pack("<d", 100.0 + k / s["sfreq_hz"])
            body += data[:, k].tobytes()
        out += _chunk(3, body)
        footer = (
            '<?xml version="1.0"?><info><first_timestamp>100</first_timestamp>'
            f"<last_timestamp>{100 + (n - 1) / s['sfreq_hz']}</last_timestamp>"
            f"<sample_count>{n}</sample_count></info>"
        )
        out += _chunk(6, struct.pack("<I", sid) + footer.encode())
    path.write_bytes(out)
