"""Hypothesis strategies of sweep constraints: expressions built from the grammar's pieces
(and from pieces outside it: other operators, names, literals), hostile ones (towers of powers,
deep nesting, long, huge numbers) and arbitrary text. Shared by the sweep fuzz tests
(``tests/sweeps/test_sweep_fuzz.py``) and the worker's (``tests/worker/test_fuzz.py``)."""

from __future__ import annotations

from hypothesis import strategies as st

#: the grid the constraints are written for (two more names read the base values)
GRID = {"commission": [0.0, 0.001, 0.002], "slippage": [0.0, 0.0005, 0.001],
        "position_awareness": [True, False], "take_profit": [None, 0.02],
        "max_holding_bars": "1:3:1"}  # fmt: skip
NAMES = [*GRID, "position_fraction", "stop_loss", "trailing_stop"]  # the last two: base values

numbers = st.one_of(
    st.integers(-5, 5).map(str),
    st.sampled_from(
        [
            "0",
            "0.0",
            "0.001",
            "1e-3",
            "2",
            "0.5",
            "-1",
            "1e15",
            "1e16",
            "1e400",
            "10" * 10,
            "1" * 40,
            ".5",
            "True",
            "False",
        ]
    ),  # fmt: skip
    st.floats(-2, 2, allow_nan=False).map(repr),
)
leaves = st.one_of(
    st.sampled_from(NAMES),
    numbers,
    st.sampled_from(["bogus", "'a'", "None", "x.y", "f(1)", "[1]", "lambda: 1", "__import__"]),
)
BINARY = ["+", "-", "*", "/", "%", "**", "//", "&", "@"]
COMPARE = ["<", "<=", ">", ">=", "==", "!=", " in ", " is "]


def _combine(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(BINARY), children).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(children, st.sampled_from(["-", "+", "not ", "~"])).map(lambda t: f"{t[1]}{t[0]}"),
        st.tuples(children, st.lists(st.tuples(st.sampled_from(COMPARE), children), min_size=1,
                                     max_size=3)).map(
            lambda t: t[0] + "".join(f" {op} {c}" for op, c in t[1])),
        st.tuples(st.sampled_from([" and ", " or "]), st.lists(children, min_size=2, max_size=4))
        .map(lambda t: t[0].join(t[1])),
        children.map(lambda c: f"({c})"),
        st.tuples(children, st.integers(-6, 6)).map(lambda t: f"({t[0]}) ** {t[1]}"),
    )  # fmt: skip


grammar_like = st.recursive(leaves, _combine, max_leaves=40)
hostile = st.one_of(
    st.integers(1, 8).map(lambda n: "**".join(["9"] * n)),  # a tower of powers
    st.tuples(st.sampled_from(["-", "+", "not ", "(", "~"]), st.integers(1, 2000)).map(
        lambda t: t[0] * t[1] + "commission" + (")" * t[1] if t[0] == "(" else "")
    ),  # deep
    st.integers(1, 400).map(lambda n: " + ".join(["commission"] * n) + " > 0"),  # long, wide
    st.integers(1, 10).map(lambda n: "1" + "0" * (10**n if n < 4 else 5000)),  # huge numbers
    st.text(max_size=60),  # anything
)
constraints = st.one_of(grammar_like, grammar_like.map(lambda s: s + " > 0"), hostile)
