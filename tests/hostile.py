"""Hostile values and damage for the fuzz tests (hypothesis) of the files vbt reads back and of
the arguments of its public functions."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

#: JSON values of another kind than the one a key holds, and a few of the right kind out of range
HOSTILE_JSON = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=6),
    st.sampled_from(["", "1h", "2024-13-45", "2024-01-01T00:00:00Z", "promising", "ok", "error"]),
    st.lists(st.integers(-3, 3), max_size=3), st.just({}),
    st.dictionaries(st.sampled_from(["a", "id", "verdict", "fold", "edges"]),
                    st.integers(-2, 2), max_size=2),
)  # fmt: skip


def damage_document(doc: Any, data) -> Any:
    """``doc`` (a parsed JSON document, changed in place) with one key or item somewhere dropped
    or given a hostile value, or a hostile value in its place; returns the damaged document."""
    if not isinstance(doc, dict | list) or not doc or data.draw(st.integers(0, 9)) == 0:
        return data.draw(HOSTILE_JSON)
    node: Any = doc
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = data.draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, dict | list) and child and data.draw(st.booleans()):
            node = child
            continue
        break
    if isinstance(node, dict) and data.draw(st.booleans()):
        del node[key]
    else:
        node[key] = data.draw(HOSTILE_JSON)
    return doc
