"""Fuzzing sweep input with hypothesis: grids, constraints (inside the grammar, beyond its
limits, and arbitrary text) and the arguments of ``vbt.sweep`` and ``select``.

The contract, for every case: a ``VbtError`` whose message is one line, or a correct result;
never another exception, never a hang (each case runs under a hard time limit: faulthandler
ends the process, even inside one long C call that holds the GIL, such as the power of two
huge integers) and never unbounded memory (tracemalloc's peak per case). A correct result is
checked against an independent reference: a constraint is evaluated combination by combination,
as Python would, by a small scalar interpreter of the documented semantics (float64, NaN false,
``and``/``or`` and chained comparisons short-circuiting, division by zero an error naming the
first combination where it happens)."""

from __future__ import annotations

import ast
import faulthandler
import math
import operator
import time
import tracemalloc
from contextlib import contextmanager

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sweep_strategies import GRID, constraints

import vbt
from vbt.errors import ConfigError, VbtError
from vbt.sim import ScanParams
from vbt.sweeps.constraint import MAX_CHARS, MAX_CONSTANT, MAX_DEPTH, MAX_EXPONENT, MAX_NODES
from vbt.sweeps.grid import MAX_AXIS_VALUES, OPTIONAL, SWEEPABLE, Grid, select

CLS = ScanParams().with_values(stop_loss=0.01)  # one risk exit on, the others off (NaN)
HARD_LIMIT_S = 120  # the process ends: a hang can never pass
SOFT_LIMIT_S = 10  # what one case may take on a slow, busy machine
MEMORY = 64 * 2**20
FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))  # fmt: skip


@contextmanager
def bounded():
    """A case under a hard time limit, a soft one and a memory bound."""
    faulthandler.dump_traceback_later(HARD_LIMIT_S, exit=True)
    tracemalloc.start()
    t = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - t
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        faulthandler.cancel_dump_traceback_later()
    assert elapsed < SOFT_LIMIT_S, f"{elapsed:.1f} s"
    assert peak < MEMORY, f"{peak / 2**20:.0f} MiB"


def one_line(err: BaseException) -> str:
    text = str(err)
    assert isinstance(err, VbtError), repr(err)
    assert text and "\n" not in text and "\r" not in text and len(text) < 2000, text
    return text


# -- constraints --------------------------------------------------------------------------------


class Div0(Exception):
    pass


class Outside(Exception):
    """The expression is outside the documented grammar or its limits."""


_ARITH = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}
_CMP = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
        ast.Eq: operator.eq, ast.NotEq: operator.ne}  # fmt: skip


def documented(text: str) -> ast.expr:
    """The tree of ``text`` if the README's grammar and limits allow it; else ``Outside``."""
    if not isinstance(text, str) or len(text) > MAX_CHARS:
        raise Outside
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise Outside from None
    count, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH or count > MAX_NODES:
            raise Outside
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool):
                continue
            if not isinstance(v, int | float) or (isinstance(v, float) and not math.isfinite(v)):
                raise Outside
            if abs(v) > MAX_CONSTANT:
                raise Outside
            continue
        if isinstance(node, ast.Name):
            if node.id not in SWEEPABLE:
                raise Outside
            continue
        if isinstance(node, ast.BoolOp):
            kids = node.values
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd | ast.Not):
            kids = [node.operand]
        elif isinstance(node, ast.Compare) and all(type(o) in _CMP for o in node.ops):
            kids = [node.left, *node.comparators]
        elif isinstance(node, ast.BinOp) and type(node.op) in (*_ARITH, ast.Div, ast.Mod):
            kids = [node.left, node.right]
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            e = literal(node.right)
            if e is None or abs(e) > MAX_EXPONENT:
                raise Outside
            kids = [node.left, node.right]
        else:
            raise Outside
        stack.extend((k, depth + 1) for k in kids)
    return tree


def literal(node: ast.expr) -> float | None:
    sign = 1.0
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return sign * float(node.value) if abs(node.value) <= MAX_CONSTANT else math.inf
    return None


def truth(x) -> bool:
    if isinstance(x, bool | np.bool_):
        return bool(x)
    return bool(x != 0 and not math.isnan(x))


def num(x) -> np.float64:
    return np.float64(float(x))


def reference(node: ast.expr, row: dict):
    """The value of ``node`` for one combination, as documented (scalar, short-circuiting)."""
    if isinstance(node, ast.Constant):
        return np.float64(float(node.value))
    if isinstance(node, ast.Name):
        return row[node.id]
    if isinstance(node, ast.BoolOp):
        want = isinstance(node.op, ast.Or)  # the value that decides
        for v in node.values:
            if truth(reference(v, row)) == want:
                return want
        return not want
    if isinstance(node, ast.UnaryOp):
        v = reference(node.operand, row)
        if isinstance(node.op, ast.Not):
            return not truth(v)
        return -num(v) if isinstance(node.op, ast.USub) else num(v)
    if isinstance(node, ast.BinOp):
        left = num(reference(node.left, row))
        if isinstance(node.op, ast.Pow):
            e = literal(node.right)
            if e < 0 and left == 0:
                raise Div0
            return np.power(left, e)
        right = num(reference(node.right, row))
        if isinstance(node.op, ast.Div | ast.Mod):
            if right == 0:
                raise Div0
            return np.true_divide(left, right) if isinstance(node.op, ast.Div) else np.remainder(
                left, right)  # fmt: skip
        return _ARITH[type(node.op)](left, right)
    left = num(reference(node.left, row))
    for op, comparator in zip(node.ops, node.comparators, strict=True):
        right = num(reference(comparator, row))
        if not _CMP[type(op)](left, right):
            return False
        left = right
    return True


def rows(g: Grid, base: ScanParams) -> list[dict]:
    """Every combination of ``g`` by name, floats (NaN: off), as the constraint sees it."""
    cols = g.decode(np.arange(g.size))
    values = {k: (np.nan if v is None else float(v)) for k, v in base.values().items()
              if k in SWEEPABLE}  # fmt: skip
    return [{**values, **{k: np.float64(float(c[i])) for k, c in cols.items()}}
            for i in range(g.size)]  # fmt: skip


G = Grid.parse(GRID, CLS)
ROWS = rows(G, CLS)


@FUZZ
@given(text=constraints)
def test_a_constraint_is_refused_in_one_line_or_selects_what_the_reference_selects(text):
    try:
        tree = documented(text)
    except Outside:
        tree = None
    with bounded():
        try:
            got = select(G, CLS, text)
        except Exception as e:  # noqa: BLE001 - the contract is about every exception
            got = e
    if tree is None:  # outside the grammar or its limits: refused
        assert isinstance(got, Exception), (text, got)
        one_line(got)
        assert one_line(got).startswith("constraint"), got
        return
    expected, div0 = [], None
    with np.errstate(all="ignore"):
        for i, row in enumerate(ROWS):
            try:
                if truth(reference(tree, row)):
                    expected.append(i)
            except Div0:
                div0 = i
                break
    if div0 is not None:
        assert isinstance(got, ConfigError), (text, got)
        assert f"division by zero at combination {div0}" in one_line(got), (text, got)
    elif not expected:
        assert isinstance(got, ConfigError) and "no combination" in one_line(got), (text, got)
    else:
        assert not isinstance(got, Exception), (text, got)
        assert got.tolist() == expected, text


@pytest.mark.parametrize("text", ["9**9**9**9", "2**2**2**2**2**2**2**2", "(" * 5000 + ")" * 5000,
                                  "-" * 100_000 + "1", "not " * 50_000 + "1", "1" * 100_000])  # fmt: skip
def test_the_issues_hostile_constraints_are_refused_at_once(text):
    with bounded():
        with pytest.raises(ConfigError) as err:
            select(G, CLS, text)
    assert one_line(err.value).startswith("constraint")


# -- grids -----------------------------------------------------------------------------------------

values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**70), 2**70),
    st.integers(-3, 10), st.floats(0, 1), st.booleans(), st.none(), st.text(max_size=8),
    st.sampled_from(["off", "none", "true", "1e400", "nan", "0.5"]), st.lists(st.integers(), max_size=2),
)  # fmt: skip
bound = st.one_of(st.floats(-2, 3, allow_nan=False), st.integers(-2, 20), st.sampled_from(
    [float("nan"), float("inf"), "x", None, True, 1e300, 10**400, -(2**1100)]))  # fmt: skip
step = st.one_of(st.floats(1e-3, 2), st.integers(0, 3), st.sampled_from([1e-9, -1, 1e-6, 0.0]))
axis = st.one_of(
    st.lists(values, max_size=12),
    st.tuples(bound, bound, step).map(lambda t: f"{t[0]}:{t[1]}:{t[2]}"),
    st.tuples(bound, bound, step).map(lambda t: {"start": t[0], "stop": t[1], "step": t[2]}),
    st.dictionaries(st.sampled_from(["start", "stop", "step", "by"]), bound, max_size=4),
    st.lists(values, max_size=6).map(lambda v: ",".join(map(str, v))),
    values,
)
names = st.one_of(st.sampled_from(sorted(SWEEPABLE)), st.sampled_from(["features", "warmup_bars"]),
                  st.text(max_size=5))  # fmt: skip
grids = st.dictionaries(names, axis, max_size=4)


@settings(FUZZ, max_examples=400)
@given(grid=grids)
def test_a_grid_is_refused_in_one_line_or_holds_only_valid_values(grid):
    with bounded():
        try:
            got = Grid.parse(grid, CLS)
        except Exception as e:  # noqa: BLE001
            got = e
    if isinstance(got, Exception):
        assert one_line(got).startswith("grid"), got
        return
    assert got.names == tuple(grid)
    for name, vals in zip(got.names, got.values, strict=True):
        assert 0 < len(vals) <= MAX_AXIS_VALUES and len(set(vals)) == len(vals)
        for v in vals:
            assert v is not None or name in OPTIONAL
            CLS.with_values(**{name: v})  # each value is one the parameter takes
    assert got.size >= 1


# -- arguments ---------------------------------------------------------------------------------------

anything = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=5),
    st.integers(0, 2**64 - 1).map(np.uint64), st.integers(-5, 5).map(np.int8),
    st.lists(st.integers(), max_size=2), st.sampled_from([1.0, 2.5, "10", b"1", object()]),
)  # fmt: skip


def _valid_int(v, lo, hi=None, optional=True) -> bool:
    if v is None:
        return optional
    if isinstance(v, np.integer):
        v = int(v)
    return type(v) is int and v >= lo and (hi is None or v <= hi)


@FUZZ
@given(seed=anything, max_combos=anything, threads=st.one_of(anything, st.integers(1, 2)),
       constraint=st.one_of(st.none(), st.sampled_from(["commission > 0", "1/0 > 1"]), anything))  # fmt: skip
def test_sweep_arguments_are_refused_naming_the_argument_or_pass(seed, max_combos, threads,
                                                                 constraint):  # fmt: skip
    kwargs = dict(seed=seed, max_combos=max_combos, threads=threads, constraint=constraint)
    ok = {"seed": _valid_int(seed, 0, 2**64 - 1, optional=False),
          "max_combos": _valid_int(max_combos, 1), "threads": _valid_int(threads, 1, min(1024, numba.config.NUMBA_NUM_THREADS)),
          "constraint": constraint is None or isinstance(constraint, str)}  # fmt: skip
    with bounded():
        try:
            vbt.sweep(object(), {"commission": [0.0, 0.001]}, **kwargs)
        except Exception as e:  # noqa: BLE001
            got = e
        else:
            got = None
    text = one_line(got)  # never a result: the run is not a config
    bad = [k for k, good in ok.items() if not good]
    if bad:
        assert text.startswith(tuple(f"{k} = " for k in bad)), (kwargs, text)
    else:  # the constraint's grammar, or the run that is no run
        assert text.startswith(("constraint", "sweep: pass")), (kwargs, text)
        if ok["seed"] and ok["max_combos"]:  # select: a correct sample
            g = Grid.parse({"commission": "0:0.009:0.001", "slippage": "0:0.009:0.001"}, CLS)
            a = select(g, CLS, "slippage <= commission", max_combos, seed)
            b = select(g, CLS, "slippage <= commission", max_combos, seed)
            assert a.tolist() == b.tolist() and np.all(np.diff(a) > 0)
            assert len(a) == min(int(max_combos or 55), 55)
            cols = g.decode(a)
            assert np.all(cols["slippage"] <= cols["commission"])
