"""store stage of the OpenBSI loop: crash-safe session log, NWB writer/reader, verification."""

from openbsi.store.log_reader import read_log
from openbsi.store.nwb import log_to_nwb, read_nwb, write_nwb
from openbsi.store.session_data import SessionData
from openbsi.store.session_log import SessionRecorder
from openbsi.store.verify import verify_recording

__all__ = [
    "SessionData",
    "SessionRecorder",
    "log_to_nwb",
    "read_log",
    "read_nwb",
    "verify_recording",
    "write_nwb",
]
