"""YAML is read defensively: bounded aliases, duplicate keys named with both lines, unknown
top-level keys refused, syntax errors located by file, line and column."""

from __future__ import annotations

import time

import pytest
import yaml
from bad_input import STRATEGY, raises, strategy_dict

import vbt
from vbt.strategy import yamlfile
from vbt.strategy.yamlfile import read_yaml

LAUGHS = "\n".join(
    [f'l0: &l0 ["{"lol" * 3}"]']
    + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
)


def test_billion_laughs_is_refused_not_expanded(tmp_path):
    path = tmp_path / "laughs.yaml"
    path.write_text(LAUGHS + "\n")
    t0 = time.perf_counter()
    with raises(vbt.ConfigError, path, "expands to more than 100,000 nodes", "line "):
        vbt.load_strategy(path)
    assert time.perf_counter() - t0 < 5


def test_aliases_within_the_bound_load(tmp_path):
    path = tmp_path / "anchors.yaml"
    text = STRATEGY.read_text().replace(
        "    oversold: [0, 25, 40]", "    oversold: &low [0, 25, 40]\n    low_again: *low"
    )
    path.write_text(text)
    s = vbt.load_strategy(path)
    assert [m.parameters for m in s.fuzzy_sets["rsi_14"].memberships][:2] == [(0, 25, 40)] * 2


def test_recursive_alias_is_refused(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("a: &a [1, *a]\n")
    with raises(vbt.ConfigError, path, "line 1, column", "contains it (recursive)"):
        read_yaml(path)


@pytest.mark.parametrize(
    "text, message",
    [
        ("name: a\nversion: '3'\nname: b\n", "line 3, column 1: duplicate key 'name' (first at line 1)"),
        ("x:\n  y: 1\n  z: 2\n  y: 3\n", "line 4, column 3: duplicate key 'y' (first at line 2)"),
        ("x: [{a: 1}, {b: 2, b: 3}]\n", "line 1, column 20: duplicate key 'b' (first at line 1)"),
    ],
)  # fmt: skip
def test_duplicate_keys_name_the_key_and_both_lines(tmp_path, text, message):
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    with raises(vbt.ConfigError, f"{path}: {message}"):
        read_yaml(path)


def test_duplicate_indicator_parameter_in_a_strategy(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        STRATEGY.read_text().replace("    period: 14\n", "    period: 14\n    period: 7\n")
    )
    line = path.read_text().splitlines().index("    period: 7") + 1
    with raises(vbt.ConfigError, f"line {line}, column 5: duplicate key 'period' (first at "
                                 f"line {line - 1})"):  # fmt: skip
        vbt.load_strategy(path)


def test_merge_keys_may_override(tmp_path):
    path = tmp_path / "merge.yaml"
    path.write_text("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  x: 3\n")
    assert read_yaml(path)["d"] == {"x": 3, "y": 2}


def test_unknown_top_level_key_is_an_error(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({**strategy_dict(), "decision": {"x": 1}}))
    with raises(vbt.ConfigError, path, "'decision': unknown top-level key (did you mean "
                                       "'decisions'?)"):  # fmt: skip
        vbt.load_strategy(path)
    with raises(vbt.ConfigError, "<strategy>: 'extra': unknown top-level key"):
        vbt.load_strategy({**strategy_dict(), "extra": 1})


def test_older_descriptive_top_level_keys_load():
    s = vbt.load_strategy({**strategy_dict(), "scope": "universal", "deployment": {"x": 1}})
    assert s.raw["scope"] == "universal"


@pytest.mark.parametrize(
    "text, where",
    [
        ("name: [unclosed\n", "line 2, column 1: not valid YAML: expected ',' or ']'"),
        ("a:\n\tb: 1\n", "line 2, column 1: not valid YAML: found character '\\t'"),
        ("a: *nowhere\n", "line 1, column 4: found undefined alias 'nowhere'"),
        ("a: 1\n  b: 2\n", "line 2, column 4: not valid YAML: mapping values are not allowed"),
    ],
)
def test_syntax_errors_name_file_line_and_column(tmp_path, text, where):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with raises(vbt.ConfigError, f"{path}: {where}"):
        vbt.load_strategy(path)


def test_nesting_and_size_limits(tmp_path, monkeypatch):
    deep = tmp_path / "deep.yaml"
    deep.write_text("[" * 50_000 + "]" * 50_000)
    with raises(vbt.ConfigError, f"{deep}: nesting too deep to read"):
        read_yaml(deep)
    monkeypatch.setattr(yamlfile, "MAX_BYTES", 100)
    big = tmp_path / "big.yaml"
    big.write_text("a: 1\n" * 100)
    with raises(vbt.ConfigError, f"{big}: larger than 100 bytes"):
        read_yaml(big)
