"""Train once into a folder: a marker file names the finished model directory, so a run that is
repeated (a batch or a research run started again) reuses the model instead of training again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import vbt
from vbt.atomic import atomic_write

TRAINED_MARKER = "trained.txt"  # in the folder: the model directory, written when training is done


def train_once(strategy: Any, *, folder: str | Path, **train_args: Any) -> Path:
    """Train ``strategy`` into ``folder`` with ``vbt.train``, unless an earlier call finished.

    Parameters
    ----------
    strategy : str, Path, mapping or Strategy
        As for ``vbt.train``.
    folder : str or Path
        ``vbt.train``'s ``out_dir``; its ``trained.txt`` names the model directory once training
        has finished (written atomically, after the model).
    **train_args
        The other arguments of ``vbt.train`` (``data_dir``, ``symbol``, ``seed``, ...).

    Returns
    -------
    Path
        The model directory: the one the marker names when it still holds a model
        (``metadata_v3.json``), else the one just trained.

    Raises
    ------
    ConfigError, DataError, ModelError
        As ``vbt.train``.
    """
    folder = Path(folder)
    marker = folder / TRAINED_MARKER
    if marker.is_file():
        found = Path(marker.read_text().strip())
        if (found / "metadata_v3.json").is_file():
            return found
    model_dir = vbt.train(strategy, out_dir=folder, **train_args)  # the public entry point
    atomic_write(marker, lambda f: f.write(str(model_dir).encode()))
    return Path(model_dir)
