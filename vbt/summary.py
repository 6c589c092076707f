"""What a person reads about a run: which metrics are shown, under which label and unit, how each
value is written, the signal funnel, and why a run did not trade.

This is the one view model of the CLI summary and the HTML report (``vbt.report``): both take
their rows from ``metric_rows``, ``funnel`` and ``describe_run`` and their text from
``format_metric``, so sections and formatting are decided here and nowhere else. Each metric's
label, unit and section come from the metric table, ``vbt.metrics.METRICS``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from vbt.metrics import FUNNEL, METRIC, METRICS, Metric, Unit

#: the sections of the metrics table, in order (the signal funnel is shown apart: ``funnel``)
SECTION_TITLES = ("returns", "risk", "trades", "exits", "annualisation")


def _section(title: str) -> tuple[Metric, ...]:
    members = [m for m in METRICS if m.section == title]
    return tuple(m for m in members if not m.detail) + tuple(m for m in members if m.detail)


#: The metrics as shown, in sections: (section title, metrics), from ``vbt.metrics.METRICS``
#: (each section in the table's order, its details last). Every metric of
#: ``vbt.metrics.METRIC_NAMES`` appears once, here or in ``FUNNEL_STAGES``.
METRIC_SECTIONS: tuple[tuple[str, tuple[Metric, ...]], ...] = tuple(
    (title, _section(title)) for title in SECTION_TITLES
)

#: the funnel's stages, in order: (metric name, label): the bars decided, the funnel's counts
#: (``vbt.metrics.FUNNEL``), the closed trades
FUNNEL_STAGES = (
    ("bars", "bars decided (after warm-up)"),
    *((m.name, m.label) for m in METRICS if m.section == FUNNEL and m.integer),
    ("total_trades", "closed trades"),
)
#: funnel stages read from the run's description (``RunInfo``), shown first when it is given:
#: (name, RunInfo field, label)
RUN_STAGES = (
    ("data_bars", "bars", "bars in the data (warm-up included)"),
    ("valid_bars", "valid_bars", "bars with every feature defined (warm-up included)"),
)
#: the funnel's one non-count: shown under the counts
HIGHEST_CONFIDENCE = METRIC["highest_confidence"]

#: metrics shown beside the ranking metric in a sweep's table of best rows
SWEEP_SHOWN = ("total_return_pct", "max_drawdown_pct", "total_trades", "win_rate")

#: the metrics shown in the metrics table and the funnel's highest confidence, by name
SPECS: dict[str, Metric] = {m.name: m for _title, shown in METRIC_SECTIONS for m in shown} | {
    HIGHEST_CONFIDENCE.name: HIGHEST_CONFIDENCE
}


@dataclass(frozen=True)
class MetricRow:
    """One shown value: its section, metric name, label, the value itself and its text."""

    section: str
    name: str
    label: str
    value: Any
    text: str


def metric_rows(metrics: dict[str, Any], *, all_exits: bool = False) -> list[MetricRow]:
    """The metrics table, in ``METRIC_SECTIONS`` order (the funnel is apart: ``funnel``). The
    rows of an exit reason with no exit are left out unless ``all_exits``: with the risk exits
    off they would only say 0 and "—"."""
    rows = []
    for title, specs in METRIC_SECTIONS:
        for s in specs:
            reason = s.name.removesuffix("_exits").removesuffix("_avg_pnl")
            if title == "exits" and not all_exits and not metrics.get(f"{reason}_exits"):
                continue
            value = metrics.get(s.name)
            rows.append(MetricRow(title, s.name, s.label, value, format_metric(s.name, value)))
    return rows


def funnel(
    metrics: dict[str, Any], run: dict[str, Any] | None = None
) -> list[tuple[str, str, Any]]:
    """The signal funnel of a run's metrics: [(name, label, count)] in order. With ``run`` (a
    ``RunInfo.to_dict()``), the bars in the data and the valid bars come first."""
    head = [(name, label, run.get(key)) for name, key, label in RUN_STAGES] if run else []
    return head + [(name, label, metrics.get(name)) for name, label in FUNNEL_STAGES]


def funnel_rows(metrics: dict[str, Any], run: dict[str, Any] | None = None) -> list[MetricRow]:
    """The funnel as shown: its counts (``funnel``), then the highest confidence of a raw
    signal."""
    rows = [MetricRow(FUNNEL, name, label, n, format_value(n))
            for name, label, n in funnel(metrics, run)]  # fmt: skip
    top = metrics.get(HIGHEST_CONFIDENCE.name)
    spec = HIGHEST_CONFIDENCE
    rows.append(MetricRow(FUNNEL, spec.name, spec.label, top, format_metric(spec.name, top)))
    return rows


def sweep_columns(grid_names: list[str], by: str) -> list[str]:
    """The columns of a sweep's table of best rows: the swept parameters, the ranking metric,
    then ``SWEEP_SHOWN``."""
    cols = [*grid_names, by]
    return cols + [c for c in SWEEP_SHOWN if c not in cols]


def describe_run(run: dict[str, Any]) -> str:
    """One line naming a run: strategy, symbol, timeframe, output type and span (UTC), from a
    ``RunInfo.to_dict()``."""
    return (
        f"{run.get('strategy')} {run.get('symbol')} {run.get('timeframe')} "
        f"({run.get('output_type')}) {str(run.get('start'))[:16]} → {str(run.get('end'))[:16]} UTC"
    )


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


def format_metric(name: str, value: Any) -> str:
    """A metric's value as shown, by its unit (``format_unit``); a name that is not a metric
    falls back to ``format_value``."""
    spec = SPECS.get(name)
    return format_value(value) if spec is None else format_unit(spec.unit, value)


def format_unit(unit: Unit, value: Any) -> str:
    """A value in ``unit`` as text: "—" when undefined (None or NaN); a fraction as a percentage
    ("12.35 %"; 3 significant digits under 1 %, never an exponent); currency with 2 decimals
    and thousands separators; ratios with 3 decimals; counts as integers; hours with "h"; a
    probability with 4 decimals (3 significant digits under 0.0001); a number as
    ``format_value`` writes it."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool):
        return format_value(value)
    v = float(value)
    match unit:
        case "fraction":
            pct = v * 100.0
            if abs(pct) >= 1 or pct == 0:
                return f"{pct:,.2f} %"
            decimals = min(10, 2 - math.floor(math.log10(abs(pct))))  # 3 significant digits
            return f"{pct:.{decimals}f} %"
        case "currency":
            return f"{v:,.2f}"
        case "ratio":
            return f"{v:,.3f}"
        case "count":
            return f"{int(value):,}"
        case "bars":
            return f"{int(value):,} bars"
        case "hours":
            return f"{v:,.1f} h"
        case "per_year":
            return f"{v:,.1f}"
        case "probability":
            if v == 0 or abs(v) >= 1e-4:
                return f"{v:.4f}"
            return f"{v:.{min(12, 2 - math.floor(math.log10(abs(v))))}f}"  # 3 significant digits
        case "number":
            return format_value(v)
    raise ValueError(f"unknown unit {unit!r}")


def format_cell(name: str, value: Any) -> str:
    """A table cell of a column named ``name``: a metric by ``format_metric``, anything else (a
    swept parameter, an index) by ``format_value``."""
    return format_metric(name, value) if name in SPECS else format_value(value)


def format_value(value: Any) -> str:
    """A value that is not a metric (a parameter, a count) as text: thousands separators, 6
    significant digits, "—" when undefined."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


# ------------------------------------------------------------------------------ a research run


@dataclass(frozen=True)
class StatSpec:
    """How a research statistic (not a metric) is shown: its label and unit."""

    name: str
    label: str
    unit: Unit


#: a research run's statistics as shown, by their key in ``report.json`` (``random_entry``,
#: ``sharpe_statistics``, a model's fit in ``training``)
RESEARCH_SPECS: dict[str, StatSpec] = {s.name: s for s in (StatSpec(*row) for row in (
    ("simulations", "Simulations", "count"),
    ("seed", "Seed", "count"),
    ("trades", "Trades placed at random (the strategy's count, sides, holding times)", "count"),
    ("p_value", "p-value: share of simulations with a Sharpe ratio at least the strategy's",
     "probability"),
    ("observations", "Per-bar returns (T)", "count"),
    ("sharpe_per_bar", "Sharpe ratio per bar (SR̂)", "ratio"),
    ("skewness", "Skewness (γ3)", "ratio"),
    ("kurtosis", "Kurtosis (γ4, raw: 3 for normal returns)", "ratio"),
    ("psr", "PSR(0): probability that the true Sharpe ratio is above 0", "probability"),
    ("trials", "Trials in the ledger (N)", "count"),
    ("trial_sharpe_variance", "Variance of the trials' Sharpe ratios", "number"),
    ("variance_source", "Variance used for SR0", "number"),
    ("expected_max_sharpe", "SR0, annualised: the best of N trials by chance", "ratio"),
    ("dsr", "DSR: PSR against SR0", "probability"),
    ("samples", "Samples", "count"),
    ("loss", "Loss", "number"),
    ("accuracy", "Accuracy", "fraction"),
))}  # fmt: skip
#: the random-entry quantiles as shown: (key in ``random_entry.<metric>``, label)
RANDOM_QUANTILES = (("p05", "5th percentile"), ("p50", "median"), ("p95", "95th percentile"),
                    ("mean", "mean"))  # fmt: skip
#: the out-of-sample metrics shown per walk-forward fold
FOLD_SHOWN = ("total_return_pct", "sharpe_ratio", "max_drawdown_pct", "total_trades", "win_rate")
#: the verdict's checks (``verdict.checks``) as shown: (name, what passing means)
VERDICT_CHECKS = (
    ("trades", "enough trades to judge"),
    ("chance", "better than chance with the same trades"),
    ("selection", "survives the number of trials"),
    ("market", "better than the market over the same bars"),
)


def format_research(name: str, value: Any) -> str:
    """A research statistic's value as shown, by its unit in ``RESEARCH_SPECS``; text, and a
    name without a spec, as ``format_value`` writes it."""
    spec = RESEARCH_SPECS.get(name)
    if spec is None or isinstance(value, str):
        return format_value(value)
    return format_unit(spec.unit, value)


def verdict_rows(verdict: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """The verdict's checks as (name, what passing means, the rule with its threshold, "pass",
    "fail" or "undefined"), in ``VERDICT_CHECKS`` order, from ``report.json``'s ``verdict``."""
    t = verdict.get("thresholds", {})
    alpha = t.get("alpha")
    rules = {
        "trades": f"at least {format_value(t.get('min_trades'))} trades out of sample",
        "chance": f"random-entry p-value at most {format_value(alpha)}",
        "selection": "DSR at least " + (format_value(1 - alpha) if alpha is not None else "—"),
        "market": "Sharpe ratio above buy-and-hold's",
    }
    checks = verdict.get("checks", {})
    result = {True: "pass", False: "fail", None: "undefined"}
    return [(name, label, rules[name], result[checks.get(name)]) for name, label in VERDICT_CHECKS]
