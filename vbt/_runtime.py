"""Process settings vbt makes before Numba or torch load: where compiled kernels are cached, and
how OpenMP threads wait. Standard library only: ``python vbt/_runtime.py`` prints the cache folder
(the Makefile's warm-up writes there, so a later ``vbt`` process finds its kernels compiled).

- ``NUMBA_CACHE_DIR``: unless set, a folder keyed on vbt's version and a hash of its sources
  (Numba's own cache does not notice edits to modules that a kernel inlines): ``.numba_cache/<key>``
  beside the package in a writable source checkout, else ``$XDG_CACHE_HOME/vbt/numba/<key>``
  (``~/.cache`` by default), else a folder under the temporary directory.
- ``OMP_WAIT_POLICY=PASSIVE`` unless set: an OpenMP thread that waits for work sleeps instead of
  spinning, so torch's threads do not fight over the cores when another process keeps them busy
  (a spinning pair of threads on a busy 2-core machine made inference 4-5 times slower).

A value the user set in the environment is always kept.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def source_key() -> str:
    """vbt's version and the first 12 hex digits of a hash of its sources (stable across runs)."""
    h = hashlib.sha1()
    for path in sorted(PACKAGE.rglob("*.py")):
        h.update(path.relative_to(PACKAGE).as_posix().encode())
        h.update(path.read_bytes())
    init = (PACKAGE / "__init__.py").read_text(encoding="utf-8")
    found = re.search(r'^__version__ = "([^"]+)"', init, re.M)
    return f"{found.group(1) if found else 'dev'}-{h.hexdigest()[:12]}"


def numba_cache_dir() -> Path:
    """The folder where this version of vbt keeps its compiled kernels (created, writable)."""
    key = source_key()
    checkout = PACKAGE.parent
    candidates = []
    if (checkout / "pyproject.toml").is_file():
        candidates.append(checkout / ".numba_cache" / key)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    candidates.append(Path(xdg) / "vbt" / "numba" / key)
    candidates.append(Path(tempfile.gettempdir()) / f"vbt-numba-{os.getuid()}" / key)
    for folder in candidates:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK | os.X_OK):
            return folder
    return candidates[-1]


def configure() -> None:
    """Set the defaults above in ``os.environ``, before Numba or torch is imported (``import vbt``
    does it first thing; a Numba imported earlier is pointed at the folder too, a torch imported
    earlier keeps its OpenMP settings)."""
    if "NUMBA_CACHE_DIR" not in os.environ:
        os.environ["NUMBA_CACHE_DIR"] = str(numba_cache_dir())
        numba = sys.modules.get("numba")
        if numba is not None:  # imported before vbt: its config was read already
            numba.config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


if __name__ == "__main__":
    print(numba_cache_dir())
else:
    configure()  # on import: ``vbt/__init__.py`` imports this module first
