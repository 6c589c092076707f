"""Feature ids and their canonical order (the older system's resolver, reference §2)."""

from __future__ import annotations

from dataclasses import dataclass

from vbt.strategy.schema import Strategy


@dataclass(frozen=True)
class FeatureSpec:
    """How to produce one feature column: indicator output on a timeframe, raw or fuzzified."""

    id: str
    timeframe: str
    indicator: str  # indicator id
    output: str  # indicator output ("" = single-output)
    fuzzy_set: str | None  # None for raw features
    membership: str | None


def feature_specs(strategy: Strategy) -> list[FeatureSpec]:
    """Every feature the strategy defines, in canonical order.

    For each nn_input (YAML order) → each of its timeframes (list order; "all" = training order) →
    each membership (YAML order) as ``<tf>_<fuzzy_set>_<membership>``, or one ``<tf>_<ref>_raw``
    for a raw indicator (``ref`` literal, dot included). No de-duplication, as in the older system.
    """
    out: list[FeatureSpec] = []
    for inp in strategy.nn_inputs:
        for tf in inp.timeframes:
            if inp.kind == "raw":
                out.append(
                    FeatureSpec(f"{tf}_{inp.ref}_raw", tf, inp.indicator, inp.output, None, None)
                )
                continue
            fs = strategy.fuzzy_sets[inp.ref]
            for m in fs.memberships:
                out.append(
                    FeatureSpec(
                        f"{tf}_{fs.id}_{m.name}", tf, fs.indicator, fs.output, fs.id, m.name
                    )
                )
    return out


def resolve_features(strategy: Strategy) -> list[str]:
    """Ordered feature ids of ``strategy`` (the model's input order unless metadata says otherwise)."""
    return [s.id for s in feature_specs(strategy)]
