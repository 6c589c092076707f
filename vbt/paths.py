"""File-system checks done before any long work: every problem is one ``ConfigError`` naming the
path and what is wrong with it (the role of the path, e.g. ``out`` or ``checkpoint``, first).

- ``read_bytes(path, what)``: an input file's contents (missing, a folder, unreadable, too large);
- ``check_output_dir(path, what)``: a folder that results may be written into (it, or the nearest
  folder above it that exists, is a writable folder, not a file);
- ``check_output_file(path, what, created=None)``: a file that may be (re)written atomically (its
  folder exists and is writable, or is the folder ``created`` or lies inside it; the path is not a
  folder);
- ``check_input_dir(path, what)``: an existing folder to read from;
- ``plain_name(name, what)``: a name used as one folder name (a strategy's ``name``).

Nothing here creates or changes anything.
"""

from __future__ import annotations

import os
from pathlib import Path

from vbt.errors import ConfigError


def _problem(path: Path, what: str, text: str) -> ConfigError:
    return ConfigError(f"{what} {path}: {text}")


def read_bytes(path: str | Path, what: str, max_bytes: int | None = None) -> bytes:
    """The bytes of the input file ``path``; ``ConfigError`` naming it when it is missing, a
    folder, unreadable or larger than ``max_bytes``."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: {what} not found")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a {what}")
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1 if max_bytes is not None else -1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise ConfigError(f"{path}: larger than {max_bytes:,} bytes; not a {what}")
    return data


def check_input_dir(path: str | Path, what: str) -> Path:
    """``path`` as a Path if it is an existing, readable folder; else ``ConfigError``."""
    path = Path(path)
    if not path.exists():
        raise _problem(path, what, "folder not found")
    if not path.is_dir():
        raise _problem(path, what, "is a file, not a folder")
    if not os.access(path, os.R_OK | os.X_OK):
        raise _problem(path, what, "folder is not readable")
    return path


def check_output_dir(path: str | Path, what: str) -> Path:
    """``path`` as a Path if results can be written there: it is a writable folder, or it does
    not exist and the nearest existing folder above it is writable (it would be created there).
    A file in its place (or above it) is a ``ConfigError``."""
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise _problem(path, what, "is a file, not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise _problem(path, what, "folder is not writable")
        return path
    parent = _nearest_existing(path)
    if not parent.is_dir():
        raise _problem(path, what, f"cannot create the folder: {parent} is a file")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _problem(path, what, f"cannot create the folder: {parent} is not writable")
    return path


def check_output_file(path: str | Path, what: str, created: str | Path | None = None) -> Path:
    """``path`` as a Path if a file can be written there atomically (a temporary file in the same
    folder, then a rename): the folder exists and is writable, and ``path`` is not a folder.

    ``created`` is a folder the caller creates before writing ``path`` (a command's ``--out``):
    ``path``'s folder may then be missing if it is ``created`` or lies inside it and the nearest
    existing folder above it is writable (the caller creates it once its work is done); ``path``
    may not be ``created`` or a folder above it."""
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise _problem(path, what, "is a folder, not a file")
    if created is not None and _inside(Path(created), path):
        raise _problem(path, what, f"is or holds the output folder {created}, not a file")
    if not folder.exists():
        if created is None or not _inside(folder, Path(created)):
            raise _problem(path, what, f"folder {folder} does not exist")
        above = _nearest_existing(folder)
        if not above.is_dir():
            raise _problem(path, what, f"cannot create the folder {folder}: {above} is a file")
        if not os.access(above, os.W_OK | os.X_OK):
            raise _problem(
                path, what, f"cannot create the folder {folder}: {above} is not writable"
            )
        return path
    if not folder.is_dir():
        raise _problem(path, what, f"{folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _problem(path, what, f"folder {folder} is not writable")
    return path


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies inside it (both made absolute, symlinks resolved)."""
    return path.resolve().is_relative_to(folder.resolve())


def _nearest_existing(path: Path) -> Path:
    p = path.absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def plain_name(name: object, what: str) -> str:
    """``name`` (stripped) if it can be one folder name: not empty, not ``.``/``..``, no ``/``,
    ``\\`` or NUL; else ``ConfigError`` naming ``what``."""
    text = str(name).strip()
    if not text or text in (".", "..") or any(c in text for c in ("/", "\\", "\0")):
        raise ConfigError(
            f"{what} = {name!r}: must be a plain folder name (not empty, not '.' or '..', "
            "no '/', '\\' or NUL)"
        )
    return text
