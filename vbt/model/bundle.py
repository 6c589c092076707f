"""``ModelBundle``: the one place a model directory is read.

``ModelBundle.load(model_dir)`` performs exactly one ``torch.load(model.pt, map_location="cpu",
weights_only=True)``:

* ``map_location="cpu"`` -- a model trained on MPS or CUDA has storages tagged ``mps``/``cuda:0``;
  without the mapping a CPU-only machine fails with "Storage device not recognized: mps" (the bug
  the project started from).
* ``weights_only=True`` -- a file smuggling pickled Python objects (e.g. a whole ``nn.Module``, or
  anything with a ``__reduce__``) is refused. ``model_full.pt`` is never opened.

Everything else is JSON (see :mod:`vbt.model.metadata`). The network is rebuilt from the model config
(``config.json``), the state dict's keys and shapes are checked against it (errors name the key and
both shapes), the weights are loaded strictly, and the model is put in eval mode on the CPU.
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vbt.data.timeframe import timeframe_seconds
from vbt.errors import ConfigError, ModelError
from vbt.model.metadata import (
    CONFIG_FILE,
    FEATURES_FILE,
    METADATA_FILE,
    OUTPUT_TYPES,
    WEIGHTS_FILE,
    ModelMetadata,
    load_config,
    load_features_info,
    load_metadata,
    model_config_from,
    reconstruct_strategy_config,
)

_MAX_LISTED_KEYS = 8
PREDICT_CHUNK_ROWS = 65_536


@dataclass(frozen=True)
class ModelBundle:
    """Everything needed for inference, loaded in one call and immutable afterwards.

    Attributes:
        model: the ``torch.nn.Module``, in eval mode, parameters on the CPU.
        metadata: the parsed ``metadata_v3.json``.
        feature_names: the model's input order (``metadata.resolved_features``).
        strategy_config: the strategy to compute features and decisions with, as a v3 strategy
            dict accepted by ``vbt.load_strategy`` (indicators/fuzzy sets/nn_inputs and
            symbols/timeframes from the metadata, base timeframe first; decisions/model/training
            from ``config.json``).
        output_type: ``classification``, ``regression``, ``context_classification`` or
            ``regime_classification``.
        model_type: ``mlp``, ``lstm`` or ``gru``.
        sequence_length: rows per input window for LSTM/GRU, None for MLP.
        path: the model directory.
        model_config: the model section the network was built from.
    """

    model: Any
    metadata: ModelMetadata
    feature_names: tuple[str, ...]
    strategy_config: dict[str, Any]
    output_type: str
    model_type: str
    sequence_length: int | None
    path: Path
    model_config: dict[str, Any] = field(default_factory=dict)

    @property
    def input_size(self) -> int:
        return len(self.feature_names)

    @property
    def base_timeframe(self) -> str | None:
        return self.metadata.base_timeframe

    @classmethod
    def load(cls, path: str | Path) -> ModelBundle:
        """Load a v3 model directory. Raises ModelError (message names the path) when:

        the directory or ``metadata_v3.json`` is missing (not a v3 model directory); a JSON file is
        invalid; ``output_type`` is not one of ``OUTPUT_TYPES``; ``features.json``
        ``feature_count`` disagrees with ``resolved_features``; the model type is unsupported or
        the architecture invalid; the network's output width does not fit the output type
        (classification >= 3, regression exactly 1); ``model.pt`` is missing, corrupt, or
        holds pickled Python objects; the state dict's keys or shapes do not fit the architecture;
        a tensor holds NaN or inf (named); ``config.json``'s decisions break a rule (the same
        rules as the CLI flags); the indicators, fuzzy sets, nn_inputs or timeframes of
        ``metadata_v3.json`` are invalid or do not produce its ``resolved_features``. Every
        message names the model directory and the file (``metadata_v3.json``, ``config.json``,
        ``features.json``, ``model.pt``).
        """
        path = resolve_model_dir(Path(path))
        metadata = load_metadata(path)
        if metadata.output_type not in OUTPUT_TYPES:
            raise ModelError(
                f"{path / METADATA_FILE}: unknown output_type {metadata.output_type!r}; "
                f"supported: {', '.join(OUTPUT_TYPES)}"
            )
        feature_names = metadata.resolved_features
        if not feature_names:
            raise ModelError(f"{path}: metadata_v3.json has no resolved_features (input size 0)")
        info = load_features_info(path)
        if info is not None and info.get("feature_count") is not None:
            count = info["feature_count"]
            if count != len(feature_names):
                raise ModelError(
                    f"{path / FEATURES_FILE}: feature_count {count!r} disagrees with the "
                    f"{len(feature_names)} resolved_features in metadata_v3.json"
                )
        config = load_config(path)
        model_config = model_config_from(config, metadata)
        strategy_config = reconstruct_strategy_config(metadata, config)
        _check_strategy(path, metadata, strategy_config)

        from vbt.model import networks  # lazy: imports torch

        from_config = _model_section_in(config)
        source = path / (CONFIG_FILE if from_config else METADATA_FILE)
        try:
            model = networks.build_model(model_config, len(feature_names), metadata.output_type)
            model_type = networks.model_type_of(model_config)
        except (ModelError, ConfigError) as exc:
            raise ModelError(f"{source}: cannot build the network: {exc}") from None
        _check_output_width(path, metadata.output_type, networks.output_features(model))
        arch = model_config.get("architecture") or {}
        sequence_length = None
        if model_type in ("lstm", "gru"):
            sequence_length = int(arch.get("sequence_length") or metadata.sequence_length)

        weights = path / WEIGHTS_FILE
        if weights.is_dir():
            raise ModelError(f"{weights}: is a folder, not a model weights file")
        if not weights.is_file():
            raise ModelError(f"{weights}: model weights file not found in {path}")
        state = _load_state_dict(weights)
        _check_state_dict(weights, model, state)

        import torch

        with torch.no_grad():
            model.load_state_dict(state, strict=True)
        model.to("cpu")
        model.eval()

        return cls(
            model=model,
            metadata=metadata,
            feature_names=tuple(feature_names),
            strategy_config=strategy_config,
            output_type=metadata.output_type,
            model_type=model_type,
            sequence_length=sequence_length,
            path=path,
            model_config=model_config,
        )

    def predict(
        self,
        x: np.ndarray,
        valid: np.ndarray | None = None,
        chunk_rows: int = PREDICT_CHUNK_ROWS,
    ) -> np.ndarray:
        """Raw model outputs (logits for classification) per bar, float32 ``(n, n_outputs)``.

        ``x`` is the float32 feature matrix ``(n_bars, n_features)`` in bar order, columns in
        ``feature_names`` order -- for LSTM/GRU too: bar i is fed the window of rows
        ``i - sequence_length + 1 .. i``. ``valid`` (default: rows whose features are all finite)
        marks usable rows; a bar without a valid input (or, for LSTM/GRU, a complete valid window)
        gets a NaN row. This is exactly the backtest's inference
        (:func:`vbt.signals.inference.model_outputs`: CPU, chunked, ``torch.inference_mode()``).
        """
        from vbt.signals.inference import model_outputs

        x = np.ascontiguousarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[-1] != self.input_size:
            raise ModelError(
                f"{self.path}: predict expects the feature matrix of shape "
                f"(n, {self.input_size}) (one row per bar"
                + ("" if self.sequence_length is None else "; windows are built internally")
                + f"), got {x.shape}"
            )
        if valid is None:
            valid = np.isfinite(x).all(axis=1)
        else:
            valid = np.asarray(valid, dtype=bool)
            if valid.shape != (x.shape[0],):
                raise ModelError(
                    f"{self.path}: predict expects valid of shape ({x.shape[0]},), "
                    f"got {valid.shape}"
                )
        return model_outputs(self.model, x, valid, self.sequence_length, chunk_rows=chunk_rows)


def _model_section_in(config: Mapping[str, Any] | None) -> bool:
    """True when ``config.json`` holds the model section (else it comes from the metadata)."""
    if not config:
        return False
    section = config.get("model")
    return (isinstance(section, Mapping) and "architecture" in section) or "architecture" in config


def _check_strategy(
    path: Path, metadata: ModelMetadata, strategy_config: Mapping[str, Any]
) -> None:
    """Validate, at load, everything a backtest of the model reads, naming the file it came from:
    the decisions block (``config.json``: keys, types and ranges, the same rules as the CLI flags
    and the strategy YAML; whether its output_format fits the model is checked by the run), then
    the timeframes, indicators, fuzzy sets, nn_inputs and context data (``metadata_v3.json``), and
    that the strategy produces every one of the ``resolved_features``."""
    from vbt.params import DecisionsBlock
    from vbt.strategy import load_strategy, resolve_features

    try:
        DecisionsBlock.parse(strategy_config.get("decisions"))
    except ConfigError as exc:
        raise ModelError(f"{path / CONFIG_FILE}: {exc}") from None
    meta = path / METADATA_FILE
    for tf in metadata.training_timeframes:
        try:
            timeframe_seconds(tf)
        except ConfigError as exc:
            raise ModelError(f"{meta}: training_timeframes: {exc}") from None
    try:
        strategy = load_strategy(strategy_config, name=str(meta))
    except ConfigError as exc:
        raise ModelError(str(exc)) from None
    produced = set(resolve_features(strategy))
    missing = [f for f in metadata.resolved_features if f not in produced]
    if missing:
        raise ModelError(
            f"{meta}: resolved_features: {missing[0]!r} is not produced by the indicators, fuzzy "
            f"sets and nn_inputs of the same file"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        )


def _check_output_width(path: Path, output_type: str, n_out: int) -> None:
    """Classification needs >= 3 outputs (BUY/HOLD/SELL logits), regression exactly 1."""
    outputs = f"{n_out} output{'s' if n_out != 1 else ''}"
    if output_type == "classification" and n_out < 3:
        raise ModelError(
            f"{path}: the network built from config.json has {outputs}, but output_type "
            f"'classification' needs at least 3 (BUY/HOLD/SELL)"
        )
    if output_type == "regression" and n_out != 1:
        raise ModelError(
            f"{path}: the network built from config.json has {outputs}, but output_type "
            f"'regression' needs exactly 1"
        )


def resolve_model_dir(path: Path) -> Path:
    """Follow a ``<tf>_latest`` pointer (a symlink, or a text file holding a folder name where
    symlinks are unavailable), refusing any that leads outside its strategy folder.

    A text pointer must hold one plain folder name (not ``.``/``..``, no separators); a pointer of
    either kind must resolve to a folder strictly inside the folder holding the pointer (the
    strategy folder). Returns the resolved folder.
    """
    if not path.name.endswith("_latest"):
        return path
    if path.is_symlink():
        target: Path = path
        shown = str(path.readlink())
    elif path.is_file() and path.stat().st_size < 1024:
        name = path.read_text(encoding="utf-8", errors="replace").strip()
        shown = name
        if (
            not name
            or name in (".", "..")
            or any(sep in name for sep in ("/", "\\", "\0"))
            or Path(name).is_absolute()
        ):
            raise ModelError(
                f"{path}: the pointer holds {name!r}, which is not a plain folder name; a "
                f"<tf>_latest pointer may only name a folder inside the strategy folder "
                f"{path.parent}"
            )
        target = path.parent / name
    else:
        return path
    strategy_dir = path.parent.resolve()
    resolved = target.resolve()
    if resolved == strategy_dir or not resolved.is_relative_to(strategy_dir):
        raise ModelError(
            f"{path}: the pointer leads to {shown!r} ({resolved}), outside the strategy folder "
            f"{strategy_dir}; refusing to follow it"
        )
    return resolved  # the checked folder itself, so a later swap of the pointer is not followed


def _load_state_dict(weights: Path) -> Mapping[str, Any]:
    """The single ``torch.load``; translates its failures into ModelErrors naming the file."""
    import torch

    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        msg = str(exc)
        m = re.search(r"\bGLOBAL\s+([\w.]+)", msg)  # "Unsupported global: GLOBAL x.y" etc.
        if m:
            raise ModelError(
                f"{weights}: the file contains pickled Python objects (first: {m.group(1)}) that "
                "torch.load(weights_only=True) refuses for security; vbt only loads plain state "
                "dicts (save with torch.save(model.state_dict(), path))"
            ) from exc
        raise ModelError(
            f"{weights}: corrupt or not a PyTorch state-dict file ({_short_reason(msg)})"
        ) from exc
    except Exception as exc:  # a corrupt file raises many types (EOFError, IndexError, ...)
        raise ModelError(
            f"{weights}: corrupt or not a PyTorch state-dict file "
            f"({type(exc).__name__}: {_short_reason(str(exc))})"
        ) from exc
    if not isinstance(state, Mapping):
        raise ModelError(
            f"{weights}: expected a state dict (mapping of parameter name to tensor), "
            f"found {type(state).__name__}"
        )
    return state


def _short_reason(msg: str) -> str:
    m = re.search(r"WeightsUnpickler error:\s*(.+?)(?:\n\n|$)", msg, flags=re.S)
    text = (m.group(1) if m else msg).strip().splitlines()
    return (text[0] if text else "unreadable")[:300]


def _check_state_dict(weights: Path, model: Any, state: Mapping[str, Any]) -> None:
    """Compare keys and shapes with the rebuilt network before ``load_state_dict``."""
    import torch

    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing keys {_keys(missing)}")
        if unexpected:
            parts.append(f"unexpected keys {_keys(unexpected)}")
        raise ModelError(
            f"{weights}: state dict does not match the {type(model).__name__} architecture "
            f"built from config.json: {'; '.join(parts)}"
        )
    for key, ref in expected.items():
        value = state[key]
        if not isinstance(value, torch.Tensor):
            raise ModelError(f"{weights}: state dict entry {key!r} is not a tensor")
        if tuple(value.shape) != tuple(ref.shape):
            raise ModelError(
                f"{weights}: shape mismatch for {key!r}: the file has {tuple(value.shape)}, "
                f"the architecture built from config.json expects {tuple(ref.shape)}"
            )
        if value.is_floating_point() or value.is_complex():
            finite = torch.isfinite(value)
            if not bool(finite.all()):
                bad = int((~finite).sum())
                first = tuple(int(i) for i in (~finite).nonzero()[0].tolist())
                raise ModelError(
                    f"{weights}: tensor {key!r} holds {bad:,} non-finite value(s) (NaN or inf; "
                    f"the first at index {first}); the weights are unusable"
                )


def _keys(keys: list[str]) -> str:
    shown = ", ".join(repr(k) for k in keys[:_MAX_LISTED_KEYS])
    more = len(keys) - _MAX_LISTED_KEYS
    return f"[{shown}{f', ... (+{more} more)' if more > 0 else ''}]"
