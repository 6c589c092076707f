"""Request paths → real paths inside the worker's roots, or a ``RequestError`` naming the field.

A request names models and data relative to ``--models-root`` / ``--data-root``. Refused: ``..``
components, absolute paths (except the older system's host model paths, mapped below), NUL
bytes, and anything whose real path (symlinks followed) leaves its root.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from vbt.worker.errors import RequestError

#: where the older system's CLI keeps models on a host (``~/.ktrdr/shared/models/...``)
_KTRDR_SHARED = "/.ktrdr/shared/models/"
_MODELS = "/models/"

#: a symbol, timeframe or strategy name: it becomes part of a file name
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.^=-]{0,63}$")


def rewrite_host_model_path(value: str) -> str:
    """The older worker's host-path rewriting, mapped under the models root: a path containing
    ``/.ktrdr/shared/models/`` or an absolute path containing ``/models/`` keeps only what follows
    (``/home/u/.ktrdr/shared/models/s/1h_v3`` → ``s/1h_v3``); anything else is returned as is."""
    if _KTRDR_SHARED in value:
        return value.split(_KTRDR_SHARED, 1)[1]
    if value.startswith("/") and _MODELS in value:
        return value.split(_MODELS, 1)[1]
    return value


def _under_models(value: str) -> str | None:
    """The older backend's relative form, ``models/<strategy>/<tf>_v<N>``: the older worker ran
    in ``/app``, whose ``models/`` is the models root, so the leading ``models`` is dropped (None
    when ``value`` has no such component)."""
    parts = PurePosixPath(value.replace("\\", "/")).parts
    return "/".join(parts[1:]) if len(parts) > 1 and parts[0] == "models" else None


def inside(root: Path, value: str, field: str, *, kind: str = "path") -> Path:
    """The real path of ``value`` relative to ``root`` (resolved, symlinks followed).

    Raises ``RequestError`` (403) when ``value`` is absolute, has a ``..`` component or resolves
    outside ``root``; (422) when it is empty or has a NUL byte; (404) when it does not exist.
    """
    if not value or "\x00" in value:
        raise RequestError(422, field, "must be a non-empty path without NUL bytes")
    p = PurePosixPath(value.replace("\\", "/"))
    if p.is_absolute():
        raise RequestError(403, field, f"{value!r}: absolute paths are refused; give a path "
                           "relative to the worker's root")  # fmt: skip
    if ".." in p.parts:
        raise RequestError(403, field, f"{value!r}: '..' is refused")
    root = root.resolve()
    try:
        real = (root / p).resolve(strict=True)
    except FileNotFoundError:
        raise RequestError(
            404, field, f"{value!r}: no such {kind} under the worker's root"
        ) from None
    except (OSError, RuntimeError) as e:  # symlink loops, names too long
        raise RequestError(
            422, field, f"{value!r}: cannot be resolved ({type(e).__name__})"
        ) from None
    if not real.is_relative_to(root):
        raise RequestError(403, field, f"{value!r}: resolves outside the worker's root")
    return real


def model_inside(models_root: Path, value: str, field: str) -> Path:
    """``inside`` for a model path as the older backend sends it: host paths rewritten
    (``rewrite_host_model_path``), and ``models/X`` read as ``X`` when the root has no
    ``models/X``."""
    value = rewrite_host_model_path(value)
    try:
        return inside(models_root, value, field, kind="model directory")
    except RequestError as e:
        older = _under_models(value)
        if e.status != 404 or older is None:
            raise
        try:
            return inside(models_root, older, field, kind="model directory")
        except RequestError as again:
            raise (e if again.status == 404 else again) from None


def model_dir(
    models_root: Path, model_path: str | None, strategy_name: str, timeframe: str
) -> Path:
    """The model directory of a request: ``model_path`` (host paths rewritten; the older
    relative form ``models/X`` is ``X`` when no ``models/X`` exists under the root), or the newest
    model of the strategy, ``<strategy_name>/<timeframe>_latest``, as ``vbt.train`` writes it."""
    if model_path is None:
        value, field = f"{strategy_name}/{timeframe}_latest", "strategy_name"
        real = inside(models_root, value, field, kind="model directory")
    else:
        value, field = model_path, "model_path"
        real = model_inside(models_root, value, field)
    if not (real / "model.pt").is_file():
        raise RequestError(404, field, f"{value!r}: not a model directory (no model.pt)")
    return real


def data_dir(data_root: Path, value: str, symbol: str) -> Path:
    """The data directory of a request, checked with every bar file of ``symbol`` in it: each one
    must resolve inside ``data_root`` too."""
    real = inside(data_root, value, "data_dir", kind="data directory")
    if not real.is_dir():
        raise RequestError(422, "data_dir", f"{value!r}: not a directory")
    for f in real.glob(f"{symbol}_*"):
        if not f.resolve().is_relative_to(data_root.resolve()):
            raise RequestError(403, "symbol", f"{f.name}: resolves outside the worker's data root")
    return real
