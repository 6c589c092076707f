"""Parameter grids: what can be swept, how values are written, and which combinations run.

A grid is a product of axes, one per swept parameter. Combination ``i`` is decoded from its index
in mixed radix (the last axis varies fastest), so a grid is never held as a list of combinations:
a billion-point grid with ``max_combos`` costs nothing to describe.

Only parameters that do not change the model's output can be swept (they act in the scan, after
one inference): the decision filters, the regression threshold, sizing and costs. Anything that
changes the features or the model needs a new inference, which is a batch, not a sweep.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vbt.errors import ConfigError
from vbt.params import RISK_FIELDS, RUN_SETTINGS, DecisionParams, ExecutionParams, value_type
from vbt.sim.records import DERIVED, SETTING_FIELDS, params_records
from vbt.sim.runner import ScanParams

#: run settings read by the kernel that a sweep keeps fixed (the signal funnel's warm-up)
FIXED = frozenset(("warmup_bars",))
#: parameter → the PARAMS_DTYPE field it sets: every run setting the kernel reads, but FIXED
#: (round_trip_cost and min_edge_multiplier both set the regression threshold, their product)
SWEEPABLE = {k: SETTING_FIELDS[k] for k in RUN_SETTINGS if k in SETTING_FIELDS and k not in FIXED}
_TYPES = {k: value_type({**DecisionParams.model_fields, **ExecutionParams.model_fields}[k])
          for k in SWEEPABLE}  # fmt: skip
#: risk exits: a grid value None (or "none"/"off") turns the exit off for that combination
OPTIONAL = frozenset(RISK_FIELDS) & set(SWEEPABLE)
BOOLEAN = frozenset(k for k, t in _TYPES.items() if t is bool)
INTEGER = frozenset(k for k, t in _TYPES.items() if t is int)
CLASSIFICATION_ONLY = frozenset(("confidence_threshold", "allow_short_from_flat"))
REGRESSION_ONLY = frozenset(DERIVED["regression_threshold"][0])
MAX_AXIS_VALUES = 1_000_000
MAX_GRID_SIZE = 2**62
MAX_ROWS = 10_000_000  # combinations one sweep runs (about 4 GB of results at most)


def parse_values(name: str, spec: Any) -> list:
    """The values of one axis from its spec.

    spec: a list (or tuple, array, ``range``) of values; a scalar; a dict ``{start, stop, step}``;
    or a string: ``"a:b:s"`` (start to stop inclusive, by step), ``"a,b,c"`` or one value
    (``true``/``false`` for flags). Raises ``ConfigError`` naming the parameter.
    """
    where = f"grid.{name}"
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"start", "stop", "step"}
        if unknown or len(spec) != 3:
            raise ConfigError(f"{where}: a range needs exactly start, stop and step")
        return _range(where, spec["start"], spec["stop"], spec["step"])
    if isinstance(spec, str):
        text = spec.strip()
        if text.count(":") == 2:
            start, stop, step = (_number(where, p) for p in text.split(":"))
            return _range(where, start, stop, step)
        return [_scalar(name, p.strip()) for p in text.split(",")] if text else []
    if isinstance(spec, range):
        return list(spec)
    if isinstance(spec, np.ndarray):
        return spec.reshape(-1).tolist()
    if isinstance(spec, Sequence):
        return [v.item() if isinstance(v, np.generic) else v for v in spec]
    return [spec.item() if isinstance(spec, np.generic) else spec]


def _number(where: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{where}: {text.strip()!r} is not a number") from None


def _scalar(name: str, text: str) -> Any:
    if name in OPTIONAL and text.lower() in ("none", "off"):
        return None
    if name in INTEGER:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"grid.{name}: {text!r} is not a whole number of bars") from None
    if name in BOOLEAN:
        low = text.lower()
        if low in ("true", "false"):
            return low == "true"
        raise ConfigError(f"grid.{name}: {text!r} is not true or false")
    return _number(f"grid.{name}", text)


def _range(where: str, start: Any, stop: Any, step: Any) -> list[float]:
    for v in (start, stop, step):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ConfigError(f"{where}: range bound {v!r} is not a finite number")
    if step <= 0 or stop < start:
        raise ConfigError(f"{where}: range {start}:{stop}:{step} needs step > 0 and stop >= start")
    count = math.floor((stop - start) / step + 1e-9) + 1
    if count > MAX_AXIS_VALUES:
        raise ConfigError(
            f"{where}: range {start}:{stop}:{step} has {count:,} values (max {MAX_AXIS_VALUES:,})"
        )
    # 12 significant digits: 0.4 + 3 * 0.05 is 0.55, not 0.5500000000000002
    return [float(f"{start + k * step:.12g}") for k in range(count)]


@dataclass(frozen=True)
class Grid:
    """The swept parameters and their values, in the order given (the last varies fastest).

    ``Grid.parse(grid, base)`` validates a ``{name: spec}`` mapping against the run's base
    ``ScanParams``: unknown parameters, empty or duplicate values, values out of range and
    parameters that do nothing for this model are a ``ConfigError`` naming the parameter (and the
    value).
    """

    names: tuple[str, ...]
    values: tuple[tuple, ...]

    @classmethod
    def parse(cls, grid: Mapping[str, Any], base: ScanParams) -> Grid:
        if not isinstance(grid, Mapping) or not grid:
            raise ConfigError(
                "grid: give at least one parameter to sweep, e.g. {'commission': [0.0005, 0.001]}"
            )
        d = base.decisions
        if not d.trades:
            raise ConfigError(
                f"grid: a {d.output_type} model never trades; there is nothing to sweep"
            )
        names, values = [], []
        for name, spec in grid.items():
            if name not in SWEEPABLE:
                raise ConfigError(
                    f"grid.{name}: not a sweepable parameter; sweepable: {', '.join(SWEEPABLE)}"
                    " (anything that changes the features or the model needs a new inference:"
                    " run a batch)"
                )
            if name in REGRESSION_ONLY and not d.is_regression:
                raise ConfigError(
                    f"grid.{name}: only a regression model's threshold uses it; this model is classification"
                )
            if name in CLASSIFICATION_ONLY and d.is_regression:
                raise ConfigError(f"grid.{name}: has no effect on a regression model")
            vals = parse_values(name, spec)
            if not vals:
                raise ConfigError(f"grid.{name}: no values")
            seen = set()
            for v in vals:
                if name in BOOLEAN and not isinstance(v, bool):
                    raise ConfigError(f"grid.{name} = {v!r}: must be true or false")
                if v is None and name not in OPTIONAL:
                    raise ConfigError(f"grid.{name} = None: only a risk exit can be off")
                try:
                    base.with_values(**{name: v})
                except ConfigError as exc:  # "name = value: why"
                    raise ConfigError(f"grid.{exc}") from None
                if v in seen:
                    raise ConfigError(f"grid.{name} = {v!r}: given twice")
                seen.add(v)
            names.append(name)
            values.append(tuple(vals))
        return cls(tuple(names), tuple(values))

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.values)

    @property
    def size(self) -> int:
        """Number of combinations (a Python int: it may exceed what one sweep runs)."""
        return math.prod(self.shape)

    def to_dict(self) -> dict[str, list]:
        return {n: list(v) for n, v in zip(self.names, self.values, strict=True)}

    def digits(self, index: np.ndarray) -> list[np.ndarray]:
        """The per-axis value positions of combination indices int64[m] (mixed radix)."""
        out = []
        rest = np.asarray(index, dtype=np.int64)
        for size in reversed(self.shape):
            out.append(rest % size)
            rest = rest // size
        return out[::-1]

    def decode(self, index: np.ndarray) -> dict[str, np.ndarray]:
        """{parameter: its value in each combination} for combination indices int64[m]; a risk
        exit that is off reads as NaN."""
        return {
            name: _column(name, vals)[d]
            for name, vals, d in zip(self.names, self.values, self.digits(index), strict=True)
        }

    def settings(self, base: ScanParams, index: np.ndarray) -> dict[str, Any]:
        """Every run setting of combinations int64[m] by flat name: the swept ones as columns
        (``decode``), the others as the base's values, and ``bar_ns``."""
        return {**base.values(), "bar_ns": base.bar_ns, **self.decode(index)}

    def records(self, base: ScanParams, index: np.ndarray) -> np.ndarray:
        """PARAMS_DTYPE[m]: the kernel parameters of each combination, built by the builder of
        a single run's (``vbt.sim.records.params_records``), so equal byte for byte to
        ``base.with_values(**row).to_record()``."""
        return params_records(self.settings(base, index), len(index))

    def row_params(self, base: ScanParams, index: int) -> ScanParams:
        """The ScanParams of combination ``index``."""
        digits = self.digits(np.array([index]))
        return base.with_values(
            **{n: v[int(d[0])] for n, v, d in zip(self.names, self.values, digits, strict=True)}
        )


def _column(name: str, vals: tuple) -> np.ndarray:
    """An axis' values as an array: bool for flags, float64 otherwise (None → NaN)."""
    if name in BOOLEAN:
        return np.asarray(vals, dtype=bool)
    return np.array([np.nan if v is None else v for v in vals], dtype=np.float64)


# -- choosing the combinations --------------------------------------------------------------------


def select(
    grid: Grid,
    base: ScanParams,
    constraint: str | Callable[[Any], bool] | None = None,
    max_combos: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """The combination indices a sweep runs, sorted: int64[m].

    ``constraint`` keeps the combinations for which it is true: an expression over parameter
    names (``"slippage <= commission"``, with ``and``/``or``/``not``, comparisons and arithmetic;
    an unswept parameter reads as its base value) or a callable given each combination as an
    object with one attribute per parameter (as backtesting.py's ``constraint``). ``max_combos``
    then draws that many of them, uniformly without replacement, with the seeded generator
    ``numpy.random.default_rng(seed)``: the same seed gives the same subset.
    """
    if max_combos is not None and (isinstance(max_combos, bool) or int(max_combos) < 1):
        raise ConfigError(f"max_combos = {max_combos!r}: must be an integer >= 1")
    total = grid.size
    if total > MAX_GRID_SIZE:
        raise ConfigError(f"grid: {total:.3g} combinations; at most 2**62 can be indexed")
    keep = _compile_constraint(constraint, base) if constraint is not None else None
    rng = np.random.default_rng(seed)
    if total <= MAX_ROWS:
        index = np.arange(total, dtype=np.int64)
        if keep is not None:
            index = index[keep(grid.decode(index))]
        if max_combos is not None and max_combos < index.size:
            index = np.sort(rng.choice(index, size=int(max_combos), replace=False))
    else:
        if max_combos is None or max_combos > MAX_ROWS:
            raise ConfigError(
                f"grid: {total:,} combinations; one sweep runs at most {MAX_ROWS:,}: set max_combos"
                " to draw a random subset"
            )
        index = _draw(grid, keep, int(max_combos), total, rng)
    if index.size == 0:
        raise ConfigError("constraint: no combination of the grid satisfies it")
    return index


def _draw(grid: Grid, keep, want: int, total: int, rng) -> np.ndarray:
    """``want`` distinct indices of a huge grid that satisfy ``keep``, by seeded rejection."""
    chosen = np.empty(0, dtype=np.int64)
    for _ in range(64):
        need = want - chosen.size
        cand = rng.choice(total, size=min(total, 2 * need + 16), replace=False).astype(np.int64)
        cand = np.setdiff1d(cand, chosen, assume_unique=False)
        if keep is not None:
            cand = cand[keep(grid.decode(cand))]
        chosen = np.union1d(chosen, rng.permutation(cand)[:need])
        if chosen.size >= want:
            return chosen[:want]
    raise ConfigError(f"constraint: fewer than {want:,} combinations satisfy it in 64 draws")


def _plain(name: str, value: np.generic) -> Any:
    """A decoded value as Python: a risk exit that is off (NaN) as None."""
    v = value.item()
    return None if name in OPTIONAL and v != v else v


class _Row:
    """One combination as seen by a constraint callable: ``row.commission`` or ``row["commission"]``."""

    def __init__(self, values: dict[str, Any]):
        self.__dict__.update(values)

    def __getitem__(self, key: str) -> Any:
        return self.__dict__[key]


def _compile_constraint(constraint, base: ScanParams) -> Callable[[dict], np.ndarray]:
    """A vectorised predicate over decoded columns ({name: array}) -> bool[m]."""
    defaults = {k: v for k, v in base.values().items() if k in SWEEPABLE}
    numeric = {k: np.nan if v is None else v for k, v in defaults.items()}  # off → NaN
    if callable(constraint):

        def keep_rows(cols: dict) -> np.ndarray:
            m = len(next(iter(cols.values())))
            out = np.empty(m, dtype=bool)
            for i in range(m):
                row = _Row({**defaults, **{k: _plain(k, v[i]) for k, v in cols.items()}})
                out[i] = bool(constraint(row))
            return out

        return keep_rows
    if not isinstance(constraint, str):
        raise ConfigError("constraint: must be an expression string or a callable")
    try:
        tree = ast.parse(constraint.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConfigError(f"constraint {constraint!r}: not an expression ({exc.msg})") from None
    _check(tree.body, constraint)

    def keep_expr(cols: dict) -> np.ndarray:
        m = len(next(iter(cols.values())))
        env = {**numeric, **cols}
        with np.errstate(all="ignore"):
            out = _eval(tree.body, env)
        return np.broadcast_to(np.asarray(out, dtype=bool), (m,)).copy()

    return keep_expr


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow, ast.Mod: operator.mod}  # fmt: skip
_CMPOPS = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
           ast.Eq: operator.eq, ast.NotEq: operator.ne}  # fmt: skip


def _check(node: ast.AST, text: str) -> None:
    """Allow only names of sweepable parameters, numbers, booleans, arithmetic, comparisons and
    and/or/not: a constraint can never run code."""
    ok = (ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.BinOp,
          ast.Compare, ast.Name, ast.Constant, ast.Load, *_BINOPS, *_CMPOPS)  # fmt: skip
    for sub in ast.walk(node):
        if not isinstance(sub, ok):
            raise ConfigError(f"constraint {text!r}: {type(sub).__name__} is not allowed")
        if isinstance(sub, ast.Name) and sub.id not in SWEEPABLE:
            raise ConfigError(f"constraint {text!r}: unknown parameter {sub.id!r}")
        if isinstance(sub, ast.Constant) and (
            isinstance(sub.value, str) or not isinstance(sub.value, int | float | bool)
        ):
            raise ConfigError(f"constraint {text!r}: {sub.value!r} is not a number")


def _eval(node: ast.AST, env: dict) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.BoolOp):
        parts = [np.asarray(_eval(v, env), dtype=bool) for v in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        out = parts[0]
        for p in parts[1:]:
            out = combine(out, p)
        return out
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env)
        if isinstance(node.op, ast.Not):
            return np.logical_not(v)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)](_eval(node.left, env), _eval(node.right, env))
    if isinstance(node, ast.Compare):
        left = _eval(node.left, env)
        out = True
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _eval(right_node, env)
            out = np.logical_and(out, _CMPOPS[type(op)](left, right))
            left = right
        return out
    raise ConfigError(f"constraint: {type(node).__name__} is not allowed")  # unreachable: _check
