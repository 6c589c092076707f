"""Network builders that reproduce the older system's module structure and state-dict keys.

A model directory written by the older system (or by :mod:`vbt.model.artifacts`) holds only a state
dict, so the architecture must be rebuilt here with *exactly* the same modules and parameter names:

* **MLP** -- ``nn.Sequential`` of ``[Linear, activation, Dropout]`` per hidden layer, then the output
  ``Linear``. Keys: hidden Linear ``i`` at index ``3*i`` (``"0.weight"``, ``"3.weight"``, ...), the
  output Linear at ``3*len(hidden_layers)``. Activations: ``relu`` (default), ``tanh``, ``sigmoid``,
  ``leaky_relu``; an unknown name falls back to ReLU with a warning (as the older system, minus the
  silence). Dropout default 0.2. No softmax in the model: classification outputs are logits.
* **LSTM / GRU** -- a module with attributes ``lstm`` (``nn.LSTM``) or ``gru`` (``nn.GRU``)
  (``hidden_size`` 64, ``num_layers`` 2, ``batch_first``, inter-layer dropout only when
  ``num_layers > 1``), ``dropout`` and ``fc``. Forward: last layer's final hidden state ``h_n[-1]``
  -> dropout -> fc. Input ``(batch, sequence_length, n_features)``. ``architecture.sequence_length``
  is mandatory.

Outputs: 1 for regression (``output_type == "regression"`` or ``model.output_format ==
"regression"``), otherwise ``num_classes`` (default 3: 0 = BUY, 1 = HOLD, 2 = SELL).

This module imports torch; ``vbt.model`` imports it lazily so ``import vbt`` stays torch-free.
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from vbt.errors import ConfigError, ModelError
from vbt.features.windows import check_sequence_length
from vbt.model.metadata import NUM_CLASSES_BY_OUTPUT_TYPE

logger = logging.getLogger(__name__)

SUPPORTED_MODEL_TYPES = ("mlp", "lstm", "gru")
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
}
DEFAULT_HIDDEN_LAYERS = (64, 32)
DEFAULT_DROPOUT = 0.2
DEFAULT_NUM_CLASSES = 3
DEFAULT_RNN_HIDDEN_SIZE = 64
DEFAULT_RNN_NUM_LAYERS = 2
# Size limits, checked before anything is allocated: a network over them is a ConfigError naming
# the field, never an allocator error. A trading network holds well under a million parameters.
MAX_PARAMETERS = 1 << 26  # 67M float32 parameters = 256 MiB (Adam's state triples it)
MAX_LAYER_WIDTH = 1 << 16  # units in one layer (inference batches are sized to fit; see signals)


class _RecurrentNetwork(nn.Module):
    """A recurrent layer over ``(batch, seq_len, features)``, then ``h_n[-1]`` -> dropout -> fc.

    Subclasses name the layer's attribute (``rnn_attr``, which prefixes its state-dict keys, as
    in the older system) and its class; everything else is shared.
    """

    rnn_attr = ""
    rnn_class: type[nn.Module] = nn.Module

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int, out_features: int, dropout: float
    ):
        super().__init__()
        rnn = self.rnn_class(
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        setattr(self, self.rnn_attr, rnn)  # registered first: keys "<rnn_attr>.*" then "fc.*"
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden_size, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = getattr(self, self.rnn_attr)(x)
        h_n = h[0] if isinstance(h, tuple) else h  # LSTM returns (h_n, c_n)
        return self.fc(self.dropout(h_n[-1]))


class LSTMNetwork(_RecurrentNetwork):
    """LSTM network; state-dict keys ``lstm.*`` and ``fc.*``."""

    rnn_attr = "lstm"
    rnn_class = nn.LSTM


class GRUNetwork(_RecurrentNetwork):
    """GRU network; state-dict keys ``gru.*`` and ``fc.*``."""

    rnn_attr = "gru"
    rnn_class = nn.GRU


def model_type_of(model_config: Mapping[str, Any]) -> str:
    """The lower-cased ``model.type`` (default ``"mlp"``); ModelError if unsupported."""
    raw = model_config.get("type", "mlp") if isinstance(model_config, Mapping) else None
    model_type = str(raw if raw is not None else "mlp").strip().lower()
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise ModelError(
            f"unsupported model type {raw!r} (model.type); supported: "
            f"{', '.join(SUPPORTED_MODEL_TYPES)}"
        )
    return model_type


def output_size(model_config: Mapping[str, Any], output_type: str) -> int:
    """1 for regression, else ``model.num_classes`` (default: the output type's class count, 3,
    or 4 for ``regime_classification``, as the older trainer sizes it)."""
    if output_type == "regression" or model_config.get("output_format") == "regression":
        return 1
    n = model_config.get(
        "num_classes", NUM_CLASSES_BY_OUTPUT_TYPE.get(output_type, DEFAULT_NUM_CLASSES)
    )
    return _width(n, "model.num_classes")


def output_features(model: nn.Module) -> int:
    """Width of a built network's output: ``out_features`` of its final Linear layer
    (the last layer of an MLP, ``fc`` of an LSTM/GRU)."""
    fc = getattr(model, "fc", None)
    if isinstance(fc, nn.Linear):
        return int(fc.out_features)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ModelError(f"{type(model).__name__} has no Linear output layer")
    return int(linears[-1].out_features)


def floats_per_row(model: nn.Module, sequence_length: int | None = None) -> int:
    """An upper bound on the activations one input row makes in ``model`` (float32 values in the
    widest layer; for LSTM/GRU, every gate of every step of the window). Batches are sized from
    it (``rows_per_batch``), so a wide layer never asks for more memory than the budget."""
    widths = [m.out_features for m in model.modules() if isinstance(m, nn.Linear)]
    for m in model.modules():
        if isinstance(m, nn.LSTM | nn.GRU):
            gates = 4 if isinstance(m, nn.LSTM) else 3
            widths.append(gates * m.hidden_size * max(1, sequence_length or 1))
    return max([1, *widths])


ACTIVATION_BUDGET = 1 << 26  # float32 values (256 MiB) per batch in the widest layer


def rows_per_batch(model: nn.Module, rows: int, sequence_length: int | None = None) -> int:
    """``rows`` capped so that a batch's widest activation stays within ACTIVATION_BUDGET."""
    return max(1, min(int(rows), ACTIVATION_BUDGET // floats_per_row(model, sequence_length)))


def build_model(model_config: Mapping[str, Any], input_size: int, output_type: str) -> nn.Module:
    """Build the (untrained) network described by a strategy's ``model`` section.

    ``model_config`` is the ``model`` mapping (``type``, ``architecture``, optional ``num_classes``,
    ``output_format``); ``input_size`` the number of features; ``output_type`` the metadata's
    ``output_type``. Raises ModelError for an unsupported ``type`` and ConfigError for a bad
    architecture value (naming the key).
    """
    if not isinstance(model_config, Mapping):
        raise ConfigError(f"model: expected a mapping, got {type(model_config).__name__}")
    model_type = model_type_of(model_config)
    input_size = _positive_int(input_size, "input_size")
    arch = model_config.get("architecture") or {}
    if not isinstance(arch, Mapping):
        raise ConfigError(f"model.architecture: expected a mapping, got {type(arch).__name__}")
    out = output_size(model_config, output_type)
    dropout = _dropout(arch.get("dropout", DEFAULT_DROPOUT))

    if model_type == "mlp":
        hidden = arch.get("hidden_layers", list(DEFAULT_HIDDEN_LAYERS))
        if not isinstance(hidden, list | tuple):
            raise ConfigError(
                f"model.architecture.hidden_layers: expected a list of sizes, got {hidden!r}"
            )
        sizes = [_width(h, f"model.architecture.hidden_layers[{i}]") for i, h in enumerate(hidden)]
        _check_parameters(
            [(prev * h + h, f"model.architecture.hidden_layers[{i}]", h)
             for i, (prev, h) in enumerate(zip([input_size, *sizes], sizes, strict=False))]
            + [((sizes[-1] if sizes else input_size) * out + out, _out_key(model_config), out)]
        )  # fmt: skip
        act_name = str(arch.get("activation", "relu")).lower()
        act = ACTIVATIONS.get(act_name)
        if act is None:
            logger.warning(
                "model.architecture.activation %r is unknown; using ReLU (as the older system)",
                arch.get("activation"),
            )
            act = nn.ReLU
        layers: list[nn.Module] = []
        prev = input_size
        for h in sizes:
            # In-place ReLU / LeakyReLU (no parameters, same state dict, same values) saves an
            # allocation per layer: batched inference over 1M bars runs ~2x faster.
            a = act(inplace=True) if act in (nn.ReLU, nn.LeakyReLU) else act()
            layers += [nn.Linear(prev, h), a, nn.Dropout(dropout)]
            prev = h
        layers.append(nn.Linear(prev, out))
        return nn.Sequential(*layers)

    if "sequence_length" not in arch:
        raise ConfigError(f"model.architecture.sequence_length is required for {model_type} models")
    check_sequence_length(arch["sequence_length"])
    hidden_size = _width(
        arch.get("hidden_size", DEFAULT_RNN_HIDDEN_SIZE), "model.architecture.hidden_size"
    )
    num_layers = _positive_int(
        arch.get("num_layers", DEFAULT_RNN_NUM_LAYERS), "model.architecture.num_layers"
    )
    gates = 4 if model_type == "lstm" else 3
    per_layer = [gates * (n_in * hidden_size + hidden_size * hidden_size + 2 * hidden_size)
                 for n_in in (input_size, hidden_size)]  # fmt: skip
    _check_parameters(
        [(per_layer[0], "model.architecture.hidden_size", hidden_size)]
        + [(per_layer[1] * (num_layers - 1), "model.architecture.num_layers", num_layers)]
        + [(hidden_size * out + out, _out_key(model_config), out)]
    )
    cls = LSTMNetwork if model_type == "lstm" else GRUNetwork
    return cls(input_size, hidden_size, num_layers, out, dropout)


def _width(value: Any, key: str) -> int:
    n = _positive_int(value, key)
    if n > MAX_LAYER_WIDTH:
        raise ConfigError(f"{key} = {n}: more than {MAX_LAYER_WIDTH:,} units in one layer")
    return n


def _out_key(model_config: Mapping[str, Any]) -> str:
    return "model.num_classes" if "num_classes" in model_config else "model (output layer)"


def _check_parameters(parts: list[tuple[int, str, int]]) -> None:
    """``parts``: (parameter count, field, value) per component, in build order. Refuse the
    network (naming the field that crosses the limit) when the total exceeds MAX_PARAMETERS."""
    total = 0
    for count, key, value in parts:
        total += count
        if total > MAX_PARAMETERS:
            whole = sum(c for c, _, _ in parts)
            raise ConfigError(
                f"{key} = {value}: the network would hold {whole:,} parameters "
                f"({whole * 4 / 2**30:,.1f} GiB), more than the {MAX_PARAMETERS:,} vbt allows"
            )


def _positive_int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ConfigError(f"{key}: expected a positive integer, got {value!r}")
    return int(value)


def _dropout(value: Any) -> float:
    if isinstance(value, float) and value != value:
        raise ConfigError("model.architecture.dropout = nan: not a number")
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ConfigError(f"model.architecture.dropout: expected a number in [0, 1), got {value!r}")
    return float(value)
