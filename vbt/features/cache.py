"""On-disk feature cache (Parquet), keyed by a hash of the bars and the feature config.

This module stores and reads a feature matrix (values and names) and knows nothing of
``FeatureFrame``: ``vbt.features.frame.build_features`` builds the frame around what it reads.

Why pyarrow here rather than polars: the frame's feature names travel in the file's schema
metadata, which pyarrow writes directly (names may repeat, so they cannot all be column names).
pyarrow is imported on first use (it is slow to import and only a cache needs it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vbt.atomic import atomic_write

CACHE_VERSION = "vbt-features-1"


def feature_config(strategy, names, base) -> dict:
    """What the features depend on besides the bars: the cache version, the base timeframe, the
    feature names and the indicator, fuzzy and input config. Two strategies with equal configs
    compute equal features from equal bars (a batch shares them on this and the bars' identity)."""
    return {
        "version": CACHE_VERSION,
        "base": base,
        "names": list(names),
        "indicators": {
            k: [v.type, v.params, v.data_source] for k, v in sorted(strategy.indicators.items())
        },
        "fuzzy": {
            k: [v.indicator, v.output, [[m.name, m.type, m.parameters] for m in v.memberships]]
            for k, v in sorted(strategy.fuzzy_sets.items())
        },
        "inputs": [[i.kind, i.ref, i.timeframes] for i in strategy.nn_inputs],
    }


def cache_key(strategy, bars_by_tf, names, base, tfs, context=None) -> str:
    """sha256 over ``feature_config`` and every byte of the bars of each timeframe involved and
    of the context frames given."""
    h = hashlib.sha256()
    config = feature_config(strategy, names, base)
    h.update(json.dumps(config, sort_keys=True, default=str).encode())
    for tf in tfs:
        bars = bars_by_tf[tf]
        h.update(tf.encode())
        h.update(bars.get_column("timestamp").dt.epoch("ns").to_numpy().tobytes())
        for c in ("open", "high", "low", "close", "volume"):
            h.update(np.ascontiguousarray(bars.get_column(c).to_numpy()).tobytes())
    for sid, frame in sorted((context or {}).items()):
        h.update(f"context:{sid}:{frame.known_after_ns}".encode())
        h.update(frame.data.get_column("timestamp").dt.epoch("ns").to_numpy().tobytes())
        for c in frame.columns:
            h.update(c.encode())
            h.update(np.ascontiguousarray(frame.data.get_column(c).to_numpy()).tobytes())
    return h.hexdigest()


def cache_path(cache_dir: Path, key: str) -> Path:
    """The cache file of ``key`` (a ``cache_key``) in ``cache_dir``."""
    return cache_dir / f"features-{key[:32]}.parquet"


def read_values(path: Path, names: Sequence[str]) -> np.ndarray | None:
    """The float32 feature matrix (n_bars, len(names)) stored at ``path`` for exactly ``names``;
    None when there is no such file, it holds other names or it cannot be read (a miss)."""
    if not path.is_file():
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
        stored = json.loads(table.schema.metadata[b"vbt_feature_names"])
        if stored != list(names):
            return None
        return np.ascontiguousarray(
            np.column_stack([table.column(f"f{j}").to_numpy() for j in range(len(names))]),
            dtype=np.float32,
        )
    except (OSError, KeyError, ValueError, pa.ArrowException):
        return None  # unreadable cache entry: the caller recomputes and overwrites it


def write_values(path: Path, values: np.ndarray, names: Sequence[str]) -> None:
    """Store ``values`` (n_bars, len(names)) and ``names`` at ``path`` atomically (its folder is
    created)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table({f"f{j}": values[:, j] for j in range(values.shape[1])})
    table = table.replace_schema_metadata({"vbt_feature_names": json.dumps(list(names))})
    atomic_write(path, lambda f: pq.write_table(table, f))
