"""Parameter grids: what can be swept, how values are written, and which combinations run.

A grid is a product of axes, one per swept parameter. Combination ``i`` is decoded from its index
in mixed radix (the last axis varies fastest), so a grid is never held as a list of combinations:
a billion-point grid with ``max_combos`` costs nothing to describe.

Only parameters that do not change the model's output can be swept (they act in the scan, after
one inference): the decision filters, the regression threshold, sizing and costs. Anything that
changes the features or the model needs a new inference, which is a batch, not a sweep.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vbt.arguments import SEED, Arguments, count
from vbt.arguments import shown as shown_value
from vbt.errors import ConfigError
from vbt.params import RISK_FIELDS, RUN_SETTINGS, DecisionParams, ExecutionParams, value_type
from vbt.sim.records import DERIVED, SETTING_FIELDS, params_records
from vbt.sim.runner import ScanParams
from vbt.sweeps import constraint as grammar
from vbt.sweeps.constraint import Constraint, DivisionByZero, shown

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
#: combinations a constraint is evaluated over at once (bounds its temporary arrays)
BLOCK = 65_536
#: what ``select`` (and ``vbt.sweep``) take: max_combos, then the seed of its draw
SELECT_ARGUMENTS = Arguments("select", max_combos=count(1, optional=True),
                             seed=SEED)  # fmt: skip
_DEFAULTS = ScanParams()  # each value's own range does not depend on the model


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
        return _whole(name, _range(where, spec["start"], spec["stop"], spec["step"]))
    if isinstance(spec, str):
        text = spec.strip()
        if text.count(":") == 2:
            start, stop, step = (_number(where, p) for p in text.split(":"))
            return _whole(name, _range(where, start, stop, step))
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


def _whole(name: str, values: list[float]) -> list:
    """A range of a count of bars as ints (``"1:5:1"`` is 1, 2, 3, 4, 5); a value that is not a
    whole number is a ``ConfigError``."""
    if name not in INTEGER:
        return values
    for v in values:
        if not v.is_integer():
            raise ConfigError(f"grid.{name} = {v!r}: not a whole number of bars")
    return [int(v) for v in values]


def _range(where: str, start: Any, stop: Any, step: Any) -> list[float]:
    bounds = []
    for v in (start, stop, step):
        try:
            f = None if isinstance(v, bool) or not isinstance(v, int | float) else float(v)
        except OverflowError:  # an int beyond a float
            f = None
        if f is None or not math.isfinite(f):
            raise ConfigError(f"{where}: range bound {shown_value(v)} is not a finite number")
        bounds.append(f)
    start, stop, step = bounds
    if step <= 0 or stop < start:
        raise ConfigError(
            f"{where}: range {start:g}:{stop:g}:{step:g} needs step > 0 and stop >= start"
        )
    span = (stop - start) / step  # may overflow to inf
    if not span < MAX_AXIS_VALUES:
        raise ConfigError(f"{where}: range {start:g}:{stop:g}:{step:g} has more than "
                          f"{MAX_AXIS_VALUES:,} values")  # fmt: skip
    count = math.floor(span + 1e-9) + 1
    if count > MAX_AXIS_VALUES:
        raise ConfigError(
            f"{where}: range {start:g}:{stop:g}:{step:g} has {count:,} values (max {MAX_AXIS_VALUES:,})"
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
    def parse(cls, grid: Mapping[str, Any], base: ScanParams | None = None) -> Grid:
        """The grid of ``{name: spec}``: every axis parsed (``parse_values``) and every value
        checked against its parameter's range; then, given the run's ``base``, against the
        model (``check_for``). What needs no model is checked without one (``base`` None)."""
        if not isinstance(grid, Mapping) or not grid:
            raise ConfigError(
                "grid: give at least one parameter to sweep, e.g. {'commission': [0.0005, 0.001]}"
            )
        names, values = [], []
        for name, spec in grid.items():
            if name not in SWEEPABLE:
                plain = isinstance(name, str) and name.isidentifier()
                where = f"grid.{name}" if plain else f"grid[{shown_value(name)}]"
                raise ConfigError(
                    f"{where}: not a sweepable parameter; sweepable: {', '.join(SWEEPABLE)}"
                    " (anything that changes the features or the model needs a new inference:"
                    " run a batch)"
                )
            names.append(name)
            values.append(_axis(name, spec))
        g = cls(tuple(names), tuple(values))
        return g if base is None else g.check_for(base)

    def check_for(self, base: ScanParams) -> Grid:
        """This grid, if every parameter acts for the run's model (``base``); else a
        ``ConfigError`` naming the parameter."""
        d = base.decisions
        if not d.trades:
            raise ConfigError(
                f"grid: a {d.output_type} model never trades; there is nothing to sweep"
            )
        for name in self.names:
            if name in REGRESSION_ONLY and not d.is_regression:
                raise ConfigError(
                    f"grid.{name}: only a regression model's threshold uses it; this model is classification"
                )
            if name in CLASSIFICATION_ONLY and d.is_regression:
                raise ConfigError(f"grid.{name}: has no effect on a regression model")
        return self

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


def _axis(name: str, spec: Any) -> tuple:
    """The values of one axis, each checked: the type (a flag's true/false, a count's whole
    number, a finite number), off only for a risk exit, the parameter's range (an interval: its
    lowest and highest values are checked), none given twice."""
    vals = parse_values(name, spec)
    if not vals:
        raise ConfigError(f"grid.{name}: no values")
    if len(vals) > MAX_AXIS_VALUES:
        raise ConfigError(f"grid.{name}: {len(vals):,} values (max {MAX_AXIS_VALUES:,})")
    numbers, out, seen = [], [], set()
    for v in vals:
        if v is None:
            if name not in OPTIONAL:
                raise ConfigError(f"grid.{name} = None: only a risk exit can be off")
        elif name in BOOLEAN:
            if not isinstance(v, bool):
                raise ConfigError(f"grid.{name} = {v!r}: must be true or false")
        else:
            if name in INTEGER and isinstance(v, float) and math.isfinite(v):
                if not v.is_integer():
                    raise ConfigError(f"grid.{name} = {v!r}: not a whole number of bars")
                v = int(v)  # a whole number written as a float (JSON, a range)
            if isinstance(v, bool) or not isinstance(v, int | float) or not _finite(v):
                _check_value(name, v)  # the parameter's own message (not a number, ...)
                raise ConfigError(f"grid.{name} = {v!r}: must be a finite number")
            numbers.append(v)
        if v in seen:
            raise ConfigError(f"grid.{name} = {v!r}: given twice")
        seen.add(v)
        out.append(v)
    if numbers:  # every range is an interval: its ends decide
        for v in sorted({min(numbers), max(numbers)}):
            _check_value(name, v)
    return tuple(out)


def _finite(v: int | float) -> bool:
    """A finite number: every int (even one beyond a float), a float that is not NaN or inf."""
    try:
        return math.isfinite(v)
    except OverflowError:  # an int beyond a float
        return True


def _check_value(name: str, value: Any) -> None:
    try:
        _DEFAULTS.with_values(**{name: value})
    except ConfigError as exc:  # "name = value: why"
        raise ConfigError(f"grid.{exc}") from None


def parse_constraint(
    constraint: str | Constraint | Callable[[Any], Any] | None,
) -> Constraint | Callable[[Any], Any] | None:
    """A constraint checked before anything runs: an expression is parsed by the bounded
    grammar of ``vbt.sweeps.constraint`` (any sweepable parameter's name); a callable (the
    Python API's ``lambda p: ...``) and None are returned as they are."""
    if constraint is None or isinstance(constraint, Constraint):
        return constraint
    if isinstance(constraint, str):
        return grammar.parse(constraint, SWEEPABLE)
    if callable(constraint):
        return constraint
    raise ConfigError(
        f"constraint = {shown_value(constraint)}: must be an expression (a string) or a callable"
    )


# -- choosing the combinations --------------------------------------------------------------------


def select(
    grid: Grid,
    base: ScanParams,
    constraint: str | Constraint | Callable[[Any], bool] | None = None,
    max_combos: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """The combination indices a sweep runs, sorted: int64[m].

    ``constraint`` keeps the combinations for which it is true: an expression over parameter
    names (``"slippage <= commission"``; the grammar, its limits and the division rule:
    ``vbt.sweeps.constraint``; an unswept parameter reads as its base value) or a callable given
    each combination as an object with one attribute per parameter (as backtesting.py's
    ``constraint``). ``max_combos`` then draws that many of them, uniformly without
    replacement, with the seeded generator ``numpy.random.default_rng(seed)``: the same seed
    gives the same subset.
    """
    SELECT_ARGUMENTS.check(max_combos=max_combos, seed=seed)
    keep = parse_constraint(constraint)
    total = grid.size
    if total > MAX_GRID_SIZE:
        raise ConfigError(f"grid: {total:.3g} combinations; at most 2**62 can be indexed")
    rng = np.random.default_rng(int(seed))
    if total <= MAX_ROWS:
        index = np.arange(total, dtype=np.int64)
        if keep is not None:
            index = index[kept(grid, base, keep, index)]
        if max_combos is not None and max_combos < index.size:
            index = np.sort(rng.choice(index, size=int(max_combos), replace=False))
    else:
        if max_combos is None or max_combos > MAX_ROWS:
            raise ConfigError(
                f"grid: {total:,} combinations; one sweep runs at most {MAX_ROWS:,}: set max_combos"
                " to draw a random subset"
            )
        index = _draw(grid, base, keep, int(max_combos), total, rng)
    if index.size == 0:
        raise ConfigError("constraint: no combination of the grid satisfies it")
    return index


def _draw(grid: Grid, base: ScanParams, keep, want: int, total: int, rng) -> np.ndarray:
    """``want`` distinct indices of a huge grid that satisfy ``keep``, by seeded rejection."""
    chosen = np.empty(0, dtype=np.int64)
    for _ in range(64):
        need = want - chosen.size
        cand = rng.choice(total, size=min(total, 2 * need + 16), replace=False).astype(np.int64)
        cand = np.setdiff1d(cand, chosen, assume_unique=False)
        if keep is not None:
            cand = cand[kept(grid, base, keep, cand)]
        chosen = np.union1d(chosen, rng.permutation(cand)[:need])
        if chosen.size >= want:
            return chosen[:want]
    raise ConfigError(f"constraint: fewer than {want:,} combinations satisfy it in 64 draws")


def kept(grid: Grid, base: ScanParams, keep: Constraint | Callable[[Any], Any],
         index: np.ndarray) -> np.ndarray:  # fmt: skip
    """bool[m]: whether each combination of ``index`` satisfies the constraint, evaluated
    ``BLOCK`` combinations at a time. An expression that divides by zero is a ``ConfigError``
    naming it and the combination."""
    defaults = {k: v for k, v in base.values().items() if k in SWEEPABLE}
    numbers = {k: np.nan if v is None else float(v) for k, v in defaults.items()}  # off → NaN
    out = np.empty(len(index), dtype=bool)
    for start in range(0, len(index), BLOCK):
        block = index[start : start + BLOCK]
        cols = grid.decode(block)
        if isinstance(keep, Constraint):
            try:
                out[start : start + len(block)] = keep.evaluate({**numbers, **cols}, len(block))
            except DivisionByZero as e:
                combo = int(block[e.row])
                row = {**defaults, **{k: _plain(k, v[e.row]) for k, v in cols.items()}}
                values = ", ".join(f"{k} = {row[k]!r}" for k in sorted(keep.names))
                raise ConfigError(f"constraint {shown(keep.text)}: division by zero at "
                                  f"combination {combo}" + (f" ({values})" if values else "")
                                  ) from None  # fmt: skip
        else:
            for i in range(len(block)):
                row = _Row({**defaults, **{k: _plain(k, v[i]) for k, v in cols.items()}})
                out[start + i] = bool(keep(row))
    return out


def _plain(name: str, value: np.generic) -> Any:
    """A decoded value as Python: a risk exit that is off (NaN) as None, a count as an int."""
    v = value.item()
    if name in OPTIONAL and v != v:
        return None
    return int(v) if name in INTEGER else v


class _Row:
    """One combination as seen by a constraint callable: ``row.commission`` or ``row["commission"]``."""

    def __init__(self, values: dict[str, Any]):
        self.__dict__.update(values)

    def __getitem__(self, key: str) -> Any:
        return self.__dict__[key]
