"""Atomic file writes for evaluation outputs."""

import os
import secrets
from pathlib import Path


def write_bytes_atomically(path, data):
    """Write `data` to `path` so that readers see either the old file or the whole new one.

    The bytes go to a hidden temporary file in the same directory, which then replaces
    `path` with `os.replace`. The temporary file is removed if any step fails. The new
    file gets the usual permissions for the process umask.

    Args:
        path: str or path-like. The file to write; its directory must exist.
        data: bytes. The complete file content.

    Returns:
        The `Path` written.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    descriptor = os.open(temporary, flags, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path
