"""Write a v3 model directory in the older system's layout (§6.1/§6.2).

``write_model_dir`` creates ``<out_dir>/<strategy_name>/<tf>_v<N>/`` (``tf`` = the base timeframe,
N = 1 + the highest existing version) and repoints ``<tf>_latest`` at it. Files:

* ``model.pt`` -- the state dict, every tensor a detached CPU clone, so it loads anywhere;
* ``config.json`` -- the raw strategy dict (``model.output_format = "regression"`` injected for
  regression models, as the older trainer does; for classification and regression models
  ``decisions.output_format`` is set to the output type when the strategy omits it, so the
  backtest reads the outputs the way they were trained -- the older system's loader would
  otherwise default it to "classification", which a regression model contradicts);
* ``metrics.json`` -- the training summary (older keys plus ``test_accuracy`` / ``test_loss``);
* ``features.json`` -- the "pure fuzzy" shape with ``feature_count``;
* ``metadata_v3.json`` -- every §6.2 field; ``resolved_features`` is the actual input order.

``model_full.pt`` (a pickled ``nn.Module``) is deliberately **not** written: vbt never loads it
(``weights_only=True`` would refuse it anyway), and the older system's backtest does not need it.
The legacy ``metadata.json`` is not written either.

Each file is written atomically (temporary file + ``os.replace``), and ``metadata_v3.json`` is
written last: it marks the directory as a complete v3 model, so a crash mid-way never leaves a
directory that looks loadable. ``<tf>_latest`` is a relative symlink; where symlinks cannot be
created (some Windows or network filesystems) it is a small text file holding the directory name,
which ``ModelBundle.load`` also follows.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vbt.atomic import atomic_write
from vbt.enums import SIGNAL_OUTPUT_TYPES
from vbt.model.metadata import (
    CONFIG_FILE,
    FEATURES_FILE,
    METADATA_FILE,
    METRICS_FILE,
    WEIGHTS_FILE,
    ModelMetadata,
)
from vbt.paths import plain_name
from vbt.timefmt import now_iso_offset


def next_version_dir(strategy_dir: Path, timeframe: str) -> Path:
    """Create and return ``<strategy_dir>/<timeframe>_v<N>`` with N = 1 + max existing."""
    strategy_dir.mkdir(parents=True, exist_ok=True)
    pattern = re.compile(rf"^{re.escape(timeframe)}_v(\d+)$")
    versions = [int(m.group(1)) for p in strategy_dir.iterdir() if (m := pattern.match(p.name))]
    n = max(versions, default=0) + 1
    while True:  # mkdir reserves the number; another writer may have taken it meanwhile
        target = strategy_dir / f"{timeframe}_v{n}"
        try:
            target.mkdir()
            return target
        except FileExistsError:
            n += 1


def update_latest(strategy_dir: Path, timeframe: str, target: Path) -> Path:
    """Point ``<timeframe>_latest`` at ``target`` (relative symlink, else a text file)."""
    link = strategy_dir / f"{timeframe}_latest"
    tmp = strategy_dir / f".{timeframe}_latest.{os.getpid()}.tmp"
    try:
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        os.symlink(target.name, tmp, target_is_directory=True)
        if link.is_dir() and not link.is_symlink():  # never clobber a real directory
            tmp.unlink()
            return link
        os.replace(tmp, link)
    except (OSError, NotImplementedError):
        if tmp.is_symlink():
            tmp.unlink()
        if link.is_symlink():
            link.unlink()
        if not link.is_dir():
            _atomic_write_text(link, target.name + "\n")
    return link


def write_model_dir(
    out_dir: str | Path,
    model: Any,
    *,
    strategy_name: str,
    raw_config: Mapping[str, Any],
    resolved_features: Sequence[str],
    training_symbols: Sequence[str],
    training_timeframes: Sequence[str],
    output_type: str,
    model_type: str,
    metrics: Mapping[str, Any],
    indicators: Mapping[str, Any] | None = None,
    fuzzy_sets: Mapping[str, Any] | None = None,
    nn_inputs: Sequence[Any] | None = None,
    sequence_length: int | None = None,
    strategy_version: str | None = None,
    context_data_config: Sequence[Any] | None = None,
    context_source_ids: Sequence[Any] | None = None,
) -> Path:
    """Write a complete v3 model directory and return its path.

    ``training_timeframes`` must list the base timeframe first (it names the directory).
    ``indicators``/``fuzzy_sets``/``nn_inputs`` default to those of ``raw_config``.
    """
    import torch

    if not training_timeframes:
        raise ValueError("training_timeframes is empty")
    raw = _jsonable(dict(raw_config))
    if output_type == "regression":
        model_section = raw.get("model")
        raw["model"] = dict(model_section) if isinstance(model_section, Mapping) else {}
        raw["model"]["output_format"] = "regression"
    if output_type in SIGNAL_OUTPUT_TYPES:
        decisions = raw.get("decisions")
        raw["decisions"] = dict(decisions) if isinstance(decisions, Mapping) else {}
        if raw["decisions"].get("output_format") is None:
            raw["decisions"]["output_format"] = output_type
    timeframe = training_timeframes[0]
    strategy_dir = Path(out_dir) / _safe_name(strategy_name)
    model_dir = next_version_dir(strategy_dir, timeframe)

    # model.pt: CPU clones, so no storage carries a cuda/mps location tag.
    state = OrderedDict((k, v.detach().cpu().clone()) for k, v in model.state_dict().items())
    atomic_write(model_dir / WEIGHTS_FILE, lambda fh: torch.save(state, fh))

    metrics = _jsonable(dict(metrics))
    _atomic_write_json(model_dir / CONFIG_FILE, raw)
    _atomic_write_json(model_dir / METRICS_FILE, metrics)

    features = list(resolved_features)
    model_features = (raw.get("model") or {}).get("features") or {}
    lookback = (
        model_features.get("lookback_periods", 0) if isinstance(model_features, Mapping) else 0
    )
    _atomic_write_json(
        model_dir / FEATURES_FILE,
        {
            "model_version": "pure_fuzzy_v1",
            "feature_type": "pure_fuzzy",
            "fuzzy_features": features,
            "feature_count": len(features),
            "temporal_config": {
                "lookback_periods": lookback,
                "enabled": bool(isinstance(lookback, int | float) and lookback > 0),
            },
            "scaling_info": {
                "requires_scaling": False,
                "reason": "fuzzy_values_already_normalized",
            },
            "feature_importance": {},
        },
    )

    meta = ModelMetadata(
        resolved_features=tuple(features),
        model_name=strategy_name,
        strategy_name=strategy_name,
        created_at=now_iso_offset(),
        strategy_version=str(strategy_version or raw.get("version") or "3.0"),
        indicators=_jsonable(
            dict(indicators if indicators is not None else raw.get("indicators") or {})
        ),
        fuzzy_sets=_jsonable(
            dict(fuzzy_sets if fuzzy_sets is not None else raw.get("fuzzy_sets") or {})
        ),
        nn_inputs=_jsonable(
            list(nn_inputs if nn_inputs is not None else raw.get("nn_inputs") or [])
        ),
        training_symbols=tuple(training_symbols),
        training_timeframes=tuple(training_timeframes),
        training_metrics=metrics,
        output_type=output_type,
        model_type=model_type,
        sequence_length=sequence_length,
        normalization_params={},
        context_data_config=_jsonable(list(context_data_config)) if context_data_config else None,
        context_source_ids=list(context_source_ids or []),
    )
    _atomic_write_json(model_dir / METADATA_FILE, meta.to_dict())  # last: completion marker
    update_latest(strategy_dir, timeframe, model_dir)
    return model_dir


def _safe_name(name: str) -> str:
    return plain_name(name, "strategy name")


def _jsonable(obj: Any) -> Any:
    """Round-trip through JSON (``default=str``, as the older system) to get plain types; NaN and
    infinities become null so every file is strict JSON."""
    return _finite(json.loads(json.dumps(obj, default=str)))


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def _atomic_write_json(path: Path, data: Any) -> None:
    text = json.dumps(_finite(data), indent=2, default=str, allow_nan=False)
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def _atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))
