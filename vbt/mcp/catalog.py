"""What an agent reads before it designs a strategy: the indicators, the bars on disk, the
strategy schema and example strategies. Plain JSON-able data, derived from the one place that
declares each (the indicator registry, the bar files, ``StrategyModel``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import polars as pl

from vbt.errors import ConfigError

#: ``{SYMBOL}_{TF}.parquet`` or ``.csv`` (``vbt.data.load.find_bar_file``'s names)
BAR_FILE = re.compile(r"^(?P<symbol>[A-Za-z0-9.^=-]+)_(?P<tf>\d+[a-zA-Z]+)\.(?P<ext>parquet|csv)$")
#: the most example files and characters of each returned
MAX_EXAMPLES, MAX_EXAMPLE_CHARS = 20, 20_000


def list_indicators() -> list[dict[str, Any]]:
    """Every indicator type: name, aliases, description, parameters (type, default, range or
    choices), outputs (primary first; ``[""]`` for one output) and whether it looks ahead."""
    from vbt.features.indicators.registry import INDICATORS

    out = []
    for spec in INDICATORS.values():
        params = []
        for p in spec.params:
            entry: dict[str, Any] = {"name": p.name, "type": p.type.__name__, "default": p.default}
            for bound in ("ge", "gt", "le", "lt"):
                if getattr(p, bound) is not None:
                    entry[bound] = getattr(p, bound)
            if p.choices is not None:
                entry["choices"] = list(p.choices)
            if p.doc:
                entry["doc"] = p.doc
            params.append(entry)
        out.append({
            "type": spec.name, "aliases": list(spec.aliases), "description": spec.description,
            "parameters": params, "outputs": list(spec.output_keys),
            "model_input": not spec.looks_ahead,
        })  # fmt: skip
    return out


def list_data(data_dir: Path | None) -> dict[str, Any]:
    """The bar files in ``data_dir``: symbol, timeframe, file, bars, first and last timestamp
    (or ``error``, for a file that cannot be read)."""
    if data_dir is None:
        raise ConfigError("data_dir: the server was started without --data-dir (or VBT_DATA_DIR)")
    files = []
    for path in sorted(data_dir.iterdir()):
        m = BAR_FILE.match(path.name)
        if not m or not path.is_file():
            continue
        entry: dict[str, Any] = {"symbol": m["symbol"], "timeframe": m["tf"], "file": path.name}
        try:
            lazy = pl.scan_parquet(path) if m["ext"] == "parquet" else pl.scan_csv(path)
            col = lazy.collect_schema().names()[0]
            span = lazy.select(
                pl.len().alias("bars"), pl.col(col).min().alias("first"),
                pl.col(col).max().alias("last"),
            ).collect().row(0, named=True)  # fmt: skip
            entry |= {"bars": span["bars"], "first": str(span["first"]), "last": str(span["last"])}
        except Exception as exc:  # a damaged file is listed, not fatal: the backtest says more
            entry["error"] = f"cannot read it ({type(exc).__name__})"
        files.append(entry)
    return {"data_dir": str(data_dir), "files": files}


def strategy_schema() -> dict[str, Any]:
    """The JSON Schema of a v3 strategy's top level (``StrategyModel``); indicator parameters
    are in ``list_indicators``."""
    from vbt.strategy.schema import StrategyModel

    return StrategyModel.model_json_schema()


def example_strategies(data_dir: Path | None) -> list[dict[str, str]]:
    """Strategy files to start from: the demo's, and ``<data_dir>/strategies/*.yaml``."""
    from vbt import demo

    paths = [Path(demo.__file__).parent / "rsi_bbands_mtf.yaml"]
    if data_dir is not None and (data_dir / "strategies").is_dir():
        paths += sorted((data_dir / "strategies").glob("*.yaml"))[: MAX_EXAMPLES - 1]
    out = []
    for p in paths:
        text = p.read_text(encoding="utf-8", errors="replace")[:MAX_EXAMPLE_CHARS]
        out.append({"name": p.stem, "yaml": text})
    return out


__all__ = ["example_strategies", "list_data", "list_indicators", "strategy_schema"]
