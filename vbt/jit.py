"""``njit``: ``numba.njit`` for vbt's kernels, whose compiled kernels load from Numba's disk cache
without first initialising Numba's whole compiler.

Before Numba loads any cached kernel it refreshes its CPU target: it imports some sixty of its own
modules (every lowering registry: unicode, random numbers, linear algebra, which imports
``scipy.linalg``, cffi's C parser, ...). That costs 0.8-1.1 s on a 2-core machine, more than the
rest of a short ``vbt backtest`` put together. A cached kernel needs none of it: its machine code
links against Numba's runtime (NRT), which is initialised here. A kernel that is not in the cache
compiles as usual, and Numba's compiler refreshes the target itself first.

Every kernel in vbt is declared with ``@njit(cache=True, ...)`` from this module. Should a Numba
release change the cache's internals this relies on, ``njit`` is plain ``numba.njit`` (checked at
import), so kernels still load, only more slowly.

Numba compiles a kernel once per type of its arguments: the functions that call kernels pass
their array inputs through ``vbt.arrays.kernel_input``, so the kernels the warm-up cached serve
every caller. ``load_cached_kernels`` loads them all ahead of use, for a process that forks
others (the worker's forkserver); it needs two more of the cache's internals and loads nothing
where they are missing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import numba
from numba.core.caching import FunctionCache, IndexDataCacheFile
from numba.core.registry import CPUDispatcher
from numba.core.runtime import rtsys


class _KernelCache(FunctionCache):
    """Numba's per-function disk cache, loading without the full target refresh."""

    def load_overload(self, sig, target_context):
        rtsys.initialize(target_context)  # NRT: all that cached machine code links against
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)


_SUPPORTED = all(
    hasattr(FunctionCache, name) for name in ("_guard_against_spurious_io_errors", "_load_overload")
) and hasattr(rtsys, "initialize")
_CAN_LIST = (
    _SUPPORTED
    and hasattr(FunctionCache, "_index_key")
    and hasattr(IndexDataCacheFile, "_load_index")
)


def njit(*args: Any, **options: Any) -> Any:
    """``numba.njit`` with the same arguments; with ``cache=True`` the kernel loads from the disk
    cache through :class:`_KernelCache`. Use as ``@njit(cache=True, ...)`` or ``@njit``."""
    if args and callable(args[0]):  # bare @njit
        return _light(numba.njit(*args, **options), options)
    decorate = numba.njit(*args, **options)
    return lambda func: _light(decorate(func), options)


def _light(dispatcher: Callable, options: dict[str, Any]) -> Callable:
    cache = getattr(dispatcher, "_cache", None)
    if _SUPPORTED and options.get("cache") and isinstance(cache, FunctionCache):
        dispatcher._cache = _KernelCache(dispatcher.py_func)
    return dispatcher


def load_cached_kernels() -> int:
    """Load, without running them, every overload the disk cache holds for this machine of the
    kernels of the vbt modules imported so far, except the parallel ones; returns how many.

    For a process that forks others which run kernels (the worker's forkserver): each forked
    process then starts with the kernels loaded (a backtest's 0.1 s of loads, once for all jobs).
    Parallel kernels are left to the forked processes: loading one starts Numba's threading layer,
    whose threads a forked process cannot use. Nothing is compiled: only entries whose key (the
    signature, this machine, the function's code) matches and whose data file is there load.
    """
    if not _CAN_LIST:
        return 0
    loaded = 0
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "vbt" or name.startswith("vbt.")):
            continue
        for kernel in list(vars(module).values()):
            cache = getattr(kernel, "_cache", None)
            if not isinstance(kernel, CPUDispatcher) or not isinstance(cache, _KernelCache):
                continue
            if kernel.targetoptions.get("parallel"):
                continue
            codegen = kernel.targetctx.codegen()
            for key, data in cache._cache_file._load_index().items():
                sig = key[0]
                if (
                    key == cache._index_key(sig, codegen)
                    and tuple(sig) not in kernel.overloads
                    and os.path.isfile(os.path.join(cache._cache_path, data))
                ):
                    kernel.compile(sig)  # a cache hit: the key and the data file are there
                    loaded += 1
    return loaded
