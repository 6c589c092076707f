"""Record dtypes of the scan: closed trades, the state carried between chunks, and the parameters.

All are packed numpy structured dtypes, usable from Numba (``rec.field``) and savable with
``np.savez`` without pickle. Times are int64 nanoseconds since the Unix epoch (UTC, bar **open**
stamps); money is in account currency; sides, signals and reasons are the int8 codes of
``vbt.enums``. ``params_records`` is the one builder of the parameter records, for a single run
and for a sweep's grid alike.
"""

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from vbt.enums import N_EXIT_REASONS, OUTPUT_REGRESSION
from vbt.params import RISK_FIELDS, regression_threshold, separation_ns

#: One closed round trip.
#: - entry_idx / exit_idx: bar indices. entry = the bar whose open filled the entry; exit = the bar
#:   whose open filled a signal exit, or the last bar (n - 1) for the end-of-data force close.
#: - entry_ts: open stamp of the entry bar; exit_ts: open stamp of the exit bar for a signal exit,
#:   and last bar's stamp + bar duration (its close time) for the force close.
#: - qty: units (a whole number); entry_price / exit_price: fills (slippage included).
#: - slippage_cost: |fill - reference price| * qty, entry + exit (currency).
#: - gross_pnl: (exit - entry) * qty long, (entry - exit) * qty short; net_pnl = gross - both
#:   commissions; return_pct = net_pnl / (entry_price * qty) * 100.
#: - bars_held: bars the position was open: exit_idx - entry_idx for a signal exit (at bar
#:   exit_idx's open), exit_idx - entry_idx + 1 for the end-of-data close (at its close).
#: - mfe >= 0 / mae <= 0: extremes of the unrealised P&L (currency) marked at the closes of the
#:   entry bar through the bar before the exit bar (plus the last close for a force close).
#: - exit_reason: an EXIT_* code of ``vbt.enums`` (signal, end of data, stop loss, take profit,
#:   trailing stop, time stop); confidence: of the decision that opened the trade;
#:   exit_confidence: of the decision that closed it (NaN for the force close and risk exits).
TRADE_DTYPE = np.dtype(
    [
        ("entry_idx", np.int64),
        ("exit_idx", np.int64),
        ("entry_ts", np.int64),
        ("exit_ts", np.int64),
        ("side", np.int8),
        ("qty", np.float64),
        ("entry_price", np.float64),
        ("exit_price", np.float64),
        ("entry_commission", np.float64),
        ("exit_commission", np.float64),
        ("slippage_cost", np.float64),
        ("gross_pnl", np.float64),
        ("net_pnl", np.float64),
        ("return_pct", np.float64),
        ("bars_held", np.int64),
        ("mfe", np.float64),
        ("mae", np.float64),
        ("exit_reason", np.int8),
        ("confidence", np.float64),
        ("exit_confidence", np.float64),
    ]
)

#: Everything the scan carries from one chunk to the next (one record).
#: - next_bar: first bar not yet processed; done: the run is finished (force close made).
#: - cash; the open position: side (FLAT when none), qty, entry_price (fill), entry_idx, entry_ts,
#:   entry_commission, entry_slippage (currency), entry_confidence, running mfe / mae.
#: - extreme_close: highest close since entry (long) or lowest (short), for the trailing stop.
#: - pending_signal / pending_confidence: decided at bar next_bar - 1, executes at next_bar's open.
#: - last_trade_ts / has_last_trade: execution stamp of the last executed entry or exit.
#: - n_trades: closed trades written so far.
STATE_DTYPE = np.dtype(
    [
        ("next_bar", np.int64),
        ("cash", np.float64),
        ("side", np.int8),
        ("qty", np.float64),
        ("entry_price", np.float64),
        ("entry_idx", np.int64),
        ("entry_ts", np.int64),
        ("entry_commission", np.float64),
        ("entry_slippage", np.float64),
        ("entry_confidence", np.float64),
        ("mfe", np.float64),
        ("mae", np.float64),
        ("extreme_close", np.float64),
        ("pending_signal", np.int8),
        ("pending_confidence", np.float64),
        ("last_trade_ts", np.int64),
        ("has_last_trade", np.bool_),
        ("n_trades", np.int64),
        ("done", np.bool_),
    ]
)

#: Scan parameters (one record per run or sweep combination). commission and slippage are
#: fractions (0.001 = 0.1 %); position_fraction is the share of cash committed per entry; bar_ns the
#: bar duration and min_separation_ns the minimum time between executed trades, both in ns;
#: regression_threshold the |predicted return| a regression model must exceed to signal; the risk
#: exits (0 = off): stop_loss, take_profit and trailing_stop as fractions of the entry fill (the
#: trailing stop: of the best close since entry), max_holding_bars in bars.
#: Built only by ``params_records``, by name. A new run setting is a field of
#: ``vbt.params.DecisionParams`` or ``ExecutionParams`` (with its description), a field here of
#: the same name (or an entry of ``DERIVED``), and the kernel reading it: the CLI flag, the
#: research settings, the report's run table, the sweep grid and the batch schema follow.
PARAMS_DTYPE = np.dtype(
    [
        ("initial_capital", np.float64),
        ("commission", np.float64),
        ("slippage", np.float64),
        ("position_fraction", np.float64),
        ("warmup_bars", np.int64),
        ("bar_ns", np.int64),
        ("is_regression", np.bool_),
        ("confidence_threshold", np.float64),
        ("min_separation_ns", np.int64),
        ("position_awareness", np.bool_),
        ("allow_short_from_flat", np.bool_),
        ("regression_threshold", np.float64),
        ("stop_loss", np.float64),
        ("take_profit", np.float64),
        ("trailing_stop", np.float64),
        ("max_holding_bars", np.int64),
    ]
)

#: PARAMS_DTYPE fields computed from run settings of other names: field → (the settings, how).
#: Every other field is the run setting (or ``bar_ns``) of its own name, copied.
DERIVED: dict[str, tuple[tuple[str, ...], Callable[..., Any]]] = {
    "is_regression": (("output_format",), lambda fmt: np.asarray(fmt) == OUTPUT_REGRESSION),
    "min_separation_ns": (("min_signal_separation",), separation_ns),
    "regression_threshold": (("round_trip_cost", "min_edge_multiplier"), regression_threshold),
}
#: run setting → the PARAMS_DTYPE field it sets (its own, or the field derived from it)
SETTING_FIELDS = {
    **{name: name for name in PARAMS_DTYPE.names if name not in DERIVED},
    **{s: field for field, (settings, _how) in DERIVED.items() for s in settings},
}


def params_field(name: str, values: Mapping[str, Any]) -> Any:
    """One PARAMS_DTYPE field from flat run settings (see ``params_records``): a scalar, or an
    array when a setting it reads is one."""
    if name in DERIVED:
        settings, how = DERIVED[name]
        return how(*(values[s] for s in settings))
    value = values[name]
    if name in RISK_FIELDS:  # off (None; NaN in a grid's column) is 0 in the kernel
        return 0 if value is None else np.nan_to_num(value, nan=0.0)
    return value


def params_records(values: Mapping[str, Any], m: int | None = None) -> np.ndarray:
    """``PARAMS_DTYPE[m]``: the kernel's parameters, filled field by field by name.

    values: flat run settings by name (``ScanParams.values()`` and ``bar_ns``; other names are
    ignored), each a scalar (the same in every record) or an array of m values (a sweep's
    column). A field takes the setting of its name, or, for the fields of ``DERIVED``
    (is_regression, min_separation_ns, regression_threshold), is computed here from the settings
    it names; a risk exit that is off (None, or NaN in an array) is 0. m: the number of records
    (default: the length of the arrays, 1 when all are scalars). Serves ``ScanParams.to_record``
    (one run) and ``Grid.records`` (a sweep) alike, so their records are equal byte for byte.
    """
    if m is None:
        m = max((np.shape(v)[0] for v in values.values() if np.ndim(v) == 1), default=1)
    rec = np.zeros(m, dtype=PARAMS_DTYPE)
    for name in PARAMS_DTYPE.names:
        rec[name] = params_field(name, values)
    return rec


#: Running metric state (one record), updated by the scan at every equity point and closed trade;
#: ``vbt.metrics.finish_metrics`` turns it into the metrics. Equity points are the bars after the
#: warm-up, marked at the close (the last one after the end-of-data close).
#: - bars: equity points so far; last_equity: the latest one (the final equity at the end).
#: - Per-bar returns r = E_t / E_{t-1} - 1: n_returns, ret_mean, ret_m2 (sum of squared deviations)
#:   of the merged blocks; the open block: blk_n, blk_sum and blk_sumsq (sums of r and r^2).
#:   Blocks of ``RETURN_BLOCK`` returns are merged with Chan's pairwise formula at positions fixed
#:   by the return count (never by chunking), so any chunking gives identical bits. down_ss: sum
#:   of min(r, 0)^2.
#: - peak: running maximum equity; max_dd (currency) and max_dd_pct (fraction of the peak): the
#:   largest peak - E; dd_run / max_dd_run: current / longest stretch of bars below a peak.
#: - exposure_bars: equity points with a position open after the bar.
#: - Closed trades (net P&L, currency): wins / losses (> 0 / < 0), win_sum / loss_sum,
#:   largest_win / largest_loss, net_sum, net_mean and net_m2 (Welford), hold_ns (sum of exit -
#:   entry times, ns); per exit reason (indexed by the EXIT_* code): reason_trades and reason_net
#:   (count and sum of net P&L).
#: - The signal funnel: removed_by_separation / removed_by_position (raw signals that filters 2 and
#:   3 turned into HOLD), signals_passed (decisions that became pending), signals_executed
#:   (pending signals that made an entry or an exit).
ACC_DTYPE = np.dtype(
    [
        ("bars", np.int64),
        ("last_equity", np.float64),
        ("n_returns", np.int64),
        ("ret_mean", np.float64),
        ("ret_m2", np.float64),
        ("blk_n", np.int64),
        ("blk_sum", np.float64),
        ("blk_sumsq", np.float64),
        ("down_ss", np.float64),
        ("peak", np.float64),
        ("max_dd", np.float64),
        ("max_dd_pct", np.float64),
        ("dd_run", np.int64),
        ("max_dd_run", np.int64),
        ("exposure_bars", np.int64),
        ("trades", np.int64),
        ("wins", np.int64),
        ("losses", np.int64),
        ("win_sum", np.float64),
        ("loss_sum", np.float64),
        ("largest_win", np.float64),
        ("largest_loss", np.float64),
        ("net_sum", np.float64),
        ("net_mean", np.float64),
        ("net_m2", np.float64),
        ("hold_ns", np.int64),
        ("reason_trades", np.int64, (N_EXIT_REASONS,)),
        ("reason_net", np.float64, (N_EXIT_REASONS,)),
        ("removed_by_separation", np.int64),
        ("removed_by_position", np.int64),
        ("signals_passed", np.int64),
        ("signals_executed", np.int64),
    ]
)

#: Returns per block of the running mean/variance (see ACC_DTYPE).
RETURN_BLOCK = 4096


def new_state(initial_capital: float | np.ndarray) -> np.ndarray:
    """Fresh ``STATE_DTYPE`` records, one per initial capital (a scalar gives one): flat, holding
    that capital, at bar 0."""
    state = np.zeros(np.size(initial_capital), dtype=STATE_DTYPE)
    state["cash"] = initial_capital
    state["entry_confidence"] = np.nan
    state["pending_confidence"] = np.nan
    return state


def new_acc(m: int = 1) -> np.ndarray:
    """``m`` fresh ``ACC_DTYPE`` records (nothing seen yet)."""
    return np.zeros(m, dtype=ACC_DTYPE)
