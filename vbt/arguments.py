"""The argument checks of the public functions: one pydantic type per kind of argument, declared
once, and ``Arguments``, which checks a call's arguments against them before any work.

``vbt.train``, ``vbt.research.run``, ``vbt.batch``, ``BacktestEngine.run`` (and the stages it
runs) and ``vbt.report.write_report`` declare their arguments here (``Arguments(name=TYPE,
...)``) and call ``check(...)`` first; the command line calls these functions, so its flags go
through the same types. The first bad argument is one ``ConfigError`` naming it, its value and
what it must be: ``out_dir = None: must be a path (str or os.PathLike)``, ``jobs = 0: must be
an integer >= 1``.

The types (``PATH``, ``OPTIONAL_PATH``, ``TEXT``, ``DATE``, ``DATE_RANGES``, ``FLAG``,
``CALLBACK``, ``CANCEL``, ``MAPPING``, ``PATH_OR_MAPPING``, ``STRATEGY``, ``SEED``,
``count(lo, hi)``, ``one_of(...)`` and ``instance_of(cls)``) check the kind of value, not what
only the work can know (whether a folder holds bars, a strategy file is valid: the functions
check that next). A path must be a non-empty ``str`` or ``os.PathLike`` that the file system could take
(no NUL character, encodable, at most 4,095 bytes and 255 per name); numbers are never bools;
numpy scalars count as the Python numbers they hold.
"""

from __future__ import annotations

import datetime
import inspect
import os
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import numpy as np
from pydantic import ConfigDict, PlainValidator, ValidationError, create_model
from pydantic_core import PydanticCustomError

from vbt.errors import ConfigError

#: the longest path (bytes) and file name (bytes) a path argument may have (Linux's limits)
MAX_PATH_BYTES, MAX_NAME_BYTES = 4095, 255
#: the longest value shown in a message
SHOWN_CHARS = 80


def _fail(message: str) -> None:
    raise PydanticCustomError("vbt_argument", message)


def failure(message: str) -> PydanticCustomError:
    """The error a validator of an argument raises: ``message`` says what the value must be."""
    return PydanticCustomError("vbt_argument", message)


def is_path(value: Any) -> bool:
    """Whether ``value`` is of a path's kind (``str`` or ``os.PathLike``, not bytes)."""
    return isinstance(value, str | os.PathLike) and not isinstance(value, bytes)


def check_path(value: Any) -> Any:
    """``value`` if it is a usable path (see ``PATH``); else the failure saying why."""
    return _path(value)


def _path(value: Any) -> Any:
    """``value`` if it is a path argument; else ``PydanticCustomError`` (``Arguments.check``
    turns it into a ``ConfigError``)."""
    if not is_path(value):
        _fail("must be a path (str or os.PathLike)")
    try:
        text = os.fspath(value)
    except TypeError:  # an __fspath__ that returns neither str nor bytes
        text = None
    if not isinstance(text, str):
        _fail("must be a path (str or os.PathLike)")
    if not text.strip():
        _fail("must be a non-empty path")
    if "\0" in text:
        _fail("holds a NUL character; not a path")
    try:
        raw = os.fsencode(text)
    except UnicodeError:
        _fail("cannot be encoded as a file name")
    if len(raw) > MAX_PATH_BYTES or any(len(part) > MAX_NAME_BYTES for part in raw.split(b"/")):
        _fail(f"too long for a path (at most {MAX_PATH_BYTES:,} bytes, {MAX_NAME_BYTES} a name)")
    return value


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def optional(value: Any) -> Any:
        return None if value is None else check(value)

    return optional


def _text(value: Any) -> str:
    if not isinstance(value, str):
        _fail("must be a string")
    if not value.strip():
        _fail("must be a non-empty string")
    if "\0" in value:
        _fail("holds a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeError:
        _fail("holds characters that cannot be encoded (a lone surrogate)")
    return value


def _date(value: Any) -> Any:
    if isinstance(value, datetime.date):  # a date, a datetime or a pandas Timestamp
        return value
    if isinstance(value, str):
        return _text(value)
    _fail("must be a date: an ISO 8601 string, a datetime.date or a datetime")


def _date_ranges(value: Any) -> Any:
    if not isinstance(value, list | tuple):
        _fail("must be a list of (start, end) date pairs")
    for i, pair in enumerate(value):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            _fail(f"item {i}: must be a (start, end) pair of dates")
        for stamp in pair:
            try:
                _date(stamp)
            except PydanticCustomError as exc:
                _fail(f"item {i}: {exc.message()}")
    return value


def _flag(value: Any) -> bool:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    _fail("must be True or False")


def _takes(fn: Any, n: int) -> bool:
    """Whether ``fn`` can be called with ``n`` positional arguments (True when its signature
    cannot be read, e.g. a builtin)."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return True
    try:
        signature.bind(*range(n))
    except TypeError:
        return False
    return True


def _progress(value: Any) -> Any:
    if not callable(value) or not _takes(value, 2):
        _fail("must be callable as progress(done, total)")
    return value


def _cancel(value: Any) -> Any:
    if callable(value) and _takes(value, 0):
        return value
    is_set = getattr(value, "is_set", None)
    if not callable(value) and callable(is_set) and _takes(is_set, 0):
        return value
    _fail("must be callable as cancel() -> bool, or have is_set() (a threading.Event)")


def _mapping(value: Any) -> Any:
    if not isinstance(value, Mapping):
        _fail("must be a mapping")
    bad = [k for k in value if not isinstance(k, str)]
    if bad:
        _fail(f"key {shown(bad[0])}: must be a string")
    return value


def _strategy(value: Any) -> Any:
    """A strategy YAML path (checked as a path), or anything else ``vbt.load_strategy`` judges
    (a mapping, a loaded ``Strategy``)."""
    return _path(value) if is_path(value) else value


def _path_or_mapping(value: Any) -> Any:
    if isinstance(value, Mapping):
        return value
    if not is_path(value):
        _fail("must be a path (str or os.PathLike) or a mapping")
    return _path(value)


def count(lo: int, hi: int | None = None, *, optional: bool = False, flag: str = "") -> Any:
    """An integer in [lo, hi] (hi None: no upper bound); None too when ``optional``. ``flag``:
    the command line's flag of the argument, named in the message."""
    what = f"an integer >= {lo:,}" if hi is None else f"an integer in [{lo:,}, {hi:,}]"
    what += f" ({flag})" if flag else ""

    def check(value: Any) -> int:
        if isinstance(value, np.integer):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(f"must be {what}")
        if value < lo or (hi is not None and value > hi):
            _fail(f"must be {what}")
        return value

    return Annotated[Any, PlainValidator(_optional(check) if optional else check)]


def _seed(value: Any) -> int:
    if isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**64 - 1:
        _fail("must be an integer in [0, 2**64 - 1]")
    return value


PATH = Annotated[Any, PlainValidator(_path)]
OPTIONAL_PATH = Annotated[Any, PlainValidator(_optional(_path))]
TEXT = Annotated[Any, PlainValidator(_text)]
OPTIONAL_TEXT = Annotated[Any, PlainValidator(_optional(_text))]
DATE = Annotated[Any, PlainValidator(_optional(_date))]
DATE_RANGES = Annotated[Any, PlainValidator(_optional(_date_ranges))]
FLAG = Annotated[Any, PlainValidator(_flag)]
#: a progress callback: ``progress(done, total)``
CALLBACK = Annotated[Any, PlainValidator(_optional(_progress))]
CANCEL = Annotated[Any, PlainValidator(_optional(_cancel))]
MAPPING = Annotated[Any, PlainValidator(_optional(_mapping))]
#: a file's path, or its content as a mapping (a batch spec)
PATH_OR_MAPPING = Annotated[Any, PlainValidator(_path_or_mapping)]
STRATEGY = Annotated[Any, PlainValidator(_strategy)]
#: a seed of torch and numpy (``vbt.model.validation.check_seed`` has the same rule)
SEED = Annotated[Any, PlainValidator(_seed)]


def instance_of(cls: type, what: str, *, optional: bool = False, path: bool = False) -> Any:
    """An instance of ``cls`` (``what`` names it); a path too when ``path``; None too when
    ``optional``."""
    wanted = f"a path (str or os.PathLike) or {what}" if path else what

    def check(value: Any) -> Any:
        if isinstance(value, cls):
            return value
        if path and is_path(value):
            return _path(value)
        _fail(f"must be {wanted}")

    return Annotated[Any, PlainValidator(_optional(check) if optional else check)]


def one_of(*choices: Any) -> Any:
    """One of ``choices``."""
    wanted = " or ".join(repr(c) for c in choices)

    def check(value: Any) -> Any:
        if not any(type(value) is type(c) and value == c for c in choices):
            _fail(f"must be {wanted}")
        return value

    return Annotated[Any, PlainValidator(check)]


class Arguments:
    """The arguments of one function: ``Arguments(name=TYPE, ...)`` (a pydantic model);
    ``check(name=value, ...)`` raises ``ConfigError`` naming the first bad one."""

    def __init__(self, function: str, **types: Any) -> None:
        self.function = function
        self.names = tuple(types)
        self.model = create_model(
            f"{function}_arguments", __config__=ConfigDict(arbitrary_types_allowed=True),
            **{name: (kind, ...) for name, kind in types.items()},
        )  # fmt: skip

    def check(self, **values: Any) -> None:
        try:
            self.model.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            name = str(err["loc"][0]) if err["loc"] else "?"
            message = err["msg"] if err["type"] == "vbt_argument" else err["msg"].lower()
            raise ConfigError(f"{name} = {shown(values.get(name))}: {message}") from None


def shown(value: Any) -> str:
    """``repr(value)``, cut to ``SHOWN_CHARS`` characters and made one line."""
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."
