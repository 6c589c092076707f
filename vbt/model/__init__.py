"""Models: ``ModelBundle`` (the one model loader), network builders (MLP/LSTM/GRU), labelers,
the trainer and the model-directory writer.

Importing ``vbt.model`` does not import torch: the metadata and bundle modules import it inside the
functions that need it, and the torch-heavy modules (``networks``, ``trainer``, ``artifacts``), the
Numba labelers and the training data/settings modules (``dataset``, ``train_config``) are loaded on
first use of their names.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from vbt.model.bundle import ModelBundle
from vbt.model.metadata import ModelMetadata, is_v3_model, load_metadata

_LAZY = {
    "build_model": "vbt.model.networks",
    "SUPPORTED_MODEL_TYPES": "vbt.model.networks",
    "zigzag_extremes": "vbt.model.labels",
    "zigzag_segment_labels": "vbt.model.labels",
    "forward_return_labels": "vbt.model.labels",
    "write_model_dir": "vbt.model.artifacts",
    "train": "vbt.model.trainer",
    "fit": "vbt.model.trainer",
    "fit_strategy": "vbt.model.trainer",
    "prepare_training_data": "vbt.model.dataset",
    "TrainingData": "vbt.model.dataset",
    "TrainParams": "vbt.model.train_config",
    "FitResult": "vbt.model.trainer",
}

__all__ = ["ModelBundle", "ModelMetadata", "is_v3_model", "load_metadata", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'vbt.model' has no attribute {name!r}")
