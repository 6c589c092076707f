"""Read a YAML file defensively: ``read_yaml(path)``.

``yaml.safe_load`` builds no Python objects beyond plain data, but it still accepts what a
strategy file never needs and a hostile or careless one may hold:

- **Alias expansion is bounded.** Aliases share one node, so a "billion laughs" file loads into
  a few kilobytes, but anything that walks the data (validation, ``json.dumps`` of config.json)
  expands it. The document's size with every alias expanded is counted before anything is built;
  more than ``MAX_NODES`` nodes, or an alias that contains itself, is refused.
- **Duplicate keys are an error** at any level (YAML silently keeps the last one), naming the key
  and both lines.
- **Errors name the file, line and column**, on one line; so do a file that is not UTF-8 text,
  a folder, an unreadable file, one larger than ``MAX_BYTES`` and nesting too deep to parse.

Every problem raises ``ConfigError``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from vbt.errors import ConfigError
from vbt.paths import read_bytes

MAX_NODES = 100_000  # a large strategy has a few thousand
MAX_BYTES = 10 * 1024 * 1024
_MERGE_TAG = "tag:yaml.org,2002:merge"


def read_yaml(path: str | Path, what: str = "YAML file") -> Any:
    """The plain data (dicts, lists, scalars) of the YAML file at ``path``; ``ConfigError`` naming
    the file (and line and column where there is one) on any problem. ``what`` names the file's
    role in messages about reading it."""
    path = Path(path)
    data = read_bytes(path, what, max_bytes=MAX_BYTES)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None
    loader = _Loader(text, str(path))
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        raise ConfigError(f"{path}: {_marked(exc)}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({_one_line(str(exc))})") from None
    except RecursionError:
        raise ConfigError(f"{path}: nesting too deep to read") from None
    finally:
        loader.dispose()


def _marked(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    syntax = isinstance(exc, yaml.scanner.ScannerError | yaml.parser.ParserError)
    problem = _one_line(exc.problem or "")
    context = f" ({_one_line(exc.context)})" if exc.context and problem else ""
    return f"{where}{'not valid YAML: ' if syntax else ''}{problem}{context}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _Loader(yaml.SafeLoader):
    """SafeLoader that bounds alias expansion and refuses duplicate keys."""

    def __init__(self, stream: str, name: str) -> None:
        super().__init__(stream)
        self.name = name

    def compose_document(self) -> yaml.Node:
        node = super().compose_document()
        _check_expanded_size(node)
        return node

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue  # "<<: *defaults" merges keys; later keys override, as YAML says
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value", key_node.start_mark
                ) from None
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first at line {first})",
                    key_node.start_mark,
                )  # fmt: skip
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _check_expanded_size(root: yaml.Node | None) -> None:
    """Refuse a document whose node count, every alias expanded, exceeds ``MAX_NODES``, or which
    holds an alias to a node that contains it (a recursive structure)."""
    if root is None:
        return
    size: dict[int, int] = {}
    # iterative post-order walk over distinct nodes: (node, children visited?)
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            open_nodes.discard(key)
            total = 1 + sum(size[id(c)] for c in _children(node))
            if total > MAX_NODES:
                raise yaml.composer.ComposerError(
                    None, None,
                    f"the document expands to more than {MAX_NODES:,} nodes (aliases counted at "
                    "every use); refusing to expand it", node.start_mark,
                )  # fmt: skip
            size[key] = total
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise yaml.composer.ComposerError(
                None, None, "an alias refers to a node that contains it (recursive)",
                node.start_mark,
            )  # fmt: skip
        open_nodes.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                raise yaml.composer.ComposerError(
                    None, None, "an alias refers to a node that contains it (recursive)",
                    child.start_mark,
                )  # fmt: skip
            if id(child) not in size:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [x for pair in node.value for x in pair]
    return []
