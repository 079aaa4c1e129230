"""Reading a file's bytes with a size limit."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from openbsi.inputs.errors import InputError


def check_file(path: str | os.PathLike[str], *, max_bytes: int, source: str | None = None) -> None:
    """Refuse a missing, non-regular or larger-than-`max_bytes` file (for readers that open the
    file themselves, e.g. through h5py or pyABF)."""
    name = source or str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(name, "file", "does not exist") from None
    except OSError as error:
        raise InputError(name, "file", f"cannot be read: {error.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(name, "file", "is not a regular file")
    if info.st_size > max_bytes:
        raise InputError(
            name, "file", "is too large", limit=f"{max_bytes} bytes", value=info.st_size
        )


def read_limited(
    path: str | os.PathLike[str], *, max_bytes: int, source: str | None = None
) -> bytes:
    """The file's bytes; refuses a missing, non-regular or larger-than-`max_bytes` file."""
    name = source or str(path)
    check_file(path, max_bytes=max_bytes, source=name)
    try:
        with open(Path(path), "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise InputError(name, "file", f"cannot be read: {error.strerror}") from None
    if len(data) > max_bytes:  # grew while we looked
        raise InputError(name, "file", "is too large", limit=f"{max_bytes} bytes", value=len(data))
    return data
