"""Labels: zigzag segment labels (§7.1) and forward returns (§7.2)."""

from __future__ import annotations

import numpy as np
import pytest

from vbt.errors import ConfigError
from vbt.model.labels import forward_return_labels, zigzag_extremes, zigzag_segment_labels

BUY, HOLD, SELL = 0, 1, 2


def test_zigzag_hand_computed_path():
    # threshold 10 %:
    #   bar 0 (100) extreme; bar 2 (111, +11 %) first move >= 10 % -> extreme, up-leg;
    #   bar 4 (99, -10.8 % from 111) -> reversal, extreme, down-leg; bar 5 (95) lower -> the extreme
    #   moves from bar 4 to bar 5; bar 7 (106, +11.6 % from 95) -> reversal up, extreme.
    close = [100, 105, 111, 108, 99, 95, 97, 106, 104, 103]
    assert np.flatnonzero(zigzag_extremes(close, 0.10)).tolist() == [0, 2, 5, 7]
    labels = zigzag_segment_labels(close, 0.10)
    assert labels.dtype == np.int64
    #            0     1    2     3     4     5     6    7     8     9
    expected = [HOLD, BUY, HOLD, SELL, SELL, HOLD, BUY, HOLD, HOLD, HOLD]
    assert labels.tolist() == expected


def test_zigzag_first_move_down_and_threshold_is_inclusive():
    close = [100.0, 95.0, 90.0, 92.0, 99.0, 98.0]
    # bar 2: -10 % exactly reaches the threshold -> extreme (down); bar 4: 99 = +10 % from 90 -> up.
    assert np.flatnonzero(zigzag_extremes(close, 0.10)).tolist() == [0, 2, 4]
    assert zigzag_segment_labels(close, 0.10).tolist() == [HOLD, SELL, HOLD, BUY, HOLD, HOLD]


def test_zigzag_higher_high_erases_the_previous_extreme():
    close = [100.0, 120.0, 125.0, 130.0, 110.0]
    assert np.flatnonzero(zigzag_extremes(close, 0.10)).tolist() == [0, 3, 4]
    assert zigzag_segment_labels(close, 0.10).tolist() == [HOLD, BUY, BUY, HOLD, HOLD]


def test_zigzag_no_move_is_all_hold():
    close = np.linspace(1.0, 1.01, 50)
    assert zigzag_segment_labels(close, 0.02).tolist() == [HOLD] * 50
    assert zigzag_segment_labels([], 0.02).tolist() == []
    assert zigzag_segment_labels([1.0], 0.02).tolist() == [HOLD]


def _reference_extremes(close, threshold):
    """Straightforward per-bar transcription of §7.1 (tests only)."""
    ext = [0]
    direction = 0
    for i in range(1, len(close)):
        last = ext[-1]
        change = (close[i] - close[last]) / close[last]
        if direction == 0:
            if abs(change) >= threshold:
                direction = 1 if change > 0 else -1
                ext.append(i)
        elif direction == 1:
            if close[i] > close[last]:
                ext[-1] = i
            elif change <= -threshold:
                direction = -1
                ext.append(i)
        else:
            if close[i] < close[last]:
                ext[-1] = i
            elif change >= threshold:
                direction = 1
                ext.append(i)
    return ext


def _reference_labels(close, threshold):
    ext = _reference_extremes(close, threshold)
    labels = [HOLD] * len(close)
    for a, b in zip(ext[:-1], ext[1:], strict=True):
        for j in range(a + 1, b):
            labels[j] = BUY if close[b] > close[a] else SELL
    return labels


@pytest.mark.parametrize("seed", range(5))
def test_zigzag_matches_reference_on_random_walks(seed):
    rng = np.random.default_rng(seed)
    close = 1.1 * np.exp(np.cumsum(rng.normal(0, 0.003, 3000)))
    for threshold in (0.005, 0.02):
        assert np.flatnonzero(zigzag_extremes(close, threshold)).tolist() == _reference_extremes(
            close, threshold
        )
        assert zigzag_segment_labels(close, threshold).tolist() == _reference_labels(
            close, threshold
        )


def test_zigzag_bad_threshold():
    with pytest.raises(ConfigError, match="zigzag_threshold"):
        zigzag_segment_labels([1.0, 2.0], 0.0)
    with pytest.raises(ConfigError, match="zigzag_threshold"):
        zigzag_segment_labels([1.0, 2.0], "0.02")


def test_forward_returns():
    close = np.array([1.0, 2.0, 4.0, 8.0, 4.0])
    out = forward_return_labels(close, 1)
    assert out[:4].tolist() == [1.0, 1.0, 1.0, -0.5]
    assert np.isnan(out[4])
    out2 = forward_return_labels(close, 2)
    assert out2[:3].tolist() == [3.0, 3.0, 0.0]
    assert np.isnan(out2[3:]).all()


def test_forward_returns_default_horizon_and_short_input():
    close = np.arange(1.0, 101.0)
    out = forward_return_labels(close)
    assert np.isnan(out[-20:]).all() and np.isfinite(out[:-20]).all()
    assert out[0] == pytest.approx((21.0 - 1.0) / 1.0)
    assert np.isnan(forward_return_labels(close[:20], 20)).all()


@pytest.mark.parametrize("h", [0, -1, 2.5, True])
def test_forward_returns_bad_horizon(h):
    with pytest.raises(ConfigError, match="horizon"):
        forward_return_labels([1.0, 2.0, 3.0], h)
