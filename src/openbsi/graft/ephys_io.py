"""Patch-clamp readers behind one interface: ABF (pyABF) and NWB icephys (pynwb).

Every reader returns a `Recording`: one time axis per sweep (sample 0 = sweep start), the
response and the command as (n_sweeps, n_samples) arrays in mV / pA, and the clamp mode read
from the units. A file that cannot be read is refused with one `InputError` line.
"""

from __future__ import annotations

import os
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from openbsi.inputs import InputError, check_file

MAX_ABF_BYTES = 200_000_000  # assumption: a long gap-free ABF; larger files are refused
MAX_NWB_BYTES = 2_000_000_000  # assumption: icephys NWB files of a full day of patching
MAX_SAMPLES = 50_000_000  # assumption: total samples held in memory (~400 MB as float64)

CURRENT_CLAMP = "current_clamp"
VOLTAGE_CLAMP = "voltage_clamp"


@dataclass
class Recording:
    """Sweeps of one patch-clamp recording on one axis per sweep.

    response: (n_sweeps, n_samples), mV in current clamp, pA in voltage clamp.
    command: (n_sweeps, n_samples), pA in current clamp, mV in voltage clamp.
    """

    source: str
    clamp_mode: str  # "current_clamp" | "voltage_clamp"
    sample_rate_hz: float
    response: np.ndarray
    command: np.ndarray
    sweep_start_s: np.ndarray  # (n_sweeps,) start of each sweep on the recording's clock
    protocol_name: str = ""
    comments: list[str] = field(default_factory=list)

    @property
    def n_sweeps(self) -> int:
        return int(self.response.shape[0])

    @property
    def response_unit(self) -> str:
        return "mV" if self.clamp_mode == CURRENT_CLAMP else "pA"

    @property
    def command_unit(self) -> str:
        return "pA" if self.clamp_mode == CURRENT_CLAMP else "mV"

    def time_s(self) -> np.ndarray:
        return np.arange(self.response.shape[1]) / self.sample_rate_hz


def _mode_from_units(response_unit: str, command_unit: str, source: str) -> str:
    response_unit, command_unit = response_unit.strip(), command_unit.strip()
    if response_unit == "mV" and command_unit == "pA":
        return CURRENT_CLAMP
    if response_unit == "pA" and command_unit == "mV":
        return VOLTAGE_CLAMP
    raise InputError(
        source,
        "units",
        "neither current clamp (mV response, pA command) nor voltage clamp (pA, mV)",
        value=f"{response_unit}/{command_unit}",
    )


def _validated(recording: Recording) -> Recording:
    source = recording.source
    for name in ("response", "command"):
        array = getattr(recording, name)
        if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 10:
            raise InputError(
                source, name, "needs at least 1 sweep of 10 samples", value=array.shape
            )
        if not np.all(np.isfinite(array)):
            raise InputError(source, name, "holds non-finite samples")
    if recording.response.shape != recording.command.shape:
        raise InputError(
            source, "command", "shape differs from the response", value=recording.command.shape
        )
    if not (100.0 <= recording.sample_rate_hz <= 1e6):
        raise InputError(
            source,
            "sample_rate_hz",
            "out of range",
            limit="[100, 1e6]",
            value=recording.sample_rate_hz,
        )
    return recording


ABF2_SECTION_TABLE_START = 76  # ABF2 header: 18 section entries of (block, bytes, count)
ABF2_SECTIONS = 18
ABF_BLOCK_BYTES = 512


def _check_abf2_sections(path: Path, source: str) -> None:
    """Refuse an ABF2 whose section table points outside the file, before pyABF loops over it
    (a flipped count made pyABF allocate gigabytes: found by the fuzz test)."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(ABF2_SECTION_TABLE_START + 16 * ABF2_SECTIONS)
    if not head.startswith(b"ABF2"):
        return  # ABF1 headers are fixed-size; pyABF reads them at fixed offsets
    if len(head) < ABF2_SECTION_TABLE_START + 16 * ABF2_SECTIONS:
        raise InputError(source, "header", "truncated ABF2 header", value=len(head))
    for index in range(ABF2_SECTIONS):
        offset = ABF2_SECTION_TABLE_START + 16 * index
        block, entry_bytes, count = struct.unpack_from("<IIq", head, offset)
        if count == 0:
            continue
        end = block * ABF_BLOCK_BYTES + entry_bytes * count
        if count < 0 or entry_bytes == 0 or end > size:
            raise InputError(
                source,
                f"header section {index}",
                "points outside the file",
                limit=f"{size} bytes",
                value=f"block {block}, {entry_bytes} B x {count}",
            )


def read_abf(path: str | os.PathLike[str], *, channel: int = 0) -> Recording:
    """Read an ABF (1 or 2) file with pyABF; a corrupt or truncated file is an InputError."""
    import pyabf

    path = Path(path)
    source = str(path)
    check_file(path, max_bytes=MAX_ABF_BYTES, source=source)
    _check_abf2_sections(path, source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            abf = pyabf.ABF(str(path), loadData=False)
            if not (0 <= channel < abf.channelCount):
                raise InputError(
                    source, "channel", "out of range", limit=abf.channelCount, value=channel
                )
            n_sweeps, n_samples = int(abf.sweepCount), int(abf.sweepPointCount)
            if n_sweeps < 1 or n_samples < 10 or n_sweeps * n_samples > MAX_SAMPLES:
                raise InputError(
                    source,
                    "sweeps",
                    "implausible size",
                    limit=f"{MAX_SAMPLES} samples",
                    value=f"{n_sweeps} x {n_samples}",
                )
            expected_bytes = abf.dataByteStart + abf.dataPointCount * abf.dataPointByteSize
            if expected_bytes > path.stat().st_size:
                raise InputError(
                    source,
                    "data",
                    "file is truncated",
                    limit=f"{expected_bytes} bytes",
                    value=path.stat().st_size,
                )
            abf = pyabf.ABF(str(path), loadData=True)
            response = np.empty((n_sweeps, n_samples))
            command = np.empty((n_sweeps, n_samples))
            for sweep in range(n_sweeps):
                abf.setSweep(sweep, channel=channel)
                response[sweep] = abf.sweepY
                command[sweep] = abf.sweepC
            mode = _mode_from_units(abf.adcUnits[channel], abf.dacUnits[channel], source)
            starts = np.asarray(abf.sweepTimesSec, dtype=float)[:n_sweeps]
            recording = Recording(
                source=source,
                clamp_mode=mode,
                sample_rate_hz=float(abf.sampleRate),
                response=response,
                command=command,
                sweep_start_s=starts,
                protocol_name=str(abf.protocol),
                comments=[str(c) for c in abf.tagComments],
            )
    except InputError:
        raise
    except Exception as error:  # pyABF raises many kinds on corrupt bytes: one line each
        raise InputError(
            source, "abf", f"not a readable ABF file ({type(error).__name__})"
        ) from None
    return _validated(recording)


def read_nwb_icephys(path: str | os.PathLike[str]) -> Recording:
    """Read the patch-clamp series of an NWB file (acquisition + stimulus, by sweep number)."""
    import pynwb

    path = Path(path)
    source = str(path)
    check_file(path, max_bytes=MAX_NWB_BYTES, source=source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pynwb.NWBHDF5IO(str(path), "r") as io:
                nwb = io.read()
                return _validated(_recording_from_nwb(nwb, source))
    except InputError:
        raise
    except Exception as error:  # h5py / hdmf errors on corrupt files
        raise InputError(
            source, "nwb", f"not a readable NWB file ({type(error).__name__})"
        ) from None


def _recording_from_nwb(nwb, source: str) -> Recording:
    from pynwb.icephys import (
        CurrentClampSeries,
        CurrentClampStimulusSeries,
        VoltageClampSeries,
        VoltageClampStimulusSeries,
    )

    responses = {
        s.sweep_number: s
        for s in nwb.acquisition.values()
        if isinstance(s, CurrentClampSeries | VoltageClampSeries)
    }
    stimuli = {
        s.sweep_number: s
        for s in nwb.stimulus.values()
        if isinstance(s, CurrentClampStimulusSeries | VoltageClampStimulusSeries)
    }
    if not responses:
        raise InputError(source, "acquisition", "holds no CurrentClampSeries or VoltageClampSeries")
    sweeps = sorted(responses)
    missing = [n for n in sweeps if n not in stimuli]
    if missing:
        raise InputError(source, "stimulus", "no stimulus series for sweep", value=int(missing[0]))
    kinds = {type(responses[n]) for n in sweeps}
    if len(kinds) != 1:
        raise InputError(source, "acquisition", "mixes current- and voltage-clamp sweeps")
    current_clamp = kinds.pop() is CurrentClampSeries
    rates = {float(responses[n].rate) for n in sweeps} | {float(stimuli[n].rate) for n in sweeps}
    if len(rates) != 1:
        raise InputError(source, "rate", "sweeps differ in sampling rate", value=sorted(rates))
    lengths = {len(responses[n].data) for n in sweeps} | {len(stimuli[n].data) for n in sweeps}
    if len(lengths) != 1:
        raise InputError(source, "data", "sweeps differ in length", value=sorted(lengths))
    n_samples = lengths.pop()
    if len(sweeps) * n_samples > MAX_SAMPLES:
        raise InputError(
            source, "data", "too many samples", limit=MAX_SAMPLES, value=len(sweeps) * n_samples
        )
    # SI (V, A) through each series' conversion, then mV / pA
    resp_scale, cmd_scale = (1e3, 1e12) if current_clamp else (1e12, 1e3)
    response = np.vstack(
        [
            np.asarray(responses[n].data[:], float) * responses[n].conversion * resp_scale
            for n in sweeps
        ]
    )
    command = np.vstack(
        [np.asarray(stimuli[n].data[:], float) * stimuli[n].conversion * cmd_scale for n in sweeps]
    )
    starts = np.array([float(responses[n].starting_time or 0.0) for n in sweeps])
    return Recording(
        source=source,
        clamp_mode=CURRENT_CLAMP if current_clamp else VOLTAGE_CLAMP,
        sample_rate_hz=rates.pop(),
        response=response,
        command=command,
        sweep_start_s=starts,
        protocol_name=str(nwb.session_description or ""),
    )


def write_nwb_icephys(recording: Recording, path: str | os.PathLike[str]) -> Path:
    """Write a Recording as NWB icephys (SI units, one response + stimulus series per sweep)."""
    from datetime import UTC, datetime

    import pynwb
    from pynwb.icephys import (
        CurrentClampSeries,
        CurrentClampStimulusSeries,
        VoltageClampSeries,
        VoltageClampStimulusSeries,
    )

    path = Path(path)
    nwb = pynwb.NWBFile(
        session_description=recording.protocol_name or "openbsi graft icephys",
        identifier=f"openbsi-graft-{path.stem}",
        session_start_time=datetime.now(UTC),
    )
    device = nwb.create_device(name="amplifier")
    electrode = nwb.create_icephys_electrode(
        name="electrode0", description="whole-cell patch electrode", device=device
    )
    current_clamp = recording.clamp_mode == CURRENT_CLAMP
    for sweep in range(recording.n_sweeps):
        common = dict(
            electrode=electrode,
            rate=float(recording.sample_rate_hz),
            starting_time=float(recording.sweep_start_s[sweep]),
            gain=1.0,
            sweep_number=np.uint32(sweep),
        )
        if current_clamp:
            stimulus = CurrentClampStimulusSeries(
                name=f"stimulus_{sweep:03d}", data=recording.command[sweep] * 1e-12, **common
            )
            response = CurrentClampSeries(
                name=f"response_{sweep:03d}", data=recording.response[sweep] * 1e-3, **common
            )
        else:
            stimulus = VoltageClampStimulusSeries(
                name=f"stimulus_{sweep:03d}", data=recording.command[sweep] * 1e-3, **common
            )
            response = VoltageClampSeries(
                name=f"response_{sweep:03d}", data=recording.response[sweep] * 1e-12, **common
            )
        nwb.add_intracellular_recording(electrode=electrode, stimulus=stimulus, response=response)
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def read_recording(path: str | os.PathLike[str]) -> Recording:
    """Read an .abf or .nwb patch-clamp file by its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix == ".abf":
        return read_abf(path)
    if suffix == ".nwb":
        return read_nwb_icephys(path)
    raise InputError(
        str(path), "file", "unknown patch-clamp format", limit=".abf or .nwb", value=suffix
    )
