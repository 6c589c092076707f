"""Atomic file writes: results, checkpoints, model files and caches are whole or absent."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> Path:
    """Write ``path`` through ``write(binary_file)`` atomically and durably.

    The data goes to a temporary file in the same folder, is flushed and fsynced, then renamed over
    ``path`` (and the folder is fsynced, best effort). On any error the temporary file is removed
    and ``path`` is left as it was. Files get mode 0644 (readable by the team), not mkstemp's 0600.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return path
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
    return path


def append_line(path: str | os.PathLike, line: bytes) -> None:
    """Append ``line`` (one whole line, ending in a newline) to ``path`` durably: one ``write``
    on an ``O_APPEND`` descriptor, then fsync; the file is created (0644) when missing. A reader
    that stops at the last newline never sees half a line of a finished append."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
