"""Hostile sweep input, named: the constraint grammar's limits (a tower of powers, deep nesting,
huge numbers, operators outside it), the division-by-zero rule, the Python API's argument
checks, and a whole-number range of max_holding_bars. Every refusal is one ConfigError line,
raised at once."""

from __future__ import annotations

import time

import numpy as np
import pytest

import vbt
from vbt.errors import ConfigError
from vbt.sim import ScanParams
from vbt.sweeps.constraint import MAX_CHARS, MAX_DEPTH, MAX_NODES
from vbt.sweeps.grid import BLOCK, Grid, parse_constraint, parse_values, select

CLS = ScanParams()
GRID = {"commission": "0:0.003:0.001", "slippage": "0:0.003:0.001"}
WIDE = "1"
for _ in range(6):
    WIDE = f"({WIDE}+{WIDE})"  # 127 nodes, 7 deep


def refused(expr, message: str, grid=GRID) -> str:
    """The ConfigError of ``expr``, raised within a second and one line long."""
    g = Grid.parse(grid, CLS)
    t = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        select(g, CLS, expr)
    assert time.perf_counter() - t < 1.0
    text = str(err.value)
    assert message in text and "\n" not in text and len(text) < 400, text
    return text


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        # a tower of powers: the integers would have billions of digits
        ("9**9**9**9", "the exponent of ** must be a number written in the expression"),
        ("commission ** slippage > 0", "the exponent of ** must be a number"),
        ("2 ** 100000 > commission", "exponent 100000 of ** is beyond ±4"),
        ("commission ** 5 > 0", "exponent 5 of ** is beyond ±4"),
        ("commission ** (2 ** 2) > 0", "the exponent of ** must be a number"),
        # nesting: a deep tree could exhaust the stack of a recursive evaluator
        ("-" * 900 + "commission > 0", f"nested more than {MAX_DEPTH} deep"),
        ("not " * 200 + "commission", f"nested more than {MAX_DEPTH} deep"),
        ("(" * 300 + "1" + ")" * 300, "not an expression"),
        (WIDE + " > 0", f"more than {MAX_NODES} terms"),
        ("commission > 0 or " * 60 + "True", "characters; at most 1,000"),
        ("x" * (MAX_CHARS + 1), "characters; at most 1,000"),
        # numbers beyond the bound, or not numbers
        ("1e400 > commission", "inf is beyond ±1e+15"),
        ("1" * 400 + " > commission", "an integer of 400 digits is beyond ±1e+15"),
        ("commission < 1e16", "is beyond ±1e+15"),
        ("commission > 'a'", "'a' is not a number"),
        ("commission != None", "None is not a number"),
        # outside the grammar
        ("commission // 2 > 0", "FloorDiv is not allowed"),
        ("commission & 1", "BitAnd is not allowed"),
        ("commission in (1, 2)", "In is not allowed"),
        ("~commission", "Invert is not allowed"),
        ("commission if slippage else 1", "IfExp is not allowed"),
        ("(lambda: 1)()", "Call is not allowed"),
        ("commission.real > 0", "Attribute is not allowed"),
        ("bogus > 1", "unknown parameter 'bogus'"),
        ("\x00", "not an expression"),
        ("", "not an expression"),
        (5, "constraint = 5: must be an expression (a string) or a callable"),
        (b"commission > 0", "must be an expression (a string) or a callable"),
    ],
)
def test_a_constraint_outside_the_grammar_is_refused_at_once(expr, message):
    refused(expr, message)


def test_a_long_constraint_is_quoted_short():
    text = refused("commission > 0 and " * 60 + "True", "at most 1,000")
    assert len(text) < 200 and "…" in text


@pytest.mark.parametrize(
    ("expr", "kept"),
    [
        ("commission ** 2 >= slippage ** 2", 10),
        ("commission ** -0.5 > 0 or True", None),  # or's left side runs first: 0 ** -0.5
        ("slippage ** 0.5 < 0.04", 8),
        ("(-commission) ** 0.5 > 0 or commission == 0", 4),  # NaN compares false
        ("0.001 < commission <= 0.002", 4),
        ("commission > 0 and slippage / commission < 2", 2 + 4 + 4),
        ("commission == 0 or slippage / commission >= 1", 4 + 6),
        ("commission % 0.002 == 0 and commission > 0", 4),
        ("not commission", 4),
        ("(commission > slippage) + (slippage > 0) == 2", 3),
        ("1e15 > commission * 1e15 and -1e15 < -commission", 16),
    ],
)
def test_the_grammar_evaluates_as_documented(expr, kept):
    g = Grid.parse(GRID, CLS)
    if kept is None:
        with pytest.raises(ConfigError, match="division by zero at combination 0"):
            select(g, CLS, expr)
        return
    assert len(select(g, CLS, expr)) == kept


@pytest.mark.parametrize(
    ("expr", "where"),
    [
        ("slippage / commission < 2", "combination 0 (commission = 0.0, slippage = 0.0)"),
        ("commission / slippage < 2", "combination 0 (commission = 0.0, slippage = 0.0)"),
        (
            "commission > 0.001 and 1 / slippage > 0",
            "combination 8 (commission = 0.002, slippage = 0.0)",
        ),  # fmt: skip
        ("1 / 0 > 0", "combination 0"),
        ("commission % slippage > 0", "combination 0"),
        ("slippage ** -1 > 0", "combination 0 (slippage = 0.0)"),
        (
            "0 < slippage < 1 / (commission - 0.002)",
            "combination 9 (commission = 0.002, slippage = 0.001)",
        ),  # fmt: skip
    ],
)
def test_division_by_zero_names_the_constraint_and_the_combination(expr, where):
    text = refused(expr, "division by zero at " + where)
    assert text.startswith(f"constraint {expr!r}: ")


def test_division_by_zero_is_found_past_the_first_block():
    g = Grid.parse({"commission": list(np.linspace(0, 0.9, 1000)),
                    "slippage": list(np.linspace(0.0001, 0.5, 100))}, CLS)  # fmt: skip
    assert g.size > BLOCK
    # the only zero divisor is commission 0.9 - 0.9 at the last rows
    with pytest.raises(ConfigError, match=r"division by zero at combination 99900 "):
        select(g, CLS, "slippage / (commission - 0.9) < 0 or True")
    # guarded, it divides by zero nowhere
    assert len(select(g, CLS, "commission < 0.9 and slippage / (commission - 0.9) < 0")) == 99900


def test_a_huge_grid_keeps_memory_bounded():
    import tracemalloc

    g = Grid.parse({"commission": list(np.linspace(0, 0.9, 2000)),
                    "slippage": list(np.linspace(0, 0.5, 2000))}, CLS)  # fmt: skip
    expr = " + ".join(["commission * slippage"] * 15) + " >= 0"
    tracemalloc.start()
    assert len(select(g, CLS, expr)) == g.size
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    # the indices and the result (4 million, 68 MB) and blocks of 65,536 combinations; not the
    # decoded columns and the temporaries of 4 million combinations each (230 MB)
    assert peak < 120 * 2**20


def test_a_constraint_is_checked_before_the_model_is_read(tmp_path):
    cfg = object()  # not even a config: the arguments come first
    with pytest.raises(ConfigError, match=r"constraint '9\*\*9\*\*9\*\*9': the exponent"):
        vbt.sweep(cfg, {"commission": [0.001]}, constraint="9**9**9**9")
    with pytest.raises(ConfigError, match=r"grid\.commission = 2\.0"):
        vbt.sweep(cfg, {"commission": [2.0]})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seed": "x"}, "seed = 'x': must be an integer in [0, 2**64 - 1]"),
        ({"seed": -1}, "seed = -1: must be an integer in [0, 2**64 - 1]"),
        ({"seed": 0.5}, "seed = 0.5: must be an integer in [0, 2**64 - 1]"),
        ({"seed": 2**64}, "seed = 18446744073709551616: must be an integer"),
        ({"seed": True}, "seed = True: must be an integer"),
        ({"max_combos": "10"}, "max_combos = '10': must be an integer >= 1"),
        ({"max_combos": 1.5}, "max_combos = 1.5: must be an integer >= 1"),
        ({"max_combos": 0}, "max_combos = 0: must be an integer >= 1"),
        ({"threads": 0}, "threads = 0: must be an integer in [1, 1,024]"),
        ({"threads": 2.0}, "threads = 2.0: must be an integer in [1, 1,024]"),
        ({"threads": 10**6}, "threads = 1000000: must be an integer in [1, 1,024]"),
        ({"backend": "gpu"}, "backend = 'gpu': must be 'local' or 'ray'"),
        ({"task_combo_bars": -5, "backend": "ray"}, "task_combo_bars = -5"),
        ({"progress": 3}, "progress = 3: must be callable"),
        ({"constraint": 3.5}, "constraint = 3.5: must be an expression"),
        ({"grid": ["commission"]}, "grid = ['commission']: must be a mapping"),
        ({"grid": {}}, "grid: give at least one parameter"),
        ({"grid": {1: [0.1]}}, "grid = {1: [0.1]}: key 1: must be a string"),
    ],
)
def test_sweep_checks_its_arguments_before_anything(kwargs, message):
    grid = kwargs.pop("grid", {"commission": [0.001]})
    with pytest.raises(ConfigError) as err:
        vbt.sweep(object(), grid, **kwargs)
    assert message in str(err.value) and "\n" not in str(err.value)
    # the same rules in select, for the arguments it has
    if kwargs and set(kwargs) <= {"seed", "max_combos"}:
        with pytest.raises(ConfigError, match=next(iter(kwargs))):
            select(Grid.parse({"commission": [0.001]}, CLS), CLS, **kwargs)


def test_good_arguments_pass_to_the_config_check():
    with pytest.raises(ConfigError, match="sweep: pass a vbt.BacktestConfig or a PreparedRun"):
        vbt.sweep(object(), {"commission": [0.001]}, seed=np.uint64(2**64 - 1), max_combos=10**30,
                  threads=1, constraint="commission > 0 or True")  # fmt: skip


def test_a_whole_number_range_of_bars_is_accepted():
    assert parse_values("max_holding_bars", "1:5:1") == [1, 2, 3, 4, 5]
    assert parse_values("max_holding_bars", {"start": 2, "stop": 6, "step": 2}) == [2, 4, 6]
    g = Grid.parse({"max_holding_bars": "1:5:1", "stop_loss": [None, 0.01]}, CLS)
    assert g.values[0] == (1, 2, 3, 4, 5) and all(type(v) is int for v in g.values[0])
    assert Grid.parse({"max_holding_bars": [1.0, 3.0, None]}, CLS).values[0] == (1, 3, None)
    assert g.row_params(CLS, 9).execution.max_holding_bars == 5
    with pytest.raises(ConfigError, match=r"grid\.max_holding_bars = 1\.5: not a whole number"):
        Grid.parse({"max_holding_bars": "1:2:0.5"}, CLS)
    with pytest.raises(ConfigError, match=r"grid\.max_holding_bars = 2\.5: not a whole number"):
        Grid.parse({"max_holding_bars": [1, 2.5, 3]}, CLS)
    with pytest.raises(ConfigError, match=r"grid\.max_holding_bars = 0: .*greater than or equal"):
        Grid.parse({"max_holding_bars": "0:3:1"}, CLS)
    # a constraint and a callable see a count of bars as the same whole numbers
    assert (
        select(g, CLS, "max_holding_bars % 2 == 1").tolist()
        == select(g, CLS, lambda p: p.max_holding_bars % 2 == 1).tolist()
    )


def test_a_million_value_axis_is_checked_quickly():
    t = time.perf_counter()
    g = Grid.parse({"confidence_threshold": "0:0.999999:0.000001"}, CLS)
    assert g.size == 1_000_000 and time.perf_counter() - t < 10  # not a validation per value
    with pytest.raises(ConfigError, match=r"grid\.commission = 1\.0: input should be less than 1"):
        Grid.parse({"commission": "0:1:0.00001"}, CLS)


def test_parse_constraint_passes_callables_and_parsed_constraints():
    c = parse_constraint("commission > 0")
    assert parse_constraint(c) is c and parse_constraint(None) is None
    f = lambda p: True  # noqa: E731
    assert parse_constraint(f) is f
    assert c.names == {"commission"}


def test_best_refuses_a_negative_count():
    import polars as pl

    from vbt.results.sweep import SweepResult

    g = Grid.parse({"commission": [0.0, 0.001, 0.002]}, CLS)
    table = pl.DataFrame({"combo": [0, 1, 2], "commission": [0.0, 0.001, 0.002],
                          "sharpe_ratio": [0.5, 2.0, 1.0]})  # fmt: skip
    res = SweepResult(table=table, grid=g, base=CLS, info=None)
    assert res.best(2)["combo"].to_list() == [1, 2] and res.best(0).height == 0
    for k in (-1, 1.5, "3", True):  # -1 was "every row but the last"
        with pytest.raises(ConfigError, match=r"^k = .*: must be an integer >= 0$"):
            res.best(k)
