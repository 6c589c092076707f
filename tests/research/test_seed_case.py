"""The seeds' end-to-end case: the multi-timeframe RSI and Bollinger Bands strategy on 1h and 5m
EURUSD is trained, its weights are tagged for Apple's GPU (``mps``) as if trained there, and the
research cycle backtests it on the CPU out of sample and judges it."""

from __future__ import annotations

import json
import math
import shutil

import vbt
from tests.model.device_tags import retag_storages, storage_locations
from tests.research.conftest import DATA
from vbt.metrics import METRIC_NAMES
from vbt.research.verdict import INCONCLUSIVE, NOT_BETTER, PROMISING

STRATEGY = DATA / "strategies" / "rsi_bbands_mtf.yaml"


def test_seed_case_research_of_an_mps_tagged_model(tmp_path):
    trained = vbt.train(STRATEGY, data_dir=DATA, symbol="EURUSD", out_dir=tmp_path / "models",
                        progress=False)  # fmt: skip
    mps = tmp_path / "mps_model"
    shutil.copytree(trained, mps)
    assert retag_storages(mps / "model.pt", "mps") > 0
    assert set(storage_locations(mps / "model.pt")) == {"mps"}

    report = vbt.research.run(STRATEGY, data_dir=DATA, symbol="EURUSD", model_dir=mps,
                              out_dir=tmp_path / "research", simulations=200)  # fmt: skip
    r = report.report
    assert r["timeframe"] == "1h" and r["models"] == [str(mps)]
    m = r["metrics"]
    assert set(m) == set(METRIC_NAMES)
    assert all(v is None or (isinstance(v, int | float) and math.isfinite(v)) for v in m.values())
    assert m["total_trades"] >= 1 and m["sharpe_ratio"] is not None
    assert m["bars"] == r["split"]["test_bars"][1] - r["split"]["test_bars"][0]
    assert r["verdict"]["verdict"] in (PROMISING, INCONCLUSIVE, NOT_BETTER)
    assert r["verdict"]["reasons"]
    json.dumps(r, allow_nan=False)
