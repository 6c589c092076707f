"""PSR and DSR against Bailey and López de Prado's worked example and their defining properties."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vbt.research.stats import (
    dsr,
    expected_max_sharpe,
    psr,
    return_moments,
    sharpe_variance_term,
)


def test_dsr_matches_the_published_numerical_example():
    # Bailey & López de Prado (2014), "The Deflated Sharpe Ratio: Correcting for Selection Bias,
    # Backtest Overfitting and Non-Normality", J. Portfolio Management 40(5), numerical example:
    # N = 100 trials whose annualised Sharpe ratios have variance 1/2, T = 1250 daily returns
    # (250 a year), an annualised Sharpe ratio of 2.5, skewness -3, kurtosis 10
    # -> SR0 = 0.1132 (daily) and DSR = 0.9004.
    per_year = 250
    variance = 0.5 / per_year
    sr = 2.5 / math.sqrt(per_year)
    assert expected_max_sharpe(100, variance) == pytest.approx(0.1132, abs=5e-5)
    assert dsr(sr, 1250, 100, variance, skewness=-3.0, kurtosis=10.0) == pytest.approx(
        0.9004, abs=5e-5
    )


def test_dsr_with_one_trial_is_psr_against_zero():
    for sr, t, g3, g4 in ((0.05, 500, 0.0, 3.0), (0.1, 250, -1.2, 7.5), (-0.02, 1000, 0.4, 4.0)):
        assert dsr(sr, t, 1, 0.3, g3, g4) == psr(sr, t, g3, g4, benchmark=0.0)
    assert expected_max_sharpe(1, 123.0) == 0.0


def test_dsr_falls_as_trials_grow():
    values = [dsr(0.08, 750, n, 0.0004, -0.5, 5.0) for n in (1, 2, 5, 10, 100, 1000, 10**5)]
    assert all(a > b for a, b in zip(values, values[1:], strict=False))
    thresholds = [expected_max_sharpe(n, 0.0004) for n in (1, 2, 10, 100, 1000)]
    assert all(a < b for a, b in zip(thresholds, thresholds[1:], strict=False))


def test_the_variance_term_of_normal_returns_uses_raw_kurtosis():
    # normal returns: skewness 0, kurtosis 3 (raw) -> 1 + SR^2 / 2
    for sr in (0.0, 0.1, 0.5, 1.3):
        assert sharpe_variance_term(sr, 0.0, 3.0) == pytest.approx(1 + sr * sr / 2)
    # the trap: excess kurtosis (0 for normal returns) in (g4 - 1) / 4 gives 1 - SR^2 / 4
    assert sharpe_variance_term(0.5, 0.0, 0.0) == pytest.approx(1 - 0.25 / 4)
    assert psr(0.5, 30, 0.0, 3.0) < psr(0.5, 30, 0.0, 0.0)  # the trap overstates the PSR
    # and the moments report raw kurtosis: about 3 for a large normal sample
    r = np.random.default_rng(1).normal(0.001, 0.01, 400_000)
    m = return_moments(r)
    assert m.kurtosis == pytest.approx(3.0, abs=0.05)
    assert m.skewness == pytest.approx(0.0, abs=0.02)
    assert m.sharpe == pytest.approx(r.mean() / r.std(ddof=1))


def test_psr_is_calibrated_under_no_skill():
    # true Sharpe 0, normal returns: PSR(0) is uniform, so it exceeds 0.95 about 5 % of the time
    rng = np.random.default_rng(7)
    t = 250
    hits = 0
    n = 4000
    for _ in range(n):
        m = return_moments(rng.normal(0.0, 0.01, t))
        hits += psr(m.sharpe, t, m.skewness, m.kurtosis) > 0.95
    assert hits / n == pytest.approx(0.05, abs=0.015)


def test_psr_grows_with_the_track_record_and_with_the_sharpe_ratio():
    assert psr(0.1, 100) < psr(0.1, 400) < psr(0.1, 1600)
    assert psr(0.05, 500) < psr(0.1, 500)
    assert psr(0.0, 500) == pytest.approx(0.5)
    # negative skewness and fat tails make a positive Sharpe ratio less certain
    assert psr(0.1, 500, skewness=-2.0, kurtosis=9.0) < psr(0.1, 500)


def test_undefined_inputs():
    assert return_moments(np.array([0.01])).sharpe is None
    assert return_moments(np.zeros(10)).sharpe is None
    with pytest.raises(ValueError):
        psr(0.1, 1)
    with pytest.raises(ValueError):
        expected_max_sharpe(0, 1.0)
