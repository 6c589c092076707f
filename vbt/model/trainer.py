"""Train a strategy's network on bundled bars and write a v3 model directory.

Pipeline (``train``): load strategy -> load bars for every strategy timeframe -> ``build_features``
(the same function the backtest uses: as-of alignment, no back-fill, warm-up NaNs stay NaN) ->
chronological train/validation/test split of the bars -> labels on each split's own base-timeframe
closes -> keep rows whose features are valid *and* whose label is defined (invalid bars are
dropped, never zero-filled) -> fit with early stopping -> ``write_model_dir``.

Split and label scope (no leakage across the split): the split boundaries are decided first, in bar
space, from the rows that can be samples (valid features; for LSTM/GRU a complete window): the
``training.data_split`` fractions (default 70/15/15) of those rows give the first validation and
the first test row, and each split owns every bar from its first row up to the next split's first
row (train also owns the warm-up bars before it; test runs to the last bar). Labels are then
computed separately on each split's bars from that split's closes only, so no sample's label
depends on a close after the end of its own split: a forward-return label needs its horizon inside
the split (the last ``horizon`` bars of *each* split get no label and are dropped), and zigzag
segments are found within the split (its last segment is tentative within the split). Inputs may
still reach back into earlier bars (indicators, sequence windows): they are past data. The metrics
record ``label_scope: "per_split"`` and the bar bounds (``split_bars``).

Labels (``training.labels``): ``source: zigzag`` (default; ``zigzag_threshold`` 0.02) gives
classification (0 = BUY, 1 = HOLD, 2 = SELL) with inverse-frequency class-weighted cross-entropy
(weights normalised to sum to the number of classes; classes absent from the training split get
weight 0); ``source: forward_return`` (``horizon`` 20) gives regression with Huber loss
(``training.huber_delta`` 0.01). Both labelers look into the future by construction; they are
targets only.

Optimiser: Adam (``training.learning_rate`` 0.001; weight decay ``training.weight_decay``, default
1e-4 for classification and 0 for regression), mini-batches of ``training.batch_size`` (32) in a
seeded shuffled order (CPU training uses ``training.num_threads`` threads, default 1), gradient
clipping ``training.gradient_clip`` (1.0, 0 disables), at most
``training.epochs`` (50) epochs with early stopping on validation loss
(``training.early_stopping.patience`` 10, ``min_delta`` 0; the best weights are restored).

Determinism: the seed drives weight init, dropout and batch order. Only the CPU generator and the
training device's generator are seeded, and both are restored afterwards (``seeded_rng``: the
caller's global RNG state is untouched and other CUDA devices are never reseeded; no NumPy
randomness is used), with ``torch.use_deterministic_algorithms(True)`` for the duration; the same
seed, data and machine give identical ``model.pt`` tensors.

LSTM/GRU: each sample is the window of ``sequence_length`` feature rows ending at the labelled bar;
windows containing any invalid bar are dropped.

``device="cuda"``/``"mps"`` trains there when available (else ModelError); saved weights are always
CPU tensors.
"""

from __future__ import annotations

import contextlib
import copy
import math
import numbers
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from vbt.errors import ConfigError, DataError, ModelError
from vbt.features.windows import sliding_windows
from vbt.model.labels import (
    DEFAULT_HORIZON,
    DEFAULT_ZIGZAG_THRESHOLD,
    forward_return_labels,
    zigzag_segment_labels,
)

SUPPORTED_LABEL_SOURCES = ("zigzag", "forward_return")
DEFAULT_SPLIT = {"train": 0.7, "validation": 0.15, "test": 0.15}
MIN_TRAIN_SAMPLES = 10


@dataclass(frozen=True, eq=False)
class TrainingData:
    """Model-ready samples in chronological order.

    X: float32 ``(n, n_features)`` (MLP) or ``(n, sequence_length, n_features)`` (LSTM/GRU).
    y: int64 class ids (classification) or float32 targets (regression), shape ``(n,)``.
    bar_index: int64 index of each sample's (last) bar among the base timeframe's bars.
    """

    X: np.ndarray
    y: np.ndarray
    bar_index: np.ndarray
    feature_names: tuple[str, ...]
    output_type: str
    label_source: str
    sequence_length: int | None
    n_bars: int
    timestamps: Any = None  # polars Series of the base bars' open times
    # Chronological [start, stop) bounds per split ("train", "validation", "test"): ``splits`` in
    # sample rows (of X/y/bar_index), ``split_bars`` in base-timeframe bars (labels of a split use
    # only the closes of its bars). ``fractions`` are the data_split fractions they came from.
    splits: dict[str, tuple[int, int]] = field(default_factory=dict)
    split_bars: dict[str, tuple[int, int]] = field(default_factory=dict)
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)


@dataclass(eq=False)
class FitResult:
    """A fitted (CPU) model, its metrics and the data it was fitted on."""

    model: Any
    metrics: dict[str, Any]
    data: TrainingData
    model_config: dict[str, Any]
    model_type: str
    splits: dict[str, tuple[int, int]] = field(default_factory=dict)


# --------------------------------------------------------------------------- configuration


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


def _num(section: Mapping[str, Any], key: str, default: float, where: str, lo=None) -> float:
    value = section.get(key, default)
    if value is None:
        value = default
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ConfigError(f"{where}.{key}: expected a number, got {value!r}")
    if lo is not None and value < lo:
        raise ConfigError(f"{where}.{key}: must be >= {lo}, got {value!r}")
    return float(value)


def _int(section: Mapping[str, Any], key: str, default: int, where: str, lo: int = 1) -> int:
    value = section.get(key, default)
    if value is None:
        value = default
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lo:
        raise ConfigError(f"{where}.{key}: expected an integer >= {lo}, got {value!r}")
    return int(value)


def _split_fractions(training: Mapping[str, Any]) -> tuple[float, float, float]:
    split = training.get("data_split") or {}
    if not isinstance(split, Mapping):
        raise ConfigError(f"training.data_split: expected a mapping, got {split!r}")
    fr = [
        _num(split, k, DEFAULT_SPLIT[k], "training.data_split", lo=0.0)
        for k in ("train", "validation", "test")
    ]
    total = sum(fr)
    if fr[0] <= 0 or total <= 0 or total > 1.0 + 1e-6:
        raise ConfigError(
            f"training.data_split: train must be > 0 and train + validation + test <= 1, "
            f"got {dict(zip(('train', 'validation', 'test'), fr, strict=True))}"
        )
    return fr[0], fr[1], fr[2]


def split_bounds(n: int, fractions: tuple[float, float, float]) -> dict[str, tuple[int, int]]:
    """Chronological ``[start, stop)`` bounds: train first, then validation, then test."""
    train, val, _ = fractions
    n_train = int(n * train)
    n_val = int(n * val)
    return {
        "train": (0, n_train),
        "validation": (n_train, n_train + n_val),
        "test": (n_train + n_val, n),
    }


def bar_split_bounds(
    candidates: np.ndarray, n_bars: int, fractions: tuple[float, float, float]
) -> dict[str, tuple[int, int]]:
    """Chronological ``[start, stop)`` bounds in bar space.

    ``candidates`` are the (sorted) bars that can be samples; ``split_bounds`` of their count says
    which candidate opens the validation and the test split, and each split owns the bars from its
    first candidate up to the next split's first candidate (train from bar 0, test to ``n_bars``).
    """
    rows = split_bounds(len(candidates), fractions)

    def first_bar(name: str) -> int:
        k = rows[name][0]
        return int(candidates[k]) if k < len(candidates) else n_bars

    val, test = first_bar("validation"), first_bar("test")
    return {"train": (0, val), "validation": (val, test), "test": (test, n_bars)}


# --------------------------------------------------------------------------- data


def prepare_training_data(
    strategy: Any, bars_by_tf: Mapping[str, Any], frame: Any = None
) -> TrainingData:
    """Features + labels -> samples. Rows with an invalid feature or undefined label are dropped."""
    import vbt
    from vbt.model.networks import model_type_of

    strategy = vbt.load_strategy(strategy)
    if frame is None:
        frame = vbt.build_features(strategy, bars_by_tf)
    base = frame.base_timeframe
    close = bars_by_tf[base].get_column("close").to_numpy()
    if close.shape[0] != frame.values.shape[0]:
        raise DataError(
            f"feature rows ({frame.values.shape[0]}) do not match the {base} bars ({close.shape[0]})"
        )
    source, labels_cfg = label_config(strategy)
    if source == "zigzag":
        threshold = _num(
            labels_cfg, "zigzag_threshold", DEFAULT_ZIGZAG_THRESHOLD, "training.labels"
        )
        output_type = "classification"

        def label(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return zigzag_segment_labels(c, threshold), np.ones(c.shape[0], dtype=bool)
    else:
        horizon = _int(labels_cfg, "horizon", DEFAULT_HORIZON, "training.labels")
        output_type = "regression"

        def label(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            y = forward_return_labels(c, horizon)
            return y, np.isfinite(y)

    model_cfg = strategy.model or {}
    model_type = model_type_of(model_cfg)
    valid = np.asarray(frame.valid, dtype=bool)
    values = np.ascontiguousarray(frame.values, dtype=np.float32)
    seq_len = None
    windows = None
    if model_type in ("lstm", "gru"):
        arch = model_cfg.get("architecture") or {}
        seq_len = (
            _int(arch, "sequence_length", 0, "model.architecture")
            if "sequence_length" in arch
            else None
        )
        if seq_len is None:
            raise ConfigError(
                f"model.architecture.sequence_length is required for {model_type} models"
            )
        # The one window rule shared with inference: bar i's window is rows i-L+1..i, usable only
        # when all L rows exist and are valid.
        windows, ok = sliding_windows(values, valid, seq_len)
    else:
        ok = valid

    # Split first (bar space), then label each split from its own closes only.
    fractions = _split_fractions(strategy.training or {})
    n_bars = int(close.shape[0])
    split_bars = bar_split_bounds(np.flatnonzero(ok), n_bars, fractions)
    y_all = np.zeros(n_bars, dtype=np.int64 if output_type == "classification" else np.float64)
    label_ok = np.zeros(n_bars, dtype=bool)
    for a, b in split_bars.values():
        if b > a:
            y_all[a:b], label_ok[a:b] = label(close[a:b])
    idx = np.flatnonzero(ok & label_ok)
    cuts = np.searchsorted(idx, [split_bars["validation"][0], split_bars["test"][0]])
    splits = {
        "train": (0, int(cuts[0])),
        "validation": (int(cuts[0]), int(cuts[1])),
        "test": (int(cuts[1]), int(idx.shape[0])),
    }
    if windows is not None:
        X = np.ascontiguousarray(windows[idx])  # (n, L, F)
    else:
        X = values[idx]
    y = y_all[idx].astype(np.int64 if output_type == "classification" else np.float32)
    return TrainingData(
        X=X,
        y=y,
        bar_index=idx.astype(np.int64),
        feature_names=tuple(frame.names),
        output_type=output_type,
        label_source=source,
        sequence_length=seq_len,
        n_bars=n_bars,
        timestamps=frame.timestamps,
        splits=splits,
        split_bars=split_bars,
        fractions=fractions,
    )


# --------------------------------------------------------------------------- fitting


def _resolve_device(device: str):
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


@contextlib.contextmanager
def seeded_rng(dev, seed: int):
    """Seed the CPU generator and the training device's generator with ``seed`` for the duration,
    then restore both states.

    ``torch.manual_seed`` would also reseed every other CUDA device (and ``fork_rng(devices=[])``
    would not restore the training device), so only the CPU generator and the one device trained
    on are seeded, and exactly those two are saved and restored. CPU training is unchanged: the CPU
    generator gets the same seed ``torch.manual_seed`` gives it.
    """
    import torch

    cpu_state = torch.get_rng_state()
    restore = None
    if dev.type == "cuda":
        index = dev.index if dev.index is not None else torch.cuda.current_device()
        cuda_state = torch.cuda.get_rng_state(index)

        def restore() -> None:
            torch.cuda.set_rng_state(cuda_state, index)

    elif dev.type == "mps":
        mps_state = torch.mps.get_rng_state()

        def restore() -> None:
            torch.mps.set_rng_state(mps_state)

    try:
        torch.random.default_generator.manual_seed(int(seed))
        if dev.type == "cuda":
            with torch.cuda.device(index):
                torch.cuda.manual_seed(int(seed))
        elif dev.type == "mps":
            torch.mps.manual_seed(int(seed))
        yield
    finally:
        torch.set_rng_state(cpu_state)
        if restore is not None:
            restore()


def class_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Inverse-frequency weights normalised to sum to ``n_classes``; absent classes get 0."""
    counts = np.bincount(y, minlength=n_classes)[:n_classes].astype(np.float64)
    w = np.zeros(n_classes, dtype=np.float64)
    present = counts > 0
    if not present.any():
        return np.ones(n_classes, dtype=np.float32)
    w[present] = 1.0 / counts[present]
    return (w / w.sum() * n_classes).astype(np.float32)


def fit(
    strategy: Any,
    data: TrainingData,
    device: str = "cpu",
    seed: int = 0,
    epochs: int | None = None,
    progress: bool = True,
) -> FitResult:
    """Fit the strategy's network on ``data``; returns the model on the CPU, in eval mode."""
    import torch

    import vbt
    from vbt.model.networks import build_model, model_type_of, output_size

    strategy = vbt.load_strategy(strategy)
    training = strategy.training or {}
    where = "training"
    n_epochs = _int(training, "epochs", 50, where) if epochs is None else int(epochs)
    if n_epochs < 1:
        raise ConfigError(f"epochs: expected an integer >= 1, got {epochs!r}")
    lr = _num(training, "learning_rate", 0.001, where, lo=0.0)
    batch_size = _int(training, "batch_size", 32, where)
    classification = data.output_type == "classification"
    weight_decay = _num(training, "weight_decay", 1e-4 if classification else 0.0, where, lo=0.0)
    huber_delta = _num(training, "huber_delta", 0.01, where, lo=0.0)
    clip = _num(training, "gradient_clip", 1.0, where, lo=0.0)
    es = training.get("early_stopping") or {}
    if not isinstance(es, Mapping):
        raise ConfigError(f"training.early_stopping: expected a mapping, got {es!r}")
    es_enabled = bool(es.get("enabled", True))
    patience = _int(es, "patience", 10, "training.early_stopping")
    min_delta = _num(es, "min_delta", 0.0, "training.early_stopping", lo=0.0)
    fractions = _split_fractions(training)

    n = data.X.shape[0]
    if data.splits:
        if not np.allclose(fractions, data.fractions, rtol=0.0, atol=1e-12):
            raise ConfigError(
                f"training.data_split {fractions} differs from the split the training data was "
                f"labelled with {data.fractions}; prepare the data with the same strategy"
            )
        bounds = dict(data.splits)
    else:  # hand-made TrainingData without split info: split the samples by index
        bounds = split_bounds(n, fractions)
    n_train = bounds["train"][1] - bounds["train"][0]
    if n_train < MIN_TRAIN_SAMPLES:
        raise DataError(
            f"only {n} labelled bars with valid features ({n_train} for training); "
            "use a longer date range or shorter indicator warm-ups"
        )
    model_cfg = copy.deepcopy(dict(strategy.model or {}))
    model_type = model_type_of(model_cfg)
    n_out = output_size(model_cfg, data.output_type)
    if classification and n_out < 3:
        raise ConfigError(f"model.num_classes: must be >= 3 for BUY/HOLD/SELL labels, got {n_out}")

    dev = _resolve_device(device)
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    prev_threads = torch.get_num_threads()
    t0 = time.perf_counter()
    try:
        torch.use_deterministic_algorithms(True, warn_only=True)
        if dev.type == "cpu":
            # Small networks train much faster on one thread (thread hand-offs dominate each tiny
            # step), and a fixed thread count keeps CPU results bit-reproducible.
            torch.set_num_threads(_int(training, "num_threads", 1, where))
        with seeded_rng(dev, seed):
            model = build_model(model_cfg, len(data.feature_names), data.output_type).to(dev)
            metrics = _fit_loop(
                model,
                data,
                bounds,
                dev,
                seed,
                n_epochs,
                lr,
                batch_size,
                weight_decay,
                huber_delta,
                clip,
                es_enabled,
                patience,
                min_delta,
                n_out,
                progress,
            )
    finally:
        torch.use_deterministic_algorithms(prev_det, warn_only=prev_warn)
        torch.set_num_threads(prev_threads)
    model.to("cpu").eval()
    metrics["training_time"] = time.perf_counter() - t0
    metrics["device"] = str(dev)
    metrics["seed"] = int(seed)
    return FitResult(model, metrics, data, model_cfg, model_type, bounds)


def _fit_loop(
    model,
    data,
    bounds,
    dev,
    seed,
    n_epochs,
    lr,
    batch_size,
    weight_decay,
    huber_delta,
    clip,
    es_enabled,
    patience,
    min_delta,
    n_out,
    progress,
):
    import torch
    from torch import nn

    classification = data.output_type == "classification"

    def tensors(name):
        a, b = bounds[name]
        x = torch.from_numpy(data.X[a:b]).to(dev)
        if classification:
            y = torch.from_numpy(data.y[a:b]).to(dev)
        else:
            y = torch.from_numpy(data.y[a:b].astype(np.float32)).reshape(-1, 1).to(dev)
        return x, y

    x_tr, y_tr = tensors("train")
    x_va, y_va = tensors("validation")
    x_te, y_te = tensors("test")
    if classification:
        weights = class_weights(data.y[: bounds["train"][1]], n_out)
        criterion = nn.CrossEntropyLoss(weight=torch.from_numpy(weights).to(dev))
    else:
        weights = None
        criterion = nn.HuberLoss(delta=huber_delta)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(int(seed))

    def correct(out, y) -> int:
        if classification:
            return int((out.argmax(dim=1) == y).sum().item())
        return int((torch.sign(out) == torch.sign(y)).sum().item())  # directional accuracy

    def evaluate(x, y):
        if x.shape[0] == 0:
            return None, None
        model.eval()
        with torch.no_grad():
            out = torch.cat([model(x[i : i + 65536]) for i in range(0, x.shape[0], 65536)])
            loss = float(criterion(out, y).item())
            acc = correct(out, y) / x.shape[0]
        return loss, acc

    hist = {"train_loss": [], "train_accuracy": [], "val_loss": [], "val_accuracy": []}
    best_val = math.inf
    best_epoch = 0
    best_state = _cpu_state(model)
    since_best = 0
    stopped_early = False
    n_tr = x_tr.shape[0]
    bar = _progress(progress, n_epochs)
    try:
        for epoch in range(n_epochs):
            model.train()
            order = torch.randperm(n_tr, generator=gen).to(dev)
            loss_sum = 0.0
            n_correct = 0
            for start in range(0, n_tr, batch_size):
                idx = order[start : start + batch_size]
                xb, yb = x_tr[idx], y_tr[idx]
                optimizer.zero_grad(set_to_none=True)
                out = model(xb)
                loss = criterion(out, yb)
                loss.backward()
                if clip > 0:
                    nn.utils.clip_grad_norm_(model.parameters(), clip)
                optimizer.step()
                loss_sum += float(loss.detach()) * xb.shape[0]
                n_correct += correct(out.detach(), yb)
            train_loss = loss_sum / n_tr
            hist["train_loss"].append(train_loss)
            hist["train_accuracy"].append(n_correct / n_tr)
            val_loss, val_acc = evaluate(x_va, y_va)
            if val_loss is not None:
                hist["val_loss"].append(val_loss)
                hist["val_accuracy"].append(val_acc)
            monitored = val_loss if val_loss is not None else train_loss
            if monitored < best_val - min_delta:
                best_val, best_epoch, since_best = monitored, epoch + 1, 0
                best_state = _cpu_state(model)
            else:
                since_best += 1
            if bar is not None:
                bar[0].update(
                    bar[1],
                    advance=1,
                    info=f"loss {train_loss:.4f} val {val_loss if val_loss is not None else float('nan'):.4f}",
                )
            if es_enabled and since_best >= patience:
                stopped_early = True
                break
    finally:
        if bar is not None:
            bar[0].stop()

    model.load_state_dict(best_state)  # restore the best epoch's weights
    test_loss, test_acc = evaluate(x_te, y_te)
    val_losses, val_accs = hist["val_loss"], hist["val_accuracy"]
    metrics: dict[str, Any] = {
        "epochs_trained": len(hist["train_loss"]),
        "final_train_loss": hist["train_loss"][-1],
        "final_train_accuracy": hist["train_accuracy"][-1],
        "best_train_accuracy": max(hist["train_accuracy"]),
        "training_time": 0.0,
        "history": hist,
    }
    if val_losses:
        metrics["final_val_loss"] = val_losses[-1]
        metrics["final_val_accuracy"] = val_accs[-1]
        metrics["best_val_accuracy"] = max(val_accs)
    metrics["best_epoch"] = best_epoch
    metrics["best_val_loss"] = best_val if val_losses else None
    metrics["early_stopped"] = stopped_early
    metrics["test_loss"] = test_loss
    if classification:
        metrics["test_accuracy"] = test_acc
        metrics["class_weights"] = [float(w) for w in weights]
        metrics["label_distribution"] = {
            name: int(c)
            for name, c in zip(
                ("BUY", "HOLD", "SELL"), np.bincount(data.y, minlength=3)[:3], strict=True
            )
        }
    else:
        metrics["test_directional_accuracy"] = test_acc
    metrics["accuracy_kind"] = "class" if classification else "direction (sign of return)"
    metrics["samples"] = {k: b - a for k, (a, b) in bounds.items()}
    metrics["label_source"] = data.label_source
    # Labels were computed within each split from its own closes (see the module docstring).
    metrics["label_scope"] = "per_split" if data.split_bars else "whole_series"
    if data.split_bars:
        metrics["split_bars"] = {k: [a, b] for k, (a, b) in data.split_bars.items()}
    return metrics


def _cpu_state(model) -> dict[str, Any]:
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


def _progress(enabled: bool, total: int):
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    prog = Progress(
        TextColumn("training"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("epochs"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}"),
        console=Console(stderr=True),
    )
    prog.start()
    task = prog.add_task("train", total=total, info="")
    return prog, task


# --------------------------------------------------------------------------- public entry point


def train(
    strategy: Any,
    data_dir: str | Path,
    symbol: str | None,
    out_dir: str | Path,
    device: str = "cpu",
    seed: int = 0,
    epochs: int | None = None,
    progress: bool = True,
    start_date: str | date | datetime | None = None,
    end_date: str | date | datetime | None = None,
) -> Path:
    """Train ``strategy`` (YAML path, mapping or loaded Strategy) on ``symbol``'s bars in
    ``data_dir`` and write ``<out_dir>/<strategy name>/<base tf>_v<N>/``; returns that directory.

    ``symbol`` None means the strategy's first symbol (vbt trains on one symbol's bars; a
    multi-symbol strategy is trained on the symbol given). ``epochs`` overrides
    ``training.epochs``. ``start_date``/``end_date`` default to ``training_data.start_date`` /
    ``end_date`` of the strategy when it sets them, else all bars on disk.
    """
    import vbt

    strategy = vbt.load_strategy(strategy)
    result = fit_strategy(
        strategy,
        data_dir,
        symbol,
        device=device,
        seed=seed,
        epochs=epochs,
        progress=progress,
        start_date=start_date,
        end_date=end_date,
    )
    return save_fit(result, strategy, out_dir, symbol)


def fit_strategy(
    strategy: Any,
    data_dir: str | Path,
    symbol: str | None = None,
    device: str = "cpu",
    seed: int = 0,
    epochs: int | None = None,
    progress: bool = True,
    start_date: str | date | datetime | None = None,
    end_date: str | date | datetime | None = None,
) -> FitResult:
    """Load bars, build features and labels, and fit (without writing anything)."""
    import vbt

    strategy = vbt.load_strategy(strategy)
    symbol = symbol or strategy.symbols[0]
    td = strategy.raw.get("training_data") or {}
    if start_date is None and isinstance(td, Mapping):
        start_date = td.get("start_date")
    if end_date is None and isinstance(td, Mapping):
        end_date = td.get("end_date")
    bars = vbt.load_data(data_dir, symbol, training_timeframes(strategy), start_date, end_date)
    data = prepare_training_data(strategy, bars)
    result = fit(strategy, data, device=device, seed=seed, epochs=epochs, progress=progress)
    result.metrics["symbol"] = symbol
    ts = bars[strategy.base_timeframe].get_column("timestamp")
    result.metrics["data_start"] = str(ts[0]) if len(ts) else None
    result.metrics["data_end"] = str(ts[-1]) if len(ts) else None
    return result


def training_timeframes(strategy: Any) -> list[str]:
    """The strategy's timeframes with the base timeframe first (the older system's order)."""
    base = strategy.base_timeframe
    return [base] + [tf for tf in strategy.timeframes if tf != base]


def save_fit(
    result: FitResult, strategy: Any, out_dir: str | Path, symbol: str | None = None
) -> Path:
    """Write a fitted model as a v3 model directory."""
    import vbt
    from vbt.model.artifacts import write_model_dir

    strategy = vbt.load_strategy(strategy)
    symbol = symbol or result.metrics.get("symbol") or strategy.symbols[0]
    raw = strategy.raw
    return write_model_dir(
        out_dir,
        result.model,
        strategy_name=strategy.name,
        raw_config=raw,
        resolved_features=result.data.feature_names,
        training_symbols=[symbol],
        training_timeframes=training_timeframes(strategy),
        output_type=result.data.output_type,
        model_type=result.model_type,
        metrics=result.metrics,
        indicators=raw.get("indicators"),
        fuzzy_sets=raw.get("fuzzy_sets"),
        nn_inputs=raw.get("nn_inputs"),
        sequence_length=result.data.sequence_length,
        strategy_version=strategy.version,
        context_data_config=raw.get("context_data"),
    )
