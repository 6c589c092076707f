"""The 23 strategy files of the older system's repository (copies of its ``strategies/*.yaml``
in ``older_strategies/``, unchanged): each loads, trains (one epoch) on the bundled bars and the
generated context files, and backtests, whatever its label source, indicators, timeframes,
symbols, context data and output type.

Their date ranges lie outside the bundled bars (2024-01 to 2024-06), so training is given the
bundled range; everything else is the file's own.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from context_files import write_context_files

import vbt
from vbt.data.synth import synth_bars
from vbt.model.label_sources import CLASS_NAMES_BY_OUTPUT_TYPE

HERE = Path(__file__).resolve().parent
FILES = sorted((HERE / "older_strategies").glob("*.yaml"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    path = write_context_files(tmp_path_factory.mktemp("older_files"))
    eur = vbt.load_bars(path / "EURUSD_5m.parquet")
    synth_bars(eur.height, seed=13, price=150.0).write_parquet(path / "USDJPY_5m.parquet")
    return path


def test_all_23_files_and_every_shape_are_here():
    assert len(FILES) == 23
    shapes, sources = set(), set()
    for path in FILES:
        s = vbt.load_strategy(path)
        raw = yaml.safe_load(path.read_text())
        sources.add(((raw.get("training") or {}).get("labels") or {}).get("source", "zigzag"))
        shapes |= {s.output_type, s.model.get("type", "mlp")}
        shapes |= {"multi_timeframe"} if len(s.timeframes) > 1 else set()
        shapes |= {"multi_symbol"} if len(s.symbols) > 1 else set()
        shapes |= {"context_data"} if s.context_sources else set()
    assert sources == {"zigzag", "forward_return", "triple_barrier", "context", "regime"}
    assert {"classification", "regression", "context_classification", "regime_classification",
            "mlp", "lstm", "multi_timeframe", "multi_symbol", "context_data"} <= shapes  # fmt: skip


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_older_file_loads_trains_and_backtests(path, data_dir, tmp_path):
    strategy = vbt.load_strategy(path)
    model_dir = vbt.train(
        path, data_dir=data_dir, out_dir=tmp_path, epochs=1, progress=False,
        start_date="2024-01-01", end_date="2024-07-01",
    )  # fmt: skip
    meta = json.loads((model_dir / "metadata_v3.json").read_text())
    assert meta["output_type"] == strategy.output_type
    bundle = vbt.ModelBundle.load(model_dir)
    cfg = vbt.BacktestConfig(model_path=str(model_dir), data_dir=str(data_dir),
                             symbol=strategy.symbols[-1])  # fmt: skip
    result = vbt.BacktestEngine(cfg).run()
    assert result.info.output_type == bundle.output_type == strategy.output_type
    assert np.isfinite(result.equity["equity"].to_numpy()).all()
    if strategy.output_type in ("classification", "regression"):  # trading: the funnel says it
        assert result.info.class_counts == {}
    else:
        names = CLASS_NAMES_BY_OUTPUT_TYPE[strategy.output_type]
        assert tuple(result.info.class_counts) == names
        assert sum(result.info.class_counts.values()) > 0
    if strategy.output_type not in ("classification", "regression"):  # never trades
        assert result.metrics["total_trades"] == 0
