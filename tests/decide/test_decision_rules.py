"""The njit decision rules and DecisionParams parsing."""

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vbt.decide import DecisionParams, classify_nb, decide_nb, regress_nb
from vbt.decide.rules import CLASSIFY_BLOCK, classify_blocks_nb
from vbt.enums import (
    BUY,
    FLAT,
    HOLD,
    LONG,
    REASON_LOW_CONFIDENCE,
    REASON_POSITION,
    REASON_RAW_HOLD,
    REASON_SEPARATION,
    REASON_SIGNAL,
    SELL,
    SHORT,
)
from vbt.errors import ConfigError

H = 3_600_000_000_000


def test_classify_softmax_and_probability_rows():
    out = np.array(
        [
            [2.0, 0.0, 0.0],  # logits -> softmax
            [0.2, 0.3, 0.5],  # already probabilities: used as is
            [0.0, 0.0, 5.0],
            [1.0, 1.0, 0.0],  # tie -> first class (BUY)
            [np.nan, 0.0, 1.0],  # non-finite -> HOLD, 0
            [0.0, np.inf, 0.0],
            [0.6, 0.6, -0.2],  # sums to 1 but has entries outside [0, 1] -> softmax
        ],
        dtype=np.float32,
    )
    raw, conf, probs = classify_nb(out)
    assert raw.tolist() == [BUY, SELL, SELL, BUY, HOLD, HOLD, BUY]
    e2 = math.exp(2.0)
    assert conf[0] == pytest.approx(e2 / (e2 + 2), rel=1e-6)
    assert probs[0].tolist() == pytest.approx([e2 / (e2 + 2), 1 / (e2 + 2), 1 / (e2 + 2)], rel=1e-6)
    assert probs[1].tolist() == out[1].tolist() and conf[1] == np.float32(0.5)
    assert conf[2] == pytest.approx(math.exp(5) / (math.exp(5) + 2), rel=1e-6)
    assert conf[4] == 0 and conf[5] == 0 and np.isnan(probs[4]).all()
    e8 = math.exp(0.8)
    assert conf[6] == pytest.approx(e8 / (2 * e8 + 1), rel=1e-6)
    assert raw.dtype == np.int8 and conf.dtype == np.float32 and probs.dtype == np.float32


def test_classify_other_class_index_is_hold():
    raw, conf, _ = classify_nb(np.array([[0, 0, 0, 9.0]], dtype=np.float32))
    assert raw[0] == HOLD and conf[0] > 0.99


def test_regress():
    thr = 0.003 * 1.5
    raw, conf = regress_nb(np.array([0.01, -0.01, 0.001, thr, np.nan, 1.0], dtype=np.float64), thr)
    assert raw.tolist() == [BUY, SELL, HOLD, HOLD, HOLD, BUY]
    assert conf[0] == pytest.approx(0.01 / 0.0135, rel=1e-6)
    assert conf[2] == pytest.approx(0.001 / 0.0135, rel=1e-6)
    assert conf[4] == 0 and conf[5] == 1.0


def d(raw, conf=0.9, ts=10 * H, last=0, has_last=False, side=FLAT, reg=False, thr=0.5,
      sep=4 * H, aware=True, short=False):  # fmt: skip
    s, r = decide_nb(np.int8(raw), np.float32(conf), np.int64(ts), np.int64(last), has_last,
                     np.int8(side), reg, thr, np.int64(sep), aware, short)  # fmt: skip
    return int(s), int(r)


def test_decide_each_reason():
    assert d(HOLD) == (HOLD, REASON_RAW_HOLD)
    assert d(BUY, conf=0.49) == (HOLD, REASON_LOW_CONFIDENCE)
    assert d(BUY, conf=0.5) == (BUY, REASON_SIGNAL)  # strict <
    assert d(BUY, conf=0.1, reg=True) == (BUY, REASON_SIGNAL)  # filter 1 is classification only
    # separation: exactly at the threshold passes, 1 ns short is filtered
    assert d(BUY, ts=10 * H, last=6 * H, has_last=True) == (BUY, REASON_SIGNAL)
    assert d(BUY, ts=10 * H, last=6 * H + 1, has_last=True) == (HOLD, REASON_SEPARATION)
    assert d(BUY, ts=10 * H, last=6 * H + 1, has_last=False) == (BUY, REASON_SIGNAL)
    assert d(SELL, side=LONG, ts=H, last=0, has_last=True) == (HOLD, REASON_SEPARATION)  # exits too
    # position awareness
    assert d(BUY, side=LONG) == (HOLD, REASON_POSITION)
    assert d(SELL, side=SHORT) == (HOLD, REASON_POSITION)
    assert d(SELL, side=FLAT) == (HOLD, REASON_POSITION)
    assert d(SELL, side=FLAT, short=True) == (SELL, REASON_SIGNAL)
    assert d(SELL, side=FLAT, reg=True) == (SELL, REASON_SIGNAL)
    assert d(SELL, side=LONG) == (SELL, REASON_SIGNAL)
    assert d(BUY, side=SHORT) == (BUY, REASON_SIGNAL)
    assert d(BUY, side=LONG, aware=False) == (BUY, REASON_SIGNAL)
    assert d(SELL, side=FLAT, aware=False) == (SELL, REASON_SIGNAL)
    # filter order: low confidence is reported before separation and position
    assert d(BUY, conf=0.1, side=LONG, has_last=True, last=10 * H) == (HOLD, REASON_LOW_CONFIDENCE)
    assert d(BUY, side=LONG, has_last=True, last=10 * H) == (HOLD, REASON_SEPARATION)


def test_decision_params_from_config():
    p = DecisionParams.from_config({})
    assert (p.output_format, p.confidence_threshold, p.min_signal_separation) == (
        "classification", 0.5, 4.0)  # fmt: skip
    assert p.position_awareness and not p.allow_short_from_flat and not p.is_regression
    assert p.min_separation_ns == 4 * H and p.trades
    assert p.regression_threshold == pytest.approx(0.0045)
    cfg = {
        "output_format": "regression",
        "confidence_threshold": 0.7,
        "filters": {"min_signal_separation": 1.5},
        "position_awareness": False,
        "cost_model": {"round_trip_cost": 0.002, "min_edge_multiplier": 2},
    }
    p = DecisionParams.from_config(cfg)
    assert p.is_regression and p.output_type == "regression"
    assert p.regression_threshold == pytest.approx(0.004) and p.min_separation_ns == int(1.5 * H)
    assert not p.position_awareness and p.confidence_threshold == 0.7
    p = DecisionParams.from_config(cfg, "regression", confidence_threshold=0.9,
                                   min_signal_separation=0, position_awareness=True)  # fmt: skip
    assert (p.confidence_threshold, p.min_signal_separation, p.position_awareness) == (0.9, 0, True)
    # overrides of None keep the config
    assert DecisionParams.from_config(cfg, position_awareness=None).position_awareness is False
    # non-signal output types never trade
    assert not DecisionParams.from_config({"output_format": "classification"}, "regime").trades


@pytest.mark.parametrize(
    "cfg, key",
    [
        ({"output_format": "ranking"}, "output_format"),
        ({"confidence_threshold": "high"}, "confidence_threshold"),
        ({"filters": {"min_signal_separation": -1}}, "min_signal_separation"),
        ({"filters": 4}, "filters"),
        ({"position_awareness": "yes"}, "position_awareness"),
        (
            {"cost_model": {"round_trip_cost": None, "min_edge_multiplier": "x"}},
            "min_edge_multiplier",
        ),
    ],
)
def test_decision_params_errors_name_the_key(cfg, key):
    with pytest.raises(ConfigError, match=key):
        DecisionParams.from_config(cfg)


def test_output_format_conflicting_with_model_output_type_is_refused():
    with pytest.raises(ConfigError, match="disagrees"):
        DecisionParams.from_config({"output_format": "regression"}, "classification")


def test_importing_vbt_decide_and_sim_does_not_import_torch():
    code = "import sys, vbt.decide, vbt.sim; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 3 * CLASSIFY_BLOCK + 5),
    k=st.integers(1, 5),
    seed=st.integers(0, 2**32 - 1),
    special=st.floats(allow_nan=True, allow_infinity=True, width=32),
)
def test_the_block_parallel_rule_gives_the_rules_values(n, k, seed, special):
    """classify_blocks_nb (the engine's, on Numba's threads) equals classify_nb bit for bit:
    logits, probability rows, non-finite rows, any row count around the block size."""
    rng = np.random.default_rng(seed)
    out = (rng.standard_normal((n, k)) * 5).astype(np.float32)
    if n:
        probs = rng.dirichlet(np.ones(k), size=max(1, n // 7)).astype(np.float32)
        out[rng.integers(0, n, probs.shape[0])] = probs
        out[rng.integers(0, n, max(1, n // 11)), rng.integers(0, k)] = special
    raw, conf, _ = classify_nb(out)
    raw2, conf2 = np.zeros(n, np.int8), np.zeros(n, np.float32)
    classify_blocks_nb(out, raw2, conf2)
    assert np.array_equal(raw, raw2)
    assert np.array_equal(conf.view(np.int32), conf2.view(np.int32))
