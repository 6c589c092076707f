"""``python -m vbt.worker.numba_cache``: check that every Numba kernel comes from the on-disk cache.

Runs ``vbt.warmup`` (every kernel on synthetic bars) and then inspects each Numba dispatcher in
the loaded ``vbt`` modules: any compilation that missed the cache fails the check (exit 1). The
Docker build runs it after warming the cache, as the image's user, so the image ships kernels
that load, not kernels that compile at the first job.
"""

from __future__ import annotations

import sys

from numba.core.registry import CPUDispatcher

from vbt.warmup import warm


def cache_report() -> tuple[int, list[str]]:
    """(cache hits, names of kernels compiled instead of loaded) after a warm-up run."""
    warm()
    hits, missed = 0, []
    for name, module in list(sys.modules.items()):
        if not name.startswith("vbt") or module is None:
            continue
        for attr, obj in vars(module).items():
            if isinstance(obj, CPUDispatcher):
                stats = obj.stats
                hits += sum(stats.cache_hits.values())
                if stats.cache_misses:
                    missed.append(f"{name}.{attr}")
    return hits, sorted(set(missed))


def main() -> int:
    hits, missed = cache_report()
    if missed or not hits:
        print(f"numba cache: {hits} hits; compiled instead of loaded: {', '.join(missed)}")
        return 1
    print(f"numba cache: every kernel loaded from the cache ({hits} hits, 0 misses)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
