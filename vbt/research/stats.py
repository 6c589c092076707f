"""Is a Sharpe ratio better than luck? The probabilistic and the deflated Sharpe ratio.

Both follow Bailey and López de Prado:

* PSR (The Sharpe Ratio Efficient Frontier, Journal of Risk 15(2), 2012): the probability that
  the true Sharpe ratio exceeds a benchmark SR*, given the estimate SR̂ from T returns with
  skewness γ3 and kurtosis γ4:

      PSR(SR*) = Φ( (SR̂ − SR*) √(T − 1) / √(1 − γ3 SR̂ + (γ4 − 1)/4 SR̂²) )

  γ4 is the **raw** kurtosis (3 for normal returns), not the excess kurtosis: for normal returns
  the variance term is 1 + SR̂²/2. Writing (γ4 − 1)/4 with the excess kurtosis (0 for normal
  returns) gives 1 − SR̂²/4, a known trap that overstates the PSR.

* DSR (The Deflated Sharpe Ratio, Journal of Portfolio Management 40(5), 2014): the PSR against
  the Sharpe ratio that the best of N independent trials would reach by chance,

      SR0 = √V · ((1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e))),   DSR = PSR(SR0),

  where V is the variance of the trials' Sharpe ratios and γ ≈ 0.5772 is the Euler–Mascheroni
  constant. One trial has no selection: SR0 = 0 and DSR = PSR(0).

Every Sharpe ratio here is per observation (per bar), not annualised: divide an annualised one
by √(periods per year), and its variance by the periods per year. The normal distribution comes
from the standard library (``statistics.NormalDist``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

EULER_GAMMA = 0.5772156649015329
_N = NormalDist()


@dataclass(frozen=True)
class ReturnMoments:
    """Moments of T per-bar returns: ``sharpe`` = mean / std (ddof=1), ``skewness`` = m3 / m2^1.5
    and ``kurtosis`` = m4 / m2² (raw: 3 for normal returns), m_k being the central moments.
    None where undefined (fewer than 2 returns, or no variance)."""

    observations: int
    mean: float | None
    std: float | None
    sharpe: float | None
    skewness: float | None
    kurtosis: float | None


def return_moments(returns: np.ndarray) -> ReturnMoments:
    """The moments of ``returns`` (float64[T])."""
    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    t = int(r.shape[0])
    if t < 2:
        return ReturnMoments(t, float(r.mean()) if t else None, None, None, None, None)
    mean = float(r.mean())
    d = r - mean
    m2 = float(np.mean(d * d))
    std = float(np.std(r, ddof=1))
    if not m2 > 0:
        return ReturnMoments(t, mean, std, None, None, None)
    return ReturnMoments(
        observations=t, mean=mean, std=std, sharpe=mean / std,
        skewness=float(np.mean(d**3)) / m2**1.5, kurtosis=float(np.mean(d**4)) / m2**2,
    )  # fmt: skip


def sharpe_variance_term(sharpe: float, skewness: float, kurtosis: float) -> float:
    """1 − γ3·SR + (γ4 − 1)/4·SR², with γ4 the raw kurtosis (T − 1 times the variance of the
    Sharpe estimator)."""
    return 1.0 - skewness * sharpe + (kurtosis - 1.0) / 4.0 * sharpe * sharpe


def psr(
    sharpe: float,
    observations: int,
    skewness: float = 0.0,
    kurtosis: float = 3.0,
    benchmark: float = 0.0,
) -> float:
    """The probabilistic Sharpe ratio PSR(``benchmark``) in [0, 1] (see the module docstring).

    sharpe, benchmark: per observation; observations: T ≥ 2; kurtosis: raw (3 = normal).
    ``ValueError`` when T < 2 or the variance term is not positive (a sample's moments always
    give a positive one)."""
    if observations < 2:
        raise ValueError(f"psr: needs at least 2 observations, got {observations}")
    term = sharpe_variance_term(sharpe, skewness, kurtosis)
    if not term > 0:
        raise ValueError(f"psr: the variance term 1 - g3*SR + (g4-1)/4*SR^2 = {term} is not > 0")
    z = (sharpe - benchmark) * math.sqrt(observations - 1) / math.sqrt(term)
    return _N.cdf(z)


def expected_max_sharpe(trials: int, variance: float) -> float:
    """SR0: the Sharpe ratio the best of ``trials`` independent trials with Sharpe variance
    ``variance`` (per observation²) reaches by chance; 0 for one trial."""
    if trials < 1:
        raise ValueError(f"expected_max_sharpe: trials must be >= 1, got {trials}")
    if trials == 1:
        return 0.0
    if variance < 0:
        raise ValueError(f"expected_max_sharpe: variance must be >= 0, got {variance}")
    z1 = _N.inv_cdf(1.0 - 1.0 / trials)
    z2 = _N.inv_cdf(1.0 - 1.0 / (trials * math.e))
    return math.sqrt(variance) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)


def dsr(
    sharpe: float,
    observations: int,
    trials: int,
    variance: float,
    skewness: float = 0.0,
    kurtosis: float = 3.0,
) -> float:
    """The deflated Sharpe ratio: PSR against ``expected_max_sharpe(trials, variance)``."""
    sr0 = expected_max_sharpe(trials, variance)
    return psr(sharpe, observations, skewness, kurtosis, benchmark=sr0)
