"""What training recorded about a research model's fit: in sample (its training and validation
samples) against its held-out test split, read from the model's ``metrics.json``.

The numbers are the kept epoch's (the weights the model holds: the best validation loss, see
``vbt.model.trainer``): its training and validation loss and accuracy from the training history,
and the test split's, evaluated with those weights. A walk-forward fold's model has no test split
(its test block is backtested instead): its test entries are None.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

SPLITS = ("train", "validation", "test")


def fit_record(model_dir: str | Path) -> dict[str, Any]:
    """``{"model", "epochs_trained", "best_epoch", "early_stopped", "accuracy_kind", "train",
    "validation", "test"}``, each split ``{"samples", "loss", "accuracy"}``; None where
    ``metrics.json`` records nothing (or cannot be read)."""
    try:
        m = json.loads((Path(model_dir) / "metrics.json").read_text())
    except (OSError, ValueError):
        m = {}
    m = m if isinstance(m, dict) else {}
    hist = m.get("history") if isinstance(m.get("history"), dict) else {}
    best = m.get("best_epoch")
    samples = m.get("samples") if isinstance(m.get("samples"), dict) else {}

    def at_best(key: str) -> float | None:
        values = hist.get(key)
        ok = isinstance(best, int) and isinstance(values, list) and 1 <= best <= len(values)
        return _number(values[best - 1]) if ok else None

    test_accuracy = _number(m.get("test_accuracy", m.get("test_directional_accuracy")))
    has_test = bool(samples.get("test"))
    return {
        "model": str(model_dir),
        "epochs_trained": m.get("epochs_trained"),
        "best_epoch": best,
        "early_stopped": m.get("early_stopped"),
        "accuracy_kind": m.get("accuracy_kind"),
        "train": {"samples": samples.get("train"), "loss": at_best("train_loss"),
                  "accuracy": at_best("train_accuracy")},
        "validation": {"samples": samples.get("validation"), "loss": at_best("val_loss"),
                       "accuracy": at_best("val_accuracy")},
        "test": {"samples": samples.get("test"), "loss": _number(m.get("test_loss")) if has_test else None,
                 "accuracy": test_accuracy if has_test else None},
    }  # fmt: skip


def _number(value: Any) -> float | None:
    """A finite number as a float; anything else (None, NaN, text) None."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None
