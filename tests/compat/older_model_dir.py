"""Lay out a model directory exactly as the older system writes one (reference §6.1/§6.2)."""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch


def write_older_model_dir(
    model: torch.nn.Module,
    raw: dict[str, Any],
    *,
    resolved_features: list[str],
    training_symbols: list[str],
    training_timeframes: list[str],
    output_type: str,
    models_dir: Path,
) -> Path:
    """``<models_dir>/<name>/<tf>_v1/`` with model.pt (state dict), model_full.pt (pickled module),
    config.json (the raw strategy; regression gets ``model.output_format``), metrics.json,
    features.json ("pure fuzzy"), the legacy metadata.json and metadata_v3.json (every field the
    older ``ModelMetadataV3.to_dict`` writes), and the ``<tf>_latest`` symlink."""
    name, tf = raw["name"], training_timeframes[0]
    d = models_dir / name / f"{tf}_v1"
    d.mkdir(parents=True)
    cpu = model.to("cpu")
    torch.save(cpu.state_dict(), d / "model.pt")
    torch.save(cpu, d / "model_full.pt")
    config = copy.deepcopy(raw)
    if output_type == "regression":
        config.setdefault("model", {})["output_format"] = "regression"
    (d / "config.json").write_text(json.dumps(config, indent=2, default=str))
    metrics = {
        "epochs_trained": 1,
        "final_train_loss": 1.0,
        "final_train_accuracy": 0.4,
        "best_train_accuracy": 0.4,
        "training_time": 1.5,
        "history": {"train_loss": [1.0], "train_accuracy": [0.4]},
        "final_val_loss": 1.1,
        "final_val_accuracy": 0.38,
        "best_val_accuracy": 0.38,
    }
    (d / "metrics.json").write_text(json.dumps(metrics, indent=2))
    lookback = ((raw.get("model") or {}).get("features") or {}).get("lookback_periods", 0)
    (d / "features.json").write_text(
        json.dumps(
            {
                "model_version": "pure_fuzzy_v1",
                "feature_type": "pure_fuzzy",
                "fuzzy_features": resolved_features,
                "feature_count": len(resolved_features),
                "temporal_config": {"lookback_periods": lookback, "enabled": False},
                "scaling_info": {
                    "requires_scaling": False,
                    "reason": "fuzzy_values_already_normalized",
                },
                "feature_importance": {},
            },
            indent=2,
        )
    )
    (d / "metadata.json").write_text(
        json.dumps(
            {
                "strategy_name": name,
                "symbol": training_symbols[0] if len(training_symbols) == 1 else "MULTI",
                "timeframe": tf,
                "created_at": datetime.now().isoformat(),
                "is_trained": True,
                "model_type": type(model).__name__,
                "model_version": "pure_fuzzy_v1",
                "architecture_type": "pure_fuzzy",
                "input_size": None,
                "pytorch_version": torch.__version__,
                "training_summary": {"epochs": 1, "final_accuracy": 0.4, "best_val_accuracy": 0.38},
                "feature_engineering": {
                    "removed": True,
                    "scaler_required": False,
                    "fuzzy_only": True,
                },
            },
            indent=2,
        )
    )
    context = raw.get("context_data")
    source_ids: list[str] = []
    for entry in context or []:  # the older providers' get_source_ids
        if entry["provider"] == "ib":
            source_ids.append(entry["symbol"])
        elif entry["provider"] == "fred":
            series = entry["series"] if isinstance(entry["series"], list) else [entry["series"]]
            source_ids += [f"fred_{s}" for s in series]
            if len(series) >= 2:
                source_ids.append(f"yield_spread_{series[0]}_{series[1]}")
        else:
            source_ids += [f"cot_{entry['report']}_net_pos", f"cot_{entry['report']}_net_pct"]
    model_section = raw.get("model") or {}
    metadata_v3 = {
        "model_name": name,
        "strategy_name": name,
        "created_at": datetime.now(UTC).isoformat(),
        "strategy_version": raw.get("version", "3.0"),
        "indicators": raw["indicators"],
        "fuzzy_sets": raw["fuzzy_sets"],
        "nn_inputs": raw["nn_inputs"],
        "resolved_features": resolved_features,
        "training_symbols": training_symbols,
        "training_timeframes": training_timeframes,
        "training_metrics": metrics,
        "output_type": output_type,
        "model_type": model_section.get("type", "mlp"),
        "sequence_length": (model_section.get("architecture") or {}).get("sequence_length"),
        "normalization_params": {},
        "context_data_config": context if context else None,
        "context_source_ids": source_ids,
    }
    (d / "metadata_v3.json").write_text(json.dumps(metadata_v3, indent=2, default=str))
    os.symlink(d.name, d.parent / f"{tf}_latest", target_is_directory=True)
    return d
