"""Strategy YAML from an agent: checked as ``vbt train`` and ``vbt research`` would check it,
each problem with its dotted key and the line and column of that key in the text.

``validate(text, scratch)`` writes the text to a scratch file, reads it with
``vbt.strategy.load_strategy`` (syntax, duplicate keys, schema, indicator parameters, feature
references, the look-ahead refusal) and ``check_training_setup`` (training settings, network),
and answers ``{"valid", "problems", "features", "name"}``. The schema's problems come all at
once (as ``load_strategy`` lists them); the checks after it (references between sections,
indicator parameters, training) stop at the first, so a fixed strategy may show the next one. ``save`` validates first and writes
``strategies/<name>.yaml`` atomically.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from vbt.atomic import atomic_write
from vbt.errors import ConfigError
from vbt.paths import plain_name

#: the most characters of a strategy an agent may send
MAX_CHARS = 200_000
_KEY = re.compile(r"^(?:'(?P<quoted>[^']+)'|(?P<plain>[A-Za-z_][\w-]*(?:\.[\w-]+|\[\d+\])*))")
_MARK = re.compile(r"line (?P<line>\d+), column (?P<column>\d+)")


def check_text(text: Any, argument: str = "yaml") -> str:
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{argument}: must be the strategy's YAML text (a non-empty string)")
    if len(text) > MAX_CHARS:
        raise ConfigError(f"{argument}: {len(text):,} characters; at most {MAX_CHARS:,}")
    return text


def validate(text: str, scratch: Path) -> dict[str, Any]:
    """Every problem of the strategy ``text`` (see the module docstring); ``scratch``: a file
    path the text may be written to (removed afterwards)."""
    from vbt.model.validation import check_training_setup
    from vbt.strategy import load_strategy, resolve_features

    check_text(text)
    scratch.write_text(text, encoding="utf-8")
    try:
        strategy = load_strategy(scratch)
        check_training_setup(strategy, device="cpu")
        features = resolve_features(strategy)
    except ConfigError as exc:
        message = str(exc).replace(f"{scratch}: ", "", 1).replace(str(scratch), "strategy")
        return {"valid": False, "problems": problems(message, text), "features": [], "name": None}
    finally:
        scratch.unlink(missing_ok=True)
    return {"valid": True, "problems": [], "features": features, "name": strategy.name}


def problems(message: str, text: str) -> list[dict[str, Any]]:
    """The message's problems ("; "-separated), each with its key and where the key is."""
    out = []
    for part in _split(message):
        entry: dict[str, Any] = {"message": part, "key": None, "line": None, "column": None}
        mark = _MARK.search(part)
        if mark:  # a YAML syntax problem: the reader gave its place
            entry["line"], entry["column"] = int(mark["line"]), int(mark["column"])
        else:
            m = _KEY.match(part)
            key = re.sub(r"\[(\d+)\]", r".\1", (m["quoted"] or m["plain"])) if m else None
            if key is not None and key.split(".")[0] in _top_level_keys():  # a key, not a word
                entry["key"] = key
                entry["line"], entry["column"] = position(text, key)
        out.append(entry)
    return out


def _top_level_keys() -> tuple[str, ...]:
    from vbt.strategy.schema import TOP_LEVEL_KEYS

    return TOP_LEVEL_KEYS


def _split(message: str) -> list[str]:
    """The problems of a message: "; " starts a new one where a strategy's top-level key
    follows (``load_strategy`` lists several schema problems that way)."""
    keys = "|".join(re.escape(k) for k in _top_level_keys())
    parts = [p.strip() for p in re.split(rf"; (?='?(?:{keys})\b)", message)]
    return [p for p in parts if p]


def position(text: str, dotted: str) -> tuple[int | None, int | None]:
    """Line and column (1-based) of the deepest key of ``dotted`` found in the YAML ``text``."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None, None
    mark = None
    for key in dotted.split("."):
        if isinstance(node, yaml.MappingNode):
            hit = next(((k, v) for k, v in node.value if str(k.value) == key), None)
            if hit is None:
                break
            mark, node = hit[0].start_mark, hit[1]
        elif isinstance(node, yaml.SequenceNode) and key.isdigit() and int(key) < len(node.value):
            node = node.value[int(key)]
            mark = node.start_mark
        else:
            break
    if mark is None:
        return None, None
    return mark.line + 1, mark.column + 1


def save(text: str, name: str | None, folder: Path, scratch: Path) -> dict[str, Any]:
    """Validate ``text`` and write it to ``folder/<name>.yaml`` (``name``: default the
    strategy's own); a strategy with problems is not saved."""
    result = validate(text, scratch)
    if not result["valid"]:
        return {**result, "saved": None}
    name = plain_name(name if name is not None else result["name"], "name")
    path = folder / f"{name}.yaml"
    data = text.encode("utf-8")
    atomic_write(path, lambda fh: fh.write(data))
    return {**result, "saved": path}


__all__ = ["MAX_CHARS", "check_text", "position", "problems", "save", "validate"]
