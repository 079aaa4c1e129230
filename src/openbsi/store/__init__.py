"""store stage of the OpenBSI loop: crash-safe session log, NWB writer/reader, verification.

Names are imported lazily so that the recorder (used in the real-time loop) does not pull in
pynwb at import time.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "SessionData": "openbsi.store.session_data",
    "SessionRecorder": "openbsi.store.session_log",
    "read_log": "openbsi.store.log_reader",
    "log_to_nwb": "openbsi.store.nwb",
    "read_nwb": "openbsi.store.nwb",
    "write_nwb": "openbsi.store.nwb",
    "verify_recording": "openbsi.store.verify",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'openbsi.store' has no attribute {name!r}")
