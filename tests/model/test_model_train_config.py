"""TrainParams (vbt.model.train_config) and the trainer's public names after the module split."""

from __future__ import annotations

import dataclasses

import pytest
from model_fixtures import strategy_dict

import vbt
from vbt.errors import ConfigError
from vbt.model.train_config import TrainParams


def _params(labels=None, training=None, **kwargs) -> TrainParams:
    raw = strategy_dict(labels=labels, training=training)
    return TrainParams.from_strategy(vbt.load_strategy(raw), **kwargs)


def test_defaults_and_overrides():
    p = _params()  # strategy_dict: epochs 3, batch 256, patience 5, zigzag 0.005
    assert p == TrainParams(
        label_source="zigzag",
        output_type="classification",
        fractions=(0.7, 0.15, 0.15),
        epochs=3,
        learning_rate=0.001,
        batch_size=256,
        weight_decay=1e-4,
        huber_delta=0.01,
        gradient_clip=1.0,
        early_stopping=True,
        patience=5,
        min_delta=0.0,
        num_threads=1,
        zigzag_threshold=0.005,
        horizon=None,
    )
    assert _params(epochs=9).epochs == 9
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.epochs = 4  # type: ignore[misc]


def test_regression_defaults():
    p = _params(labels={"source": "forward_return"})
    assert (p.output_type, p.horizon, p.zigzag_threshold) == ("regression", 20, None)
    assert p.weight_decay == 0.0
    # The data's output type picks the weight-decay default.
    assert _params(labels={"source": "forward_return"}, output_type="classification").weight_decay
    training = {
        "data_split": {"train": 0.6, "validation": 0.3, "test": 0.1},
        "learning_rate": 0.01,
        "weight_decay": 0.5,
        "huber_delta": 0.2,
        "gradient_clip": 0,
        "early_stopping": {"enabled": False, "patience": 3, "min_delta": 0.1},
        "num_threads": 4,
    }
    p = _params(labels={"source": "forward_return", "horizon": 7}, training=training)
    assert p.fractions == (0.6, 0.3, 0.1) and p.horizon == 7
    assert (p.learning_rate, p.weight_decay, p.huber_delta, p.gradient_clip) == (
        0.01,
        0.5,
        0.2,
        0.0,
    )
    assert (p.early_stopping, p.patience, p.min_delta, p.num_threads) == (False, 3, 0.1, 4)


@pytest.mark.parametrize(
    ("labels", "training", "kwargs", "key"),
    [
        (None, {"learning_rate": "fast"}, {}, "training.learning_rate"),
        (None, {"batch_size": 0}, {}, "training.batch_size"),
        (None, {"num_threads": 0}, {}, "training.num_threads"),
        (None, {"early_stopping": [1]}, {}, "training.early_stopping"),
        (None, {"early_stopping": {"patience": 0}}, {}, "training.early_stopping.patience"),
        (None, {"data_split": {"train": 0.9, "validation": 0.2}}, {}, "training.data_split"),
        (None, {"data_split": {"train": 0}}, {}, "training.data_split"),
        (None, {}, {"epochs": 0}, "epochs"),
        ({"source": "zigzag", "zigzag_threshold": "x"}, {}, {}, "training.labels.zigzag_threshold"),
        ({"source": "forward_return", "horizon": 0}, {}, {}, "training.labels.horizon"),
        ({"source": "hmm"}, {}, {}, "training.labels.source"),
        ({"source": "triple_barrier", "vol_method": "x"}, {}, {}, "training.labels.vol_method"),
        ({"source": "triple_barrier", "max_holding_bars": 0}, {}, {}, "labels.max_holding_bars"),
        ({"source": "triple_barrier", "cusum_threshold": 1}, {}, {}, "labels.cusum_threshold"),
        (
            {"source": "triple_barrier", "pt_multiplier": 1, "profit_target_atr": 2},
            {},
            {},
            "labels.profit_target_atr",
        ),
        ({"source": "triple_barrier", "compute_weights": "yes"}, {}, {}, "labels.compute_weights"),
        ({"source": "triple_barrier", "vol_span": 1}, {}, {}, "training.labels.vol_span"),
        ({"source": "triple_barrier", "atr_period": 1}, {}, {}, "labels.atr_period"),
        ({"source": "context", "bearish_threshold": 0.1}, {}, {}, "labels.bearish_threshold"),
        ({"source": "context", "horizon": 1.5}, {}, {}, "labels.horizon"),
        ({"source": "regime", "progression_tolerance": 2}, {}, {}, "progression_tolerance"),
        ({"source": "regime", "macro_atr_mult": 0}, {}, {}, "labels.macro_atr_mult"),
    ],
)
def test_bad_values_name_the_key(labels, training, kwargs, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        _params(labels=labels, training=training, **kwargs)


def test_public_trainer_names_still_resolve():
    from vbt.model import dataset, train_config, trainer

    assert vbt.train is trainer.train
    import vbt.model as m

    for name in ("train", "fit", "fit_strategy", "FitResult"):
        assert getattr(m, name) is getattr(trainer, name)
    for name in ("prepare_training_data", "TrainingData", "split_bounds", "bar_split_bounds"):
        assert getattr(trainer, name) is getattr(dataset, name)
    assert m.prepare_training_data is dataset.prepare_training_data
    assert m.TrainParams is TrainParams
    assert trainer.label_config is train_config.label_config
    for name in ("class_weights", "save_fit", "training_timeframes", "seeded_rng"):
        assert callable(getattr(trainer, name))
