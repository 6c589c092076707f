"""DecisionFunction with tiny hand-weighted torch models."""

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from vbt.decide import Decision, DecisionFunction, DecisionParams  # noqa: E402
from vbt.enums import BUY, FLAT, HOLD, LONG, SELL, SHORT  # noqa: E402

T = datetime(2024, 1, 2, 12, tzinfo=UTC)
CLS = {"output_format": "classification", "confidence_threshold": 0.5,
       "filters": {"min_signal_separation": 4}}  # fmt: skip
REG = {"output_format": "regression", "filters": {"min_signal_separation": 4},
       "cost_model": {"round_trip_cost": 0.003, "min_edge_multiplier": 1.5}}  # fmt: skip


def linear(weight, bias):
    m = torch.nn.Linear(len(weight[0]), len(weight))
    with torch.no_grad():
        m.weight.copy_(torch.tensor(weight, dtype=torch.float32))
        m.bias.copy_(torch.tensor(bias, dtype=torch.float32))
    return m


# logits = [a, 0, b]: feature "a" votes BUY, feature "b" votes SELL
CLS_MODEL = linear([[1, 0], [0, 0], [0, 1]], [0, 0, 0])


def test_classification_signal_and_probabilities():
    f = DecisionFunction(CLS_MODEL, ["a", "b"], CLS)
    dec = f({"a": 2.0, "b": 0.0}, FLAT, T)
    e2 = math.exp(2)
    assert isinstance(dec, Decision)
    assert (dec.signal, dec.signal_name, dec.reason, dec.raw_signal) == (BUY, "BUY", "signal", BUY)
    assert dec.confidence == pytest.approx(e2 / (e2 + 2), rel=1e-6)
    assert dec.probabilities == pytest.approx({"BUY": e2 / (e2 + 2), "HOLD": 1 / (e2 + 2),
                                               "SELL": 1 / (e2 + 2)}, rel=1e-6)  # fmt: skip
    assert dec.predicted_return is None


def test_dict_input_follows_feature_names_order():
    f = DecisionFunction(CLS_MODEL, ["a", "b"], CLS)
    # the dict's own order does not matter
    assert f({"b": 0.0, "a": 2.0}, FLAT, T).signal == BUY
    assert f(np.array([2.0, 0.0]), FLAT, T).signal == BUY
    # swapping the names swaps the inputs: now "a" feeds the SELL logit
    g = DecisionFunction(CLS_MODEL, ["b", "a"], CLS)
    dec = g({"a": 2.0, "b": 0.0}, LONG, T)
    assert (dec.signal, dec.raw_signal) == (SELL, SELL)


def test_missing_feature_is_named():
    f = DecisionFunction(CLS_MODEL, ["a", "b"], CLS)
    with pytest.raises(ValueError, match="'b'"):
        f({"a": 1.0}, FLAT, T)
    with pytest.raises(ValueError, match="shape"):
        f(np.zeros(3), FLAT, T)


def test_each_reason():
    f = DecisionFunction(CLS_MODEL, ["a", "b"], CLS)
    assert f({"a": 0.0, "b": 0.0}, FLAT, T).reason == "low_confidence"  # 1/3 < 0.5
    dec = f({"a": 0.1, "b": 0.0}, FLAT, T)  # BUY with confidence ~0.36
    assert (dec.signal, dec.raw_signal, dec.reason) == (HOLD, BUY, "low_confidence")
    buy = {"a": 3.0, "b": 0.0}
    # separation: 3h59 after the last trade -> filtered; exactly 4h -> passes
    assert f(buy, FLAT, T, T - timedelta(hours=4) + timedelta(minutes=1)).reason == (
        "min_signal_separation")  # fmt: skip
    assert f(buy, FLAT, T, T - timedelta(hours=4)).signal == BUY
    assert f(buy, LONG, T).reason == "position_awareness"
    sell = {"a": 0.0, "b": 3.0}
    assert f(sell, FLAT, T).reason == "position_awareness"  # classification: no short from flat
    assert f(sell, SHORT, T).reason == "position_awareness"
    assert f(sell, LONG, T).signal == SELL
    assert f(sell, "LONG", T).signal == SELL  # position by name
    short_ok = DecisionFunction(CLS_MODEL, ["a", "b"], {**CLS, "allow_short_from_flat": True})
    assert short_ok(sell, FLAT, T).signal == SELL
    # NaN feature: invalid bar -> HOLD, raw_hold, and the model is not consulted
    dec = f({"a": float("nan"), "b": 0.0}, FLAT, T)
    assert (dec.signal, dec.reason, dec.confidence, dec.probabilities) == (
        HOLD,
        "raw_hold",
        0.0,
        None,
    )
    with pytest.raises(ValueError, match="position"):
        f(buy, 2, T)


def test_output_already_probabilities_is_used_as_is():
    m = linear([[0, 0]] * 3, [0.2, 0.3, 0.5])
    dec = DecisionFunction(m, ["a", "b"], CLS)({"a": 1, "b": 1}, LONG, T)
    assert dec.probabilities == pytest.approx({"BUY": 0.2, "HOLD": 0.3, "SELL": 0.5}, abs=1e-7)
    assert (dec.signal, dec.confidence) == (SELL, 0.5)  # 0.5 is not < 0.5


def test_regression():
    m = linear([[1, 0]], [0])  # r = a
    f = DecisionFunction(m, ["a", "b"], REG)
    dec = f({"a": 0.01, "b": 5.0}, FLAT, T)
    assert (dec.signal, dec.reason, dec.probabilities) == (BUY, "signal", None)
    assert dec.predicted_return == pytest.approx(0.01, rel=1e-6)
    assert dec.confidence == pytest.approx(0.01 / 0.0135, rel=1e-5)
    dec = f({"a": -0.01, "b": 0.0}, FLAT, T)  # regression may short from flat
    assert dec.signal == SELL
    dec = f({"a": 0.001, "b": 0.0}, FLAT, T)  # |r| <= 0.0045 -> HOLD
    assert (dec.signal, dec.reason) == (HOLD, "raw_hold")
    assert dec.confidence == pytest.approx(0.001 / 0.0135, rel=1e-5)
    # filter 1 does not apply to regression: confidence 0.5/0.0135 capped, tiny edge still trades
    dec = f({"a": 0.0046, "b": 0.0}, FLAT, T)
    assert dec.signal == BUY and dec.confidence < 0.5


def test_non_signal_output_type_never_trades():
    f = DecisionFunction(CLS_MODEL, ["a", "b"], CLS, output_type="regime")
    dec = f({"a": 5.0, "b": 0.0}, FLAT, T)
    assert (dec.signal, dec.reason) == (HOLD, "raw_hold")


def test_sequence_model_takes_seq_by_features():
    class LastStep(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = CLS_MODEL

        def forward(self, x):  # (batch, seq, F)
            assert x.dim() == 3
            return self.lin(x[:, -1, :])

    f = DecisionFunction(LastStep(), ["a", "b"], CLS, sequence_length=3)
    seq = np.array([[0.0, 9.0], [0.0, 9.0], [3.0, 0.0]], dtype=np.float32)
    assert f(seq, FLAT, T).signal == BUY  # only the last row counts in this model
    # a window of the wrong length, or a single row, is refused instead of being misread
    with pytest.raises(ValueError, match=r"expected \(3, 2\)"):
        f(seq[1:], FLAT, T)
    with pytest.raises(ValueError, match=r"needs a \(3, 2\) window"):
        f({"a": 3.0, "b": 0.0}, FLAT, T)


def test_row_model_refuses_a_window():
    f = DecisionFunction(CLS_MODEL, ["a", "b"], CLS)
    with pytest.raises(ValueError, match=r"expected \(2,\): one row"):
        f(np.zeros((4, 2), dtype=np.float32), FLAT, T)


def test_time_types_and_params_object():
    f = DecisionFunction(CLS_MODEL, ["a", "b"], DecisionParams.from_config(CLS))
    buy = {"a": 3.0, "b": 0.0}
    t_ns = int(T.timestamp()) * 10**9
    naive = T.replace(tzinfo=None)  # naive is read as UTC
    last = np.datetime64(T.replace(tzinfo=None) - timedelta(hours=1), "ns")
    for bar_time in (T, naive, t_ns, np.datetime64(naive, "ns")):
        assert f(buy, FLAT, bar_time, last).reason == "min_signal_separation"
        assert f(buy, FLAT, bar_time, t_ns - 4 * 3600 * 10**9).signal == BUY


@pytest.mark.parametrize("hours", [1e30, float("nan"), -1.0])
def test_separation_out_of_range_is_a_config_error(hours):
    from vbt.errors import ConfigError

    with pytest.raises(ConfigError, match="min_signal_separation"):
        DecisionParams.from_config({"filters": {"min_signal_separation": hours}})
