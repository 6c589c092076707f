"""What a person reads about a run: the signal funnel, why a run did not trade, and how each
metric is shown. The CLI summary (and the HTML report) use these, so names, units and formatting
are decided in one place."""

from __future__ import annotations

from typing import Any

#: the funnel's stages, in order: (metric name, label)
FUNNEL_STAGES = (
    ("bars", "bars decided (after warm-up)"),
    ("raw_buy_signals", "raw BUY signals"),
    ("raw_sell_signals", "raw SELL signals"),
    ("removed_by_confidence", "removed: confidence below the threshold"),
    ("removed_by_separation", "removed: too soon after the last trade"),
    ("removed_by_position", "removed: redundant with the position"),
    ("signals_passed", "signals that passed every filter"),
    ("signals_executed", "signals executed"),
    ("total_trades", "closed trades"),
)


def funnel(metrics: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """The signal funnel of a run's metrics: [(name, label, count)] in order."""
    return [(name, label, metrics.get(name)) for name, label in FUNNEL_STAGES]


def no_trade_reason(metrics: dict[str, Any], params: dict[str, Any]) -> str | None:
    """One line saying which filter removed the signals of a run that made no trade, and the
    highest confidence seen; None when the run traded."""
    if metrics.get("total_trades"):
        return None
    raw = (metrics.get("raw_buy_signals") or 0) + (metrics.get("raw_sell_signals") or 0)
    top = metrics.get("highest_confidence")
    top_text = f"; the highest confidence was {top:.4g}" if top is not None else ""
    if raw == 0:
        return f"no trades: the model gave no BUY or SELL signal after the warm-up{top_text}"
    removed = {
        "confidence": metrics.get("removed_by_confidence") or 0,
        "separation": metrics.get("removed_by_separation") or 0,
        "position": metrics.get("removed_by_position") or 0,
    }
    which = max(removed, key=removed.get)
    if which == "confidence":
        why = (f"confidence_threshold {params.get('confidence_threshold')} removed "
               f"{removed['confidence']:,} of {raw:,} raw signals{top_text}")  # fmt: skip
    elif which == "separation":
        why = (f"min_signal_separation {params.get('min_signal_separation')} h removed "
               f"{removed['separation']:,} of {raw:,} raw signals")  # fmt: skip
    else:
        why = (f"position awareness removed {removed['position']:,} of {raw:,} raw signals "
               "(a SELL cannot open a short unless allow_short_from_flat)")  # fmt: skip
    passed, executed = metrics.get("signals_passed") or 0, metrics.get("signals_executed") or 0
    if passed and not executed:
        why += f"; {passed:,} passed but none could be filled (too little cash for one unit?)"
    return f"no trades: {why}"


def format_value(value: Any) -> str:
    """A metric value as text: thousands separators, 6 significant digits, "—" when undefined."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)
