"""Per-bar, stateless decisions: ``DecisionFunction`` (model + rules for one bar, readable, for live
use and checks), with its parameters in a ``vbt.params.DecisionParams``.

The rules themselves are ``vbt.decide.rules`` (the same functions the scan runs). torch is imported
only when a model is run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from vbt.decide.rules import classify_nb, decide_nb, regress_nb
from vbt.enums import (
    BUY,
    FLAT,
    HOLD,
    LONG,
    REASON_NAMES,
    REASON_RAW_HOLD,
    SELL,
    SHORT,
    SIDE_NAMES,
    SIGNAL_NAMES,
)
from vbt.params import DecisionParams


@dataclass(frozen=True)
class Decision:
    """One bar's decision. signal: BUY=1 / HOLD=0 / SELL=-1 after the filters; confidence in
    [0, 1]; probabilities: {"BUY", "HOLD", "SELL"} (classification) or None; predicted_return:
    the model output (regression) or None; reason: a ``REASON_NAMES`` value; raw_signal: the
    model's signal before the filters."""

    signal: int
    signal_name: str
    confidence: float
    probabilities: dict[str, float] | None
    predicted_return: float | None
    reason: str
    raw_signal: int = HOLD


_SIDES = {"LONG": LONG, "FLAT": FLAT, "SHORT": SHORT}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ns(t: Any) -> int:
    """A bar time as int ns since the epoch (UTC): int (already ns), numpy datetime64, or datetime
    (naive read as UTC; pandas Timestamp keeps its nanoseconds)."""
    if isinstance(t, bool):
        raise ValueError(f"not a time: {t!r}")
    if isinstance(t, int | np.integer):
        return int(t)
    if isinstance(t, np.datetime64):
        return int(t.astype("datetime64[ns]").astype(np.int64))
    if isinstance(t, datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=UTC)
        d = t - _EPOCH
        ns = ((d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds) * 1000
        return ns + int(getattr(t, "nanosecond", 0))
    raise ValueError(f"not a time: {t!r} (use int ns, numpy datetime64 or datetime)")


class DecisionFunction:
    """Model + decision rules for one bar: stateless, the caller passes position and times.

    ``DecisionFunction(model, feature_names, decisions_config, output_type=None)``: model is a
    torch module returning [1, k] class scores (classification) or [1, 1] predicted returns
    (regression); feature_names is the model's input order; decisions_config the strategy
    "decisions" dict (see ``DecisionParams.from_config``) or a ``DecisionParams``; output_type the
    model's metadata output_type (None: as decisions.output_format says, default classification;
    a non-signal type such as a regime model always gives HOLD). ``sequence_length`` (keyword):
    None for models fed one row of features (MLP); L for LSTM/GRU models, which are fed exactly
    the L rows ending at the bar. ``DecisionFunction.from_bundle(bundle)`` fills all of these in.
    """

    def __init__(
        self,
        model: Any,
        feature_names: Sequence[str],
        decisions_config: Mapping[str, Any] | DecisionParams | None = None,
        output_type: str | None = None,
        *,
        sequence_length: int | None = None,
    ) -> None:
        self.model = model
        self.feature_names = tuple(feature_names)
        if sequence_length is not None and int(sequence_length) < 1:
            raise ValueError(f"sequence_length = {sequence_length!r}: must be >= 1")
        self.sequence_length = None if sequence_length is None else int(sequence_length)
        if isinstance(decisions_config, DecisionParams):
            self.params = decisions_config
        else:
            self.params = DecisionParams.from_config(decisions_config, output_type)
        if hasattr(model, "eval"):
            model.eval()

    @classmethod
    def from_bundle(cls, bundle: Any, decisions_config: Any = None, **overrides: Any):
        """The per-bar decision function of a loaded ``ModelBundle``.

        ``decisions_config`` defaults to the model's config.json ``decisions``; ``overrides``
        (confidence_threshold, min_signal_separation, position_awareness, allow_short_from_flat)
        are applied on top, as in ``BacktestConfig``.
        """
        decisions = (
            bundle.strategy_config.get("decisions")
            if decisions_config is None
            else decisions_config
        )
        params = DecisionParams.from_config(decisions, bundle.output_type, **overrides)
        return cls(
            bundle.model, bundle.feature_names, params, bundle.output_type,
            sequence_length=bundle.sequence_length,
        )  # fmt: skip

    def features_array(self, features: Mapping[str, float] | np.ndarray) -> np.ndarray:
        """Features as float32 [F] (row models) or [L, F] (sequence models) in ``feature_names``
        order; any other shape raises ``ValueError`` rather than being silently misread."""
        f = len(self.feature_names)
        if self.sequence_length is not None:
            if isinstance(features, Mapping):
                raise ValueError(
                    f"features: this sequence model needs a ({self.sequence_length}, {f}) window "
                    "of the rows ending at the bar, not one row"
                )
            x = np.asarray(features, dtype=np.float32)
            if x.shape != (self.sequence_length, f):
                raise ValueError(
                    f"features: shape {x.shape}, expected ({self.sequence_length}, {f})"
                )
            return x
        if isinstance(features, Mapping):
            missing = [f for f in self.feature_names if f not in features]
            if missing:
                raise ValueError(
                    f"features: missing {len(missing)} of {len(self.feature_names)} model inputs,"
                    f" first {missing[0]!r}"
                )
            return np.array([features[f] for f in self.feature_names], dtype=np.float32)
        x = np.asarray(features, dtype=np.float32)
        if x.shape != (f,):
            raise ValueError(
                f"features: shape {x.shape}, expected ({f},): one row of the model's inputs"
                " (sequence models: pass sequence_length, or use DecisionFunction.from_bundle)"
            )
        return x

    def outputs(self, x: np.ndarray) -> np.ndarray:
        """Run the model on one bar's features (``features_array`` output) -> float32 [1, k]."""
        import torch

        with torch.inference_mode():
            out = self.model(torch.from_numpy(np.ascontiguousarray(x)[None, ...]))
        return np.ascontiguousarray(out.detach().cpu().numpy(), dtype=np.float32).reshape(1, -1)

    def __call__(
        self,
        features: Mapping[str, float] | np.ndarray,
        position: int | str,
        bar_time: Any,
        last_trade_time: Any = None,
    ) -> Decision:
        """Decide at one bar's close.

        features: {name: value} or an array in feature_names order ([F], or [seq_len, F] for
        sequence models); position: LONG / FLAT / SHORT (int code or name); bar_time and
        last_trade_time (the execution time of the last trade, None if none): see ``to_ns``.
        NaN features, non-finite outputs and non-signal output types give HOLD ("raw_hold").
        """
        side = _SIDES.get(position, position) if isinstance(position, str) else position
        if side not in SIDE_NAMES:
            raise ValueError(f"position = {position!r}: must be LONG (1), FLAT (0) or SHORT (-1)")
        p = self.params
        x = self.features_array(features)
        bar_ns = to_ns(bar_time)
        last_ns = 0 if last_trade_time is None else to_ns(last_trade_time)
        if not p.trades or not bool(np.all(np.isfinite(x))):
            return Decision(
                HOLD, SIGNAL_NAMES[HOLD], 0.0, None, None, REASON_NAMES[REASON_RAW_HOLD]
            )
        out = self.outputs(x)
        probs_d = None
        predicted = None
        if p.is_regression:
            r = out[0, :1]
            raw_a, conf_a = regress_nb(r, p.regression_threshold)
            predicted = float(r[0])
        else:
            raw_a, conf_a, probs = classify_nb(out)
            names = (SIGNAL_NAMES[BUY], SIGNAL_NAMES[HOLD], SIGNAL_NAMES[SELL])
            probs_d = {name: float(v) for name, v in zip(names, probs[0], strict=False)}
        raw, conf = int(raw_a[0]), conf_a[0]
        signal, reason = decide_nb(
            np.int8(raw),
            conf,
            np.int64(bar_ns),
            np.int64(last_ns),
            last_trade_time is not None,
            np.int8(side),
            p.is_regression,
            p.confidence_threshold,
            np.int64(p.min_separation_ns),
            p.position_awareness,
            p.allow_short_from_flat,
        )
        signal = int(signal)
        return Decision(
            signal=signal,
            signal_name=SIGNAL_NAMES[signal],
            confidence=float(conf),
            probabilities=probs_d,
            predicted_return=predicted,
            reason=REASON_NAMES[int(reason)],
            raw_signal=raw,
        )
