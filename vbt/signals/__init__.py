"""Batched inference: FeatureFrame → SignalFrame."""

from vbt.signals.inference import SignalFrame, infer_signals, model_outputs, signals_from_outputs

__all__ = ["SignalFrame", "infer_signals", "model_outputs", "signals_from_outputs"]
