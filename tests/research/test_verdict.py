"""The verdict's rules: promising only when every check passes; not better than chance when
chance did as well, the Sharpe ratio is not above zero or not above the trials' expected best."""

from __future__ import annotations

from vbt.research.verdict import INCONCLUSIVE, NOT_BETTER, PROMISING, verdict

GOOD = dict(trades=40, sharpe=2.0, bh_sharpe=0.5, p_random=0.01, psr0=0.999, dsr=0.97, trials=3,
            simulations=1000)  # fmt: skip


def judge(**changes):
    return verdict(**{**GOOD, **changes})


def test_promising_needs_every_check():
    v = judge()
    assert v["verdict"] == PROMISING and all(v["checks"].values())
    assert any("p = 0.01" in r for r in v["reasons"])
    for change in ({"trades": 5}, {"p_random": 0.2}, {"dsr": 0.9}, {"bh_sharpe": 2.5}):
        assert judge(**change)["verdict"] == INCONCLUSIVE, change


def test_not_better_than_chance():
    for change in ({"trades": 0, "sharpe": None, "p_random": None, "psr0": None, "dsr": None},
                   {"p_random": 0.5}, {"psr0": 0.4, "sharpe": -0.3}, {"dsr": 0.3}):  # fmt: skip
        v = judge(**change)
        assert v["verdict"] == NOT_BETTER, change
        assert v["reasons"]


def test_reasons_carry_the_numbers():
    v = judge(p_random=0.3, dsr=0.6)
    text = " ".join(v["reasons"])
    assert "p = 0.3" in text and "30.0% of 1000 simulations" in text
    assert "deflated Sharpe ratio 0.6 over 3 trial(s)" in text
    assert v["thresholds"] == {"alpha": 0.05, "min_trades": 10}
