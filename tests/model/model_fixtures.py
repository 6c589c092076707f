"""Helpers for tests/model: example strategy dicts and model directories written by vbt."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vbt.model.artifacts import write_model_dir
from vbt.model.networks import build_model

RSI_FEATURES = ["1h_rsi_14_oversold", "1h_rsi_14_neutral", "1h_rsi_14_overbought"]


def strategy_dict(
    name: str = "unit_strategy",
    model: dict[str, Any] | None = None,
    labels: dict[str, Any] | None = None,
    timeframes: tuple[str, ...] = ("1h",),
    training: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A small v3 strategy: RSI(14) fuzzified, on EURUSD, single or multi timeframe."""
    if len(timeframes) == 1:
        tf_cfg: dict[str, Any] = {"mode": "single", "timeframe": timeframes[0]}
    else:
        tf_cfg = {
            "mode": "multi_timeframe",
            "list": list(timeframes),
            "base_timeframe": timeframes[0],
        }
    train_cfg = {
        "epochs": 3,
        "batch_size": 256,
        "labels": labels or {"source": "zigzag", "zigzag_threshold": 0.005},
        "early_stopping": {"patience": 5},
    }
    train_cfg.update(training or {})
    return {
        "name": name,
        "version": "3.0",
        "description": "unit-test strategy",
        "training_data": {
            "symbols": {"mode": "single", "symbol": "EURUSD"},
            "timeframes": tf_cfg,
            "history_required": 100,
        },
        "indicators": {"rsi_14": {"type": "rsi", "period": 14}},
        "fuzzy_sets": {
            "rsi_14": {
                "indicator": "rsi_14",
                "oversold": [0, 25, 40],
                "neutral": [30, 50, 70],
                "overbought": [60, 75, 100],
            }
        },
        "nn_inputs": [{"fuzzy_set": "rsi_14", "timeframes": "all"}],
        "model": copy.deepcopy(model)
        if model is not None
        else {"type": "mlp", "architecture": {"hidden_layers": [8, 4], "dropout": 0.1}},
        "decisions": {"output_format": "classification", "confidence_threshold": 0.5},
        "training": train_cfg,
    }


MODEL_CONFIGS = {
    "mlp": {"type": "mlp", "architecture": {"hidden_layers": [8, 4], "dropout": 0.1}},
    "lstm": {
        "type": "lstm",
        "architecture": {"hidden_size": 6, "num_layers": 2, "dropout": 0.1, "sequence_length": 5},
    },
    "gru": {
        "type": "gru",
        "architecture": {"hidden_size": 6, "num_layers": 1, "dropout": 0.1, "sequence_length": 4},
    },
}


def make_model_dir(
    out_dir: Path,
    model_type: str = "mlp",
    output_type: str = "classification",
    features: list[str] | None = None,
    seed: int = 0,
    timeframes: tuple[str, ...] = ("1h",),
) -> tuple[Path, torch.nn.Module]:
    """Write a model directory with ``write_model_dir`` around a randomly initialised network."""
    features = list(features or RSI_FEATURES)
    model_cfg = copy.deepcopy(MODEL_CONFIGS[model_type])
    labels = (
        {"source": "forward_return", "horizon": 5}
        if output_type == "regression"
        else {"source": "zigzag"}
    )
    raw = strategy_dict(model=model_cfg, labels=labels, timeframes=timeframes)
    torch.manual_seed(seed)
    model = build_model(model_cfg, len(features), output_type).eval()
    seq = model_cfg["architecture"].get("sequence_length")
    path = write_model_dir(
        out_dir,
        model,
        strategy_name=raw["name"],
        raw_config=raw,
        resolved_features=features,
        training_symbols=["EURUSD"],
        training_timeframes=list(timeframes),
        output_type=output_type,
        model_type=model_type,
        metrics={"epochs_trained": 0, "test_loss": float("nan")},
        sequence_length=seq,
    )
    return path, model


def sequence_length_of(model_type: str) -> int | None:
    return MODEL_CONFIGS[model_type]["architecture"].get("sequence_length")


def sample_input(model_type: str, n_features: int, n: int = 64, seed: int = 1) -> np.ndarray:
    """A float32 feature matrix ``(n, n_features)``, one row per bar (every model type)."""
    rng = np.random.default_rng(seed)
    return rng.random((n, n_features), dtype=np.float32)


def reference_output(
    model: torch.nn.Module, x: np.ndarray, sequence_length: int | None = None
) -> torch.Tensor:
    """The model applied directly to each bar's input, in one batch: row i of ``x`` (MLP), or the
    window of rows i-L+1..i for a sequence model (the first L-1 rows, without a window, are NaN)."""
    model.eval()
    with torch.no_grad():
        if not sequence_length:
            return model(torch.from_numpy(x))
        windows = np.stack(
            [x[i - sequence_length + 1 : i + 1] for i in range(sequence_length - 1, len(x))]
        )
        out = model(torch.from_numpy(windows))
        pad = torch.full((sequence_length - 1, out.shape[1]), float("nan"))
        return torch.cat([pad, out])


def assert_outputs_equal(out: np.ndarray, ref: torch.Tensor) -> None:
    """Exactly equal, NaN rows included."""
    assert out.dtype == np.float32 and out.shape == tuple(ref.shape)
    np.testing.assert_array_equal(out, ref.numpy())
