"""Sweep constraints: a small, bounded expression language over parameter names.

A constraint such as ``"slippage <= commission / 2 and stop_loss < 0.02"`` keeps the
combinations of a grid for which it holds. It is parsed once (``parse``), before any data is
read, into a whitelisted syntax tree, and evaluated vectorised over blocks of combinations in
float64 arithmetic (``Constraint.evaluate``). Nothing in it can run code, take long or grow
memory without bound:

- **Syntax:** numbers, ``True``/``False``, parameter names, ``+ - * / %``, ``**`` (see below),
  unary ``-``/``+``, comparisons (``< <= > >= == !=``, chained), ``and``/``or``/``not`` and
  parentheses. Anything else (calls, attributes, subscripts, strings, lambdas, ...) is refused.
- **Bounds:** at most ``MAX_CHARS`` characters, ``MAX_NODES`` expression nodes, nesting depth
  ``MAX_DEPTH``; a number's magnitude at most ``MAX_CONSTANT``; ``a ** e`` only with ``e`` a
  number written in the expression (optionally signed) with ``|e| <= MAX_EXPONENT``.
- **Arithmetic** is float64: an overflow is ±inf, a negative number to a fractional power is NaN,
  and a comparison with NaN is false (``!=`` aside). A risk exit that is off reads as NaN. As a
  truth value (``and``/``or``/``not``, or the whole expression) a number is true when it is
  neither 0 nor NaN.
- **Division by zero** (``x / 0``, ``x % 0``, ``0 ** -e``) is an error, ``ConfigError`` naming
  the constraint and the first combination where it happens, unless the operand is never
  reached there: ``and``, ``or`` and chained comparisons short-circuit per combination, as in
  Python, so ``commission > 0 and slippage / commission < 2`` is fine.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from vbt.errors import ConfigError

MAX_CHARS = 1000
MAX_NODES = 100
MAX_DEPTH = 32
MAX_CONSTANT = 1e15
MAX_EXPONENT = 4

_ARITH = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply}
_DIVIDE = {ast.Div: np.true_divide, ast.Mod: np.remainder}  # Python's % sign rule
_COMPARE = {ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater,
            ast.GtE: np.greater_equal, ast.Eq: np.equal, ast.NotEq: np.not_equal}  # fmt: skip
_UNARY = (ast.USub, ast.UAdd, ast.Not)


class DivisionByZero(Exception):
    """Raised by ``Constraint.evaluate``: ``row`` is the first row (of the block) that divides
    by zero."""

    def __init__(self, row: int):
        super().__init__(row)
        self.row = row


def shown(text: str, limit: int = 80) -> str:
    """The constraint as messages quote it: repr, cut to ``limit`` characters."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


@dataclass(frozen=True)
class Constraint:
    """A parsed constraint: its text, its checked syntax tree and the parameter names it reads."""

    text: str
    tree: ast.expr
    names: frozenset[str]

    def evaluate(self, columns: Mapping[str, Any], m: int) -> np.ndarray:
        """bool[m]: whether each of ``m`` combinations satisfies the constraint.

        columns: {name: float64[m] or bool[m] array, or a number (the same in every row; NaN
        for a risk exit that is off)} for at least the names it reads. Raises
        ``DivisionByZero`` with the first row that divides by zero where it is evaluated (what
        Python would do row by row: ``and``, ``or`` and chained comparisons short-circuit).
        """
        live, bad = np.ones(m, dtype=bool), np.zeros(m, dtype=bool)
        with np.errstate(all="ignore"):
            out = _truth(_eval(self.tree, columns, live, bad))
        if bad.any():  # the first row that divides by zero anywhere, as row-by-row would find
            raise DivisionByZero(int(np.flatnonzero(bad)[0]))
        return np.broadcast_to(out, (m,)).copy()


def parse(text: Any, known: Collection[str]) -> Constraint:
    """Parse and check a constraint (see the module docstring); ``known``: the parameter names
    it may read. Raises ``ConfigError`` "constraint '<text>': <why>"."""
    if not isinstance(text, str):
        raise ConfigError(f"constraint = {text!r}: must be an expression (a string)")
    where = f"constraint {shown(text)}"
    if len(text) > MAX_CHARS:
        raise ConfigError(f"{where}: {len(text):,} characters; at most {MAX_CHARS:,}")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ConfigError(f"{where}: not an expression ({exc.msg})") from None
    except (RecursionError, MemoryError, ValueError):  # the parser's own limits
        raise ConfigError(f"{where}: not an expression (nested too deeply)") from None
    nodes, names = 0, set()
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:  # iterative: a deep tree cannot exhaust the stack here
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ConfigError(f"{where}: nested more than {MAX_DEPTH} deep")
        nodes += 1
        if nodes > MAX_NODES:
            raise ConfigError(f"{where}: more than {MAX_NODES} terms and operators")
        children = _check_node(node, where, known)
        if isinstance(node, ast.Name):
            names.add(node.id)
        stack.extend((c, depth + 1) for c in children)
    return Constraint(text=text, tree=tree, names=frozenset(names))


def _check_node(node: ast.AST, where: str, known: Collection[str]) -> list[ast.expr]:
    """The node's sub-expressions, if the node is allowed; else ``ConfigError``."""
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool):
            return []
        if not isinstance(v, int | float):
            raise ConfigError(f"{where}: {v!r} is not a number")
        if (isinstance(v, float) and not math.isfinite(v)) or abs(v) > MAX_CONSTANT:
            raise ConfigError(f"{where}: {_number(v)} is beyond ±{MAX_CONSTANT:.0e}")
        return []
    if isinstance(node, ast.Name):
        if node.id not in known:
            raise ConfigError(f"{where}: unknown parameter {node.id!r}")
        return []
    if isinstance(node, ast.BoolOp):
        return list(node.values)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, _UNARY):
        return [node.operand]
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        return [node.left, *node.comparators]
    if isinstance(node, ast.BinOp):
        op = type(node.op)
        if op is ast.Pow:
            e = _literal(node.right)
            if e is None:
                raise ConfigError(f"{where}: the exponent of ** must be a number written in "
                                  f"the expression (|e| <= {MAX_EXPONENT})")  # fmt: skip
            if not (math.isfinite(e) and abs(e) <= MAX_EXPONENT):
                raise ConfigError(f"{where}: exponent {_number(e)} of ** is beyond "
                                  f"±{MAX_EXPONENT}")  # fmt: skip
            return [node.left, node.right]  # the exponent is a node too (a literal)
        if op in _ARITH or op in _DIVIDE:
            return [node.left, node.right]
    if isinstance(node, ast.UnaryOp | ast.BinOp):
        bad: Any = node.op
    elif isinstance(node, ast.Compare):
        bad = next(op for op in node.ops if type(op) not in _COMPARE)
    else:
        bad = node
    raise ConfigError(f"{where}: {type(bad).__name__} is not allowed")


def _number(v: int | float) -> str:
    """A number for a message, short even when it has hundreds of digits."""
    if isinstance(v, int) and abs(v) > 10**15:
        return f"an integer of {len(str(abs(v)))} digits"  # at most MAX_CHARS digits
    return f"{v:g}"


def _literal(node: ast.expr) -> float | None:
    """The value of a number written in the expression (``4``, ``-0.5``, ``+2``), else None."""
    sign = 1.0
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        v = node.value
        return sign * float(v) if abs(v) <= MAX_CONSTANT else math.inf
    return None


# -- evaluation ------------------------------------------------------------------------------


def _num(x: Any) -> Any:
    """A value as float64 (a truth value as 0/1)."""
    return np.asarray(x, dtype=np.float64)


def _truth(x: Any) -> np.ndarray:
    """A value as a truth value: a number is true when it is neither 0 nor NaN."""
    a = np.asarray(x)
    if a.dtype == bool:
        return a
    a = a.astype(np.float64, copy=False)
    return (a != 0) & ~np.isnan(a)


def _zero_where(divisor: Any, live: np.ndarray, bad: np.ndarray) -> None:
    """Mark in ``bad`` the live rows whose divisor is 0."""
    bad |= np.asarray(divisor == 0) & live


def _eval(node: ast.expr, env: Mapping[str, Any], live: np.ndarray, bad: np.ndarray) -> Any:
    """The value of ``node`` in each row; ``live``: the rows where Python would evaluate it
    (``and``/``or`` and chained comparisons short-circuit), the only rows whose division by
    zero counts: those are marked in ``bad`` (their values go on as inf or NaN)."""
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.BoolOp):
        is_and = isinstance(node.op, ast.And)
        out = np.asarray(is_and)
        live = live.copy()
        for value in node.values:
            t = _truth(_eval(value, env, live, bad))
            out = (out & t) if is_and else (out | t)
            live &= t if is_and else ~t
        return out
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env, live, bad)
        if isinstance(node.op, ast.Not):
            return ~_truth(v)
        return -_num(v) if isinstance(node.op, ast.USub) else _num(v)
    if isinstance(node, ast.BinOp):
        op = type(node.op)
        left = _num(_eval(node.left, env, live, bad))
        if op is ast.Pow:
            e = _literal(node.right)
            if e < 0:
                _zero_where(left, live, bad)
            return np.power(left, e)
        right = _num(_eval(node.right, env, live, bad))
        if op in _DIVIDE:
            _zero_where(right, live, bad)
            return _DIVIDE[op](left, right)
        return _ARITH[op](left, right)
    if isinstance(node, ast.Compare):
        out = np.asarray(True)
        live = live.copy()
        left = _num(_eval(node.left, env, live, bad))
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _num(_eval(comparator, env, live, bad))
            t = _COMPARE[type(op)](left, right)
            out = out & t
            live &= t
            left = right
        return out
    raise AssertionError(f"unchecked node {type(node).__name__}")  # parse refuses it


__all__ = ["MAX_CHARS", "MAX_CONSTANT", "MAX_DEPTH", "MAX_EXPONENT", "MAX_NODES", "Constraint",
           "DivisionByZero", "parse"]  # fmt: skip
