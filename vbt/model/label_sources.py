"""The one table from ``training.labels.source`` to a model's ``output_type`` (no imports).

Used by the strategy schema (``Strategy.output_type``) and written into ``metadata_v3.json`` by the
trainer; it lives here, in a module with no dependencies, so reading model metadata never imports
the strategy loader (pydantic, Numba indicators) and the strategy never imports torch.
"""

from __future__ import annotations

# metadata_v3.json "output_type" for each training.labels.source (the older system's mapping).
OUTPUT_TYPE_BY_LABEL_SOURCE: dict[str, str] = {
    "zigzag": "classification",
    "triple_barrier": "classification",
    "forward_return": "regression",
    "context": "context_classification",
    "regime": "regime_classification",
}

#: the classes a classifying model's outputs stand for, by output_type, in output order (the
#: older system's numbering: zigzag and triple barrier 0 = BUY, 1 = HOLD, 2 = SELL; its context
#: and regime labellers' own)
CLASS_NAMES_BY_OUTPUT_TYPE: dict[str, tuple[str, ...]] = {
    "classification": ("BUY", "HOLD", "SELL"),
    "context_classification": ("BULLISH", "BEARISH", "NEUTRAL"),
    "regime_classification": ("TRENDING_UP", "TRENDING_DOWN", "RANGING", "VOLATILE"),
}
