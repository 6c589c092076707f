"""Helpers of the bad-input tests: paths, strategy dicts with one change, a model directory
written without training (a randomly initialised network for rsi_single_tf, which is all an error
path needs), and ``raises`` (one-line messages holding given fragments)."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

import vbt
from vbt.model.artifacts import write_model_dir
from vbt.model.networks import build_model, model_type_of
from vbt.model.trainer import training_timeframes
from vbt.strategy import resolve_features

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data_fixtures"
STRATEGY = DATA / "strategies" / "rsi_single_tf.yaml"


def strategy_dict(**changes: Any) -> dict[str, Any]:
    """rsi_single_tf as a dict; ``changes`` maps a dotted key to a value (None deletes it)."""
    raw = yaml.safe_load(STRATEGY.read_text())
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = raw
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = copy.deepcopy(value)
    return raw


def write_strategy(path: Path, **changes: Any) -> Path:
    path.write_text(yaml.safe_dump(strategy_dict(**changes), sort_keys=False))
    return path


def write_model(out: Path, strategy: Any = STRATEGY, seed: int = 0) -> Path:
    """A v3 model directory for ``strategy`` with an untrained network (fast)."""
    s = vbt.load_strategy(strategy)
    names = resolve_features(s)
    torch.manual_seed(seed)
    net = build_model(dict(s.model), len(names), s.output_type)
    return write_model_dir(
        out, net, strategy_name=s.name, raw_config=s.raw, resolved_features=names,
        training_symbols=list(s.symbols), training_timeframes=training_timeframes(s),
        output_type=s.output_type, model_type=model_type_of(s.model), metrics={},
    )  # fmt: skip


@contextlib.contextmanager
def raises(error: type[Exception], *fragments: Any) -> Iterator[pytest.ExceptionInfo]:
    """``pytest.raises(error)`` that also checks the message is one line holding every fragment
    (paths, field names, rows) as plain text."""
    with pytest.raises(error) as info:
        yield info
    message = str(info.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert str(fragment) in message, f"{fragment!r} not in {message!r}"
