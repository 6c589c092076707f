"""Shared work of a batch: each piece of a run computed once per process and handed to every job
that needs it.

``SharedSources`` is the ``vbt.stages.Sources`` that a batch worker passes to ``prepare``:

==============  ==========================================================  =====================
piece           shared per                                                  key
==============  ==========================================================  =====================
model           model directory                                             its path and the
                                                                            identity of its files
bars            symbol and timeframe (each file read once; every date       the data folder, the
                range is a filter of it)                                    symbol, the timeframe
                                                                            and the identity of
                                                                            the symbol's files
context data    data folder and the sources used                            the same, for the
                                                                            folder's files
features        feature configuration, symbol, timeframes and date range    ``feature_config`` +
                (two models with the same features share them)              the bars' key
model outputs   model, symbol, timeframes and date range                    model key + features
                                                                            key
==============  ==========================================================  =====================

Keys are cheap: paths, configuration and file identity (size, modification time and inode from
``os.stat``), never a hash of the data. Each kind keeps its most recently used pieces, at most
``MAX_ENTRIES`` of them and ``MAX_BYTES`` of arrays (``VBT_BATCH_CACHE_MB`` in MiB overrides it;
a batch runs the jobs that share pieces one after another, so little is evicted early). ``counts`` says how many pieces of each kind were computed (``built``) and handed out
again (``reused``); a job's record carries the difference its own ``prepare`` made.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

import numpy as np

from vbt import signals  # signals.model_outputs looked up at each call (tests count them)
from vbt.data.load import filter_dates, read_timeframe
from vbt.features.cache import feature_config
from vbt.model.bundle import resolve_model_dir
from vbt.stages import Sources

#: pieces kept per kind (least recently used first out), by count and by bytes of arrays
MAX_ENTRIES = 64
MAX_BYTES = int(os.environ.get("VBT_BATCH_CACHE_MB", 1024)) * 2**20
KINDS = ("model", "bars", "context", "features", "inference")


def file_identity(path: Path) -> tuple:
    """(name, size, mtime_ns, inode) of a file: changes whenever the file is rewritten."""
    st = path.stat()
    return (path.name, st.st_size, st.st_mtime_ns, st.st_ino)


def folder_identity(folder: Path, prefix: str = "") -> tuple:
    """The identity of every file in ``folder`` whose name starts with ``prefix`` (sorted)."""
    with os.scandir(folder) as it:
        entries = sorted(e.name for e in it if e.name.startswith(prefix) and e.is_file())
    return tuple(file_identity(folder / name) for name in entries)


class SharedSources(Sources):
    """``Sources`` that keep what they compute, keyed cheaply (see the module docstring).

    threads : int, optional
        torch threads for inference (default: the usable cores); a batch with several worker
        processes gives each its share.
    """

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads
        self._store: dict[str, OrderedDict] = {k: OrderedDict() for k in KINDS}
        self._bytes: dict[str, dict[Hashable, int]] = {k: {} for k in KINDS}
        self._key_of: dict[int, Hashable] = {}  # id(piece) -> key, for pieces held here
        self._held: OrderedDict[int, Any] = OrderedDict()
        self.counts = {k: {"built": 0, "reused": 0} for k in KINDS}

    def snapshot(self) -> dict[str, dict[str, int]]:
        """A copy of ``counts``."""
        return {k: dict(v) for k, v in self.counts.items()}

    def _get(self, kind: str, key: Hashable, build: Callable[[], Any]) -> Any:
        store = self._store[kind]
        if key in store:
            store.move_to_end(key)
            self.counts[kind]["reused"] += 1
            return store[key]
        value = build()
        self.counts[kind]["built"] += 1
        store[key] = value
        self._key_of[id(value)] = key
        sizes = self._bytes[kind]
        sizes[key] = nbytes(value)
        while len(store) > 1 and (len(store) > MAX_ENTRIES or sum(sizes.values()) > MAX_BYTES):
            old_key, old = store.popitem(last=False)
            sizes.pop(old_key, None)
            self._key_of.pop(id(old), None)
        return value

    def key(self, piece: Any) -> Hashable | None:
        """The key of a piece this object handed out (None for any other object)."""
        return self._key_of.get(id(piece))

    # -------------------------------------------------------------------- the pieces

    def bundle(self, model_path: str) -> Any:
        path = resolve_model_dir(Path(model_path)).resolve()
        key = (str(path), folder_identity(path))
        return self._get("model", key, lambda: super(SharedSources, self).bundle(str(path)))

    def bars(self, data_dir, symbol, timeframes, start_date, end_date):
        folder = Path(data_dir).resolve()
        ident = folder_identity(folder, f"{symbol}_") if folder.is_dir() else ()
        out = {}
        for tf in timeframes:
            bars, source = self._get(
                "bars",
                (str(folder), symbol, tf, ident),
                lambda tf=tf: read_timeframe(folder, symbol, tf),
            )
            out[tf] = filter_dates(bars, source, start_date, end_date)
        # the date-filtered dict is new for each job; its key identifies the features built on it
        key = (str(folder), symbol, tuple(timeframes), _date(start_date), _date(end_date), ident)
        self._remember(out, key)
        return out

    def _remember(self, piece: Any, key: Hashable) -> None:
        """Make ``key(piece)`` answer ``key`` for a piece not held in a store (kept alive, and
        bounded, so that its id is not reused while it is a key)."""
        self._held[id(piece)] = piece
        self._key_of[id(piece)] = key
        while len(self._held) > MAX_ENTRIES:
            old_id, _ = self._held.popitem(last=False)
            self._key_of.pop(old_id, None)

    def context(self, strategy, data_dir):
        used = sorted({ind.data_source for ind in strategy.indicators.values() if ind.data_source})
        if not used:
            return super().context(strategy, data_dir)
        folder = Path(data_dir).resolve()
        sources = [repr(strategy.context_sources.get(sid)) for sid in used]
        key = (str(folder), tuple(sources), folder_identity(folder))
        return self._get(
            "context", key, lambda: super(SharedSources, self).context(strategy, data_dir)
        )

    def features(self, strategy, bars, names, *, base_timeframe, cache_dir, context):
        bars_key = self.key(bars)
        context_key = self.key(context) if context else ()
        if bars_key is None or context_key is None:  # not pieces of this cache: no sharing
            return super().features(strategy, bars, names, base_timeframe=base_timeframe,
                                    cache_dir=cache_dir, context=context)  # fmt: skip
        config = json.dumps(feature_config(strategy, names, base_timeframe), sort_keys=True,
                            default=str)  # fmt: skip
        key = (config, bars_key, context_key)

        def build():
            return super(SharedSources, self).features(
                strategy, bars, names, base_timeframe=base_timeframe, cache_dir=cache_dir,
                context=context,
            )  # fmt: skip

        return self._get("features", key, build)

    def outputs(self, bundle, frame) -> np.ndarray:
        model_key, frame_key = self.key(bundle), self.key(frame)

        def build():
            return signals.model_outputs(bundle.model, frame.values, frame.valid,
                                         bundle.sequence_length, threads=self.threads)  # fmt: skip

        if model_key is None or frame_key is None:
            return build()
        return self._get("inference", (model_key, frame_key), build)


def nbytes(piece: Any) -> int:
    """The bytes of the arrays a piece holds (bars, features, outputs); 0 for a model."""
    if isinstance(piece, np.ndarray):
        return int(piece.nbytes)
    if isinstance(piece, tuple):
        return sum(nbytes(p) for p in piece)
    if hasattr(piece, "estimated_size"):  # a polars DataFrame
        return int(piece.estimated_size())
    values = getattr(piece, "values", None)  # a FeatureFrame
    if isinstance(values, np.ndarray):
        return int(values.nbytes) + int(piece.valid.nbytes)
    return 0


def _date(value: Any) -> str | None:
    return None if value is None else str(value)


def used_counts(before: dict, after: dict) -> dict[str, str]:
    """What one ``prepare`` did per kind, from two ``snapshot``s: ``built``, ``reused`` or
    ``none`` (the kind was not needed, e.g. no context data)."""
    out = {}
    for kind in KINDS:
        built = after[kind]["built"] - before[kind]["built"]
        reused = after[kind]["reused"] - before[kind]["reused"]
        out[kind] = "built" if built else "reused" if reused else "none"
    return out
