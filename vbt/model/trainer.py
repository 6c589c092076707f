"""Train a strategy's network on bundled bars and write a v3 model directory.

Pipeline (``train``): load strategy -> load bars for every strategy timeframe -> samples
(:mod:`vbt.model.dataset`: ``build_features``, the backtest's own function; a chronological
train/validation/test split decided in bar space; labels computed on each split's own closes, so no
label depends on a close after the end of its split; rows with an invalid input or undefined label
dropped, never zero-filled) -> ``fit`` with early stopping -> ``write_model_dir``. The settings
come from :class:`vbt.model.train_config.TrainParams` (parsed and validated once). The metrics
record ``label_scope: "per_split"`` and the split's bar bounds (``split_bars``). Context sources
the indicators read (``data_source``) are loaded from the data directory with the one helper the
backtest uses (``vbt.data.strategy_context``). A ``multi_symbol`` strategy trained without a
``symbol`` takes samples from every symbol, split at common times, each labelled from its own
closes (``prepare_symbols_training_data``; ``split_bars`` is then per symbol).

Labels (``training.labels``): ``source: zigzag`` (default; ``zigzag_threshold`` 0.02) gives
classification (0 = BUY, 1 = HOLD, 2 = SELL) with inverse-frequency class-weighted cross-entropy
(weights normalised to sum to the number of classes; classes absent from the training split get
weight 0); ``source: forward_return`` (``horizon`` 20) gives regression with Huber loss
(``training.huber_delta`` 0.01). Both labelers look into the future (within the split) by
construction; they are targets only.

Optimiser: Adam (``training.learning_rate`` 0.001; weight decay ``training.weight_decay``, default
1e-4 for classification and 0 for regression), mini-batches of ``training.batch_size`` (32) in a
seeded shuffled order (CPU training uses ``training.num_threads`` threads, default 1), gradient
clipping ``training.gradient_clip`` (1.0, 0 disables), at most ``training.epochs`` (50) epochs with
early stopping on validation loss (``training.early_stopping.patience`` 10, ``min_delta`` 0; the
best weights are restored).

Determinism: the seed drives weight init, dropout and batch order. Only the CPU generator and the
training device's generator are seeded, and both are restored afterwards (``seeded_rng``: the
caller's global RNG state is untouched and other CUDA devices are never reseeded; no NumPy
randomness is used), with ``torch.use_deterministic_algorithms(True)`` for the duration; the same
seed, data and machine give identical ``model.pt`` tensors.

LSTM/GRU: each sample is the window of ``sequence_length`` feature rows ending at the labelled bar
(the window rule inference uses); windows containing any invalid bar are dropped.

``device="cuda"``/``"mps"`` trains there when available (else ModelError); saved weights are always
CPU tensors.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

import vbt
from vbt.arguments import (
    DATE,
    DATE_RANGES,
    FLAG,
    OPTIONAL_PATH,
    OPTIONAL_TEXT,
    PATH,
    SEED,
    STRATEGY,
    TEXT,
    Arguments,
)
from vbt.config import resolve_data_dir
from vbt.data import strategy_context
from vbt.data.load import date_bounds
from vbt.errors import ConfigError, DataError
from vbt.model.artifacts import write_model_dir
from vbt.model.dataset import (  # noqa: F401 (re-exported: public names of the trainer)
    TrainingData,
    bar_split_bounds,
    prepare_symbols_training_data,
    prepare_training_data,
    split_bounds,
    time_split_bounds,
)
from vbt.model.label_sources import CLASS_NAMES_BY_OUTPUT_TYPE
from vbt.model.train_config import (  # noqa: F401 (re-exported)
    DEFAULT_SPLIT,
    SUPPORTED_LABEL_SOURCES,
    TrainParams,
    epochs_override,
    label_config,
)
from vbt.model.validation import (  # noqa: F401 (re-exported)
    MAX_SEED,
    check_seed,
    check_training_setup,
    resolve_device,
)
from vbt.paths import check_output_dir

MIN_TRAIN_SAMPLES = 10
#: the arguments of ``train`` (``vbt train``'s flags go through them too; ``epochs`` is checked
#: by ``epochs_override``, in ``check_training_setup``)
TRAIN_ARGUMENTS = Arguments(
    "train", strategy=STRATEGY, data_dir=OPTIONAL_PATH, symbol=OPTIONAL_TEXT, out_dir=PATH,
    device=TEXT, seed=SEED, progress=FLAG, start_date=DATE, end_date=DATE, exclude=DATE_RANGES,
)  # fmt: skip
TRAIN_BATCH_BUDGET = 1 << 30  # float32 activations (4 GiB) of one training batch's widest layer


@dataclass(eq=False)
class FitResult:
    """A fitted (CPU) model, its metrics and the data it was fitted on."""

    model: Any
    metrics: dict[str, Any]
    data: TrainingData
    model_config: dict[str, Any]
    model_type: str
    splits: dict[str, tuple[int, int]] = field(default_factory=dict)


# --------------------------------------------------------------------------- fitting


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
    *,
    device: str = "cpu",
    seed: int = 0,
    epochs: int | None = None,
    progress: bool = True,
) -> FitResult:
    """Fit the strategy's network on ``data``; returns the model on the CPU, in eval mode."""
    import torch

    from vbt.model.networks import build_model, model_type_of, output_size

    strategy = vbt.load_strategy(strategy)
    seed = check_seed(seed)
    params = TrainParams.from_strategy(strategy, epochs=epochs, output_type=data.output_type)
    fractions = params.fractions

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
    names = CLASS_NAMES_BY_OUTPUT_TYPE.get(data.output_type, ())
    if names and n_out < len(names):
        raise ConfigError(
            f"model.num_classes: must be >= {len(names)} for {'/'.join(names)} labels, got {n_out}"
        )

    dev = resolve_device(device)
    prev_det = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    prev_threads = torch.get_num_threads()
    t0 = time.perf_counter()
    try:
        torch.use_deterministic_algorithms(True, warn_only=True)
        if dev.type == "cpu":
            # Small networks train much faster on one thread (thread hand-offs dominate each tiny
            # step), and a fixed thread count keeps CPU results bit-reproducible.
            torch.set_num_threads(params.num_threads)
        with seeded_rng(dev, seed):
            model = build_model(model_cfg, len(data.feature_names), data.output_type).to(dev)
            metrics = _fit_loop(model, data, bounds, dev, seed, params, n_out, progress)
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
    data: TrainingData,
    bounds: Mapping[str, tuple[int, int]],
    dev,
    seed: int,
    params: TrainParams,
    n_out: int,
    progress: bool,
) -> dict[str, Any]:
    """Mini-batch Adam with early stopping on the validation loss; restores the best weights and
    returns the metrics (``model`` is trained in place)."""
    import torch
    from torch import nn

    from vbt.model.networks import floats_per_row, rows_per_batch

    classification = data.output_type != "regression"  # class ids, cross-entropy
    n_epochs, batch_size, clip = params.epochs, params.batch_size, params.gradient_clip
    patience, min_delta = params.patience, params.min_delta

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
        criterion = nn.HuberLoss(delta=params.huber_delta)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=params.learning_rate, weight_decay=params.weight_decay
    )
    gen = torch.Generator().manual_seed(int(seed))

    def correct(out, y) -> int:
        if classification:
            return int((out.argmax(dim=1) == y).sum().item())
        return int((torch.sign(out) == torch.sign(y)).sum().item())  # directional accuracy

    rows = min(batch_size, max(1, x_tr.shape[0]))
    per_row = floats_per_row(model, data.sequence_length)
    if rows * per_row > TRAIN_BATCH_BUDGET:
        raise ConfigError(
            f"training.batch_size = {batch_size}: a batch of {rows:,} rows through the widest "
            f"layer ({per_row:,} values a row) needs {rows * per_row * 4 / 2**30:,.1f} GiB of "
            "activations; lower training.batch_size or the layer sizes"
        )
    chunk = rows_per_batch(model, 65_536, data.sequence_length)

    def evaluate(x, y):
        if x.shape[0] == 0:
            return None, None
        model.eval()
        with torch.no_grad():
            out = torch.cat([model(x[i : i + chunk]) for i in range(0, x.shape[0], chunk)])
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
    finished = ""  # what the progress bar says when training ends normally
    try:
        for epoch in range(n_epochs):
            model.train()
            order = torch.randperm(n_tr, generator=gen).to(dev)
            loss_sum = 0.0
            n_correct = 0
            for batch, start in enumerate(range(0, n_tr, batch_size)):
                idx = order[start : start + batch_size]
                xb, yb = x_tr[idx], y_tr[idx]
                optimizer.zero_grad(set_to_none=True)
                out = model(xb)
                loss = criterion(out, yb)
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise _diverged("training", value, epoch, params, batch)
                loss.backward()
                if clip > 0:
                    nn.utils.clip_grad_norm_(model.parameters(), clip)
                optimizer.step()
                loss_sum += value * xb.shape[0]
                n_correct += correct(out.detach(), yb)
            train_loss = loss_sum / n_tr
            hist["train_loss"].append(train_loss)
            hist["train_accuracy"].append(n_correct / n_tr)
            val_loss, val_acc = evaluate(x_va, y_va)
            if val_loss is not None and not math.isfinite(val_loss):
                raise _diverged("validation", val_loss, epoch, params)
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
            if params.early_stopping and since_best >= patience:
                stopped_early = True
                break
        done = len(hist["train_loss"])
        which = "validation" if hist["val_loss"] else "training"
        kept = f"kept epoch {best_epoch} (best {which} loss {best_val:.4f})"
        stop = f"stopped early at epoch {done} of {n_epochs}" if stopped_early else "done"
        finished = f"{stop}; {kept}"
    finally:
        if bar is not None:
            if finished:  # the bar ends full; then one line says which epoch's weights were kept
                done = len(hist["train_loss"])
                bar[0].update(bar[1], total=done, completed=done)
                bar[0].stop()
                bar[0].console.print(f"training {finished}")
            else:  # failed: the error says what happened; leave no half-full bar behind
                bar[0].live.transient = True
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
        names = CLASS_NAMES_BY_OUTPUT_TYPE[data.output_type]
        counts = np.bincount(data.y, minlength=len(names))[: len(names)]
        metrics["label_distribution"] = {
            name: int(c) for name, c in zip(names, counts, strict=True)
        }
    else:
        metrics["test_directional_accuracy"] = test_acc
    metrics["accuracy_kind"] = "class" if classification else "direction (sign of return)"
    metrics["samples"] = {k: b - a for k, (a, b) in bounds.items()}
    metrics["label_source"] = data.label_source
    # Labels were computed within each split from its own closes (see the module docstring).
    per_split = bool(data.split_bars or data.split_bars_by_symbol)
    metrics["label_scope"] = "per_split" if per_split else "whole_series"
    if data.split_bars:
        metrics["split_bars"] = {k: [a, b] for k, (a, b) in data.split_bars.items()}
    if data.split_bars_by_symbol:
        metrics["split_bars"] = {
            sym: {k: [a, b] for k, (a, b) in bounds.items()}
            for sym, bounds in data.split_bars_by_symbol.items()
        }
        metrics["samples_by_symbol"] = {
            sym: int((data.symbol_index == k).sum()) for k, sym in enumerate(data.symbols)
        }
    return metrics


def _diverged(
    which: str, value: float, epoch: int, params: TrainParams, batch: int | None = None
) -> ConfigError:
    at = f"epoch {epoch + 1}" + (f", batch {batch + 1}" if batch is not None else "")
    return ConfigError(
        f"training diverged: the {which} loss is {value} at {at}; no model was written. Lower "
        f"training.learning_rate (now {params.learning_rate:g}) or check the inputs for huge "
        "values"
    )


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
    *,
    data_dir: str | Path | None = None,
    symbol: str | None = None,
    out_dir: str | Path,
    device: str = "cpu",
    seed: int = 0,
    epochs: int | None = None,
    progress: bool = True,
    start_date: str | date | datetime | None = None,
    end_date: str | date | datetime | None = None,
    exclude: list[tuple[Any, Any]] | None = None,
) -> Path:
    """Train a strategy's network on bars in a data folder and write a v3 model directory.

    Parameters
    ----------
    strategy : str, Path, mapping or Strategy
        A v3 strategy YAML path, a parsed mapping or a loaded ``Strategy``.
    data_dir : str or Path, optional
        The bar files (and the context sources the indicators read with ``data_source``);
        None reads the ``VBT_DATA_DIR`` environment variable.
    symbol : str, optional
        Train on this symbol alone. None means every symbol of the strategy: one for
        ``mode: single``, all of ``training_data.symbols`` for ``multi_symbol`` (samples from each
        symbol, each labelled from its own prices, split at common times; see
        ``prepare_symbols_training_data``).
    out_dir : str or Path
        The model directory is written to ``<out_dir>/<strategy name>/<base tf>_v<N>/``.
    device : str, default "cpu"
        The torch device to train on ("cpu", "cuda[:i]" or "mps"); weights are saved as CPU
        tensors.
    seed : int, default 0
        Drives weight init, dropout and batch order (in [0, 2**64 - 1]).
    epochs : int, optional
        Overrides ``training.epochs``.
    progress : bool, default True
        Show a progress bar.
    start_date, end_date : str, date or datetime, optional
        The bars trained on; default the strategy's ``training_data.start_date`` / ``end_date``
        when it sets them, else all bars on disk.
    exclude : list of (start, end), optional
        Inclusive bar ranges never trained on (one symbol only).

    Returns
    -------
    Path
        The model directory written.

    Raises
    ------
    ConfigError
        Before any data is loaded: an argument of the wrong kind (``TRAIN_ARGUMENTS``, naming
        it), the strategy, the training settings, the network's sizes, the device or ``seed`` is
        invalid, the data folder does not exist, or ``out_dir`` is not a folder that can be
        written (or created), naming the field or path. After: training
        diverged (a non-finite loss); nothing is written.
    DataError
        A bar or context file is missing or invalid, or too few samples remain.
    ModelError
        The device is not available.
    """
    TRAIN_ARGUMENTS.check(
        strategy=strategy, data_dir=data_dir, symbol=symbol, out_dir=out_dir, device=device,
        seed=seed, progress=progress, start_date=start_date, end_date=end_date, exclude=exclude,
    )  # fmt: skip
    strategy = vbt.load_strategy(strategy)
    check_seed(seed)
    check_training_setup(strategy, epochs=epochs, device=device)
    data_dir = resolve_data_dir(data_dir)
    check_output_dir(out_dir, "out_dir")
    result = fit_strategy(
        strategy,
        data_dir,
        symbol=symbol,
        device=device,
        seed=seed,
        epochs=epochs,
        progress=progress,
        start_date=start_date,
        end_date=end_date,
        exclude=exclude,
    )
    return save_fit(result, strategy, out_dir)


def fit_strategy(
    strategy: Any,
    data_dir: str | Path,
    symbol: str | None = None,
    *,
    device: str = "cpu",
    seed: int = 0,
    epochs: int | None = None,
    progress: bool = True,
    start_date: str | date | datetime | None = None,
    end_date: str | date | datetime | None = None,
    exclude: list[tuple[Any, Any]] | None = None,
) -> FitResult:
    """Load bars (and context data), build features and labels, and fit (without writing).
    ``exclude``: see ``train``."""
    strategy = vbt.load_strategy(strategy)
    symbols = [symbol] if symbol else list(strategy.symbols)
    start_date, end_date = training_range(strategy, start_date, end_date)
    tfs = training_timeframes(strategy)
    bars = {
        s: vbt.load_data(data_dir, s, tfs, start_date=start_date, end_date=end_date)
        for s in symbols
    }
    context = strategy_context(strategy, data_dir)
    params = TrainParams.from_strategy(strategy, epochs)
    if len(symbols) == 1:
        mask = _excluded(bars[symbols[0]][strategy.base_timeframe], exclude)
        data = prepare_training_data(
            strategy, bars[symbols[0]], params=params, context=context, exclude=mask
        )
    else:
        if exclude:
            raise ConfigError("exclude: only for a strategy trained on one symbol")
        data = prepare_symbols_training_data(strategy, bars, params=params, context=context)
    result = fit(strategy, data, device=device, seed=seed, epochs=epochs, progress=progress)
    result.metrics["symbol"] = symbols[0] if len(symbols) == 1 else "MULTI"
    result.metrics["symbols"] = symbols
    stamps = [b[strategy.base_timeframe].get_column("timestamp") for b in bars.values()]
    result.metrics["data_start"] = str(min(ts[0] for ts in stamps))
    result.metrics["data_end"] = str(max(ts[-1] for ts in stamps))
    if context:
        result.metrics["context_source_ids"] = list(context)
    if exclude:
        result.metrics["excluded"] = [[str(a), str(b)] for a, b in exclude]
    return result


def _excluded(base_bars: Any, exclude: list[tuple[Any, Any]] | None) -> np.ndarray | None:
    """bool[n] over ``base_bars``: True for bars whose open time lies in one of the inclusive
    ``exclude`` ranges (None when there are none)."""
    if not exclude:
        return None
    ts = base_bars.get_column("timestamp")
    mask = np.zeros(base_bars.height, dtype=bool)
    for start, end in exclude:
        lo, hi = date_bounds(start, end)
        inside = (ts >= lo) & (ts <= hi) if lo is not None and hi is not None else None
        if inside is None:
            raise ConfigError(f"exclude: ({start}, {end}) needs a start and an end")
        mask |= inside.to_numpy()
    return mask


def training_range(strategy: Any, start_date: Any = None, end_date: Any = None) -> tuple[Any, Any]:
    """The training date range: the given bounds, else the strategy's
    ``training_data.start_date`` / ``end_date`` (None: the first / last bar on disk)."""
    td = strategy.raw.get("training_data") or {}
    if start_date is None and isinstance(td, Mapping):
        start_date = td.get("start_date")
    if end_date is None and isinstance(td, Mapping):
        end_date = td.get("end_date")
    return start_date, end_date


def training_timeframes(strategy: Any) -> list[str]:
    """The strategy's timeframes with the base timeframe first (the older system's order)."""
    base = strategy.base_timeframe
    return [base] + [tf for tf in strategy.timeframes if tf != base]


def save_fit(
    result: FitResult, strategy: Any, out_dir: str | Path, symbol: str | None = None
) -> Path:
    """Write a fitted model as a v3 model directory (``training_symbols``: the symbols it was
    fitted on, or ``[symbol]`` when given)."""
    strategy = vbt.load_strategy(strategy)
    symbols = [symbol] if symbol else result.metrics.get("symbols") or [strategy.symbols[0]]
    raw = strategy.raw
    return write_model_dir(
        out_dir,
        result.model,
        strategy_name=strategy.name,
        raw_config=raw,
        resolved_features=result.data.feature_names,
        training_symbols=list(symbols),
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
        context_source_ids=list(strategy.context_sources),
    )
