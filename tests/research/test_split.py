"""Walk-forward folds: no test bar is ever in its fold's training window or within the purge and
embargo of one (a property test), and the held-out split is read from the model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vbt.errors import ConfigError
from vbt.research.split import held_out, walk_forward_folds


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(10, 5000),
    k=st.integers(1, 12),
    purge=st.integers(0, 400),
    embargo=st.integers(0, 400),
)
def test_no_test_bar_is_ever_in_a_training_window_or_its_purge_or_embargo(n, k, purge, embargo):
    try:
        folds = walk_forward_folds(n, k, purge, embargo)
    except ConfigError as exc:
        assert "walk_forward" in str(exc) or "purge_bars" in str(exc)
        return
    assert len(folds) == k
    tests = [np.arange(*f.test) for f in folds]
    # the test blocks are consecutive and cover the out-of-sample period to the last bar
    assert all(a.size >= 2 for a in tests)
    assert all(f.test[1] == g.test[0] for f, g in zip(folds, folds[1:], strict=False))
    assert folds[-1].test[1] == n
    embargo_zones = np.zeros(n, dtype=bool)
    for f in folds:
        embargo_zones[f.test[1] : f.test[1] + embargo] = True
    for f, test in zip(folds, tests, strict=True):
        train = f.training_bars()
        assert train.size > 0
        assert not np.isin(test, train).any()  # no test bar is a training bar
        # every training bar lies more than the purge before the first test bar, so no training
        # label (which reads at most `purge` bars ahead) can see a test bar
        assert train.max() < test.min() - purge
        assert (test.min() - train.max()) > purge
        # no training bar lies within the embargo after any test block
        assert not embargo_zones[train].any()
        # and nothing else is withheld: every other bar before the purge is trained on
        expected = np.setdiff1d(np.arange(test.min() - purge), np.flatnonzero(embargo_zones))
        np.testing.assert_array_equal(train, expected)


def test_folds_refuse_what_cannot_be_done():
    with pytest.raises(ConfigError, match="walk_forward = 0"):
        walk_forward_folds(1000, 0, 10, 10)
    with pytest.raises(ConfigError, match="too few for 50 test blocks"):
        walk_forward_folds(60, 50, 0, 0)
    with pytest.raises(ConfigError, match="purge_bars = 300: fold 1 would train on 0 bars"):
        walk_forward_folds(1000, 3, 300, 10)
    with pytest.raises(ConfigError, match="embargo_bars = -1"):
        walk_forward_folds(1000, 3, 10, -1)


def test_the_held_out_split_comes_from_the_models_metrics(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({
        "split_bars": {"train": [0, 70], "validation": [70, 85], "test": [85, 100]},
        "data_start": "2024-01-01 00:00:00+00:00", "data_end": "2024-01-05 03:00:00+00:00",
    }))  # fmt: skip
    split = held_out(tmp_path)
    assert (split.train, split.validation, split.test) == ((0, 70), (70, 85), (85, 100))
    (tmp_path / "metrics.json").write_text(json.dumps({"epochs_trained": 3}))
    with pytest.raises(ConfigError, match="records no train/validation/test split"):
        held_out(tmp_path)
