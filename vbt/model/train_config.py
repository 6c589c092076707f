"""Training settings: ``TrainParams``, parsed and validated once from a strategy's ``training``.

Every value is checked here (ConfigError naming the key), so the dataset builder and the fitting
loop read plain typed fields. Defaults follow the older system:

* ``labels.source``: ``zigzag`` (``zigzag_threshold`` 0.02) or ``forward_return`` (``horizon`` 20);
  absent, it follows the strategy's output type;
* ``data_split``: train 0.7 / validation 0.15 / test 0.15 (train > 0, the sum <= 1);
* ``epochs`` 50, ``learning_rate`` 0.001, ``batch_size`` 32, ``weight_decay`` 1e-4 for
  classification and 0 for regression, ``huber_delta`` 0.01, ``gradient_clip`` 1.0 (0 disables),
  ``early_stopping`` {enabled: true, patience: 10, min_delta: 0}, ``num_threads`` 1 (CPU only).

No torch here.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vbt.errors import ConfigError
from vbt.model.labels import DEFAULT_HORIZON, DEFAULT_ZIGZAG_THRESHOLD

SUPPORTED_LABEL_SOURCES = ("zigzag", "forward_return")
OUTPUT_TYPE_BY_SUPPORTED_SOURCE = {"zigzag": "classification", "forward_return": "regression"}
DEFAULT_SPLIT = {"train": 0.7, "validation": 0.15, "test": 0.15}


DEFAULT_EPOCHS = 50
MAX_EPOCHS = 100_000
MAX_THREADS = 1024


def read_number(
    section: Mapping[str, Any], key: str, default: float, where: str, lo: float | None = None
) -> float:
    """A finite real ``section[key]`` (None or absent: ``default``), at least ``lo``."""
    value = section.get(key, default)
    if value is None:
        value = default
    at = _at(where, key)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{at}: expected a number, got {value!r}")
    if not math.isfinite(value):
        reason = "not a number" if value != value else "must be finite"
        raise ConfigError(f"{at} = {value!r}: {reason}")
    if lo is not None and value < lo:
        raise ConfigError(f"{at}: must be >= {lo}, got {value!r}")
    return float(value)


def read_int(
    section: Mapping[str, Any],
    key: str,
    default: int,
    where: str,
    lo: int = 1,
    hi: int | None = None,
) -> int:
    """An integer ``section[key]`` (None or absent: ``default``) in [``lo``, ``hi``]."""
    value = section.get(key, default)
    if value is None:
        value = default
    at = _at(where, key)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lo:
        raise ConfigError(f"{at}: expected an integer >= {lo}, got {value!r}")
    if hi is not None and value > hi:
        raise ConfigError(f"{at} = {value}: more than {hi:,}")
    return int(value)


def epochs_override(epochs: Any) -> int:
    """The ``epochs`` argument of a training run (it overrides ``training.epochs``), checked."""
    return read_int({"epochs": epochs}, "epochs", DEFAULT_EPOCHS, "", hi=MAX_EPOCHS)


def _positive(section: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = read_number(section, key, default, where)
    if not value > 0:
        raise ConfigError(f"{_at(where, key)} = {value!r}: must be > 0")
    return value


def _at(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def label_config(strategy: Any) -> tuple[str, dict[str, Any]]:
    """``(source, labels_section)`` for a strategy; ConfigError for an unsupported source."""
    training = strategy.training or {}
    labels = training.get("labels") or {}
    if not isinstance(labels, Mapping):
        raise ConfigError(f"training.labels: expected a mapping, got {labels!r}")
    source = labels.get("source")
    if source is None:
        source = "forward_return" if strategy.output_type == "regression" else "zigzag"
    source = str(source).lower()
    if source not in SUPPORTED_LABEL_SOURCES:
        raise ConfigError(
            f"training.labels.source: {source!r} is not supported by vbt's trainer "
            f"(supported: {', '.join(SUPPORTED_LABEL_SOURCES)})"
        )
    return source, dict(labels)


def split_fractions(training: Mapping[str, Any]) -> tuple[float, float, float]:
    """``training.data_split`` as ``(train, validation, test)``; train > 0 and the sum <= 1."""
    split = training.get("data_split") or {}
    if not isinstance(split, Mapping):
        raise ConfigError(f"training.data_split: expected a mapping, got {split!r}")
    fr = [
        read_number(split, k, DEFAULT_SPLIT[k], "training.data_split", lo=0.0)
        for k in ("train", "validation", "test")
    ]
    total = sum(fr)
    if fr[0] <= 0 or total <= 0 or total > 1.0 + 1e-6:
        raise ConfigError(
            f"training.data_split: train must be > 0 and train + validation + test <= 1, "
            f"got {dict(zip(('train', 'validation', 'test'), fr, strict=True))}"
        )
    return fr[0], fr[1], fr[2]


@dataclass(frozen=True)
class TrainParams:
    """Validated training settings of one strategy (see the module docstring for defaults).

    ``output_type`` is what the labels make: ``classification`` (zigzag) or ``regression``
    (forward_return). ``zigzag_threshold`` is set only for zigzag labels, ``horizon`` only for
    forward returns.
    """

    label_source: str
    output_type: str
    fractions: tuple[float, float, float]
    epochs: int
    learning_rate: float
    batch_size: int
    weight_decay: float
    huber_delta: float
    gradient_clip: float
    early_stopping: bool
    patience: int
    min_delta: float
    num_threads: int
    zigzag_threshold: float | None = None
    horizon: int | None = None

    @classmethod
    def from_strategy(
        cls, strategy: Any, epochs: int | None = None, output_type: str | None = None
    ) -> TrainParams:
        """Parse ``strategy.training``. ``epochs`` overrides ``training.epochs``; ``output_type``
        (default: the label source's) picks the weight-decay default."""
        training = strategy.training or {}
        if not isinstance(training, Mapping):
            raise ConfigError(f"training: expected a mapping, got {training!r}")
        where = "training"
        source, labels = label_config(strategy)
        output_type = output_type or OUTPUT_TYPE_BY_SUPPORTED_SOURCE[source]
        if epochs is None:
            n_epochs = read_int(training, "epochs", DEFAULT_EPOCHS, where, hi=MAX_EPOCHS)
        else:
            n_epochs = epochs_override(epochs)
        es = training.get("early_stopping") or {}
        if not isinstance(es, Mapping):
            raise ConfigError(f"training.early_stopping: expected a mapping, got {es!r}")
        wd_default = 1e-4 if output_type == "classification" else 0.0
        return cls(
            label_source=source,
            output_type=output_type,
            fractions=split_fractions(training),
            epochs=n_epochs,
            learning_rate=read_number(training, "learning_rate", 0.001, where, lo=0.0),
            batch_size=read_int(training, "batch_size", 32, where),
            weight_decay=read_number(training, "weight_decay", wd_default, where, lo=0.0),
            huber_delta=read_number(training, "huber_delta", 0.01, where, lo=0.0),
            gradient_clip=read_number(training, "gradient_clip", 1.0, where, lo=0.0),
            early_stopping=bool(es.get("enabled", True)),
            patience=read_int(es, "patience", 10, "training.early_stopping"),
            min_delta=read_number(es, "min_delta", 0.0, "training.early_stopping", lo=0.0),
            num_threads=read_int(training, "num_threads", 1, where, hi=MAX_THREADS),
            zigzag_threshold=(
                _positive(labels, "zigzag_threshold", DEFAULT_ZIGZAG_THRESHOLD, "training.labels")
                if source == "zigzag"
                else None
            ),
            horizon=(
                read_int(labels, "horizon", DEFAULT_HORIZON, "training.labels")
                if source == "forward_return"
                else None
            ),
        )
