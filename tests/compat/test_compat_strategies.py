"""Strategy files written in the older system's style: each loads, trains on the fixtures (with
generated context files) and backtests; the model directory the older system would write for it
loads and backtests to the same result."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
import yaml
from context_files import write_context_files
from older_model_dir import write_older_model_dir

import vbt
from vbt.features.indicators import INDICATORS, get_indicator

HERE = Path(__file__).resolve().parent
FILES = sorted((HERE / "strategies").glob("*.yaml"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_context_files(tmp_path_factory.mktemp("compat_data"))


def raw_of(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_files_cover_every_indicator_membership_and_shape():
    types, memberships, dotted, spellings = set(), set(), set(), set()
    shapes = set()
    for path in FILES:
        raw = raw_of(path)
        s = vbt.load_strategy(path)
        types |= {ind.type for ind in s.indicators.values()}
        memberships |= {m.type for fs in s.fuzzy_sets.values() for m in fs.memberships}
        dotted |= {
            fs["indicator"] for fs in raw["fuzzy_sets"].values() if "." in fs["indicator"]
        } | {i["raw_indicator"] for i in raw["nn_inputs"] if "." in i.get("raw_indicator", "")}
        for spec in raw["indicators"].values():
            canonical = {p.name for p in get_indicator(spec["type"]).params}
            spellings |= {
                (spec["type"], k) for k in spec if k not in canonical | {"type", "data_source"}
            }
        shapes.add(("multi_timeframe", len(s.timeframes) > 1))
        shapes.add(("regression", s.output_type == "regression"))
        shapes.add(("context", any(i.data_source for i in s.indicators.values())))
        shapes.add(("multi_symbol", len(s.symbols) > 1))
        shapes.add(("sequence", (s.model.get("type") in ("lstm", "gru"))))
        shapes.add(("raw_input", any(i.kind == "raw" for i in s.nn_inputs)))
    assert types == set(INDICATORS)
    assert memberships == {"triangular", "trapezoidal", "gaussian"}
    assert len(dotted) >= 10
    assert {
        ("macd", "fast"),
        ("macd", "slow"),
        ("macd", "signal"),
        ("squeezeintensity", "period"),
    } <= spellings
    assert {name for name, present in shapes if present} == {
        "multi_timeframe", "regression", "context", "multi_symbol", "sequence", "raw_input",
    }  # fmt: skip


def run_backtest(model_dir: Path, data_dir: Path, symbol: str) -> vbt.BacktestResult:
    cfg = vbt.BacktestConfig(model_path=str(model_dir), data_dir=str(data_dir), symbol=symbol)
    return vbt.BacktestEngine(cfg).run()


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_older_style_strategy_trains_backtests_and_its_older_model_dir_loads(
    path, data_dir, tmp_path
):
    raw = raw_of(path)
    strategy = vbt.load_strategy(path)
    model_dir = vbt.train(path, data_dir=data_dir, symbol=None, out_dir=tmp_path / "vbt",
                          progress=False)  # fmt: skip
    meta = json.loads((model_dir / "metadata_v3.json").read_text())
    assert meta["training_symbols"] == list(strategy.symbols)
    assert meta["resolved_features"] == vbt.resolve_features(strategy)
    if raw.get("context_data"):
        assert meta["context_data_config"] == raw["context_data"]
    symbol = strategy.symbols[-1]
    ours = run_backtest(model_dir, data_dir, symbol)
    n_features = len(meta["resolved_features"])
    assert ours.info.output_type == strategy.output_type
    assert ours.metrics["bars"] > 2500
    assert ours.info.valid_bars > 0.8 * len(ours.equity)  # warm-ups are short next to 6 months
    assert np.isfinite(ours.equity["equity"].to_numpy()).all()

    # The same weights in the directory the older system writes (§6): loads, same inputs, same run.
    bundle = vbt.ModelBundle.load(model_dir)
    older = write_older_model_dir(
        bundle.model,
        raw,
        resolved_features=list(bundle.feature_names),
        training_symbols=meta["training_symbols"],
        training_timeframes=meta["training_timeframes"],
        output_type=meta["output_type"],
        models_dir=tmp_path / "older",
    )
    latest = older.parent / f"{meta['training_timeframes'][0]}_latest"
    loaded = vbt.ModelBundle.load(latest)
    assert loaded.feature_names == bundle.feature_names and len(loaded.feature_names) == n_features
    assert loaded.output_type == bundle.output_type
    assert loaded.metadata.sequence_length == bundle.metadata.sequence_length
    for (k, a), (k2, b) in zip(
        loaded.model.state_dict().items(), bundle.model.state_dict().items(), strict=True
    ):
        assert k == k2 and torch.equal(a, b)
    theirs = run_backtest(latest, data_dir, symbol)
    assert theirs.metrics == ours.metrics
    assert theirs.trades.equals(ours.trades)
    assert theirs.equity.equals(ours.equity)


def test_older_context_model_needs_its_context_files(data_dir, tmp_path):
    path = HERE / "strategies" / "carry_context_v1.yaml"
    model_dir = vbt.train(path, data_dir=data_dir, symbol=None, out_dir=tmp_path, progress=False)
    partial = tmp_path / "partial"
    partial.mkdir()
    for f in data_dir.iterdir():
        if not f.name.startswith("cot_EUR_net_pct"):
            (partial / f.name).write_bytes(f.read_bytes())
    with pytest.raises(vbt.DataError) as exc:
        run_backtest(model_dir, partial, "EURUSD")
    assert "context source 'cot_EUR_net_pct'" in str(exc.value)
    assert str(partial / "cot_EUR_net_pct.parquet") in str(exc.value)


def test_context_alignment_is_the_same_in_training_and_backtest(data_dir, tmp_path):
    """The backtest's features for the carry model equal the trainer's, bar for bar."""
    from vbt.model.dataset import prepare_training_data

    path = HERE / "strategies" / "carry_context_v1.yaml"
    strategy = vbt.load_strategy(path)
    bars = vbt.load_data(data_dir, "EURUSD", ["1h"])
    data = prepare_training_data(
        strategy, bars, context=vbt.data.strategy_context(strategy, data_dir)
    )
    model_dir = vbt.train(path, data_dir=data_dir, symbol=None, out_dir=tmp_path, progress=False)
    bundle = vbt.ModelBundle.load(model_dir)
    served = vbt.build_features(
        vbt.load_strategy(bundle.strategy_config), bars, feature_names=bundle.feature_names,
        context=vbt.data.strategy_context(vbt.load_strategy(bundle.strategy_config), data_dir),
    )  # fmt: skip
    np.testing.assert_array_equal(served.values[data.bar_index], data.X)
    assert served.valid[data.bar_index].all()
    gbp_col = served.column("1h_gbp_momentum_weak")
    assert np.isfinite(gbp_col).mean() > 0.9 and pl.Series(gbp_col).n_unique() > 100
