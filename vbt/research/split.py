"""Which bars a research run trains on and which it tests on, in base-bar indices.

**Held-out split.** ``vbt.train`` splits the bars chronologically into train, validation (early
stopping) and test, labels each split from its own closes only, and records the split in the
model's ``metrics.json`` (``split_bars``, with ``data_start``/``data_end``). ``held_out`` reads
it back: the research backtest trades only the test bars.

**Walk-forward** (``walk_forward_folds``), anchored: the bars [0, n) are cut into K + 1 equal
blocks; fold i (1..K) tests block i and trains (training and validation together) on the bars
before it, less

* a **purge** of ``purge`` bars just before the test block, the label horizon: no training
  label can read a close of the test block;
* an **embargo** of ``embargo`` bars just after every earlier test block: those bars are never
  trained on (López de Prado's embargo after a test set; in an anchored walk-forward it keeps
  the models of later folds off the bars whose features straddle a test block's end).

For every fold: no test bar is a training bar, every training bar lies more than ``purge`` bars
before the first test bar, and no training bar lies in the embargo after any test block. The test
blocks are consecutive and cover [n / (K + 1), n): their equity curves stitch into one
out-of-sample curve.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vbt.errors import ConfigError
from vbt.timefmt import iso_z

MIN_TRAIN_BARS = 20
MIN_TEST_BARS = 2


@dataclass(frozen=True)
class Fold:
    """One walk-forward fold, in base-bar indices [start, stop).

    index: 1..K; train: the training window (validation included); embargoed: the ranges inside
    it that are never trained on; test: the test block; purge: bars between the window and the
    test block.
    """

    index: int
    train: tuple[int, int]
    test: tuple[int, int]
    purge: int
    embargoed: tuple[tuple[int, int], ...] = ()

    def training_bars(self) -> np.ndarray:
        """int64 indices of the bars trained on (the window less the embargoed ranges)."""
        keep = np.ones(self.train[1] - self.train[0], dtype=bool)
        for a, b in self.embargoed:
            keep[max(a, self.train[0]) - self.train[0] : max(b, self.train[0]) - self.train[0]] = (
                False
            )
        return np.flatnonzero(keep) + self.train[0]

    def to_dict(self, timestamps: Any = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "fold": self.index, "train_bars": list(self.train), "test_bars": list(self.test),
            "purge_bars": self.purge, "embargoed_bars": [list(r) for r in self.embargoed],
        }  # fmt: skip
        if timestamps is not None:
            out["train"] = _times(timestamps, *self.train)
            out["test"] = _times(timestamps, *self.test)
        return out


def walk_forward_folds(n_bars: int, k: int, purge: int, embargo: int) -> list[Fold]:
    """The K folds of an anchored walk-forward over ``n_bars`` bars (see the module docstring).
    ``ConfigError`` naming ``walk_forward``, ``purge_bars`` or ``embargo_bars`` when the folds
    cannot be made (too few bars for K blocks, or a purge that leaves a fold nothing to train
    on)."""
    for name, value, lo in (("walk_forward", k, 1), ("purge_bars", purge, 0),
                            ("embargo_bars", embargo, 0)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < lo:
            raise ConfigError(f"{name} = {value!r}: must be an integer >= {lo}")
    edges = [round(n_bars * i / (k + 1)) for i in range(k + 2)]
    if min(b - a for a, b in zip(edges[1:-1], edges[2:], strict=True)) < MIN_TEST_BARS:
        raise ConfigError(f"walk_forward = {k}: {n_bars} bars are too few for {k} test blocks")
    folds = []
    for i in range(1, k + 1):
        a, b = edges[i], edges[i + 1]
        stop = a - purge
        zones = tuple((edges[j + 1], min(edges[j + 1] + embargo, stop))
                      for j in range(1, i) if edges[j + 1] < stop and embargo > 0)  # fmt: skip
        fold = Fold(index=i, train=(0, max(stop, 0)), test=(a, b), purge=purge, embargoed=zones)
        if fold.training_bars().shape[0] < MIN_TRAIN_BARS:
            raise ConfigError(
                f"purge_bars = {purge}: fold {i} would train on "
                f"{fold.training_bars().shape[0]} bars (it tests bars {a}..{b - 1}); use fewer "
                "folds (walk_forward), a shorter purge or more data"
            )
        folds.append(fold)
    return folds


@dataclass(frozen=True)
class HeldOut:
    """The split a model was trained with: [start, stop) base-bar indices of ``train``,
    ``validation`` and ``test`` among the bars from ``data_start`` to ``data_end``."""

    train: tuple[int, int]
    validation: tuple[int, int]
    test: tuple[int, int]
    data_start: str
    data_end: str

    def to_dict(self, timestamps: Any = None) -> dict[str, Any]:
        out: dict[str, Any] = {"data_start": self.data_start, "data_end": self.data_end,
                               "source": "metrics.json split_bars"}  # fmt: skip
        for name in ("train", "validation", "test"):
            a, b = getattr(self, name)
            out[f"{name}_bars"] = [a, b]
            if timestamps is not None and b > a:
                out[name] = _times(timestamps, a, b)
        return out


def held_out(model_dir: str | Path) -> HeldOut:
    """The split recorded in ``model_dir``'s ``metrics.json``; ``ConfigError`` when it records
    none (a model not trained by ``vbt.train`` on one symbol) or its test split is empty."""
    path = Path(model_dir) / "metrics.json"
    try:
        metrics = json.loads(path.read_text())
        bars = metrics["split_bars"]
        split = {k: (int(bars[k][0]), int(bars[k][1])) for k in ("train", "validation", "test")}
        start, end = str(metrics["data_start"]), str(metrics["data_end"])
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        raise ConfigError(
            f"{path}: records no train/validation/test split (split_bars, data_start, data_end);"
            " research needs a model trained by vbt.train on one symbol"
        ) from None
    if split["test"][1] <= split["test"][0]:
        raise ConfigError(f"{path}: the test split is empty (training.data_split.test is 0)")
    return HeldOut(**split, data_start=start, data_end=end)


def _times(timestamps: Any, a: int, b: int) -> list[str]:
    """[first bar's open, last bar's open] as ISO 8601 UTC."""
    return [_time(timestamps[a]), _time(timestamps[b - 1])]


def _time(t: Any) -> str:
    return iso_z(t) if hasattr(t, "strftime") else str(t)
