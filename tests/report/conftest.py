"""Fixtures for the report tests: a fast model (untrained, seeded, its output bias centred on the
fixture bars so that it gives BUY, HOLD and SELL), runs with and without trades, a sweep, and a
1M-bar run on synthetic bars. Screenshots go to ``out/report/`` at the repository root."""

from __future__ import annotations

from pathlib import Path

import pytest

import vbt

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data_fixtures"
SCREENS = ROOT / "out" / "report"


def centred_model(out: Path, bars_1h) -> Path:
    """rsi_single_tf with an untrained MLP, its last layer scaled up (so that confidences spread
    well above 1/3) and its output bias moved so that its mean logit on ``bars_1h`` is zero for
    every class (a raw network tends to favour one class)."""
    import torch

    from vbt.model.artifacts import write_model_dir
    from vbt.model.networks import build_model
    from vbt.strategy import resolve_features

    s = vbt.load_strategy(DATA / "strategies" / "rsi_single_tf.yaml")
    names = resolve_features(s)
    torch.manual_seed(0)
    net = build_model(dict(s.model), len(names), s.output_type).eval()
    frame = vbt.build_features(s, {"1h": bars_1h}, names)
    with torch.no_grad():
        net[-1].weight *= 40.0
        net[-1].bias -= net(torch.from_numpy(frame.values[frame.valid])).mean(dim=0)
    return Path(write_model_dir(
        out, net, strategy_name=s.name, raw_config=s.raw, resolved_features=names,
        training_symbols=["EURUSD"], training_timeframes=["1h"], output_type=s.output_type,
        model_type="mlp", metrics={},
    ))  # fmt: skip


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    return centred_model(
        tmp_path_factory.mktemp("models"), vbt.load_bars(DATA / "EURUSD_1h.parquet")
    )


def config(model_dir, **kw) -> vbt.BacktestConfig:
    return vbt.BacktestConfig(model_path=str(model_dir), data_dir=str(DATA), **kw)


@pytest.fixture(scope="session")
def traded(model_dir):
    """A run with trades (and signals removed by each filter)."""
    result = vbt.BacktestEngine(config(model_dir, confidence_threshold=0.4)).run()
    assert result.metrics["total_trades"] >= 20 and result.metrics["removed_by_confidence"] > 0
    return result


@pytest.fixture(scope="session")
def untraded(model_dir):
    """A run without trades: the confidence threshold removes every signal."""
    result = vbt.BacktestEngine(config(model_dir, confidence_threshold=0.95)).run()
    assert result.metrics["total_trades"] == 0
    return result


@pytest.fixture(scope="session")
def swept(model_dir):
    grid = {"confidence_threshold": "0.4:0.6:0.05", "commission": [0.0, 0.0005, 0.001],
            "min_signal_separation": [0, 4]}  # fmt: skip
    return vbt.sweep(config(model_dir), grid)


@pytest.fixture(scope="session")
def million(tmp_path_factory, model_dir):
    """A backtest over 1,000,000 synthetic 1h bars (about 160 years, weekends skipped), without
    costs, so that its equity wanders up and down (with costs it only sinks)."""
    from vbt.data.synth import synth_bars

    data = tmp_path_factory.mktemp("big_data")
    synth_bars(1_000_000, seed=11, timeframe="1h").write_parquet(data / "EURUSD_1h.parquet")
    cfg = vbt.BacktestConfig(model_path=str(model_dir), data_dir=str(data),
                             confidence_threshold=0.4, commission=0.0, slippage=0.0)  # fmt: skip
    return vbt.BacktestEngine(cfg).run()
