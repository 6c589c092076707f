"""Network builders: exact module structure and state-dict keys of the older system (§6.4)."""

from __future__ import annotations

import logging

import pytest
import torch
from torch import nn

from vbt.errors import ConfigError, ModelError
from vbt.model.networks import GRUNetwork, LSTMNetwork, build_model


def test_mlp_structure_and_keys():
    m = build_model(
        {"type": "mlp", "architecture": {"hidden_layers": [16, 8, 4]}}, 7, "classification"
    )
    assert isinstance(m, nn.Sequential)
    kinds = [type(layer) for layer in m]
    assert kinds == [nn.Linear, nn.ReLU, nn.Dropout] * 3 + [nn.Linear]
    assert list(m.state_dict()) == [f"{i}.{p}" for i in (0, 3, 6, 9) for p in ("weight", "bias")]
    assert m[0].in_features == 7 and m[9].out_features == 3
    assert all(layer.p == 0.2 for layer in m if isinstance(layer, nn.Dropout))


def test_mlp_defaults():
    m = build_model({"type": "mlp"}, 5, "classification")
    assert [m[0].out_features, m[3].out_features, m[6].out_features] == [64, 32, 3]
    assert build_model({}, 5, "classification")[6].out_features == 3  # type defaults to mlp


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("relu", nn.ReLU),
        ("tanh", nn.Tanh),
        ("sigmoid", nn.Sigmoid),
        ("leaky_relu", nn.LeakyReLU),
        ("TANH", nn.Tanh),
    ],
)
def test_mlp_activations(name, cls):
    m = build_model(
        {"architecture": {"hidden_layers": [4], "activation": name}}, 3, "classification"
    )
    assert isinstance(m[1], cls)


def test_unknown_activation_falls_back_to_relu_with_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="vbt.model.networks"):
        m = build_model(
            {"architecture": {"hidden_layers": [4], "activation": "swish"}}, 3, "classification"
        )
    assert isinstance(m[1], nn.ReLU)
    assert "swish" in caplog.text


def test_outputs_by_output_type():
    cfg = {"architecture": {"hidden_layers": [4], "dropout": 0.5}}
    assert build_model(cfg, 3, "regression")[3].out_features == 1
    assert (
        build_model({**cfg, "output_format": "regression"}, 3, "classification")[3].out_features
        == 1
    )
    assert build_model({**cfg, "num_classes": 4}, 3, "regime_classification")[3].out_features == 4
    assert build_model(cfg, 3, "classification")[2].p == 0.5


@pytest.mark.parametrize(
    ("kind", "cls", "attr"), [("lstm", LSTMNetwork, "lstm"), ("gru", GRUNetwork, "gru")]
)
def test_recurrent_structure(kind, cls, attr):
    m = build_model({"type": kind, "architecture": {"sequence_length": 10}}, 6, "classification")
    assert isinstance(m, cls)
    rnn = getattr(m, attr)
    assert isinstance(rnn, nn.LSTM if kind == "lstm" else nn.GRU)
    assert (rnn.input_size, rnn.hidden_size, rnn.num_layers, rnn.batch_first) == (6, 64, 2, True)
    assert rnn.dropout == 0.2 and m.dropout.p == 0.2
    assert m.fc.in_features == 64 and m.fc.out_features == 3
    keys = set(m.state_dict())
    for layer in (0, 1):
        for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            assert f"{attr}.{p}_l{layer}" in keys
    assert {"fc.weight", "fc.bias"} <= keys
    assert len(keys) == 10


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_recurrent_single_layer_has_no_inter_layer_dropout(kind):
    arch = {"sequence_length": 3, "num_layers": 1, "hidden_size": 5, "dropout": 0.3}
    m = build_model({"type": kind, "architecture": arch}, 2, "regression")
    assert getattr(m, kind).dropout == 0.0
    assert m.dropout.p == 0.3
    assert m.fc.out_features == 1


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_recurrent_forward_is_last_hidden_state_then_fc(kind):
    torch.manual_seed(0)
    m = build_model(
        {"type": kind, "architecture": {"sequence_length": 4, "hidden_size": 5}},
        3,
        "classification",
    )
    m.eval()
    x = torch.rand(7, 4, 3)
    with torch.no_grad():
        _, h = getattr(m, kind)(x)
        h_n = h[0] if kind == "lstm" else h
        expected = m.fc(h_n[-1])
        out = m(x)
    assert out.shape == (7, 3)
    assert torch.equal(out, expected)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_recurrent_requires_sequence_length(kind):
    with pytest.raises(ConfigError, match="sequence_length is required"):
        build_model({"type": kind, "architecture": {"hidden_size": 8}}, 3, "classification")


def test_unsupported_type_names_it_and_supported():
    with pytest.raises(ModelError) as info:
        build_model({"type": "transformer"}, 3, "classification")
    msg = str(info.value)
    assert "'transformer'" in msg and "mlp, lstm, gru" in msg


@pytest.mark.parametrize(
    ("cfg", "key"),
    [
        ({"architecture": {"hidden_layers": "64"}}, "hidden_layers"),
        ({"architecture": {"hidden_layers": [8, 0]}}, "hidden_layers[1]"),
        ({"architecture": {"hidden_layers": [8], "dropout": 1.5}}, "dropout"),
        ({"architecture": "big"}, "model.architecture"),
        ({"type": "lstm", "architecture": {"sequence_length": 0}}, "sequence_length"),
        ({"num_classes": 0}, "num_classes"),
    ],
)
def test_bad_architecture_values(cfg, key):
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        build_model(cfg, 3, "classification")
