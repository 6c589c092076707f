"""Indicator registry: one declarative :class:`IndicatorSpec` per indicator type.

A strategy's ``indicators`` section names a ``type`` plus parameters. This module turns that into
numbers in three steps, each a public function:

* :func:`get_indicator` — look the type up (case-insensitive; canonical name or alias), else
  ``ConfigError`` naming the key and listing the valid types;
* :func:`validate_params` — check the parameters against the spec and fill in the defaults, else
  ``ConfigError`` naming the key and parameter. Unlike the older system, which silently dropped
  unknown parameters, vbt rejects them. Integers are strict (``14.0`` or ``True`` is not an int);
  floats accept ints; booleans must be booleans; string choices are matched case-insensitively;
* :func:`compute_indicator` — run the Numba kernels of :mod:`vbt.features.indicators.nb` on whole
  float64 columns and return ``{output_name: array}`` (``{"": array}`` for single-output types).

**Short input never raises.** With fewer rows than the spec's ``min_rows`` (the older system raised
there), outputs are computed causally, as if more bars followed, and cut back to the input's length:
row i always has the value it has in any longer series (so a short window gives its NaN warm-up,
not a crash, and truncating data never changes earlier values: no look-ahead). ``min_rows`` is the number of rows needed for the first fully warmed-up value (or the
older system's stated minimum, where the reference gives one).

Formulas reproduce the older system (ktrdr) exactly, NaN heads and fabricated warm-up values
included, with these deliberate differences:

* ``supertrend`` is the correct standard SuperTrend (the older one's final bands never leave
  NaN, so its ``trend`` is all NaN and its ``direction`` a constant +1.0);
* ``ema`` has no test-fitting bias hack;
* ``ichimoku`` applies ``displacement`` to the senkou spans (the older one ignored it; pass
  ``displacement: 0`` for its unshifted spans);
* ``adline`` always has a ``line_sma`` output (the older one added a ``line_sma_<p>`` column only
  with ``use_sma_smoothing: true``, which then failed its own output check);
* parameters the older system silently dropped are honoured when they are another spelling of a
  real parameter (``macd`` ``fast``/``slow``/``signal``; ``squeezeintensity`` ``period`` sets both
  ``bb_period`` and ``kc_period``) and rejected otherwise.

``zigzag`` revises its past extremes as later bars arrive (``looks_ahead``): it is refused as a
model input (the labels use the same kernel).

Indicators (``name`` [aliases]: params with defaults and ranges → outputs, primary first):

====================  ==========================================================================
rsi                   period=14 [2,100], source=close → single. NaN head = period.
sma                   period=20 [2,500], source=close → single. NaN head period−1.
ema                   period=20 [1,500], source=close, adjust=True → single. pandas
                      ``ewm(span=period, adjust=adjust)``; no NaN head. min rows max(period, 5).
wma                   period=20 [1,500], source=close → single. Weights 1..period. Head period−1.
macd                  fast_period=12 [1,200], slow_period=26 [1,500] (fast < slow),
                      signal_period=9 [1,200], source=close → line, signal, histogram.
                      adjust=False EMAs seeded at the first price; no NaN head.
                      min rows max(fast, slow) + signal.
bbands                period=20 [2,200], multiplier=2.0 (0,10], source=close → upper, middle,
                      lower. Sample std (ddof=1). Head period−1.
atr                   period=14 [1,100] → single. Simple mean of TR. Head period−1.
stochastic            k_period=14 [1,100], d_period=3 [1,100], smooth_k=3 [1,100] → k, d.
                      Warm-up/zero range → 50; min_periods=1 smoothing; no NaN head.
williamsr             period=14 [1,100] → single. Warm-up/zero range → −50.
cci                   period=20 [2,100] → single. Head period−1; flat window (MAD 0) → NaN.
adx                   period=14 [2,200] → adx, plus_di, minus_di. Wilder ewm from bar 0; no head.
                      min rows 2·period + 1.
roc                   period=10 [1,500], source=close → single. ±inf → NaN. Head period.
momentum              period=10 [1,500], source=close → single. Head period.
obv                   (no params) → single. OBV[0] = 0.
mfi                   period=14 [1,100] → single. Head period. Negative volume → DataError.
vwap                  period=20 [0,200] (0 = cumulative), use_typical_price=True → single.
                      min_periods=1 (no head); ΣV == 0 → NaN.
keltnerchannels       period=20 [1,500], atr_period=10 [1,200], multiplier=2.0 (0,10] → upper,
                      middle, lower. Bands head atr_period−1; middle none.
donchianchannels      period=20 [1,500], include_middle=True (accepted, unused) → upper, middle,
                      lower. Head period−1.
supertrend            period=10 [1,200], multiplier=3.0 (0,20] → trend, direction. Standard
                      (correct) SuperTrend; both NaN during the ATR head (period−1).
aroon                 period=14 [1,200], include_oscillator=False (accepted, unused) → up,
                      down, oscillator (= up − down). Head period−1.
bollingerbandwidth    period=20 [2,200], multiplier=2.0 (0,10], source=close → single.
                      (upper − lower)/middle; warm-up → 0.0.
distancefromma        period=20 [1,500], ma_type="SMA" (SMA|EMA), source=close → single.
                      100·(x − MA)/MA; EMA as ``ema`` (adjust=True); SMA head period−1.
volumeratio           period=20 [1,500] → single. V / SMA(V, period); warm-up (NaN) → 1.0.
adline                use_sma_smoothing=False (accepted, unused), smoothing_period=21 [2,200] →
                      line, mf_multiplier, mf_volume, roc_10, momentum_21, relative_strength,
                      line_sma. line = running Σ of the money-flow volume (no head); roc_10 head
                      10; momentum_21 head 21; relative_strength head 19; line_sma head
                      smoothing_period−1.
cmf                   period=21 [2,500] → cmf, mf_multiplier, mf_volume, momentum, signal,
                      histogram, above_zero, below_zero. cmf head period−1 (ΣV == 0 → 0);
                      momentum head period+4; flags 1.0/0.0 (warm-up 0.0).
fishertransform       period=10 [2,100], smoothing=3 [1,20] → fisher, signal. Head period−1
                      (signal: period).
ichimoku              tenkan_period=9 [1,50], kijun_period=26 [1,100], senkou_b_period=52
                      [1,200], displacement=26 [0,100] → tenkan, kijun, senkou_a, senkou_b,
                      chikou. Heads period−1; senkou spans + displacement; chikou = close.
parabolicsar          initial_af=0.02 [0.001,0.1], step_af=0.02 [0.001,0.1], max_af=0.2
                      [0.01,1] → single. Head 1.
rvi                   period=10 [4,100], signal_period=4 [1,50] → rvi, signal. Head period+2
                      (signal: period+signal_period+1); zero range denominator → NaN.
squeezeintensity      bb_period=20 [2,100], bb_multiplier=2.0 (0,5], kc_period=20 [2,100],
                      kc_multiplier=2.0 (0,5], source=close; ``period`` sets bb_period and
                      kc_period → single. KC warm-up → 0.0, then NaN until the BB head ends.
zigzag                threshold=0.05 (0,1), source=close → single. The value at each extreme,
                      NaN elsewhere. Looks ahead: not a model input.
====================  ==========================================================================

Other spellings (``param_aliases``): ``macd`` ``fast``/``slow``/``signal`` =
``fast_period``/``slow_period``/``signal_period``; ``squeezeintensity`` ``period`` = both periods.

The defaults and ranges of aroon, bollingerbandwidth, distancefromma and volumeratio, and the
ranges the reference leaves out for the others, are vbt's choices (standard values, generous
ranges). ``source`` accepts open, high, low, close, volume.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from vbt.arrays import kernel_input
from vbt.errors import ConfigError, DataError
from vbt.features.indicators import nb

SOURCES = ("open", "high", "low", "close", "volume")
OHLCV = ("open", "high", "low", "close", "volume")

_TYPE_NAMES = {int: "int", float: "float", bool: "bool", str: "str"}


def _at(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


@dataclass(frozen=True)
class Param:
    """One indicator parameter: python type, default and allowed range (``ge``/``gt``/``le``/``lt``)
    or, for strings, the allowed ``choices`` (matched case-insensitively, returned as spelled here).
    """

    name: str
    type: type
    default: Any
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple[str, ...] | None = None
    doc: str = ""

    def describe(self) -> str:
        """Human-readable contract, e.g. ``period: int = 14 (2 <= period <= 100)``."""
        text = f"{self.name}: {_TYPE_NAMES[self.type]} = {self.default!r}"
        if self.choices is not None:
            return f"{text} (one of {', '.join(self.choices)})"
        lo = (
            f"{self.ge} <= "
            if self.ge is not None
            else f"{self.gt} < "
            if self.gt is not None
            else ""
        )
        hi = (
            f" <= {self.le}"
            if self.le is not None
            else f" < {self.lt}"
            if self.lt is not None
            else ""
        )
        return f"{text} ({lo}{self.name}{hi})" if lo or hi else text

    def check(self, value: Any, where: str, key: str | None = None) -> Any:
        """Return ``value`` converted to this parameter's type, or raise ``ConfigError`` naming
        ``where`` and ``key`` (the spelling used in the file; default: this parameter's name)."""
        at = _at(where, key or self.name)
        tname = _TYPE_NAMES[self.type]
        if self.type is bool:
            if not isinstance(value, bool | np.bool_):
                raise ConfigError(f"{at}: expected a bool (true/false), got {value!r}")
            return bool(value)
        if isinstance(value, float | np.floating) and value != value:
            raise ConfigError(f"{at} = nan: not a number")
        if self.type is int:
            # strict, as the older system: 14.0 and True are not ints
            if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
                raise ConfigError(f"{at}: expected an int, got {value!r} ({type(value).__name__})")
            value = int(value)
        elif self.type is float:
            if isinstance(value, bool | np.bool_) or not isinstance(
                value, int | float | np.integer | np.floating
            ):
                raise ConfigError(
                    f"{at}: expected a number, got {value!r} ({type(value).__name__})"
                )
            value = float(value)
            if not math.isfinite(value):
                reason = "not a number" if value != value else "expected a finite number"
                raise ConfigError(f"{at} = {value!r}: {reason}")
        elif self.type is str:
            if not isinstance(value, str):
                raise ConfigError(
                    f"{at}: expected a string, got {value!r} ({type(value).__name__})"
                )
            if self.choices is not None:
                for choice in self.choices:
                    if value.strip().lower() == choice.lower():
                        return choice
                raise ConfigError(
                    f"{at}: {value!r} is not a valid choice; expected one of "
                    + ", ".join(self.choices)
                )
            return value
        else:  # pragma: no cover - specs only use the four types above
            raise TypeError(f"unsupported parameter type {tname}")
        if (
            (self.ge is not None and not value >= self.ge)
            or (self.gt is not None and not value > self.gt)
            or (self.le is not None and not value <= self.le)
            or (self.lt is not None and not value < self.lt)
        ):
            raise ConfigError(f"{at}: {value!r} is out of range; {self.describe()}")
        return value


Arrays = Mapping[str, np.ndarray]
Params = Mapping[str, Any]


@dataclass(frozen=True)
class IndicatorSpec:
    """Everything vbt knows about one indicator type.

    ``outputs`` is empty for single-output types; otherwise the first output is the primary one
    (the older system's bare ``<indicator_id>`` column). ``compute(arrays, params)`` returns one
    float64 array per output (a 1-tuple for single-output types). ``inputs`` are the OHLCV columns
    always read; a ``source`` parameter adds its column. ``check(params, where)`` validates rules
    across parameters. ``param_aliases`` pairs another spelling of a parameter, as the older
    system's strategy files write it, to the canonical parameter name(s) it sets.
    """

    name: str
    compute: Callable[[Arrays, Params], tuple[np.ndarray, ...]]
    min_rows: Callable[[Params], int]
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()
    param_aliases: tuple[tuple[str, tuple[str, ...]], ...] = ()
    outputs: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    description: str = ""
    check: Callable[[Params, str], None] | None = None
    looks_ahead: bool = False  # revises past values as later bars arrive: never a model input

    @property
    def primary_output(self) -> str:
        """First output name (``""`` for single-output types)."""
        return self.outputs[0] if self.outputs else ""

    @property
    def is_multi_output(self) -> bool:
        return bool(self.outputs)

    @property
    def output_keys(self) -> tuple[str, ...]:
        """Keys of :func:`compute_indicator`'s result: the outputs, or ``("",)``."""
        return self.outputs if self.outputs else ("",)

    @property
    def type_names(self) -> tuple[str, ...]:
        """Every accepted (lower-case) type string: the name, then the aliases."""
        return (self.name, *self.aliases)

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def required_columns(self, params: Params) -> tuple[str, ...]:
        cols = list(self.inputs)
        src = params.get("source")
        if isinstance(src, str) and src not in cols:
            cols.append(src)
        return tuple(cols)


# ---------------------------------------------------------------------------------------------
# Parameter helpers
# ---------------------------------------------------------------------------------------------


def _period(default: int, lo: int, hi: int, name: str = "period") -> Param:
    return Param(name, int, default, ge=lo, le=hi)


def _mult(default: float, hi: float) -> Param:
    return Param("multiplier", float, default, gt=0.0, le=hi)


_SOURCE = Param("source", str, "close", choices=SOURCES, doc="OHLCV column the indicator reads")


# ---------------------------------------------------------------------------------------------
# Compute functions: (arrays, params) -> tuple of float64 arrays, in output order
# ---------------------------------------------------------------------------------------------


def _src(d: Arrays, p: Params) -> np.ndarray:
    return d[p["source"]]


def _rsi(d: Arrays, p: Params):
    return (nb.rsi_nb(_src(d, p), p["period"]),)


def _sma(d: Arrays, p: Params):
    return (nb.rolling_mean_nb(_src(d, p), p["period"], p["period"]),)


def _ema(d: Arrays, p: Params):
    return (nb.ewm_mean_nb(_src(d, p), 2.0 / (1.0 + p["period"]), p["adjust"]),)


def _wma(d: Arrays, p: Params):
    return (nb.wma_nb(_src(d, p), p["period"]),)


def _macd(d: Arrays, p: Params):
    return nb.macd_nb(_src(d, p), p["fast_period"], p["slow_period"], p["signal_period"])


def _macd_check(p: Params, where: str) -> None:
    if p["fast_period"] >= p["slow_period"]:
        raise ConfigError(
            f"{_at(where, 'fast_period')}: must be less than slow_period "
            f"({p['fast_period']} >= {p['slow_period']})"
        )


def _bbands(d: Arrays, p: Params):
    return nb.bbands_nb(_src(d, p), p["period"], p["multiplier"])


def _hlc(d: Arrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return d["high"], d["low"], d["close"]


def _atr(d: Arrays, p: Params):
    return (nb.atr_nb(*_hlc(d), p["period"]),)


def _stochastic(d: Arrays, p: Params):
    return nb.stochastic_nb(*_hlc(d), p["k_period"], p["d_period"], p["smooth_k"])


def _williamsr(d: Arrays, p: Params):
    return (nb.williamsr_nb(*_hlc(d), p["period"]),)


def _cci(d: Arrays, p: Params):
    return (nb.cci_nb(*_hlc(d), p["period"]),)


def _adx(d: Arrays, p: Params):
    return nb.adx_nb(*_hlc(d), p["period"])


def _roc(d: Arrays, p: Params):
    return (nb.roc_nb(_src(d, p), p["period"]),)


def _momentum(d: Arrays, p: Params):
    x = _src(d, p)
    k = p["period"]
    out = np.full(x.shape[0], np.nan)
    out[k:] = x[k:] - x[:-k]
    return (out,)


def _obv(d: Arrays, p: Params):
    return (nb.obv_nb(d["close"], d["volume"]),)


def _check_volume(v: np.ndarray, what: str) -> None:
    neg = v < 0
    if neg.any():
        i = int(np.argmax(neg))
        raise DataError(f"{what}: negative volume at row {i} ({v[i]!r})")


def _mfi(d: Arrays, p: Params):
    _check_volume(d["volume"], "mfi")
    return (nb.mfi_nb(*_hlc(d), d["volume"], p["period"]),)


def _vwap(d: Arrays, p: Params):
    h, lo, c = _hlc(d)
    price = (h + lo + c) / 3.0 if p["use_typical_price"] else c
    return (nb.vwap_nb(price, d["volume"], p["period"]),)


def _keltner(d: Arrays, p: Params):
    return nb.keltner_nb(*_hlc(d), p["period"], p["atr_period"], p["multiplier"])


def _donchian(d: Arrays, p: Params):
    upper = nb.rolling_max_nb(d["high"], p["period"])
    lower = nb.rolling_min_nb(d["low"], p["period"])
    return upper, (upper + lower) / 2.0, lower


def _supertrend(d: Arrays, p: Params):
    return nb.supertrend_nb(*_hlc(d), p["period"], p["multiplier"])


def _aroon(d: Arrays, p: Params):
    return nb.aroon_nb(d["high"], d["low"], p["period"])


def _bbwidth(d: Arrays, p: Params):
    upper, middle, lower = nb.bbands_nb(_src(d, p), p["period"], p["multiplier"])
    width = (upper - lower) / middle
    width[np.isnan(width)] = 0.0
    return (width,)


def _distance(d: Arrays, p: Params):
    x = _src(d, p)
    if p["ma_type"] == "SMA":
        ma = nb.rolling_mean_nb(x, p["period"], p["period"])
    else:
        ma = nb.ewm_mean_nb(x, 2.0 / (1.0 + p["period"]), True)
    return (100.0 * (x - ma) / ma,)


def _volumeratio(d: Arrays, p: Params):
    v = d["volume"]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = v / nb.rolling_mean_nb(v, p["period"], p["period"])
    ratio[np.isnan(ratio)] = 1.0
    return (ratio,)


def _hlcv(d: Arrays) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return d["high"], d["low"], d["close"], d["volume"]


def _adline(d: Arrays, p: Params):
    return nb.adline_nb(*_hlcv(d), p["smoothing_period"])


def _cmf(d: Arrays, p: Params):
    return nb.cmf_nb(*_hlcv(d), p["period"])


def _fisher(d: Arrays, p: Params):
    return nb.fisher_nb(d["high"], d["low"], p["period"], p["smoothing"])


def _ichimoku(d: Arrays, p: Params):
    return nb.ichimoku_nb(
        *_hlc(d), p["tenkan_period"], p["kijun_period"], p["senkou_b_period"], p["displacement"]
    )


def _psar(d: Arrays, p: Params):
    return (nb.parabolic_sar_nb(*_hlc(d), p["initial_af"], p["step_af"], p["max_af"]),)


def _rvi(d: Arrays, p: Params):
    return nb.rvi_nb(d["open"], *_hlc(d), p["period"], p["signal_period"])


def _squeeze(d: Arrays, p: Params):
    return (
        nb.squeeze_intensity_nb(
            _src(d, p), *_hlc(d), p["bb_period"], p["bb_multiplier"], p["kc_period"],
            p["kc_multiplier"],
        ),
    )  # fmt: skip


def _zigzag(d: Arrays, p: Params):
    x = _src(d, p)
    return (np.where(nb.zigzag_extremes_nb(x, p["threshold"]), x, np.nan),)


# ---------------------------------------------------------------------------------------------
# The specs
# ---------------------------------------------------------------------------------------------

_HLC = ("high", "low", "close")

_BANDS = ("upper", "middle", "lower")
_HLCV = (*_HLC, "volume")


def _rows_period(p: Params) -> int:
    return p["period"]


def _rows_period_plus_1(p: Params) -> int:
    return p["period"] + 1


_SPECS: tuple[IndicatorSpec, ...] = (
    IndicatorSpec(
        name="rsi",
        aliases=("rsiindicator",),
        params=(_period(14, 2, 100), _SOURCE),
        min_rows=_rows_period_plus_1,
        compute=_rsi,
        description="Relative Strength Index: simple-mean seed of the first period changes, "
        "then Wilder smoothing.",
    ),
    IndicatorSpec(
        name="sma",
        aliases=("simplemovingaverage",),
        params=(_period(20, 2, 500), _SOURCE),
        min_rows=_rows_period,
        compute=_sma,
        description="Simple moving average.",
    ),
    IndicatorSpec(
        name="ema",
        aliases=("exponentialmovingaverage",),
        params=(_period(20, 1, 500), _SOURCE, Param("adjust", bool, True)),
        min_rows=lambda p: max(p["period"], 5),
        compute=_ema,
        description="Exponential moving average: pandas ewm(span=period, adjust=adjust).mean().",
    ),
    IndicatorSpec(
        name="wma",
        aliases=("weightedmovingaverage",),
        params=(_period(20, 1, 500), _SOURCE),
        min_rows=_rows_period,
        compute=_wma,
        description="Linearly weighted moving average (weights 1..period, newest heaviest).",
    ),
    IndicatorSpec(
        name="macd",
        aliases=("macdindicator",),
        params=(
            _period(12, 1, 200, "fast_period"),
            _period(26, 1, 500, "slow_period"),
            _period(9, 1, 200, "signal_period"),
            _SOURCE,
        ),
        outputs=("line", "signal", "histogram"),
        min_rows=lambda p: max(p["fast_period"], p["slow_period"]) + p["signal_period"],
        compute=_macd,
        check=_macd_check,
        param_aliases=(
            ("fast", ("fast_period",)),
            ("slow", ("slow_period",)),
            ("signal", ("signal_period",)),
        ),
        description="MACD with adjust=False EMAs seeded at the first price (no NaN head).",
    ),
    IndicatorSpec(
        name="bbands",
        aliases=("bollingerbands", "bollingerbandsindicator"),
        params=(_period(20, 2, 200), _mult(2.0, 10.0), _SOURCE),
        outputs=_BANDS,
        min_rows=_rows_period,
        compute=_bbands,
        description="Bollinger Bands: SMA ± multiplier·sample std (ddof=1).",
    ),
    IndicatorSpec(
        name="atr",
        aliases=("atrindicator",),
        params=(_period(14, 1, 100),),
        inputs=_HLC,
        min_rows=_rows_period,
        compute=_atr,
        description="Average True Range as a simple rolling mean of TR (not Wilder).",
    ),
    IndicatorSpec(
        name="stochastic",
        aliases=("stochasticindicator",),
        params=(
            _period(14, 1, 100, "k_period"),
            _period(3, 1, 100, "d_period"),
            _period(3, 1, 100, "smooth_k"),
        ),
        outputs=("k", "d"),
        inputs=_HLC,
        min_rows=lambda p: p["k_period"] + p["smooth_k"] + p["d_period"] - 2,
        compute=_stochastic,
        description="Stochastic oscillator; warm-up and zero range read 50 (no NaN head).",
    ),
    IndicatorSpec(
        name="williamsr",
        aliases=("williamsrindicator",),
        params=(_period(14, 1, 100),),
        inputs=_HLC,
        min_rows=_rows_period,
        compute=_williamsr,
        description="Williams %R; warm-up and zero range read -50 (no NaN head).",
    ),
    IndicatorSpec(
        name="cci",
        aliases=("cciindicator",),
        params=(_period(20, 2, 100),),
        inputs=_HLC,
        min_rows=_rows_period,
        compute=_cci,
        description="Commodity Channel Index (MAD around the current SMA; MAD 0 not cleaned).",
    ),
    IndicatorSpec(
        name="adx",
        aliases=("adxindicator",),
        params=(_period(14, 2, 200),),
        outputs=("adx", "plus_di", "minus_di"),
        inputs=_HLC,
        min_rows=lambda p: 2 * p["period"] + 1,
        compute=_adx,
        description="Average Directional Index, Wilder ewm(alpha=1/period) from bar 0.",
    ),
    IndicatorSpec(
        name="roc",
        aliases=("rocindicator",),
        params=(_period(10, 1, 500), _SOURCE),
        min_rows=_rows_period_plus_1,
        compute=_roc,
        description="Rate of change in percent; ±inf → NaN.",
    ),
    IndicatorSpec(
        name="momentum",
        aliases=("momentumindicator",),
        params=(_period(10, 1, 500), _SOURCE),
        min_rows=_rows_period_plus_1,
        compute=_momentum,
        description="x − x[period bars ago].",
    ),
    IndicatorSpec(
        name="obv",
        aliases=("obvindicator",),
        inputs=("close", "volume"),
        min_rows=lambda p: 1,
        compute=_obv,
        description="On-balance volume, starting at 0.",
    ),
    IndicatorSpec(
        name="mfi",
        aliases=("mfiindicator",),
        params=(_period(14, 1, 100),),
        inputs=_HLCV,
        min_rows=_rows_period_plus_1,
        compute=_mfi,
        description="Money Flow Index; negative volume raises DataError.",
    ),
    IndicatorSpec(
        name="vwap",
        aliases=("vwapindicator",),
        params=(_period(20, 0, 200), Param("use_typical_price", bool, True)),
        inputs=_HLCV,
        min_rows=lambda p: 1,
        compute=_vwap,
        description="VWAP over period bars (min_periods=1), or cumulative when period is 0.",
    ),
    IndicatorSpec(
        name="keltnerchannels",
        aliases=("keltnerchannelsindicator",),
        params=(_period(20, 1, 500), _period(10, 1, 200, "atr_period"), _mult(2.0, 10.0)),
        outputs=_BANDS,
        inputs=_HLC,
        min_rows=lambda p: max(p["period"], p["atr_period"]),
        compute=_keltner,
        description="Keltner channels: EMA(adjust=False) middle ± multiplier·ATR (simple mean).",
    ),
    IndicatorSpec(
        name="donchianchannels",
        aliases=("donchianchannelsindicator",),
        params=(_period(20, 1, 500), Param("include_middle", bool, True, doc="accepted, unused")),
        outputs=_BANDS,
        inputs=("high", "low"),
        min_rows=_rows_period,
        compute=_donchian,
        description="Donchian channels over period bars including the current one.",
    ),
    IndicatorSpec(
        name="supertrend",
        aliases=("supertrendindicator",),
        params=(_period(10, 1, 200), _mult(3.0, 20.0)),
        outputs=("trend", "direction"),
        inputs=_HLC,
        min_rows=_rows_period,
        compute=_supertrend,
        description="Standard SuperTrend (the older system's trend was all NaN, its direction +1).",
    ),
    IndicatorSpec(
        name="aroon",
        aliases=("aroonindicator",),
        params=(
            _period(14, 1, 200),
            Param("include_oscillator", bool, False, doc="accepted, unused (always an output)"),
        ),
        outputs=("up", "down", "oscillator"),
        inputs=("high", "low"),
        min_rows=_rows_period,
        compute=_aroon,
        description="Aroon over period bars including the current one; ties → oldest bar.",
    ),
    IndicatorSpec(
        name="bollingerbandwidth",
        aliases=("bollingerbandwidthindicator",),
        params=(_period(20, 2, 200), _mult(2.0, 10.0), _SOURCE),
        min_rows=_rows_period,
        compute=_bbwidth,
        description="(upper − lower)/middle of bbands; warm-up → 0.0.",
    ),
    IndicatorSpec(
        name="distancefromma",
        aliases=("distancefrommaindicator",),
        params=(
            _period(20, 1, 500),
            Param("ma_type", str, "SMA", choices=("SMA", "EMA")),
            _SOURCE,
        ),
        min_rows=_rows_period,
        compute=_distance,
        description="100·(x − MA)/MA, MA = SMA or EMA (adjust=True, as the ema indicator).",
    ),
    IndicatorSpec(
        name="volumeratio",
        aliases=("volumeratioindicator",),
        params=(_period(20, 1, 500),),
        inputs=("volume",),
        min_rows=_rows_period,
        compute=_volumeratio,
        description="volume / SMA(volume, period); warm-up (NaN) → 1.0.",
    ),
    IndicatorSpec(
        name="adline",
        aliases=("adlineindicator",),
        params=(
            Param("use_sma_smoothing", bool, False, doc="accepted, unused: line_sma is always on"),
            _period(21, 2, 200, "smoothing_period"),
        ),
        outputs=(
            "line",
            "mf_multiplier",
            "mf_volume",
            "roc_10",
            "momentum_21",
            "relative_strength",
            "line_sma",
        ),  # fmt: skip
        inputs=_HLCV,
        min_rows=lambda p: max(22, p["smoothing_period"]),
        compute=_adline,
        description="Accumulation/distribution line (running sum of Chaikin money flow volume) "
        "with its 10-bar ROC, 21-bar momentum, strength vs its 50-bar mean and an SMA.",
    ),
    IndicatorSpec(
        name="cmf",
        aliases=("cmfindicator",),
        params=(_period(21, 2, 500),),
        outputs=(
            "cmf",
            "mf_multiplier",
            "mf_volume",
            "momentum",
            "signal",
            "histogram",
            "above_zero",
            "below_zero",
        ),  # fmt: skip
        inputs=_HLCV,
        min_rows=lambda p: p["period"] + 5,
        compute=_cmf,
        description="Chaikin money flow: Σ flow volume / Σ volume over period bars, with its "
        "5-bar momentum, EMA(9) signal, histogram and sign flags.",
    ),
    IndicatorSpec(
        name="fishertransform",
        aliases=("fishertransformindicator",),
        params=(_period(10, 2, 100), _period(3, 1, 20, "smoothing")),
        outputs=("fisher", "signal"),
        inputs=("high", "low"),
        min_rows=lambda p: p["period"] + p["smoothing"],
        compute=_fisher,
        description="Fisher transform of the median price's position in its period range, "
        "EMA-smoothed; signal = the previous bar's value.",
    ),
    IndicatorSpec(
        name="ichimoku",
        aliases=("ichimokuindicator",),
        params=(
            _period(9, 1, 50, "tenkan_period"),
            _period(26, 1, 100, "kijun_period"),
            _period(52, 1, 200, "senkou_b_period"),
            _period(26, 0, 100, "displacement"),
        ),
        outputs=("tenkan", "kijun", "senkou_a", "senkou_b", "chikou"),
        inputs=_HLC,
        min_rows=lambda p: (
            max(p["tenkan_period"], p["kijun_period"], p["senkou_b_period"]) + p["displacement"]
        ),
        compute=_ichimoku,
        description="Ichimoku cloud; the senkou spans are shifted displacement bars later "
        "(the older system ignored displacement; 0 reproduces it).",
    ),
    IndicatorSpec(
        name="parabolicsar",
        aliases=("parabolicsarindicator",),
        params=(
            Param("initial_af", float, 0.02, ge=0.001, le=0.1),
            Param("step_af", float, 0.02, ge=0.001, le=0.1),
            Param("max_af", float, 0.2, ge=0.01, le=1.0),
        ),
        inputs=_HLC,
        min_rows=lambda p: 2,
        compute=_psar,
        description="Parabolic SAR; trend at bar 1 from the sign of C1 − C0.",
    ),
    IndicatorSpec(
        name="rvi",
        aliases=("rviindicator",),
        params=(_period(10, 4, 100), _period(4, 1, 50, "signal_period")),
        outputs=("rvi", "signal"),
        inputs=("open", *_HLC),
        min_rows=lambda p: p["period"] + 2 + p["signal_period"],
        compute=_rvi,
        description="Relative vigor index: SMA of 1-2-2-1 weighted (C − O) over SMA of the same "
        "of (H − L); signal = SMA(rvi, signal_period).",
    ),
    IndicatorSpec(
        name="squeezeintensity",
        aliases=("squeezeintensityindicator",),
        params=(
            _period(20, 2, 100, "bb_period"),
            Param("bb_multiplier", float, 2.0, gt=0.0, le=5.0),
            _period(20, 2, 100, "kc_period"),
            Param("kc_multiplier", float, 2.0, gt=0.0, le=5.0),
            _SOURCE,
        ),
        param_aliases=(("period", ("bb_period", "kc_period")),),
        inputs=_HLC,
        min_rows=lambda p: max(p["bb_period"], p["kc_period"]),
        compute=_squeeze,
        description="How far Bollinger Bands sit inside Keltner channels (0 = no squeeze).",
    ),
    IndicatorSpec(
        name="zigzag",
        aliases=("zigzagindicator",),
        params=(Param("threshold", float, 0.05, gt=0.0, lt=1.0), _SOURCE),
        min_rows=lambda p: 3,
        compute=_zigzag,
        looks_ahead=True,
        description="Zigzag extremes (value at each extreme, NaN elsewhere). Revises past "
        "extremes as later bars arrive (looks ahead): never a model input.",
    ),
)

INDICATORS: dict[str, IndicatorSpec] = {s.name: s for s in _SPECS}
"""Canonical name → spec."""

_LOOKUP: dict[str, IndicatorSpec] = {t: s for s in _SPECS for t in s.type_names}


def indicator_types() -> tuple[str, ...]:
    """Every accepted type string (canonical names and aliases), sorted."""
    return tuple(sorted(_LOOKUP))


def get_indicator(type_name: str, where: str = "") -> IndicatorSpec:
    """The spec for ``type_name`` (case-insensitive; canonical name or alias).

    Raises ``ConfigError`` naming ``where`` (e.g. ``"indicators.rsi_14.type"``) and the bad type,
    and listing the valid types.
    """
    spec = _LOOKUP.get(type_name.strip().lower()) if isinstance(type_name, str) else None
    if spec is None:
        prefix = f"{where}: " if where else ""
        aliases = sorted(t for t in _LOOKUP if t not in INDICATORS)
        raise ConfigError(
            f"{prefix}unknown indicator type {type_name!r}; valid types: "
            f"{', '.join(sorted(INDICATORS))} (aliases: {', '.join(aliases)})"
        )
    return spec


def validate_params(spec: IndicatorSpec, params: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Check ``params`` (the indicator's keys other than ``type``/``data_source``) against ``spec``
    and return all parameters with defaults filled in, converted to their declared types.

    A key may be a canonical parameter name or one of the spec's ``param_aliases`` (the older
    system's other spellings, e.g. MACD ``fast`` for ``fast_period``); the result is keyed by
    canonical names only. Raises ``ConfigError`` naming ``where`` and the parameter for an unknown
    parameter (listing the valid ones), a parameter given twice under two spellings, a wrong type,
    a value out of range or an invalid choice.
    """
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ConfigError(f"{where}: indicator parameters must be a mapping, got {params!r}")
    known = {p.name for p in spec.params}
    aliases = dict(spec.param_aliases)
    given: dict[str, tuple[str, Any]] = {}  # canonical name -> (spelling used, value)
    for key, value in params.items():
        if key in known:
            targets: tuple[str, ...] = (key,)
        elif key in aliases:
            targets = aliases[key]
        else:
            valid = ", ".join(p.name for p in spec.params) or "none"
            also = f" (also spelled: {', '.join(aliases)})" if aliases else ""
            raise ConfigError(
                f"{_at(where, str(key))}: unknown parameter {key!r} for indicator "
                f"{spec.name!r}; valid parameters: {valid}{also}"
            )
        for name in targets:
            if name in given:
                raise ConfigError(
                    f"{_at(where, str(key))}: sets {name!r}, which is already given as "
                    f"{given[name][0]!r}; give it once"
                )
            given[name] = (str(key), value)
    out: dict[str, Any] = {}
    for p in spec.params:
        if p.name in given:
            key, value = given[p.name]
            out[p.name] = p.check(value, where, key)
        else:
            out[p.name] = p.default
    if spec.check is not None:
        spec.check(out, where)
    return out


def compute_indicator(
    spec: IndicatorSpec, params: Mapping[str, Any], ohlcv: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Compute one indicator over whole columns.

    ``ohlcv`` maps ``"open"``, ``"high"``, ``"low"``, ``"close"``, ``"volume"`` to equal-length 1-D
    arrays (only the columns the indicator reads are required). ``params`` may be partial; defaults
    are filled in (and the values validated) as by :func:`validate_params`. Returns
    ``{output_name: float64 array}`` in output order, or ``{"": array}`` for single-output types.

    Fewer rows than ``spec.min_rows(params)`` do **not** raise: the outputs equal the first rows of
    the outputs of any longer series starting with these rows (causal; see the module docstring). Missing columns or unequal lengths raise ``DataError``.
    """
    p = validate_params(spec, params, spec.name)
    cols = spec.required_columns(p)
    arrays: dict[str, np.ndarray] = {}
    n = None
    for c in cols:
        if c not in ohlcv:
            raise DataError(f"{spec.name}: missing input column {c!r}")
        a = kernel_input(ohlcv[c], np.float64)
        if a.ndim != 1:
            raise DataError(f"{spec.name}: input column {c!r} must be 1-D, got shape {a.shape}")
        if n is None:
            n = a.shape[0]
        elif a.shape[0] != n:
            raise DataError(
                f"{spec.name}: input columns differ in length ({c!r} has {a.shape[0]}, expected {n})"
            )
        arrays[c] = a
    if n is None:  # no inputs at all: take the length from whatever was passed
        n = len(next(iter(ohlcv.values()))) if ohlcv else 0
    keys = spec.output_keys
    if n == 0:
        return {k: np.empty(0) for k in keys}
    need = spec.min_rows(p)
    if n < need:
        # Causal short input: compute as if copies of the last bar followed, then cut back. Every
        # kernel is causal, so row i gets exactly the value it has in any longer series; blanking
        # whole short columns would make early values depend on how much data comes after them.
        arrays = {
            c: kernel_input(np.concatenate([a, np.repeat(a[-1:], need - n)]))
            for c, a in arrays.items()
        }
    results = spec.compute(arrays, p)
    return {k: np.asarray(r, dtype=np.float64)[:n] for k, r in zip(keys, results, strict=True)}
