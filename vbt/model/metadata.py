"""Model-directory metadata: ``metadata_v3.json``, ``features.json``, ``config.json`` (no torch).

``metadata_v3.json`` is the v3 marker and the source of truth for the model's inputs: its
``resolved_features`` is the ordered list of feature ids the model expects. Everything here reads
plain JSON, so listing or inspecting models never imports torch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vbt.enums import OUTPUT_CLASSIFICATION, SIGNAL_OUTPUT_TYPES
from vbt.errors import ModelError
from vbt.model.label_sources import (
    CLASS_NAMES_BY_OUTPUT_TYPE,
    OUTPUT_TYPE_BY_LABEL_SOURCE,  # noqa: F401 (re-export)
)

METADATA_FILE = "metadata_v3.json"
FEATURES_FILE = "features.json"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
WEIGHTS_FILE = "model.pt"

# Every metadata_v3.json "output_type" a model directory may declare.
OUTPUT_TYPES = ("classification", "regression", "regime_classification", "context_classification")
# num_classes inferred from output_type when the model config has none (§6.3 step 3).
NUM_CLASSES_BY_OUTPUT_TYPE = {
    **{k: len(names) for k, names in CLASS_NAMES_BY_OUTPUT_TYPE.items()},
    "regression": 3,  # as the older system; the network builder ignores it for regression
}


@dataclass(frozen=True)
class ModelMetadata:
    """Parsed ``metadata_v3.json``. Every field but ``resolved_features`` has a default.

    Lists are stored as tuples; ``indicators``/``fuzzy_sets``/``nn_inputs`` keep the raw YAML
    shapes (shorthand fuzzy lists preserved). ``training_timeframes`` lists the base timeframe first.
    """

    resolved_features: tuple[str, ...]
    model_name: str = ""
    strategy_name: str = ""
    created_at: str = ""
    strategy_version: str = "3.0"
    indicators: dict[str, Any] = field(default_factory=dict)
    fuzzy_sets: dict[str, Any] = field(default_factory=dict)
    nn_inputs: list[Any] = field(default_factory=list)
    training_symbols: tuple[str, ...] = ()
    training_timeframes: tuple[str, ...] = ()
    training_metrics: dict[str, Any] = field(default_factory=dict)
    output_type: str = "classification"
    model_type: str = "mlp"
    sequence_length: int | None = None
    normalization_params: dict[str, Any] = field(default_factory=dict)
    context_data_config: list[Any] | None = None
    context_source_ids: list[Any] = field(default_factory=list)

    @property
    def base_timeframe(self) -> str | None:
        return self.training_timeframes[0] if self.training_timeframes else None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = METADATA_FILE) -> ModelMetadata:
        """Build from a parsed ``metadata_v3.json``; ModelError names the field at fault."""
        if not isinstance(data, Mapping):
            raise ModelError(f"{source}: expected a JSON object, got {type(data).__name__}")

        def str_list(key: str) -> tuple[str, ...]:
            value = data.get(key)
            if value is None:
                return ()
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                raise ModelError(
                    f"{source}: field {key!r} must be a list of strings, got {value!r}"
                )
            return tuple(value)

        def mapping(key: str) -> dict[str, Any]:
            value = data.get(key)
            if value is None:
                return {}
            if not isinstance(value, Mapping):
                raise ModelError(f"{source}: field {key!r} must be an object, got {value!r}")
            return dict(value)

        def text(key: str, default: str) -> str:
            value = data.get(key)
            return default if value is None else str(value)

        def any_list(key: str) -> list[Any]:
            value = data.get(key)
            if value is None:
                return []
            if not isinstance(value, list):
                raise ModelError(f"{source}: field {key!r} must be a list, got {value!r}")
            return list(value)

        nn_inputs = any_list("nn_inputs")
        seq = data.get("sequence_length")
        if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int) or seq <= 0):
            raise ModelError(
                f"{source}: field 'sequence_length' must be a positive integer or null"
            )
        ctx = data.get("context_data_config")
        if ctx is not None and not isinstance(ctx, list):
            raise ModelError(f"{source}: field 'context_data_config' must be a list or null")
        strategy_name = text("strategy_name", text("model_name", ""))
        return cls(
            resolved_features=str_list("resolved_features"),
            model_name=text("model_name", strategy_name),
            strategy_name=strategy_name,
            created_at=text("created_at", ""),
            strategy_version=text("strategy_version", "3.0"),
            indicators=mapping("indicators"),
            fuzzy_sets=mapping("fuzzy_sets"),
            nn_inputs=nn_inputs,
            training_symbols=str_list("training_symbols"),
            training_timeframes=str_list("training_timeframes"),
            training_metrics=mapping("training_metrics"),
            output_type=text("output_type", "classification"),
            model_type=text("model_type", "mlp").lower(),
            sequence_length=seq,
            normalization_params=mapping("normalization_params"),
            context_data_config=list(ctx) if ctx is not None else None,
            context_source_ids=any_list("context_source_ids"),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with every §6.2 field (tuples as lists)."""
        out = asdict(self)
        for key in ("resolved_features", "training_symbols", "training_timeframes"):
            out[key] = list(out[key])
        order = (
            "model_name strategy_name created_at strategy_version indicators fuzzy_sets nn_inputs "
            "resolved_features training_symbols training_timeframes training_metrics output_type "
            "model_type sequence_length normalization_params context_data_config context_source_ids"
        ).split()
        return {k: out[k] for k in order}


def read_json(path: str | Path, what: str | None = None) -> Any:
    """Parse one JSON file; ModelError naming the file if it is unreadable or not JSON."""
    path = Path(path)
    try:
        with path.open("r", encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise ModelError(f"{path}: {what or path.name} not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: not valid JSON ({exc})") from exc
    except RecursionError:
        raise ModelError(f"{path}: nesting too deep to read") from None
    except IsADirectoryError:
        raise ModelError(f"{path}: is a folder, not a JSON file") from None
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def is_v3_model(path: str | Path) -> bool:
    """True if ``path`` is a directory holding ``metadata_v3.json``."""
    p = Path(path)
    return p.is_dir() and (p / METADATA_FILE).is_file()


def load_metadata(model_dir: str | Path) -> ModelMetadata:
    """Read ``<model_dir>/metadata_v3.json``; ModelError if the directory is not a v3 model."""
    model_dir = Path(model_dir)
    if not model_dir.exists():
        raise ModelError(f"{model_dir}: model directory not found")
    if not model_dir.is_dir():
        raise ModelError(f"{model_dir}: not a directory (expected a model directory)")
    meta_path = model_dir / METADATA_FILE
    if meta_path.is_dir():
        raise ModelError(f"{meta_path}: is a folder, not a JSON file")
    if not meta_path.is_file():
        raise ModelError(
            f"{model_dir}: not a v3 model directory ({METADATA_FILE} missing); "
            "retrain it with a v3 strategy"
        )
    return ModelMetadata.from_dict(read_json(meta_path), source=str(meta_path))


def _optional_json_object(path: Path) -> dict[str, Any] | None:
    """Parsed JSON object at ``path``, None when the file is absent, ModelError if not an object."""
    if not path.exists():
        return None
    data = read_json(path)
    if not isinstance(data, Mapping):
        raise ModelError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return dict(data)


def load_features_info(model_dir: str | Path) -> dict[str, Any] | None:
    """Parsed ``features.json`` or None when absent."""
    return _optional_json_object(Path(model_dir) / FEATURES_FILE)


def load_config(model_dir: str | Path) -> dict[str, Any] | None:
    """Parsed ``config.json`` (the training strategy) or None when absent."""
    return _optional_json_object(Path(model_dir) / CONFIG_FILE)


def model_config_from(config: Mapping[str, Any] | None, metadata: ModelMetadata) -> dict[str, Any]:
    """The model section used to rebuild the network (§6.3 step 3).

    ``config.json["model"]`` if it has ``architecture``; else the whole ``config.json`` if it has a
    top-level ``architecture``; else the default MLP ``{type: <metadata.model_type>, architecture:
    {hidden_layers: [64, 32]}}``. ``num_classes`` is inferred from ``output_type`` when absent.
    """
    model_cfg: dict[str, Any] | None = None
    if config:
        section = config.get("model")
        if isinstance(section, Mapping) and "architecture" in section:
            model_cfg = dict(section)
        elif "architecture" in config:
            model_cfg = dict(config)
    if model_cfg is None:
        arch: dict[str, Any] = {"hidden_layers": [64, 32]}
        if metadata.sequence_length is not None:
            arch["sequence_length"] = metadata.sequence_length
        model_cfg = {"type": metadata.model_type or "mlp", "architecture": arch}
    if isinstance(model_cfg.get("architecture"), Mapping):
        model_cfg["architecture"] = dict(model_cfg["architecture"])
    if "num_classes" not in model_cfg:
        model_cfg["num_classes"] = NUM_CLASSES_BY_OUTPUT_TYPE.get(metadata.output_type, 3)
    return model_cfg


def default_output_format(output_type: str) -> str:
    """``decisions.output_format`` implied by a model's ``output_type``.

    ``classification``/``regression`` map to themselves; any other type (regime or context models,
    which never trade) gets ``"classification"``, the older system's default.
    """
    return output_type if output_type in SIGNAL_OUTPUT_TYPES else OUTPUT_CLASSIFICATION


def reconstruct_strategy_config(
    metadata: ModelMetadata, config: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The strategy a backtest of this model uses, as a v3 strategy dict (§6.3 step 5).

    Indicators, fuzzy sets and nn_inputs come from the metadata (what the model was trained on);
    symbols and timeframes from ``training_symbols``/``training_timeframes`` (defaults
    ``["UNKNOWN"]``/``["1h"]``; several timeframes -> multi mode with ``base_timeframe`` = the first);
    ``decisions``/``model``/``training`` from ``config.json``.

    When ``config.json`` has no ``decisions`` (or no ``decisions.output_format``) the format
    defaults to :func:`default_output_format` of the model's ``output_type``: a regression model
    trained from a strategy without a decisions block is read as regression. (The older system
    always defaulted to ``"classification"``, which contradicts a regression model's single
    output; for regime/context models ``"classification"`` is kept -- they never trade.)
    """
    config = dict(config or {})
    symbols = list(metadata.training_symbols) or ["UNKNOWN"]
    timeframes = list(metadata.training_timeframes) or ["1h"]
    if len(symbols) == 1:
        symbols_cfg: dict[str, Any] = {"mode": "single", "symbol": symbols[0]}
    else:
        symbols_cfg = {"mode": "multi_symbol", "list": symbols}
    if len(timeframes) == 1:
        tf_cfg: dict[str, Any] = {
            "mode": "single",
            "timeframe": timeframes[0],
            "base_timeframe": timeframes[0],
        }
    else:
        tf_cfg = {"mode": "multi_timeframe", "list": timeframes, "base_timeframe": timeframes[0]}
    model_section = config.get("model")
    if not isinstance(model_section, Mapping):
        model_section = model_config_from(config, metadata)
    decisions = config.get("decisions")
    decisions = dict(decisions) if isinstance(decisions, Mapping) else {}
    if decisions.get("output_format") is None:
        decisions["output_format"] = default_output_format(metadata.output_type)
    training = config.get("training")
    if not isinstance(training, Mapping):
        training = {}
    out: dict[str, Any] = {
        "name": metadata.strategy_name or metadata.model_name or "model",
        "version": metadata.strategy_version,
        "description": f"Reconstructed from model {metadata.model_name or metadata.strategy_name}",
        "training_data": {
            "symbols": symbols_cfg,
            "timeframes": tf_cfg,
            "history_required": 100,
        },
        "indicators": _deep_copy(metadata.indicators),
        "fuzzy_sets": _deep_copy(metadata.fuzzy_sets),
        "nn_inputs": _deep_copy(metadata.nn_inputs),
        "model": _deep_copy(dict(model_section)),
        "decisions": _deep_copy(dict(decisions)),
        "training": _deep_copy(dict(training)),
    }
    if metadata.context_data_config:
        out["context_data"] = _deep_copy(metadata.context_data_config)
    return out


def _deep_copy(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))
