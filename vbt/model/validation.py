"""Checks of a training run that need no data: the seed, the device, and the strategy's training
settings and network. ``vbt.train``, ``vbt.research.run`` and a batch spec run them before any bar
is loaded, so a bad run fails at once with a ``ConfigError`` (or ``ModelError``) naming the field.

torch is imported only by the device and network checks, when they run (and the strategy
modules by the network check: the trainer, which imports this module, is loaded by ``vbt --help``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vbt.errors import ConfigError, ModelError
from vbt.model.train_config import TrainParams, epochs_override

MAX_SEED = 2**64 - 1  # torch seeds are unsigned 64-bit integers


def check_seed(seed: Any) -> int:
    """``seed`` as an int in [0, 2**64 - 1]; ``ConfigError`` naming ``seed`` otherwise."""
    if (
        isinstance(seed, bool)
        or not isinstance(seed, int | np.integer)
        or not 0 <= seed <= MAX_SEED
    ):
        raise ConfigError(f"seed = {seed!r}: must be an integer in [0, 2**64 - 1]")
    return int(seed)


def resolve_device(device: str):
    """``device`` as an available ``torch.device`` (cpu, cuda[:i] or mps).

    Raises
    ------
    ConfigError
        ``device`` is not a torch device, or not one of the supported kinds.
    ModelError
        The device is not available on this machine.
    """
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"device: {device!r} is not a torch device ({exc})") from None
    if dev.type == "cpu":
        return dev
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ModelError(
                f"device {device!r} is not available (torch.cuda.is_available() is False)"
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ModelError(
                f"device {device!r} is not available ({torch.cuda.device_count()} CUDA device(s))"
            )
        return dev
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ModelError(
                f"device {device!r} is not available (torch.backends.mps.is_available() is False)"
            )
        return dev
    raise ConfigError(f"device: {device!r} is not supported (use cpu, cuda or mps)")


def check_training_setup(strategy: Any, *, epochs: int | None = None, device: str = "cpu") -> None:
    """Check everything about a training run that needs no data.

    In order: the ``epochs`` and ``device`` arguments, then the strategy's training settings and
    network (types and sizes; the network is built once on the CPU).

    Parameters
    ----------
    strategy : Strategy
        A loaded strategy (``vbt.load_strategy``).
    epochs : int, optional
        The epochs override of the run (None: the strategy's ``training.epochs``).
    device : str, default "cpu"
        The training device.

    Raises
    ------
    ConfigError, ModelError
        The first problem found; an error in the strategy names its file when it came from one.
    """
    from vbt.model.networks import build_model
    from vbt.strategy import resolve_features  # pydantic models: not at `vbt --help` time

    if epochs is not None:
        epochs_override(epochs)
    resolve_device(device)
    try:
        params = TrainParams.from_strategy(strategy)
        build_model(dict(strategy.model or {}), len(resolve_features(strategy)), params.output_type)
    except (ConfigError, ModelError) as exc:
        if strategy.source is None:
            raise
        raise type(exc)(f"{strategy.source}: {exc}") from None
