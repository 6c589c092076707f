"""Training settings: ``TrainParams``, parsed and validated once from a strategy's ``training``.

Every value is checked here (ConfigError naming the key), so the dataset builder and the fitting
loop read plain typed fields. Defaults follow the older system:

* ``labels.source``: ``zigzag`` (``zigzag_threshold`` 0.02), ``forward_return`` (``horizon`` 20),
  ``triple_barrier``, ``context`` or ``regime`` (their parameters: ``LABEL_PARAMS``); absent, it
  follows the strategy's output type;
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
from vbt.features.indicators.registry import Param
from vbt.model.label_sources import OUTPUT_TYPE_BY_LABEL_SOURCE
from vbt.model.labels import (
    CONTEXT_DEFAULTS,
    DEFAULT_HORIZON,
    DEFAULT_ZIGZAG_THRESHOLD,
    REGIME_DEFAULTS,
    TRIPLE_BARRIER_DEFAULTS,
    VOL_METHODS,
)

SUPPORTED_LABEL_SOURCES = tuple(OUTPUT_TYPE_BY_LABEL_SOURCE)
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


@dataclass(frozen=True)
class LabelParam:
    """One ``training.labels`` parameter of a label source: ``param``, its kind, default, bounds
    and choices, checked as an indicator parameter is (``registry.Param``: strict kinds, one
    line naming the key), and the other spellings the older system's strategy files use."""

    param: Param
    spellings: tuple[str, ...] = ()


def _label(name: str, kind: type, default: Any, *, spellings: tuple[str, ...] = (),
           **bounds: Any) -> LabelParam:  # fmt: skip
    return LabelParam(Param(name, kind, default, **bounds), spellings)


_TB, _CTX, _RG = TRIPLE_BARRIER_DEFAULTS, CONTEXT_DEFAULTS, REGIME_DEFAULTS
#: the parameters of each label source beyond zigzag's and forward_return's (read by
#: ``TrainParams``); the defaults are the labellers' own (vbt.model.labels)
LABEL_PARAMS: dict[str, tuple[LabelParam, ...]] = {
    "triple_barrier": (
        _label("pt_multiplier", float, _TB["pt_multiplier"], gt=0.0,
               spellings=("profit_target_atr",)),
        _label("sl_multiplier", float, _TB["sl_multiplier"], gt=0.0,
               spellings=("stop_loss_atr",)),
        _label("max_holding_period", int, _TB["max_holding_period"], ge=1,
               spellings=("max_holding_bars",)),
        # a span of 1 has no close-to-close volatility (every barrier NaN): at least 2
        _label("vol_span", int, _TB["vol_span"], ge=2, spellings=("atr_period",)),
        _label("vol_method", str, _TB["vol_method"], choices=tuple(VOL_METHODS)),
        _label("compute_weights", bool, False),
    ),
    "context": (
        _label("horizon", int, _CTX["horizon"], ge=1),
        _label("bullish_threshold", float, _CTX["bullish_threshold"]),
        _label("bearish_threshold", float, _CTX["bearish_threshold"]),
    ),
    "regime": (
        _label("macro_atr_mult", float, _RG["macro_atr_mult"], gt=0.0),
        _label("micro_atr_mult", float, _RG["micro_atr_mult"], gt=0.0),
        _label("atr_period", int, _RG["atr_period"], ge=1),
        _label("vol_lookback", int, _RG["vol_lookback"], ge=2),
        _label("vol_crisis_threshold", float, _RG["vol_crisis_threshold"], gt=0.0),
        _label("progression_tolerance", float, _RG["progression_tolerance"], ge=0.0, le=1.0),
    ),
}  # fmt: skip
#: parameters of the older labellers that vbt does not implement: a ConfigError, never ignored
REFUSED_LABEL_PARAMS = {
    "triple_barrier": {
        "cusum_threshold": "vbt labels every bar (no CUSUM event filter)",
        "cusum_multiplier": "vbt labels every bar (no CUSUM event filter)",
    },
}


def read_label_params(source: str, labels: Mapping[str, Any]) -> dict[str, Any]:
    """The checked parameters of ``source`` (``LABEL_PARAMS``) from ``training.labels``, by
    their canonical names, defaults filled; ConfigError naming the key for a wrong kind, a value
    out of range, a parameter given under two spellings or one vbt refuses."""
    out: dict[str, Any] = {}
    for key, why in REFUSED_LABEL_PARAMS.get(source, {}).items():
        if labels.get(key) is not None:
            raise ConfigError(f"training.labels.{key}: not supported by vbt ({why})")
    for lp in LABEL_PARAMS.get(source, ()):
        p = lp.param
        given = [k for k in (p.name, *lp.spellings) if labels.get(k) is not None]
        if len(given) > 1:
            raise ConfigError(
                f"training.labels.{given[1]}: another spelling of {p.name}; give one of "
                f"{', '.join(given)}"
            )
        out[p.name] = p.check(labels[given[0]], "training.labels", given[0]) if given else p.default
    if source == "context" and out["bearish_threshold"] > out["bullish_threshold"]:
        raise ConfigError(
            f"training.labels.bearish_threshold = {out['bearish_threshold']!r}: must be <= "
            f"bullish_threshold ({out['bullish_threshold']!r})"
        )
    return out


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

    ``output_type`` is what the labels make (``OUTPUT_TYPE_BY_LABEL_SOURCE``): ``classification``
    (zigzag, triple_barrier), ``regression`` (forward_return), ``context_classification`` or
    ``regime_classification``. ``zigzag_threshold`` is set only for zigzag labels, ``horizon``
    only for forward returns; ``label_params`` holds the other sources' parameters
    (``LABEL_PARAMS``, canonical names, defaults filled).
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
    label_params: Mapping[str, Any] | None = None

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
        output_type = output_type or OUTPUT_TYPE_BY_LABEL_SOURCE[source]
        if epochs is None:
            n_epochs = read_int(training, "epochs", DEFAULT_EPOCHS, where, hi=MAX_EPOCHS)
        else:
            n_epochs = epochs_override(epochs)
        es = training.get("early_stopping") or {}
        if not isinstance(es, Mapping):
            raise ConfigError(f"training.early_stopping: expected a mapping, got {es!r}")
        wd_default = 0.0 if output_type == "regression" else 1e-4
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
            label_params=read_label_params(source, labels) or None,
        )
